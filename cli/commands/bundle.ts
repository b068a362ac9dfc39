// canopy bundle: an air-gapped site's link to the root, as files carried by hand. Both ways are
// native Git bundles (`git bundle verify` accepts them): placements down (export at the root,
// import at the site: cli/airgap/placement.ts), status history up (export at the site, import at
// the root: cli/airgap/status.ts). A site cluster with no Git keeps its own repository in its
// state directory (cli/airgap/site.ts).
import { command, flag, text, usageError } from '../args.js';
import { openRepo } from '../../reconciler/git/repo.js';
import { isUrl } from '../airgap/fleet-repo.js';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const cmd = command({
  name: 'bundle',
  summary: 'carry placements to an air-gapped site and its status back, as Git bundle files',
  usage: [
    'Usage: canopy bundle export --repo DIR|URL --cluster C --out FILE [--images FILE] [--identity FILE]',
    '       canopy bundle import FILE --state-dir DIR [--images FILE] [--identity FILE]',
    '       canopy bundle export --status --state-dir DIR --out FILE',
    '       canopy bundle import FILE --repo DIR|URL',
    '',
    'At the root, export writes what site C needs (main up to the commit in force, C’s placement ref,',
    'the notes), as a delta from what C last acknowledged when its status says; at the site, import',
    'makes the cluster adopt it (running: within seconds; stopped: when it starts). Back the other',
    'way, export --status at the site carries its status history (every commit, with its times), and',
    'import at the root adds it to refs/canopy/status/C without rewriting what is there. A bundle',
    'imported twice changes nothing.',
    '',
    '  --repo DIR|URL    the fleet repository (at the root): a directory, or the Git server the root works',
    '                    against (http(s)://[user:pass@]host/path.git, or CANOPY_GIT_USERNAME/_PASSWORD/_TOKEN):',
    '                    an imported status is pushed there, as the root (the server’s hook checks it)',
    '  --cache-dir DIR   where a --repo URL is mirrored (default: the root’s, ~/.cache/canopy/root-<url>)',
    '  --cluster C       the site the bundle is for',
    '  --out FILE        where to write the bundle',
    '  --state-dir DIR   the site cluster’s state directory',
    '  --status          export the site’s status history (at the site)',
    '  --images FILE     a docker save archive of the container images the placement uses that the site',
    '                    is not known to hold (export); docker load it, image IDs checked (import)',
    '  --identity FILE   the root’s identity (export: signs the bundle; default canopy up’s) or the site',
    '                    cluster’s (import: the root keys it trusts; default: those its cluster recorded in DIR)',
    '  --full            export everything, not a delta from what the site acknowledged',
  ].join('\n'),
  options: {
    repo: text(),
    cluster: text(),
    out: text(),
    'state-dir': text(),
    status: flag(),
    images: text(),
    identity: text(),
    full: flag(),
    'cache-dir': text(),
  },
  args: { min: 1, max: 2, what: 'the action (export or import) and, for import, the bundle FILE' },
  check(v, pos) {
    const [action, file] = pos;
    if (v['cache-dir'] && !(v.repo && isUrl(v.repo))) return ['--cache-dir needs a remote --repo URL (where it is mirrored)'];
    if (action === 'export') {
      if (file) return [`export takes no FILE argument (give --out FILE): "${file}"`];
      if (v.status) {
        const p: string[] = [];
        if (!v['state-dir']) p.push('export --status: --state-dir DIR is required (the site cluster’s state directory)');
        if (!v.out) p.push('export --status: --out FILE is required');
        if (v.repo || v.cluster || v.images || v.full) p.push('export --status takes --state-dir and --out only');
        return p;
      }
      const p: string[] = [];
      if (!v.repo) p.push('export: --repo DIR is required (the fleet repository)');
      if (!v.cluster) p.push('export: --cluster C is required (the site the bundle is for)');
      else if (!LABEL.test(v.cluster)) p.push(`--cluster: "${v.cluster}" is not a cluster name (a lower-case DNS label)`);
      if (!v.out) p.push('export: --out FILE is required');
      if (v['state-dir']) p.push('export: --state-dir belongs to export --status (at the site)');
      return p;
    }
    if (action === 'import') {
      const p: string[] = [];
      if (!file) p.push('import: give the bundle FILE');
      if (!!v.repo === !!v['state-dir']) p.push('import: give --state-dir DIR (at the site) or --repo DIR (at the root), one of them');
      if (v.repo && v.images) p.push('import --repo: --images belongs to the site’s import (--state-dir)');
      if (v.status || v.cluster || v.out) p.push('import takes FILE with --state-dir or --repo (and --images, --identity)');
      return p;
    }
    return [`unknown action "${action}": the actions are export and import`];
  },
  async run(v, pos) {
    const [action, file] = pos;
    if (v.repo && !isUrl(v.repo))
      await openRepo(v.repo).catch((e: Error) => {
        throw usageError(this, `--repo ${v.repo}: ${e.message}`);
      });
    if (action === 'export' && v.status) {
      const { exportStatus } = await import('../airgap/status.js');
      return exportStatus({ stateDir: v['state-dir']!, out: v.out! });
    }
    if (action === 'export') {
      const { exportPlacement } = await import('../airgap/placement.js');
      return exportPlacement({
        repo: v.repo!,
        cluster: v.cluster!,
        out: v.out!,
        images: v.images,
        identity: v.identity,
        full: v.full,
        cacheDir: v['cache-dir'],
      });
    }
    if (v.repo) {
      const { importStatus } = await import('../airgap/status.js');
      return importStatus({ file: file!, repo: v.repo, cacheDir: v['cache-dir'], usage: (problem) => usageError(this, problem) });
    }
    const { importPlacement } = await import('../airgap/placement.js');
    return importPlacement({ file: file!, stateDir: v['state-dir']!, images: v.images, identity: v.identity });
  },
});

export default cmd;
