// The root in this process against a real Git repository and a real Mosquitto: every kind of bad
// input the issue lists is rejected whole (nothing from the commit applies, the last good
// commit stays in force) with file:line in the commit's note; a force-push that rewrites main
// is reconciled from the new head and the notes already written stay.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { symlinkSync, mkdirSync, rmSync } from 'node:fs';
import { startRoot, type Root } from '../../reconciler/root/root.js';
import { connectBus, type Bus } from '../../reconciler/mqtt/bus.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { openRepo, resolveRef, type Repo } from '../../reconciler/git/repo.js';
import { readNote } from '../../reconciler/git/notes.js';
import { parseNote, type CommitNote } from '../../reconciler/core/note.js';
import { placementRef, PLACEMENT_FILE } from '../../reconciler/core/refs.js';
import { readRecord } from '../../reconciler/git/records.js';
import { createLogger } from '../../reconciler/core/log.js';
import type { ClusterStatus, Placement } from '../../schemas/messages.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { tempDir, commitFiles, git, serviceYaml } from '../helpers/git.js';
import { eventually } from '../helpers/canopy.js';

const test = suite('root against a real repository: bad input and force-push');
const FLEET =
  'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: rg}\nspec:\n  timings: {heartbeatSeconds: 1, unreachableAfterSeconds: 30, statusRefreshSeconds: 60}\n';
const web = (replicas: number) => serviceYaml('shop', 'web', { runtime: 'process', command: ['sleep', '1'], replicas, resources: { cpu: 0.5 } });
let broker: Mosquitto, bus: Bus, root: Root, repo: Repo, dir: string;

const noteOf = async (commit: string): Promise<CommitNote | undefined> => {
  const text = await readNote(repo, commit);
  return text ? parseNote(text) : undefined;
};
/** The note the root writes for `commit`, once it has. */
const noted = (commit: string) => eventually(`note on ${commit.slice(0, 12)}`, () => noteOf(commit), 20_000, 50) as Promise<CommitNote>;
const placed = async (): Promise<Placement['services'] | undefined> => {
  const oid = await resolveRef(repo, placementRef('munich'));
  return oid ? (await readRecord(repo, oid, PLACEMENT_FILE, 'Placement'))?.services : undefined;
};
let good = '';

/** A commit that must be rejected whole: its note names each problem at file:line, nothing it changed applies. */
async function rejects(files: Record<string, string | null>, expect: RegExp[], setup?: () => void): Promise<CommitNote> {
  const before = await placed();
  setup?.();
  const c = commitFiles(dir, { 'services/shop/web.yaml': web(5), ...files }, 'bad');
  const n = await noted(c);
  assert.is(n.outcome, 'rejected', JSON.stringify(n));
  assert.is(n.inForce, good, 'the last good commit stays in force');
  const text = (await readNote(repo, c))!;
  for (const re of expect) assert.match(text, re);
  for (const p of n.problems ?? []) assert.ok(p.line >= 1 && p.column >= 1 && p.file, JSON.stringify(p));
  assert.equal(await placed(), before, 'nothing from the commit applied (web stays at 2 replicas)');
  // Put the tree back as it was, for the next case: that commit is good again.
  git(dir, 'revert', '--no-edit', 'HEAD');
  const back = git(dir, 'rev-parse', 'HEAD');
  assert.is((await noted(back)).outcome, 'accepted');
  good = back;
  return n;
}

test.before(async () => {
  broker = await startMosquitto();
  dir = path.join(tempDir('canopy-root-git-'), 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  good = commitFiles(dir, { 'fleet.yaml': FLEET, 'services/shop/web.yaml': web(2) }, 'fleet');
  repo = await openRepo(dir);
  bus = await connectBus({ url: broker.url, clientId: 'root-git-test', log: createLogger('bus', 'warn') });
  const status: ClusterStatus = {
    kind: 'cluster-status',
    cluster: 'munich',
    at: new Date().toISOString(),
    applied: null,
    capacity: { cpu: 64, memoryMi: 65536, gpu: 0 },
    free: { cpu: 64, memoryMi: 65536, gpu: 0 },
    maxNodeFree: { cpu: 8, memoryMi: 8192, gpu: 0 },
    maxNode: { cpu: 8, memoryMi: 8192, gpu: 0 },
    arch: ['amd64'],
    runtimes: ['container', 'process'],
    labels: {},
    nodes: { total: 8, online: 8 },
    services: {},
  };
  await bus.publish(topics('rg').clusterStatus('munich'), status, { retain: true });
  root = await startRoot({ repo, bus, fleet: 'rg', log: createLogger('root', 'warn') });
  assert.is((await noted(good)).outcome, 'accepted');
  await eventually('placed on munich', async () => (await placed())?.['shop/web']?.replicas === 2, 20_000, 50);
});

test.after(async () => {
  await root?.stop();
  await bus?.close();
  await broker?.stop();
});

test('YAML that does not parse', async () => {
  await rejects({ 'services/shop/api.yaml': 'apiVersion: canopy/v1\nkind: Service\nmetadata: {name: api, app: shop\nspec: [\n' }, [
    /services\/shop\/api\.yaml:\d+:\d+: /,
  ]);
});

test('a schema violation, at its line', async () => {
  await rejects({ 'services/shop/api.yaml': serviceYaml('shop', 'api', { runtime: 'process', command: ['x'], replicas: -1 }) }, [
    /services\/shop\/api\.yaml:7:\d+: spec\.replicas/,
  ]);
});

test('a duplicate service: the copy is named, with the original', async () => {
  const copy = serviceYaml('shop', 'web', { runtime: 'process', command: ['sleep', '1'], replicas: 1 });
  await rejects({ 'services/other/web.yaml': copy }, [
    /services\/other\/web\.yaml:\d+:\d+: duplicate service shop\/web: also defined in services\/shop\/web\.yaml/,
  ]);
});

test('a descriptor over 1 MiB', async () => {
  const big = serviceYaml('shop', 'big', { runtime: 'process', command: ['x'], replicas: 1 }) + `# ${'x'.repeat(1024 * 1024)}\n`;
  await rejects({ 'services/shop/big.yaml': big }, [/services\/shop\/big\.yaml:1:1: file is \d+ bytes: a descriptor may be at most 1 MiB/]);
});

test('files outside the known layout', async () => {
  await rejects({ 'deploy.sh': 'echo hi\n', 'services/shop/api.yml': 'x: 1\n' }, [
    /deploy\.sh:1:1: unknown file/,
    /services\/shop\/api\.yml:1:1: unknown file: .*\.yaml, not \.yml/,
  ]);
});

test('a symbolic link', async () => {
  await rejects({}, [/services\/shop\/link\.yaml:1:1: symbolic links are not allowed/], () => {
    symlinkSync('web.yaml', path.join(dir, 'services/shop/link.yaml'));
  });
});

test('a submodule', async () => {
  const sub = path.join(dir, 'vendor/lib');
  await rejects({}, [/vendor\/lib:1:1: submodules are not allowed/], () => {
    mkdirSync(sub, { recursive: true });
    execFileSync('git', ['init', '-q', sub]);
    commitFiles(sub, { README: 'lib\n' }, 'lib');
  });
  rmSync(path.join(dir, 'vendor'), { recursive: true, force: true });
});

test('a commit that deletes fleet.yaml', async () => {
  await rejects({ 'fleet.yaml': null }, [/fleet\.yaml:1:1: missing fleet\.yaml/]);
});

test('several problems in one commit: all of them, each at its file:line', async () => {
  const n = await rejects(
    {
      'services/shop/api.yaml': serviceYaml('shop', 'api', { runtime: 'process', replicas: 1 }),
      'notes.txt': 'x\n',
    },
    [/services\/shop\/api\.yaml:\d+:\d+: spec\.command/, /notes\.txt:1:1: unknown file/],
  );
  assert.is(n.problems!.length, 2);
});

test('commits pushed at once: the ones in between are noted superseded', async () => {
  git(dir, 'checkout', '-q', '-b', 'side');
  const d = commitFiles(dir, { 'services/shop/web.yaml': web(3) }, 'three');
  const e = commitFiles(dir, { 'services/shop/web.yaml': web(4) }, 'four');
  git(dir, 'checkout', '-q', 'main');
  git(dir, 'merge', '-q', '--ff-only', 'side');
  assert.is((await noted(e)).outcome, 'accepted');
  const skipped = await noteOf(d);
  assert.is(skipped?.outcome, 'superseded');
  assert.is(skipped?.supersededBy, e);
  await eventually('web at 4 replicas', async () => (await placed())?.['shop/web']?.replicas === 4, 20_000, 50);
  git(dir, 'branch', '-q', '-D', 'side');
  good = e;
});

test('a force-push that rewrites main: reconciled from the new head, notes already written stay', async () => {
  const old = git(dir, 'rev-parse', 'HEAD');
  const oldNote = await readNote(repo, old);
  // Rewrite: main goes back two commits (to before "three") and grows two new ones there.
  git(dir, 'reset', '-q', '--hard', 'HEAD~2');
  const base = git(dir, 'rev-parse', 'HEAD');
  const x = commitFiles(dir, { 'services/shop/web.yaml': web(6) }, 'rewritten: six');
  const y = commitFiles(dir, { 'services/shop/web.yaml': web(7) }, 'rewritten: seven');
  git(dir, 'update-ref', 'refs/heads/main', y);
  assert.is((await noted(y)).outcome, 'accepted');
  await eventually('web at 7 replicas', async () => (await placed())?.['shop/web']?.replicas === 7, 20_000, 50);
  assert.is(await readNote(repo, old), oldNote, 'the note on the old head is kept');
  assert.is(git(dir, 'notes', '--ref', 'canopy', 'show', old).length > 0, true, 'native git still reads it');
  assert.is(await noteOf(x), undefined, 'no "superseded" note is invented for the rewritten history');
  assert.ok(await noteOf(base), 'the common ancestor keeps its note');
});

test('a cluster that says it is behind just after a send gets the placement again, though it says nothing more', async () => {
  // A cluster publishes its status on change only. One that applied something older (or lost
  // the message) reports once, within the moment the root gives a send to land, and then stays
  // silent: the root must look again after that moment rather than wait for another status.
  const t = topics('rg');
  const got: Array<{ at: number; seq: number }> = [];
  const watch = await connectBus({ url: broker.url, clientId: 'root-git-watch', log: createLogger('watch', 'warn') });
  try {
    await watch.subscribe(t.clusterDesired('munich'), (_topic, payload) => {
      const m = JSON.parse(String(payload)) as { kind: string; placement?: Placement; version?: Placement['version'] };
      got.push({ at: Date.now(), seq: (m.placement?.version ?? m.version)!.seq });
    });
    const c = commitFiles(dir, { 'services/shop/web.yaml': web(8) }, 'eight');
    assert.is((await noted(c)).outcome, 'accepted');
    const want = await eventually(
      'placed at 8',
      async () => {
        const oid = await resolveRef(repo, placementRef('munich'));
        const p = oid ? await readRecord(repo, oid, PLACEMENT_FILE, 'Placement') : undefined;
        return p?.services['shop/web']?.replicas === 8 ? p.version.seq : undefined;
      },
      20_000,
      20,
    );
    const first = (await eventually('the new placement sent', () => got.find((g) => g.seq === want), 20_000, 20))!;
    // Still behind (it never applies anything here), said once and at once.
    const status: ClusterStatus = {
      kind: 'cluster-status',
      cluster: 'munich',
      at: new Date().toISOString(),
      applied: null,
      capacity: { cpu: 64, memoryMi: 65536, gpu: 0 },
      free: { cpu: 64, memoryMi: 65536, gpu: 0 },
      maxNodeFree: { cpu: 8, memoryMi: 8192, gpu: 0 },
      maxNode: { cpu: 8, memoryMi: 8192, gpu: 0 },
      arch: ['amd64'],
      runtimes: ['container', 'process'],
      labels: {},
      nodes: { total: 8, online: 8 },
      services: {},
    };
    await bus.publish(t.clusterStatus('munich'), status, { retain: true });
    const again = (await eventually('sent again', () => got.find((g) => g.seq === first.seq && g !== first), 10_000, 20).catch((e: Error) => {
      throw new Error(`${e.message}; sent ${JSON.stringify(got)}`);
    }))!;
    assert.ok(again.at - first.at >= 500, `held back while the first send could still land (${again.at - first.at} ms)`);
    await new Promise((r) => setTimeout(r, 2500));
    assert.ok(got.filter((g) => g.seq === first.seq).length <= 3, `not resent over and over: ${JSON.stringify(got)}`);
  } finally {
    await watch.close();
  }
});

test.run();
