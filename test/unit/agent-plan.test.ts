import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { planAgent, backoffMs, type AgentAction, type RestartRecord } from '../../agents/plan.js';
import { aService, aReplica, observed } from '../helpers/builders.js';

const web = aService('shop/web').cpu(0.5);
const web0 = aReplica(web, 0);
const web1 = aReplica(web, 1);
const web0v2 = aReplica(aService('shop/web').cpu(0.5).env({ COLOR: 'blue' }), 0);

const T0 = 1_700_000_000_000;
const restarts = (r: Record<string, RestartRecord> = {}) => new Map(Object.entries(r));
/** Actions as [kind, id, why] for compact comparison. */
const brief = (as: AgentAction[]) => as.map((a) => (a.kind === 'start' ? ['start', a.replica.id, a.why] : ['stop', a.id, a.why]));

// --- backoffMs ---------------------------------------------------------------------------------

const Backoff = suite('backoffMs');

const backoffs: Array<[number, number]> = [
  [0, 1000],
  [1, 1000],
  [2, 2000],
  [3, 4000],
  [4, 8000],
  [6, 32_000],
  [7, 60_000],
  [50, 60_000],
];
for (const [count, ms] of backoffs) {
  Backoff(`after ${count} restart(s): ${ms} ms`, () => assert.is(backoffMs(count), ms));
}

Backoff('never shrinks as restarts add up', () => {
  for (let n = 1; n < 40; n++) assert.ok(backoffMs(n + 1) >= backoffMs(n), `count ${n}`);
});

// --- planAgent ---------------------------------------------------------------------------------

const Plan = suite('planAgent');

Plan('nothing to do when converged', () => {
  const r = planAgent([web0, web1], [observed(web0), observed(web1)], restarts(), T0);
  assert.equal(r.actions, []);
  assert.is(r.nextCheckMs, undefined);
});

Plan('starts a missing replica', () => {
  const r = planAgent([web0, web1], [observed(web0)], restarts(), T0);
  assert.equal(r.actions, [{ kind: 'start', replica: web1, why: 'missing' }]);
});

Plan('replaces a replica whose spec changed', () => {
  assert.not.equal(web0v2.specHash, web0.specHash);
  const r = planAgent([web0v2], [observed(web0)], restarts(), T0);
  assert.equal(r.actions, [{ kind: 'start', replica: web0v2, why: 'spec changed' }]);
});

Plan('replaces a replica of another spec even while it fails (no backoff for a new spec)', () => {
  const r = planAgent([web0v2], [observed(web0, 'failed')], restarts({ [web0.id]: { count: 5, lastAt: T0 } }), T0);
  assert.equal(brief(r.actions), [['start', web0.id, 'spec changed']]);
});

Plan('stops a replica no longer assigned to the node', () => {
  const r = planAgent([web0], [observed(web0), observed(web1)], restarts(), T0);
  assert.equal(r.actions, [{ kind: 'stop', id: web1.id, why: 'no longer assigned to this node' }]);
});

Plan('stops everything when nothing is desired', () => {
  const r = planAgent([], [observed(web0, 'failed'), observed(web1, 'starting')], restarts(), T0);
  assert.equal(brief(r.actions), [
    ['stop', web0.id, 'no longer assigned to this node'],
    ['stop', web1.id, 'no longer assigned to this node'],
  ]);
});

Plan('leaves a starting replica alone', () => {
  assert.equal(planAgent([web0], [observed(web0, 'starting')], restarts(), T0).actions, []);
});

Plan('restarts a failed replica at once when it has not been restarted before', () => {
  const r = planAgent([web0], [observed(web0, 'failed', { message: 'exited with code 1' })], restarts(), T0);
  assert.equal(brief(r.actions), [['start', web0.id, 'restart after: exited with code 1']]);
});

Plan('restarts a stopped replica, saying it was stopped', () => {
  const r = planAgent([web0], [observed(web0, 'stopped')], restarts(), T0);
  assert.equal(brief(r.actions), [['start', web0.id, 'restart after: stopped']]);
});

const restartCases: Array<[string, RestartRecord, number, boolean, number | undefined]> = [
  // name, record, now, restarts?, nextCheckMs
  ['1st restart: 1 s not yet passed', { count: 1, lastAt: T0 }, T0 + 999, false, 1],
  ['1st restart: 1 s passed', { count: 1, lastAt: T0 }, T0 + 1000, true, undefined],
  ['3rd restart: waits 4 s', { count: 3, lastAt: T0 }, T0 + 1000, false, 3000],
  ['3rd restart: after 4 s', { count: 3, lastAt: T0 }, T0 + 4001, true, undefined],
  ['many restarts: capped at 60 s', { count: 30, lastAt: T0 }, T0 + 60_000, true, undefined],
  ['many restarts: not before 60 s', { count: 30, lastAt: T0 }, T0, false, 60_000],
];
for (const [name, rec, now, restarts_, next] of restartCases) {
  Plan(`backoff: ${name}`, () => {
    const r = planAgent([web0], [observed(web0, 'failed', { message: 'oom' })], restarts({ [web0.id]: rec }), now);
    assert.equal(brief(r.actions), restarts_ ? [['start', web0.id, 'restart after: oom']] : []);
    assert.is(r.nextCheckMs, next);
  });
}

Plan('nextCheckMs is the soonest of several waits', () => {
  const r = planAgent(
    [web0, web1],
    [observed(web0, 'failed'), observed(web1, 'failed')],
    restarts({ [web0.id]: { count: 3, lastAt: T0 }, [web1.id]: { count: 1, lastAt: T0 } }),
    T0 + 200,
  );
  assert.equal(r.actions, []);
  assert.is(r.nextCheckMs, 800);
});

Plan('a mix: start, replace, restart, wait and stop in one plan', () => {
  const db = aService('shop/db');
  const db0 = aReplica(db, 0),
    db1 = aReplica(db, 1);
  const cache0 = aReplica(aService('shop/cache'), 0);
  const r = planAgent(
    [web0v2, web1, db0, db1],
    [observed(web0), observed(web1, 'failed'), observed(db0, 'failed'), observed(cache0)],
    restarts({ [web1.id]: { count: 1, lastAt: T0 - 5000 }, [db0.id]: { count: 2, lastAt: T0 } }),
    T0,
  );
  assert.equal(brief(r.actions), [
    ['start', web0.id, 'spec changed'],
    ['start', web1.id, 'restart after: failed'],
    ['start', db1.id, 'missing'],
    ['stop', cache0.id, 'no longer assigned to this node'],
  ]);
  assert.is(r.nextCheckMs, 2000);
});

Backoff.run();
Plan.run();
