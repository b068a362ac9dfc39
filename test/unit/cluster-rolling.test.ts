// In-cluster rolling (reconciler/cluster/rolling.ts, steps/roll.ts): which replicas switch to a
// new spec and when, under maxUnavailable and maxSurge, from the readiness the nodes report; a
// rollback; a scale-up during a roll; surge replicas that find no node; and the steps around it
// (the adoption holds the old spec, the placing pass gives it, the aggregate says `updated`).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Assignment, Placement, ReplicaState } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { replicaId, specHash } from '../../reconciler/core/ids.js';
import { decideRoll, rollLimits, startRoll, type Roll } from '../../reconciler/cluster/rolling.js';
import { placeReplicas } from '../../reconciler/cluster/place.js';
import { aggregate } from '../../reconciler/cluster/aggregate.js';
import { adoptPlacement } from '../../reconciler/cluster/steps/adopt.js';
import { placeOnNodes } from '../../reconciler/cluster/steps/place-nodes.js';
import { aggregateInput } from '../../reconciler/cluster/steps/report.js';
import { beginRolls, journalRolls, loadRolls, rollingKey } from '../../reconciler/cluster/steps/roll.js';
import { COMMIT, aNode, aNodeStatus, aService } from '../helpers/builders.js';
import { fakeCluster, heardNode } from '../helpers/cluster-fakes.js';

const SVC = 'shop/web';

function specOf(rev: string, rollout?: ServiceSpec['rollout'], replicas = 3): ServiceSpec {
  return { ...aService(SVC).replicas(replicas).cpu(0.1).env({ REV: rev }).spec(), ...(rollout ? { rollout } : {}) };
}
const assignment = (spec: ServiceSpec, replicas = spec.replicas): Assignment => ({ replicas, specHash: specHash(spec), spec });

/** A simulated service: per replica index, the hash it runs and whether it is ready. */
type Model = Map<number, { hash: string; ready: boolean }>;
const allOn = (hash: string, n: number): Model => new Map(Array.from({ length: n }, (_, i) => [i, { hash, ready: true }]));
const readyIn = (m: Model) => (i: number, h: string) => m.get(i)?.hash === h && m.get(i)!.ready;
const readyCount = (m: Model) => [...m.values()].filter((r) => r.ready).length;

/**
 * Roll `m` to `to` pass by pass: each pass decides, the switched and surge replicas start (not
 * ready), the replicas beyond what runs go, then the new ones become ready if `good`. Checks the
 * floor, the limit on unready new-spec replicas and on replicas run after every decision. Returns the passes taken.
 */
function simulate(m: Model, from: Assignment, to: Assignment, o: { good: boolean; passes?: number }): { passes: number; roll?: Roll; model: Model } {
  const { maxUnavailable: U, maxSurge: S } = rollLimits(to.spec);
  const R = to.replicas;
  let roll = startRoll(undefined, from, to, (i) => m.has(i));
  let passes = 0;
  for (; roll && passes < (o.passes ?? 50); passes++) {
    const d = decideRoll({ replicas: R, specHash: to.specHash, spec: to.spec, roll, ready: readyIn(m) });
    for (const i of d.switched) m.set(i, { hash: to.specHash, ready: false });
    for (let i = R; i < R + d.surge; i++) if (!m.has(i)) m.set(i, { hash: to.specHash, ready: false });
    for (const i of [...m.keys()]) if (i >= R + d.surge) m.delete(i);
    for (let i = R; i < R + S; i++) if (i >= R + d.surge) assert.not.ok(m.has(i));
    assert.ok(readyCount(m) >= R - U, `pass ${passes}: ${readyCount(m)} ready, floor ${R - U}`);
    // Ready surge replicas pay for more switches: unready replicas on the new spec stay within both limits.
    const unreadyNew = [...m.values()].filter((r) => r.hash === to.specHash && !r.ready).length;
    assert.ok(unreadyNew <= U + S, `pass ${passes}: ${unreadyNew} unready on the new spec (maxUnavailable ${U} + maxSurge ${S})`);
    assert.ok(m.size <= R + S, `pass ${passes}: ${m.size} replicas run (at most ${R + S})`);
    roll = d.roll;
    if (o.good) for (const r of m.values()) if (r.hash === to.specHash) r.ready = true;
  }
  return { passes, roll, model: m };
}

// --- decideRoll --------------------------------------------------------------------------------

const Decide = suite('decideRoll');

const combos: Array<[number, number, number]> = [
  [3, 1, 1],
  [3, 0, 1],
  [3, 1, 0],
  [3, 2, 2],
  [5, 2, 0],
  [5, 0, 3],
  [1, 1, 1],
  [4, 4, 0],
];
for (const [R, U, S] of combos) {
  Decide(`R=${R} maxUnavailable=${U} maxSurge=${S}: a good spec reaches every slot, never below R-U ready`, () => {
    const a = specOf('a', undefined, R);
    const b = specOf('b', { maxUnavailable: U, maxSurge: S }, R);
    const { roll, model, passes } = simulate(allOn(specHash(a), R), assignment(a), assignment(b), { good: true });
    assert.is(roll, undefined, 'the roll is over');
    assert.ok(passes > 0);
    assert.equal(
      [...model.keys()].sort(),
      Array.from({ length: R }, (_, i) => i),
      'no surge replica left',
    );
    for (const r of model.values()) assert.equal(r, { hash: specHash(b), ready: true });
  });
  Decide(`R=${R} maxUnavailable=${U} maxSurge=${S}: a failing spec stops at the limits`, () => {
    const a = specOf('a', undefined, R);
    const b = specOf('b', { maxUnavailable: U, maxSurge: S }, R);
    const { roll, model } = simulate(allOn(specHash(a), R), assignment(a), assignment(b), { good: false, passes: 10 });
    const eff = rollLimits(b);
    const onNew = [...model].filter(([i, r]) => i < R && r.hash === specHash(b)).length;
    assert.is(onNew, Math.min(R, eff.maxUnavailable), 'exactly maxUnavailable slots changed');
    assert.ok(roll, 'still rolling');
  });
}

Decide('no rollout block: maxUnavailable 1 and maxSurge 1; both 0 means one unavailable', () => {
  assert.equal(rollLimits(specOf('a')), { maxUnavailable: 1, maxSurge: 1 });
  assert.equal(rollLimits(specOf('a', { maxUnavailable: 0, maxSurge: 0 })), { maxUnavailable: 1, maxSurge: 0 });
  assert.equal(rollLimits(specOf('a', { maxUnavailable: 2 })), { maxUnavailable: 2, maxSurge: 1 });
});

Decide('the first pass switches maxUnavailable ready replicas and starts maxSurge', () => {
  const a = specOf('a');
  const b = specOf('b', { maxUnavailable: 1, maxSurge: 2 });
  const m = allOn(specHash(a), 3);
  const roll = startRoll(undefined, assignment(a), assignment(b), () => true)!;
  assert.equal(roll.held, { 0: specHash(a), 1: specHash(a), 2: specHash(a) });
  const d = decideRoll({ replicas: 3, specHash: specHash(b), spec: b, roll, ready: readyIn(m) });
  assert.equal(d.switched, [0]);
  assert.is(d.surge, 2);
  assert.equal(d.roll!.held, { 1: specHash(a), 2: specHash(a) });
});

Decide('a replica that is not ready switches at no cost', () => {
  const a = specOf('a');
  const b = specOf('b', { maxUnavailable: 0, maxSurge: 0 }); // at most one unavailable
  const m = allOn(specHash(a), 3);
  m.get(1)!.ready = false; // probe failing
  m.delete(2); // not running at all
  const roll = startRoll(undefined, assignment(a), assignment(b), () => true)!;
  const d = decideRoll({ replicas: 3, specHash: specHash(b), spec: b, roll, ready: readyIn(m) });
  // 1 ready of a floor of 2: the ready one stays; the two that serve nothing switch.
  assert.equal(d.switched, [1, 2]);
  assert.equal(d.roll!.held, { 0: specHash(a) });
});

Decide('a rollback: replicas on the failed spec go back at once, the others never moved', () => {
  const a = specOf('a');
  const b = specOf('b');
  const m = allOn(specHash(a), 3);
  const fwd = simulate(m, assignment(a), assignment(b), { good: false, passes: 5 });
  assert.equal([...fwd.model].filter(([, r]) => r.hash === specHash(b)).length, 2, 'one slot and one surge on b');
  // The root hands a back: the roll now goes to a, from where each replica is.
  let roll = startRoll(fwd.roll, assignment(b), assignment(a), (i) => i < 3)!;
  assert.equal(roll.held, { 0: specHash(b) }, 'only the slot on b is held; those on a are on the placement');
  const d = decideRoll({ replicas: 3, specHash: specHash(a), spec: a, roll, ready: readyIn(m) });
  assert.equal(d.switched, [0], 'not ready: free');
  m.set(0, { hash: specHash(a), ready: true });
  m.delete(3);
  roll = d.roll!;
  const end = decideRoll({ replicas: 3, specHash: specHash(a), spec: a, roll, ready: readyIn(m) });
  assert.is(end.roll, undefined);
  assert.is(end.surge, 0);
});

Decide('a scale-up during a roll: the new slots take the new spec at once, and count', () => {
  const a = specOf('a');
  const b = specOf('b', { maxUnavailable: 1, maxSurge: 0 });
  const m = allOn(specHash(a), 3);
  const roll = startRoll(undefined, assignment(a), assignment(b), () => true)!;
  // The next placement: 5 replicas of b. Slots 3 and 4 were never given a: not held.
  const grown = startRoll(roll, assignment(b), assignment(b, 5), (i) => i < 3);
  assert.is(grown, roll, 'the same spec: the roll carries on');
  const d = decideRoll({ replicas: 5, specHash: specHash(b), spec: b, roll, ready: readyIn(m) });
  assert.equal(d.switched, [], '3 ready of a floor of 4: nothing switches yet');
  m.set(3, { hash: specHash(b), ready: true });
  m.set(4, { hash: specHash(b), ready: true });
  const d2 = decideRoll({ replicas: 5, specHash: specHash(b), spec: b, roll, ready: readyIn(m) });
  assert.equal(d2.switched, [0]);
});

Decide('a scale-down during a roll drops the holds of removed slots', () => {
  const a = specOf('a');
  const b = specOf('b');
  const roll = startRoll(undefined, assignment(a), assignment(b), () => true)!;
  const m = allOn(specHash(a), 3);
  const d = decideRoll({ replicas: 1, specHash: specHash(b), spec: b, roll, ready: readyIn(m) });
  assert.equal(d.switched, [0], 'floor 0: the one slot left switches');
  assert.equal(d.roll, { to: specHash(b), held: {}, specs: {} });
});

Decide('startRoll: unplaced slots hold nothing; an unchanged spec starts nothing; a removed service ends its roll', () => {
  const a = specOf('a');
  const b = specOf('b');
  assert.is(
    startRoll(undefined, assignment(a), assignment(b), () => false),
    undefined,
  );
  assert.is(
    startRoll(undefined, assignment(a), assignment(a), () => true),
    undefined,
  );
  const roll = startRoll(undefined, assignment(a), assignment(b), (i) => i !== 1)!;
  assert.equal(roll.held, { 0: specHash(a), 2: specHash(a) });
  assert.equal(roll.specs, { [specHash(a)]: a });
  assert.is(
    startRoll(roll, assignment(b), undefined, () => true),
    undefined,
  );
});

Decide('a third spec mid-roll: each replica holds what it runs', () => {
  const a = specOf('a');
  const b = specOf('b');
  const c = specOf('c');
  const r1 = startRoll(undefined, assignment(a), assignment(b), () => true)!;
  const r2 = { ...r1, held: { 1: specHash(a), 2: specHash(a) } }; // slot 0 switched to b
  const r3 = startRoll(r2, assignment(b), assignment(c), () => true)!;
  assert.equal(r3.held, { 0: specHash(b), 1: specHash(a), 2: specHash(a) });
  assert.equal(Object.keys(r3.specs).sort(), [specHash(a), specHash(b)].sort());
});

// --- surge placement ---------------------------------------------------------------------------

const Surge = suite('surge replicas');

Surge('held replicas carry their spec; a surge replica that fits runs; one that does not is not unplaced', () => {
  const a = specOf('a');
  const b = specOf('b');
  const placement: Placement = { fleet: 'demo', cluster: 'munich', version: { commit: COMMIT, seq: 2, epoch: 0 }, services: { [SVC]: assignment(b) } };
  const roll = startRoll(undefined, assignment(a), assignment(b), () => true)!;
  const prev = new Map([0, 1, 2].map((i) => [replicaId(SVC, i), 'n1']));
  // Room for exactly 3 replicas: the surge has no node.
  const full = placeReplicas(
    placement,
    [aNode('n1').withCapacity(0.3).build()],
    prev,
    'bestfit',
    {},
    { rolls: new Map([[SVC, roll]]), surge: new Map([[SVC, 1]]) },
  );
  assert.equal(
    full.byNode.get('n1')!.map((r) => [r.id, r.specHash]),
    [0, 1, 2].map((i) => [replicaId(SVC, i), specHash(a)]),
  );
  assert.equal(full.unplaced.size, 0, 'the surge is not unplaced');
  assert.equal(full.pending.size, 0);
  // Room for one more: it runs the new spec, at index R.
  const roomy = placeReplicas(
    placement,
    [aNode('n1').withCapacity(0.4).build()],
    prev,
    'bestfit',
    {},
    { rolls: new Map([[SVC, roll]]), surge: new Map([[SVC, 1]]) },
  );
  const surge = roomy.byNode.get('n1')!.find((r) => r.index === 3)!;
  assert.equal([surge.id, surge.specHash], [replicaId(SVC, 3), specHash(b)]);
});

// --- the steps ---------------------------------------------------------------------------------

const Steps = suite('rolling in the cluster steps');

function at(v: number, spec: ServiceSpec): Placement {
  return { fleet: 'demo', cluster: 'munich', version: { commit: COMMIT, seq: v, epoch: 0 }, services: { [SVC]: assignment(spec) } };
}
const running = (i: number, hash: string, ready = true): ReplicaState => ({
  id: replicaId(SVC, i),
  service: SVC,
  specHash: hash,
  state: 'running',
  since: '2025-01-01T00:00:00Z',
  ready,
});

Steps('a new spec: one replica switches, two hold the old spec, one surge; journaled; updated and the message say so', async () => {
  const a = specOf('a');
  const b = specOf('b');
  const f = fakeCluster({ placement: at(1, a) });
  const n1 = aNode('n1').build();
  f.s.nodes.set(
    'n1',
    heardNode(
      aNodeStatus(
        n1,
        [0, 1, 2].map((i) => running(i, specHash(a))),
      ),
    ),
  );
  await placeOnNodes(f.s, f.p);
  assert.equal(f.s.rolls.size, 0, 'nothing to roll');
  await adoptPlacement(f.s, f.p, { placement: at(2, b), from: 'test', source: 'snapshot' });
  assert.equal(f.rolls.appends.at(-1)!.doc[SVC].held, { 0: specHash(a), 1: specHash(a), 2: specHash(a) }, 'held before the placement is taken');
  await placeOnNodes(f.s, f.p);
  const given = f.s.byNode.get('n1')!.map((r) => [r.index, r.specHash === specHash(b) ? 'b' : 'a']);
  assert.equal(given, [
    [0, 'b'],
    [1, 'a'],
    [2, 'a'],
    [3, 'b'],
  ]);
  assert.equal(f.rolls.appends.at(-1)!.doc[SVC].held, { 1: specHash(a), 2: specHash(a) });
  // The node replaced #0 and started #3; neither is ready yet.
  const st = aNodeStatus(n1, [running(0, specHash(b), false), running(1, specHash(a)), running(2, specHash(a)), running(3, specHash(b), false)]);
  assert.not.equal(rollingKey(f.s, f.s.nodes.get('n1')!.status), rollingKey(f.s, st), 'a readiness change concerns the roll');
  f.s.nodes.set('n1', heardNode(st));
  const s1 = aggregate(aggregateInput(f.s, f.p, f.clock.t)).services[SVC];
  assert.equal([s1.desired, s1.running, s1.ready, s1.updated], [3, 4, 2, 0]);
  assert.match(s1.message!, /^rolling: 1\/3 on the new spec, 2 ready/);
  // Both ready: two more may switch (4 ready, floor 2)...
  f.s.nodes.set('n1', heardNode(aNodeStatus(n1, [running(0, specHash(b)), running(1, specHash(a)), running(2, specHash(a)), running(3, specHash(b))])));
  await placeOnNodes(f.s, f.p);
  assert.equal(f.s.rolls.get(SVC)!.held, {});
  assert.is(f.s.byNode.get('n1')!.length, 4, 'the surge stays while the slots on the new spec alone are below the floor');
  // ...and once they are ready, the surge goes and the roll is over.
  f.s.nodes.set(
    'n1',
    heardNode(
      aNodeStatus(
        n1,
        [0, 1, 2, 3].map((i) => running(i, specHash(b))),
      ),
    ),
  );
  await placeOnNodes(f.s, f.p);
  assert.equal(f.s.rolls.size, 0);
  assert.equal(
    f.s.byNode.get('n1')!.map((r) => r.id),
    [0, 1, 2].map((i) => replicaId(SVC, i)),
  );
  const s2 = aggregate(aggregateInput(f.s, f.p, f.clock.t)).services[SVC];
  assert.equal([s2.desired, s2.running, s2.ready, s2.updated, s2.message], [3, 3, 3, 3, undefined]);
});

Steps('a restart keeps the holds of the placement in force, and drops those on its own spec', () => {
  const a = specOf('a');
  const b = specOf('b');
  const held: Roll = { to: 'older', held: { 0: specHash(a), 1: specHash(b) }, specs: { [specHash(a)]: a, [specHash(b)]: b } };
  const loaded = loadRolls(at(3, b), { [SVC]: held, 'shop/gone': held });
  assert.equal([...loaded.keys()], [SVC]);
  assert.equal(loaded.get(SVC)!.held, { 0: specHash(a) });
  assert.is(loaded.get(SVC)!.to, specHash(b));
});

Steps('a patch starts a roll for the service it changes; the version and the others are not looked at', () => {
  const a = specOf('a');
  const b = specOf('b');
  const other = { ...aService('shop/db').replicas(1).spec() };
  const prev: Placement = { ...at(1, a), services: { [SVC]: assignment(a), 'shop/db': assignment(other) } };
  // The other service's spec "changed" in the document but no op names it: a patch says what changed.
  const next: Placement = { ...at(2, b), services: { [SVC]: assignment(b), 'shop/db': assignment(specOf('x')) } };
  const f = fakeCluster({ placement: prev, assignment: { 'shop/web#0': 'n1', 'shop/web#1': 'n1', 'shop/db#0': 'n1' } });
  const ops = beginRolls(f.s, prev, next, [
    { op: 'replace', path: '/version/seq', value: 2 },
    { op: 'replace', path: '/services/shop~1web/specHash', value: specHash(b) },
    { op: 'replace', path: '/services/shop~1web/spec', value: b },
  ]);
  assert.equal([...f.s.rolls.keys()], [SVC]);
  assert.equal(f.s.rolls.get(SVC)!.held, { 0: specHash(a), 1: specHash(a) }, 'slot 2 had no node: it holds nothing');
  assert.equal(
    ops.map((o) => [o.op, o.path]),
    [['add', '/shop~1web']],
  );
  // A snapshot looks at every service.
  beginRolls(f.s, prev, next);
  assert.equal([...f.s.rolls.keys()].sort(), ['shop/db', SVC]);
});

Steps('a journal write that failed is followed by a snapshot of the rolls', async () => {
  const a = specOf('a');
  const b = specOf('b');
  const f = fakeCluster({ placement: at(1, a), assignment: { 'shop/web#0': 'n1' } });
  const append = f.rolls.append;
  f.rolls.append = async () => {
    throw new Error('disk full');
  };
  const err = await journalRolls(f.s, f.p, beginRolls(f.s, at(1, a), at(2, b))).catch((e: Error) => e);
  assert.instance(err, Error);
  f.rolls.append = append;
  await journalRolls(f.s, f.p, []);
  assert.equal(f.rolls.writes.length, 1, 'a snapshot, not an append of nothing');
  assert.equal(f.rolls.writes[0][SVC].held, { 0: specHash(a) });
  assert.ok(f.logs.some((l) => l.includes('journaling the rolls: disk full')));
});

Decide.run();
Surge.run();
Steps.run();
