// A fleet repository at scale, for tests and bench/git.bench.ts: fleet.yaml, a few clusters and
// N service descriptors, nested (services/app-NN/svc-NNN.yaml, e.g. 100 × 100) or flat (one app
// directory holding every service: the slow case for a tree diff). Written with native
// `git fast-import` in one process, so 10,000 files take well under a second.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { tempDir } from './git.js';

export type BigLayout = 'nested' | 'flat';

export interface BigRepoOptions {
  services?: number; // default 10,000
  layout?: BigLayout; // default nested
  /** Apps of the nested layout (services are spread evenly); default 100. */
  apps?: number;
  clusters?: number; // clusters/<c>.yaml declared; default 10
  dir?: string; // default a fresh temp directory
  /** Extra fleet.yaml lines under spec: (indented two spaces). */
  fleetSpec?: string[];
  /** The i-th service's descriptor (default bigServiceYaml). */
  serviceYaml?: (i: number, app: string, name: string) => string;
}

export interface BigRepo {
  dir: string;
  layout: BigLayout;
  /** Commit of main after the last change. */
  head: string;
  /** Service descriptor paths, in generation order. */
  paths: string[];
  clusters: string[];
  /** One commit on main setting (or with null deleting) files; returns the commit. */
  change(files: Record<string, string | null>, message?: string): string;
  /** One commit on `branch` (created or moved), on top of `parent`; main stays. */
  commitOn(branch: string, parent: string, files: Record<string, string | null>, message?: string): string;
}

const ENV = {
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
};

export function pathOf(i: number, layout: BigLayout, apps: number, total: number): { app: string; name: string; path: string } {
  if (layout === 'flat') {
    const name = `svc-${String(i).padStart(String(total - 1).length, '0')}`;
    return { app: 'fleet', name, path: `services/fleet/${name}.yaml` };
  }
  const per = Math.ceil(total / apps);
  const app = `app-${String(Math.floor(i / per)).padStart(String(apps - 1).length, '0')}`;
  const name = `svc-${String(i % per).padStart(String(per - 1).length, '0')}`;
  return { app, name, path: `services/${app}/${name}.yaml` };
}

/** A small, valid container service; `replicas` and `cpu` let a test make a one-line change. */
export function bigServiceYaml(app: string, name: string, o: { replicas?: number; cpu?: number; image?: string } = {}): string {
  return [
    'apiVersion: canopy/v1',
    'kind: Service',
    'metadata:',
    `  name: ${name}`,
    `  app: ${app}`,
    'spec:',
    '  runtime: container',
    `  image: ${o.image ?? 'canopy/busybox:1'}`,
    '  command: [httpd, -f, -p, "8080"]',
    `  replicas: ${o.replicas ?? 1}`,
    `  resources: {cpu: ${o.cpu ?? 0.01}, memory: 16Mi}`,
    '',
  ].join('\n');
}

export function clusterYaml(name: string, i: number, o: { location?: { lat: number; lon: number }; nodes?: number } = {}): string {
  const at = o.location ?? { lat: 45 + i * 0.5, lon: 5 + i };
  return [
    'apiVersion: canopy/v1',
    'kind: Cluster',
    'metadata:',
    `  name: ${name}`,
    `  labels: {region: r${i % 3}}`,
    'spec:',
    `  location: {lat: ${at.lat}, lon: ${at.lon}}`,
    `  nodes: ${o.nodes ?? 2}`,
    '',
  ].join('\n');
}

export function createBigRepo(o: BigRepoOptions = {}): BigRepo {
  const total = o.services ?? 10_000;
  const layout = o.layout ?? 'nested';
  const apps = o.apps ?? 100;
  const dir = o.dir ?? path.join(tempDir('canopy-big-'), 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  const clusters = Array.from({ length: o.clusters ?? 10 }, (_, i) => `c${String(i).padStart(2, '0')}`);
  const files = new Map<string, string>();
  files.set(
    'fleet.yaml',
    [
      'apiVersion: canopy/v1',
      'kind: Fleet',
      'metadata: {name: big}',
      'spec:',
      '  timings: {heartbeatSeconds: 2, unreachableAfterSeconds: 10, statusRefreshSeconds: 60}',
      '  targets: {hq: {lat: 48.1, lon: 11.5}}',
      ...(o.fleetSpec ?? []).map((l) => `  ${l}`),
      '',
    ].join('\n'),
  );
  for (const [i, c] of clusters.entries()) files.set(`clusters/${c}.yaml`, clusterYaml(c, i));
  const paths: string[] = [];
  for (let i = 0; i < total; i++) {
    const p = pathOf(i, layout, apps, total);
    paths.push(p.path);
    files.set(p.path, o.serviceYaml ? o.serviceYaml(i, p.app, p.name) : bigServiceYaml(p.app, p.name));
  }
  let head = fastImport(dir, files, undefined, `fleet of ${total} services (${layout})`);
  return {
    dir,
    layout,
    paths,
    clusters,
    get head() {
      return head;
    },
    change(changes, message = 'change') {
      head = fastImport(dir, new Map(Object.entries(changes)), head, message);
      return head;
    },
    commitOn(branch, parent, changes, message = 'change') {
      return fastImport(dir, new Map(Object.entries(changes)), parent, message, `refs/heads/${branch}`);
    },
  };
}

/** One commit on `ref` (default main) from `files` (null: delete), on top of `parent`. */
function fastImport(dir: string, files: Map<string, string | null>, parent: string | undefined, message: string, ref = 'refs/heads/main'): string {
  const chunks: Buffer[] = [];
  const put = (s: string | Buffer) => chunks.push(typeof s === 'string' ? Buffer.from(s) : s);
  const when = Math.floor(Date.now() / 1000);
  const msg = Buffer.from(message + '\n');
  put(`commit ${ref}\nmark :1\ncommitter Bench <bench@example.com> ${when} +0000\ndata ${msg.length}\n`);
  put(msg);
  if (parent) put(`from ${parent}\n`);
  for (const [p, text] of files) {
    if (text === null) {
      put(`D ${p}\n`);
      continue;
    }
    const body = Buffer.from(text);
    put(`M 100644 inline ${p}\ndata ${body.length}\n`);
    put(body);
    put('\n');
  }
  put('\n');
  execFileSync('git', ['-C', dir, 'fast-import', '--quiet', '--force'], { input: Buffer.concat(chunks), env: { ...process.env, ...ENV } });
  if (!parent) execFileSync('git', ['-C', dir, 'symbolic-ref', 'HEAD', 'refs/heads/main']);
  return execFileSync('git', ['-C', dir, 'rev-parse', ref], { encoding: 'utf8' }).trim();
}

/** `n` commits in a row on `branch` (one tiny file each), by fast-import; returns their oids, oldest first. */
export function manyCommits(dir: string, n: number, branch = 'main', start = 1_700_000_000): string[] {
  let s = '';
  for (let i = 0; i < n; i++) {
    const body = `${branch} ${i}\n`;
    s += `commit refs/heads/${branch}\nmark :${i + 1}\ncommitter Bench <bench@example.com> ${start + i} +0000\ndata ${Buffer.byteLength(body)}\n${body}`;
    if (i === 0) {
      let parent = '';
      try {
        parent = execFileSync('git', ['-C', dir, 'rev-parse', '--verify', '-q', `refs/heads/${branch}`], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }).trim();
      } catch {
        /* a new branch */
      }
      if (parent) s += `from ${parent}\n`;
    } else s += `from :${i}\n`;
    s += `M 100644 inline n.txt\ndata ${Buffer.byteLength(body)}\n${body}\n`;
  }
  execFileSync('git', ['-C', dir, 'fast-import', '--quiet'], { input: s, env: { ...process.env, ...ENV } });
  return execFileSync('git', ['-C', dir, 'rev-list', '--reverse', `-n`, String(n), `refs/heads/${branch}`], { encoding: 'utf8' })
    .trim()
    .split('\n');
}
