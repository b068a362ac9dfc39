// The first steps of a pass over main: read the head (and note the commits it skipped), load
// it, then accept or reject it whole. (Its signature: test/unit/root-signature.test.ts.)
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseNote } from '../../reconciler/core/note.js';
import { newPass } from '../../reconciler/root/steps/pass.js';
import { loadCommit, readCommit } from '../../reconciler/root/steps/read-commit.js';
import { validate } from '../../reconciler/root/steps/validate.js';
import { aService } from '../helpers/builders.js';
import { desiredState, fakeCommits, fakeRoot, loaded, metric, oid } from '../helpers/root-fakes.js';

const web = aService('shop/web').replicas(2);
const db = aService('shop/db');
const [C1, C2, C3, C4] = ['c1', 'c2', 'c3', 'c4'].map(oid);

const Read = suite('root step: read the commit');

Read('a head already handled ends the pass without loading anything', async () => {
  const commits = fakeCommits({ head: C1 });
  const f = fakeRoot({ commits, seed: { seen: C1 } });
  const pass = newPass();
  assert.is(await readCommit(f.state, f.ports, pass), 'done');
  assert.equal(commits.calls, []);
  assert.is(pass.commit, undefined);
});

Read('no branch yet ends the pass', async () => {
  const f = fakeRoot({ commits: fakeCommits({}) });
  assert.is(await readCommit(f.state, f.ports, newPass()), 'done');
});

Read('a first head is loaded; nothing was skipped before it', async () => {
  const good = desiredState(C1, [web]);
  const commits = fakeCommits({ head: C1, loads: { [C1]: loaded(good) } });
  const f = fakeRoot({ commits });
  const pass = newPass();
  assert.is(await readCommit(f.state, f.ports, pass), undefined);
  assert.equal(commits.calls, [], 'read names the head; the load step loads it');
  assert.is(await loadCommit(f.state, f.ports, pass), undefined);
  assert.equal(commits.calls, [`load ${C1}`]);
  assert.is(pass.commit?.result?.ok, true);
  assert.is(pass.commit?.head, C1);
  assert.is(pass.notes.size, 0);
});

Read('commits the head skipped over are noted superseded by it', async () => {
  const commits = fakeCommits({ head: C4, loads: { [C4]: loaded(desiredState(C4, [web])) }, skipped: [C3, C2] });
  const f = fakeRoot({ commits, seed: { seen: C1 } });
  const pass = newPass();
  await readCommit(f.state, f.ports, pass);
  await loadCommit(f.state, f.ports, pass);
  assert.equal(commits.calls, [`skipped ${C1}..${C4}`, `load ${C4}`]);
  assert.equal([...pass.notes.keys()], [C3, C2]);
  for (const text of pass.notes.values()) {
    const n = parseNote(text)!;
    assert.is(n.outcome, 'superseded');
    assert.is(n.supersededBy, C4);
  }
  assert.is(metric(f.telemetry, 'canopy_commits_superseded_total'), 2);
  assert.is(f.notes.length, 0, 'written with the head’s outcome, not here');
});

const Validate = suite('root step: validate');

Validate('a rejected commit is noted at once with its problems; the last good state stays in force', async () => {
  const good = desiredState(C1, [web]);
  const f = fakeRoot({ seed: { good, seen: C1 } });
  const pass = newPass();
  pass.notes.set(C2, 'superseded by c3');
  const problems = [{ file: 'services/shop/web.yaml', line: 3, column: 5, message: 'replicas must be an integer' }];
  pass.commit = { head: C3, result: { ok: false, problems } };
  assert.is(await validate(f.state, f.ports, pass), 'done');
  assert.is(f.state.good, good);
  assert.is(f.state.seen, C3);
  assert.is(f.ports.stats.rejected, 1);
  assert.is(metric(f.telemetry, 'canopy_commits_total', { result: 'rejected' }), 1);
  assert.is(f.notes.length, 1);
  assert.is(f.notes[0].message, `canopy: ${C3.slice(0, 12)} rejected`);
  assert.equal([...f.notes[0].notes.keys()], [C2, C3], 'with the superseded notes, in one notes commit');
  const n = parseNote(f.notes[0].notes.get(C3)!)!;
  assert.is(n.outcome, 'rejected');
  assert.is(n.inForce, C1);
  assert.equal(n.problems, problems);
  assert.match(f.logs.join('\n'), /rejected c30000000000: 1 problem\(s\), keeping c10000000000/);
});

Validate('an accepted commit becomes the good state and opens its note (removed services named)', async () => {
  const f = fakeRoot({ seed: { good: desiredState(C1, [web, db]), seen: C1 } });
  const next = desiredState(C2, [web]);
  const pass = newPass();
  pass.commit = { head: C2, result: loaded(next, ['shop/web'], ['shop/db']) };
  assert.is(await validate(f.state, f.ports, pass), undefined);
  assert.is(f.state.good, next);
  assert.is(f.state.seen, C2);
  assert.is(f.ports.stats.accepted, 1);
  assert.is(metric(f.telemetry, 'canopy_commits_total', { result: 'accepted' }), 1);
  assert.equal(f.state.pending, { outcome: 'accepted', commit: C2, at: new Date(f.clock.ms).toISOString(), changed: { 'shop/db': { removed: true } } });
  assert.equal(pass.changed, ['shop/web']);
  assert.equal(pass.removed, ['shop/db']);
  assert.is(f.notes.length, 0, 'the record step writes it');
  assert.is(f.state.counts.off(), 1, 'shop/web wants 2 and none run');
});

const pendingCases: Array<[string, string | undefined, number]> = [
  ['an earlier commit not converged converges with the new one', undefined, 1],
  ['an earlier commit that converged is done with', '2025-01-01T00:00:00Z', 0],
];
for (const [name, convergedAt, older] of pendingCases) {
  Validate(name, async () => {
    const f = fakeRoot({ seed: { good: desiredState(C1, [web]), seen: C1, pending: { outcome: 'accepted', commit: C1, at: 'x', convergedAt } } });
    const pass = newPass();
    pass.commit = { head: C2, result: loaded(desiredState(C2, [web])) };
    await validate(f.state, f.ports, pass);
    assert.is(f.state.older.length, older);
    assert.is(f.state.pending?.commit, C2);
  });
}

Read.run();
Validate.run();
