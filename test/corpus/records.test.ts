// The Git record corpus (record-cases.ts): in a real repository, the tip of a placement ref, a
// status ref or a note is replaced by a damaged record, and every reader of it is asked: the
// record is ignored, never half-trusted, with a warning naming the ref (and the file, and what
// is wrong); and what the reader holds stays as it was, or is what it would be without the record:
//   placements: readRecord; the cluster's way in from Git (placementInGit, the adopt-git step),
//               whose placement in force stays; a restarted root's placement book;
//   statuses:   `canopy status` (fleetStatus); a restarted root's seed of clusters not heard yet;
//   notes:      a restarted root's recovery, which keeps the last valid accepted commit; `canopy status`.
//   a note's rollouts: `canopy status`, `canopy history`, `canopy wait` (failedRollouts): that part
//               is ignored, the rest of the note taken.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { renderNote } from '../../reconciler/core/note.js';
import { NOTES_REF, writeNotes } from '../../reconciler/git/notes.js';
import { placementRef, statusRef } from '../../reconciler/core/refs.js';
import { readRecord } from '../../reconciler/git/records.js';
import { openRepo, resolveRef, updateRef, writeCommit, type Identity } from '../../reconciler/git/repo.js';
import { writeFiles } from '../../reconciler/git/tree.js';
import { placementInGit } from '../../reconciler/cluster/placement-source.js';
import { adoptFromGit } from '../../reconciler/cluster/steps/adopt-git.js';
import { PlacementBook } from '../../reconciler/root/delegate.js';
import { recoverRoot } from '../../reconciler/root/recover.js';
import { committedStatus, seedUnheard } from '../../reconciler/root/seed-unheard.js';
import { fleetStatus } from '../../reconciler/report/fleet-status.js';
import { fleetHistory } from '../../reconciler/report/history.js';
import { failedRollouts } from '../../reconciler/report/rollouts.js';
import { parseNote } from '../../reconciler/core/note.js';
import type { Placement } from '../../schemas/messages.js';
import { fakeCluster } from '../helpers/cluster-fakes.js';
import { memoryLog } from '../helpers/agent-fakes.js';
import { FakeBook, fakeRoot } from '../helpers/root-fakes.js';
import { printCount } from '../helpers/corpus.js';
import { commitFiles, git, serviceYaml, tempDir } from '../helpers/git.js';
import { ASSIGNMENT, SERVICE_STATUS, placementHeader, recordCases, statusHeader, type RecordCase } from './record-cases.js';

const test = suite('corpus: damaged records in Git are ignored, with a warning naming the ref');
const AUTHOR: Identity = { name: 'corpus', email: 'corpus@canopy.invalid' };
const PLACEMENT = placementRef('munich');
const STATUS = statusRef('munich');

// main: A (accepted, its note says so) and B (the head, not handled yet); munich placed at A (seq 5) and reporting.
const dir = tempDir('canopy-corpus-records-');
git(dir, 'init', '-q', '-b', 'main');
const A = commitFiles(dir, {
  'fleet.yaml': 'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: demo}\n',
  'services/web/api.yaml': serviceYaml('web', 'api', { runtime: 'container', image: 'canopy/app:1', replicas: 2 }),
});
const B = commitFiles(dir, { 'README.md': '# demo\n' });
const repo = await openRepo(dir);
const CASES = recordCases(A);
const json = (v: unknown) => `${JSON.stringify(v, null, 1)}\n`;

/** A commit on `ref` whose tree is exactly `files`; the ref is moved to it. */
async function putRecord(ref: string, files: Exclude<RecordCase['files'], string>): Promise<string> {
  const flat = new Map<string, string>();
  for (const [p, f] of Object.entries(files)) {
    if (typeof f === 'string') flat.set(p, f);
    else for (const [q, t] of Object.entries(f.dir)) flat.set(`${p}/${q}`, t);
  }
  const parent = await resolveRef(repo, ref);
  const oid = await writeCommit(repo, { tree: await writeFiles(repo, undefined, flat), parents: parent ? [parent] : [], message: 'record', author: AUTHOR });
  await updateRef(repo, ref, oid, parent);
  return oid;
}

const goodPlacement: Placement = { ...placementHeader(A, 5), services: { 'web/api': ASSIGNMENT } };
const GOOD_NOTE = renderNote({ outcome: 'accepted', commit: A, at: '2025-01-01T00:00:00Z', changed: {} });
await writeNotes(repo, new Map([[A, GOOD_NOTE]]), AUTHOR, 'notes');
const GOOD_PLACEMENT = await putRecord(PLACEMENT, { 'placement.json': json(placementHeader(A, 5)), 'services/web/api.json': json(ASSIGNMENT) });
const GOOD_STATUS = await putRecord(STATUS, { 'status.json': json(statusHeader(A)), 'services/web/api.json': json(SERVICE_STATUS) });

/** Runs `check` with the case's damaged record in place, then puts the good one back. */
async function damaged(c: RecordCase, check: (tip: string) => Promise<void>): Promise<void> {
  if (c.kind === 'rollouts') {
    await writeNotes(repo, new Map([[A, c.files as string]]), AUTHOR, 'damage');
    try {
      await check(A);
    } finally {
      await writeNotes(repo, new Map([[A, GOOD_NOTE]]), AUTHOR, 'repair');
    }
    return;
  }
  if (c.kind === 'note') {
    await writeNotes(repo, new Map([[B, c.files as string]]), AUTHOR, 'damage');
    try {
      await check(B);
    } finally {
      await writeNotes(repo, new Map([[B, null]]), AUTHOR, 'repair');
    }
    return;
  }
  const [ref, good] = c.kind === 'placement' ? [PLACEMENT, GOOD_PLACEMENT] : [STATUS, GOOD_STATUS];
  const tip = await putRecord(ref, c.files as Exclude<RecordCase['files'], string>);
  try {
    await check(tip);
  } finally {
    await updateRef(repo, ref, good, tip);
  }
}

/** The one warning about it: names the record, says what is wrong, and that it was ignored. */
function warned(warnings: string[], name: string, want: string): void {
  const mine = warnings.filter((w) => w.startsWith(name));
  assert.is(mine.length, 1, `one warning starting ${name}; got\n  ${warnings.join('\n  ')}`);
  assert.ok(mine[0].startsWith(`${name}${want}`) && /: ignored(;|$)/.test(mine[0]), `want ${name}${want}…: ignored\ngot  ${mine[0]}`);
}

const counts: Record<string, number> = {};
const check = (c: RecordCase, reader: string, fn: (tip: string) => Promise<void>) => {
  counts[c.kind] = (counts[c.kind] ?? 0) + 1;
  test(`${c.name} — ${reader}`, () => damaged(c, fn));
};

for (const c of CASES.filter((x) => x.kind === 'placement')) {
  check(c, 'readRecord', async (tip) => {
    const warnings: string[] = [];
    assert.is(await readRecord(repo, tip, 'placement.json', 'Placement', { ref: PLACEMENT, warn: (w) => void warnings.push(w) }), undefined);
    warned(warnings, `${PLACEMENT}:`, c.want);
  });
  check(c, 'the cluster reading its placement from Git', async () => {
    const warnings: string[] = [];
    const f = fakeCluster({
      placement: structuredClone(goodPlacement),
      placementFromGit: (have) => placementInGit(repo, 'munich', have, (w) => void warnings.push(w)),
    });
    await adoptFromGit(f.s, f.p);
    await adoptFromGit(f.s, f.p); // asked again at the next heartbeat: warned once
    assert.equal(f.s.placement, goodPlacement, 'the placement in force is kept');
    assert.equal([f.placements.writes.length, f.placements.appends.length, f.queued.length], [0, 0, 0]);
    warned(warnings, `${PLACEMENT}:`, c.want);
  });
  check(c, 'a restarted root’s placement book', async () => {
    const warnings: string[] = [];
    const book = new PlacementBook(repo, AUTHOR, (w) => void warnings.push(w));
    await book.load(['munich']);
    assert.equal([book.get('munich'), book.clusters(), book.maxSeq()], [undefined, [], 0]);
    warned(warnings, `${PLACEMENT}:`, c.want);
  });
}

for (const c of CASES.filter((x) => x.kind === 'status')) {
  check(c, 'canopy status', async () => {
    const r = await fleetStatus(repo, new Date('2025-01-01T00:00:10Z'));
    assert.equal(r.clusters.munich, { state: 'online', lastHeartbeat: r.clusters.munich?.lastHeartbeat, applied: null, nodes: { total: 0, online: 0 } });
    assert.equal(r.services['web/api']?.running, 0, 'nothing counted as running from it');
    warned(r.warnings ?? [], `${STATUS}:`, c.want);
  });
  if (c.header)
    check(c, 'a restarted root seeding the clusters it has not heard', async () => {
      const log = memoryLog();
      const f = fakeRoot({ book: new FakeBook(goodPlacement) });
      await seedUnheard(f.state, f.book, committedStatus(repo, log));
      const st = f.state.clusters.get('munich')!;
      assert.equal([st.unheard, st.online, st.status?.applied, st.status?.capacity], ['unknown', false, null, { cpu: 0, memoryMi: 0, gpu: 0 }]);
      warned(
        log.lines.filter((l) => l.startsWith('warn: ')).map((l) => l.slice('warn: '.length)),
        `${STATUS}:`,
        c.want,
      );
    });
}

for (const c of CASES.filter((x) => x.kind === 'note')) {
  check(c, 'a restarted root recovering from Git', async () => {
    const warnings: string[] = [];
    const rec = await recoverRoot(repo, 'refs/heads/main', new PlacementBook(repo, AUTHOR), new Map(), (w) => void warnings.push(w));
    assert.equal([rec.good?.commit, rec.seen], [A, A], 'the last valid accepted commit stays in force');
    warned(warnings, `${NOTES_REF}: the note on ${B.slice(0, 12)}: `, c.want);
  });
  check(c, 'canopy status', async () => {
    const r = await fleetStatus(repo, new Date('2025-01-01T00:00:10Z'));
    assert.equal([r.head?.commit, r.head?.outcome, r.inForce], [B, 'pending', A]);
    warned(r.warnings ?? [], `${NOTES_REF}: the note on ${B.slice(0, 12)}: `, c.want);
  });
}

for (const c of CASES.filter((x) => x.kind === 'rollouts')) {
  const name = `${NOTES_REF}: the note on ${A.slice(0, 12)}: `;
  check(c, 'canopy status', async () => {
    const r = await fleetStatus(repo, new Date('2025-01-01T00:00:10Z'));
    assert.equal([r.inForce, r.services['web/api']?.state, r.services['web/api']?.rollout], [A, 'converged', undefined], 'the note is taken, its rollout not');
    warned(r.warnings ?? [], name, c.want);
  });
  check(c, 'canopy history', async () => {
    const h = await fleetHistory(repo);
    assert.ok(
      h.events.some((e) => e.kind === 'commit' && e.commit === A && e.outcome === 'accepted'),
      'the commit’s outcome is still told',
    );
    assert.not.ok(h.events.some((e) => e.kind === 'rollout'));
    warned(h.warnings ?? [], name, c.want);
  });
  check(c, 'canopy wait', async () => {
    const warnings: string[] = [];
    const note = parseNote(c.files as string)!;
    assert.equal(await failedRollouts(repo, A, note, (w) => void warnings.push(w)), [], 'no failed rollout read from it: no exit 3');
    warned(warnings, name, c.want);
  });
}

test('the good records, read by the same readers: taken, and no warning', async () => {
  const warnings: string[] = [];
  assert.equal(await readRecord(repo, GOOD_PLACEMENT, 'placement.json', 'Placement', { ref: PLACEMENT, warn: (w) => void warnings.push(w) }), goodPlacement);
  const r = await fleetStatus(repo, new Date('2025-01-01T00:00:10Z'));
  assert.equal([r.clusters.munich?.applied?.seq, r.services['web/api']?.running, r.warnings], [5, 2, undefined]);
  const rec = await recoverRoot(
    repo,
    'refs/heads/main',
    new PlacementBook(repo, AUTHOR, (w) => void warnings.push(w)),
    new Map(),
    (w) => void warnings.push(w),
  );
  assert.is(rec.good?.commit, A);
  assert.equal(warnings, []);
  assert.is(git(dir, 'notes', '--ref', 'canopy', 'list').split('\n').length, 1, 'B has no note left');
});

test.after(() => {
  printCount('records', counts, `reader checks of ${CASES.length} damaged records`);
});

test.run();
