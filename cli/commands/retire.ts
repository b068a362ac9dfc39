// `canopy retire C --repo DIR`: the commit that retires cluster C, written in the fleet
// repository's working tree (clusters/C.yaml spec.retired: true, its comments and other fields
// kept), for review like any change. The root drains C once the commit is on main.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { command, text, usageError } from '../args.js';
import { placementRef, statusRef } from '../../reconciler/core/refs.js';
import { retireText } from '../../reconciler/core/retire-file.js';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const cmd = command({
  name: 'retire',
  summary: 'retire a cluster: commit clusters/C.yaml spec.retired: true (its services drain first)',
  usage: [
    'Usage: canopy retire CLUSTER --repo DIR',
    '',
    'Sets spec.retired: true in clusters/CLUSTER.yaml of the fleet repository’s working tree (its',
    'comments and other fields kept; a minimal file when there is none and the cluster is known by a',
    'placement or status ref) and commits that file alone on the branch checked out. Once the commit',
    'is on main, the root places CLUSTER’s services on other clusters, drops them from CLUSTER when the',
    'new replicas are ready there (at once when CLUSTER is unreachable), then gives it nothing to run.',
    'Its status history stays in Git.',
    '',
    '  --repo DIR   the fleet repository (a working tree)',
  ].join('\n'),
  options: { repo: text({ required: true }) },
  args: { min: 1, max: 1, what: 'the cluster to retire' },
  check(_v, pos) {
    const c = pos[0]!;
    return LABEL.test(c) ? [] : [`${c}: a cluster name is a lower-case DNS label (letters, digits, -)`];
  },
  async run(v, pos) {
    const cluster = pos[0]!;
    const repo = path.resolve(v.repo);
    if (!existsSync(path.join(repo, '.git'))) throw usageError(this, `--repo ${v.repo}: not a Git working tree`);
    if (!existsSync(path.join(repo, 'fleet.yaml'))) throw usageError(this, `--repo ${v.repo}: no fleet.yaml there (canopy init makes a fleet repository)`);
    const rel = `clusters/${cluster}.yaml`;
    const file = path.join(repo, rel);
    const dirty = await git(['-C', repo, 'status', '--porcelain', '--', rel]);
    if (dirty.code !== 0) throw new Error(`git status: ${gitSays(dirty)}`);
    if (dirty.stdout.trim()) {
      process.stderr.write(`canopy retire: ${rel} has changes not committed (${dirty.stdout.trim()}): commit or discard them first\n`);
      return 1;
    }
    const before = existsSync(file) ? await readFile(file, 'utf8') : undefined;
    if (before === undefined && !(await known(repo, cluster)))
      throw usageError(this, `${cluster}: unknown cluster (no ${rel}, no placement or status ref): nothing to retire`);
    const edit = retireText(rel, before ?? newFile(cluster));
    if ('already' in edit) {
      process.stderr.write(`canopy retire: ${rel} already says spec.retired: true: cluster ${cluster} is retired\n`);
      return 1;
    }
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, edit.text);
    const commit = await commitFile(repo, rel, cluster);
    const branch = (await git(['-C', repo, 'rev-parse', '--abbrev-ref', 'HEAD'])).stdout.trim();
    const short = commit.slice(0, 12);
    const lines = [`canopy retire: committed ${short} on ${branch}: ${rel} spec.retired: true`];
    if (branch !== 'main') lines.push('  merge it to main (a pull request): the root acts on main only');
    lines.push(
      `Next, once the root accepts it: ${cluster}'s services are placed on other clusters (drain); its replicas`,
      `stop once the new ones are ready there (at once if ${cluster} is unreachable); then it runs nothing.`,
      `  push main if it has a remote, then: canopy wait --rev ${short} --repo ${v.repo}`,
      `  canopy status --repo ${v.repo} shows ${cluster} draining, then retired; canopy plan shows what moves.`,
      '',
    );
    process.stdout.write(lines.join('\n'));
    return 0;
  },
});
export default cmd;

function newFile(cluster: string): string {
  return `# Cluster ${cluster}: retired (canopy retire).\napiVersion: canopy/v1\nkind: Cluster\nmetadata:\n  name: ${cluster}\n`;
}

/** A cluster the root has placed on or that has reported: it has a placement or a status ref. */
async function known(repo: string, cluster: string): Promise<boolean> {
  for (const ref of [placementRef(cluster), statusRef(cluster)]) {
    const r = await git(['-C', repo, 'rev-parse', '--verify', '--quiet', ref]);
    if (r.code === 0) return true;
  }
  return false;
}

/** Commits `rel` alone (whatever else is staged stays staged), as the configured author or canopy's. */
async function commitFile(repo: string, rel: string, cluster: string): Promise<string> {
  const who = await git(['-C', repo, 'config', 'user.email']);
  const author = who.code === 0 && who.stdout.trim() ? [] : ['-c', 'user.name=canopy retire', '-c', 'user.email=retire@canopy.invalid'];
  const add = await git(['-C', repo, 'add', '--', rel]);
  if (add.code !== 0) throw new Error(`git add ${rel}: ${gitSays(add)}`);
  const message = `Retire cluster ${cluster}\n\n${rel}: spec.retired: true. The root places ${cluster}'s services on other clusters,\nstops them on ${cluster} once the new replicas are ready, then gives it nothing to run.\n`;
  const c = await git(['-C', repo, ...author, 'commit', '--quiet', '-m', message, '--', rel]);
  if (c.code !== 0) throw new Error(`git commit: ${gitSays(c)}`);
  return (await git(['-C', repo, 'rev-parse', 'HEAD'])).stdout.trim();
}

interface GitRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Native git with `args`: its exit code and output (throws only when git cannot run). */
function git(args: string[]): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { encoding: 'utf8', timeout: 60_000, env: { ...process.env, LC_ALL: 'C' } }, (e, stdout, stderr) => {
      const code = e ? (e as NodeJS.ErrnoException & { code?: unknown }).code : 0;
      if (e && typeof code !== 'number') return reject(new Error(`git ${args[2] ?? ''} could not run: ${e.message}`));
      resolve({ code: code as number, stdout, stderr });
    });
  });
}

/** git's own words for a failure, one line. */
function gitSays(r: GitRun): string {
  return (r.stderr || r.stdout).trim().split('\n').filter(Boolean).slice(-3).join('; ') || `exit ${r.code}`;
}
