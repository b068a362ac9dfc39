// Placement and status records with one file per service, in real repositories read back by
// native git: a change writes only what changed, the whole record reads back equal, the header
// alone is cheap, records of the old layout (services inline) are still read, and damaged
// records are refused rather than half-trusted.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { openRepo, writeCommit, updateRef, resolveRef, type Repo } from '../../reconciler/git/repo.js';
import { readRecordHeader, readServiceRecord, servicePath, writeServiceRecord } from '../../reconciler/git/service-records.js';
import { readRecord, readRecordsAlong } from '../../reconciler/git/records.js';
import { firstParentLog } from '../../reconciler/git/log.js';
import { writeFiles } from '../../reconciler/git/tree.js';
import type { Placement } from '../../schemas/messages.js';
import { aPlacement, aService } from '../helpers/builders.js';
import { git, tempDir } from '../helpers/git.js';

const ME = { name: 'canopy root', email: 'root@canopy.invalid' };
const REF = 'refs/canopy/placements/munich';

async function fresh(): Promise<{ dir: string; repo: Repo }> {
  const dir = tempDir('canopy-records-');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  return { dir, repo: await openRepo(dir) };
}

function placementOf(n: number, seq: number): Placement {
  const p = aPlacement('munich');
  for (let i = 0; i < n; i++) p.with(aService(`app${i % 5}/svc-${i}`).replicas(1 + (i % 3)));
  const doc = p.build();
  return { ...doc, version: { ...doc.version, seq } };
}

async function commitRecord(repo: Repo, before: Placement | undefined, doc: Placement): Promise<string> {
  const parent = await resolveRef(repo, REF);
  const base = parent ? (await import('../../reconciler/git/log.js')).readCommitObject(repo, parent).then((c) => c.tree) : undefined;
  const { services, ...header } = doc;
  const tree = await writeServiceRecord(repo, await base, 'placement.json', header, before?.services, services);
  const oid = await writeCommit(repo, { tree, parents: parent ? [parent] : [], message: `placement #${doc.version.seq}`, author: ME });
  await updateRef(repo, REF, oid, parent);
  return oid;
}

const test = suite('service records');

test('a first record writes every service; it reads back equal, natively too', async () => {
  const { dir, repo } = await fresh();
  const doc = placementOf(40, 1);
  const oid = await commitRecord(repo, undefined, doc);
  assert.equal(await readRecord(repo, oid, 'placement.json', 'Placement'), doc);
  const files = git(dir, 'ls-tree', '-r', '--name-only', REF).split('\n');
  assert.is(files.length, 41);
  assert.ok(files.includes('placement.json') && files.includes(servicePath('app3/svc-8')));
  assert.equal(JSON.parse(git(dir, 'show', `${REF}:${servicePath('app3/svc-8')}`)), doc.services['app3/svc-8']);
  assert.equal(JSON.parse(git(dir, 'show', `${REF}:placement.json`)), { fleet: doc.fleet, cluster: doc.cluster, version: doc.version });
});

test('a change writes only the services that changed, and git log follows one service', async () => {
  const { dir, repo } = await fresh();
  const a = placementOf(40, 1);
  await commitRecord(repo, undefined, a);
  // As the root keeps them: unchanged entries are the same objects; one changed, one gone, one new.
  const b: Placement = { ...a, version: { ...a.version, seq: 2 }, services: { ...a.services } };
  b.services['app1/svc-1'] = { ...b.services['app1/svc-1'], replicas: 7 };
  delete b.services['app2/svc-2'];
  b.services['app9/new'] = aPlacement('munich').with(aService('app9/new')).build().services['app9/new'];
  const oid = await commitRecord(repo, a, b);
  const changed = git(dir, 'diff-tree', '-r', '--name-status', '--no-commit-id', `${REF}~1`, REF).split('\n').sort();
  assert.equal(changed, ['A\tservices/app9/new.json', 'D\tservices/app2/svc-2.json', 'M\tplacement.json', 'M\tservices/app1/svc-1.json']);
  assert.equal(await readRecord(repo, oid, 'placement.json', 'Placement'), b);
  assert.is(git(dir, 'log', '--format=%s', REF, '--', servicePath('app1/svc-1')), 'placement #2\nplacement #1');
  // Equal values in other objects (a record read back after a restart) are not rewritten.
  const again: Placement = { ...structuredClone(b), version: { ...b.version, seq: 3 } };
  await commitRecord(repo, structuredClone(b), again);
  assert.equal(git(dir, 'diff-tree', '-r', '--name-only', '--no-commit-id', `${REF}~1`, REF).split('\n'), ['placement.json']);
});

test('the header alone names the version', async () => {
  const { repo } = await fresh();
  const oid = await commitRecord(repo, undefined, placementOf(10, 4));
  const h = await readRecordHeader(repo, oid, 'placement.json');
  assert.equal(h?.version, placementOf(10, 4).version);
  assert.is(h?.services, undefined);
});

test('a record of the old layout (services inline) is read, and the next write moves it to one file per service', async () => {
  const { dir, repo } = await fresh();
  const doc = placementOf(6, 1);
  const tree = await writeFiles(repo, undefined, new Map([['placement.json', JSON.stringify(doc, null, 1)]]));
  const old = await writeCommit(repo, { tree, parents: [], message: 'old layout', author: ME });
  await updateRef(repo, REF, old, undefined);
  assert.equal(await readRecord(repo, old, 'placement.json', 'Placement'), doc);
  const next = { ...doc, version: { ...doc.version, seq: 2 } };
  const oid = await commitRecord(repo, doc, next);
  assert.is(git(dir, 'ls-tree', '-r', '--name-only', REF).split('\n').length, 7);
  assert.equal(await readRecord(repo, oid, 'placement.json', 'Placement'), next);
});

test('damaged records are refused whole', async () => {
  const { repo } = await fresh();
  const doc = placementOf(3, 1);
  const oid = await commitRecord(repo, undefined, doc);
  const tree = (await (await import('../../reconciler/git/log.js')).readCommitObject(repo, oid)).tree;
  const cases: Array<[string, Map<string, string | null>]> = [
    ['a service file that is not JSON', new Map([[servicePath('app0/svc-0'), '{oops']])],
    ['a service entry that breaks the schema', new Map([[servicePath('app0/svc-0'), JSON.stringify({ replicas: -1 })]])],
    ['a stray file under services/', new Map([['services/app0/README.md', 'hi']])],
    ['a header that is not JSON', new Map([['placement.json', 'nope']])],
  ];
  for (const [name, files] of cases) {
    const t = await writeFiles(repo, tree, files);
    const c = await writeCommit(repo, { tree: t, parents: [oid], message: name, author: ME });
    assert.is(await readRecord(repo, c, 'placement.json', 'Placement'), undefined, name);
  }
  assert.is(await readServiceRecord(repo, oid, 'absent.json'), undefined);
});

test('a run of records read along the ref equals each read alone: old layout first, heartbeats, a damaged one', async () => {
  const { repo } = await fresh();
  // The old layout first (services inline), then per-service records changing a little each time.
  let doc = placementOf(30, 1);
  const tree0 = await writeFiles(repo, undefined, new Map([['placement.json', JSON.stringify(doc, null, 1)]]));
  const parent = await writeCommit(repo, { tree: tree0, parents: [], message: 'old layout', author: ME });
  await updateRef(repo, REF, parent, undefined);
  for (let seq = 2; seq <= 12; seq++) {
    const next: Placement = { ...doc, version: { ...doc.version, seq }, services: { ...doc.services } };
    next.services[`app${seq % 5}/svc-${seq}`] = { ...next.services[`app${seq % 5}/svc-${seq}`], replicas: seq };
    if (seq === 5) delete next.services['app1/svc-1'];
    if (seq === 7) next.services['app9/new'] = aPlacement('munich').with(aService('app9/new')).build().services['app9/new'];
    await commitRecord(repo, doc, next);
    doc = next;
    if (seq === 8) {
      // A heartbeat (same tree), then a record with a damaged service file, then a good one.
      const head = (await resolveRef(repo, REF))!;
      const tree = (await (await import('../../reconciler/git/log.js')).readCommitObject(repo, head)).tree;
      const hb = await writeCommit(repo, { tree, parents: [head], message: 'heartbeat', author: ME });
      await updateRef(repo, REF, hb, head);
      const bad = await writeFiles(repo, tree, new Map([[servicePath('app2/svc-2'), '{"replicas": "two"}']]));
      const b = await writeCommit(repo, { tree: bad, parents: [hb], message: 'damaged', author: ME });
      await updateRef(repo, REF, b, hb);
      const fixed = await writeCommit(repo, { tree, parents: [b], message: 'repaired', author: ME });
      await updateRef(repo, REF, fixed, b);
    }
  }
  const log = (await firstParentLog(repo, (await resolveRef(repo, REF))!)).reverse();
  const along = await readRecordsAlong(
    repo,
    log.map((c) => ({ oid: c.oid, tree: c.commit.tree })),
    'placement.json',
    'Placement',
  );
  assert.is(along.length, log.length);
  const alone = await Promise.all(log.map((c) => readRecord(repo, c.oid, 'placement.json', 'Placement')));
  assert.equal(along, alone);
  assert.is(alone.filter((d) => d === undefined).length, 1, 'the damaged record alone is refused');
});

test.run();
