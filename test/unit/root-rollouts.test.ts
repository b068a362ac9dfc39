// The root's rollouts over fake ports (reconciler/root/rollouts.ts, steps/rollouts.ts): a commit
// that changes a service's workload goes to its clusters wave by wave, each wave gated by the
// readiness its clusters report on the new spec and by its bake time; a wave past its deadline
// rolls back (autoRollback) or pauses; an unreachable cluster is skipped and takes the outcome.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { NoteRollout } from '../../reconciler/core/note.js';
import { assignmentHash } from '../../reconciler/root/placement-docs.js';
import { rootReconciler } from '../../reconciler/root/reconcile.js';
import { clusterOnlineIn, clusterStatusIn } from '../../reconciler/root/inputs.js';
import type { ServiceSpec } from '../../schemas/model.js';
import type { ClusterStatus } from '../../schemas/messages.js';
import { aService } from '../helpers/builders.js';
import { aClusterStatus, desiredState, fakeCommits, fakeRoot, lastNote, loaded, metric, oid, START_MS, type FakeRoot } from '../helpers/root-fakes.js';

const [C1, C2] = ['c1', 'c2'].map(oid);
const ROLLOUT = {
  waves: [{ matchLabels: { tier: 'canary' } }, { names: ['b'] }],
  bakeSeconds: 5,
  progressDeadlineSeconds: 30,
  autoRollback: true,
};
const LABELS: Record<string, Record<string, string>> = { a: { tier: 'canary' }, b: {}, c: {} };
const web = (image: string, rollout: NonNullable<ServiceSpec['rollout']> = ROLLOUT) =>
  aService('shop/web').image(image).replicas(6).cpu(2).spread('clusters').rollout(rollout);

/** Cluster `c` reports the version it was given applied, with `updated` of its replicas ready on it. */
function report(f: FakeRoot, c: string, updated?: number, failed = 0): void {
  const doc = f.book.get(c);
  const a = doc?.services['shop/web'];
  const n = a?.replicas ?? 0;
  const services: ClusterStatus['services'] = a ? { 'shop/web': { desired: n, running: n - failed, ready: n - failed, updated: updated ?? n, failed } } : {};
  clusterStatusIn(f.state, f.ports, c, aClusterStatus(c, { labels: LABELS[c], applied: doc?.version ?? null, services }));
}

const hashOf = (f: FakeRoot, c: string) => f.book.get(c)?.services['shop/web']?.specHash;
const rolloutOf = (f: FakeRoot): NoteRollout => lastNote(f, C2).rollouts!['shop/web'];

/** v1 accepted and running everywhere, then v2 committed: the first wave has started. */
async function rolling(rollout?: NonNullable<ServiceSpec['rollout']>, sealed?: [string, string]) {
  const v1 = desiredState(C1, [web('canopy/app:1', rollout)]);
  const v2 = desiredState(C2, [web(sealed ? 'canopy/app:1' : 'canopy/app:2', rollout)]);
  if (sealed) {
    v1.services.get('shop/web')!.sealed = sealed[0];
    v2.services.get('shop/web')!.sealed = sealed[1];
  }
  const commits = fakeCommits({ head: C1, loads: { [C1]: loaded(v1), [C2]: loaded(v2) } });
  const f = fakeRoot({ commits });
  for (const c of ['a', 'b', 'c']) clusterStatusIn(f.state, f.ports, c, aClusterStatus(c, { labels: LABELS[c] }));
  const reconcile = rootReconciler(f.state, f.ports);
  await reconcile('main');
  for (const c of ['a', 'b', 'c']) report(f, c);
  await reconcile('converge');
  assert.ok(lastNote(f, C1).convergedAt, 'v1 converged');
  commits.branchHead = C2;
  await reconcile('main');
  const h = { v1: assignmentHash(v1.services.get('shop/web')!), v2: assignmentHash(v2.services.get('shop/web')!) };
  return { f, reconcile, h };
}

const Waves = suite('root rollouts: waves');

Waves('a new workload goes to the canary wave first; later waves keep the last ready spec', async () => {
  const { f, h } = await rolling();
  assert.equal(
    ['a', 'b', 'c'].map((c) => hashOf(f, c)),
    [h.v2, h.v1, h.v1],
  );
  const r = rolloutOf(f);
  assert.is(r.state, 'progressing');
  assert.equal(r.from, { commit: C1, specHash: h.v1 });
  assert.equal(
    r.waves.map((w) => w.clusters),
    [['a'], ['b'], ['c']],
  );
  assert.is(r.waves[0].startedAt, new Date(START_MS).toISOString());
  assert.is(r.waves[1].startedAt, undefined);
});

Waves('each wave starts once the one before has been ready for bakeSeconds; then the rollout is done and the commit converges', async () => {
  const { f, reconcile, h } = await rolling();
  report(f, 'a', 0);
  await reconcile('rollout');
  assert.is(rolloutOf(f).waves[0].readyAt, undefined, 'not ready on the new spec yet');
  report(f, 'a');
  await reconcile('rollout');
  assert.ok(rolloutOf(f).waves[0].readyAt);
  assert.equal(f.after.at(-1)![0], 'rollout');
  assert.ok(f.after.at(-1)![1] >= 5000, 'woken when the bake ends');
  f.clock.ms += 5000;
  await reconcile('rollout');
  assert.equal(
    ['a', 'b', 'c'].map((c) => hashOf(f, c)),
    [h.v2, h.v2, h.v1],
  );
  const w = rolloutOf(f).waves;
  assert.ok(w[0].bakedAt && w[1].startedAt && Date.parse(w[1].startedAt) >= Date.parse(w[0].bakedAt));
  report(f, 'b');
  await reconcile('rollout');
  f.clock.ms += 5000;
  await reconcile('rollout');
  report(f, 'c');
  await reconcile('rollout');
  f.clock.ms += 5000;
  await reconcile('rollout');
  assert.is(rolloutOf(f).state, 'done');
  assert.equal(
    ['a', 'b', 'c'].map((c) => hashOf(f, c)),
    [h.v2, h.v2, h.v2],
  );
  for (const c of ['a', 'b', 'c']) report(f, c);
  await reconcile('converge');
  assert.ok(lastNote(f, C2).convergedAt, 'converged once done');
});

Waves('a wave not ready by its deadline rolls every cluster back; the commit never converges; the note says why', async () => {
  const { f, reconcile, h } = await rolling();
  report(f, 'a', 1);
  f.clock.ms += 29_000;
  await reconcile('rollout');
  assert.is(rolloutOf(f).state, 'progressing');
  f.clock.ms += 1_000;
  await reconcile('rollout');
  const r = rolloutOf(f);
  assert.is(r.state, 'rolled-back');
  assert.match(r.reason!, /wave 1 \(a\) not ready after 30 s \(progressDeadlineSeconds 30\): a: 1\/\d ready on the new spec/);
  assert.equal(
    ['a', 'b', 'c'].map((c) => hashOf(f, c)),
    [h.v1, h.v1, h.v1],
  );
  assert.is(metric(f.telemetry, 'canopy_root_rollouts_total', { outcome: 'rolled-back' }), 1);
  assert.is(metric(f.telemetry, 'canopy_root_rollouts', { state: 'rolled-back' }), 1);
  const back = f.events.filter((e) => e.event === 'rolled-back');
  assert.equal(
    back.map((e) => e.event === 'rolled-back' && [e.commit, e.service, e.reason]),
    [[C2, 'shop/web', r.reason]],
    'notified once, for the commit that started it',
  );
  for (const c of ['a', 'b', 'c']) report(f, c);
  await reconcile('converge');
  assert.not.ok(lastNote(f, C2).convergedAt);
  assert.match(
    f.notes.at(-1)!.notes.get(C2) ??
      [...f.notes]
        .reverse()
        .find((n) => n.notes.has(C2))!
        .notes.get(C2)!,
    /ROLLED BACK/,
  );
});

Waves('without autoRollback a failed wave pauses: its clusters keep the new spec, the later ones the old', async () => {
  const { f, reconcile, h } = await rolling({ ...ROLLOUT, autoRollback: false });
  report(f, 'a', 0);
  f.clock.ms += 30_000;
  await reconcile('rollout');
  assert.is(rolloutOf(f).state, 'paused');
  assert.equal(
    ['a', 'b', 'c'].map((c) => hashOf(f, c)),
    [h.v2, h.v1, h.v1],
  );
});

Waves('an unreachable cluster does not hold its wave: skipped, it keeps the old spec, and takes the outcome when the rollout ends', async () => {
  const { f, reconcile, h } = await rolling();
  clusterOnlineIn(f.state, f.ports, 'b', false);
  report(f, 'a');
  await reconcile('rollout');
  f.clock.ms += 5000;
  await reconcile('rollout');
  assert.equal(rolloutOf(f).waves[1].skipped, ['b']);
  assert.is(hashOf(f, 'b'), h.v1);
  assert.is(hashOf(f, 'c'), h.v2, 'the wave after it started at once');
  report(f, 'c');
  await reconcile('rollout');
  f.clock.ms += 5000;
  await reconcile('rollout');
  assert.is(rolloutOf(f).state, 'done');
  assert.is(hashOf(f, 'b'), h.v2, 'b gets the outcome');
});

Waves('a commit that changes only the replicas carries the rollout on; one that changes the workload again starts from the last ready spec', async () => {
  const { f, h } = await rolling();
  const r = rolloutOf(f);
  assert.is(r.from.specHash, h.v1);
  assert.is(f.state.rollouts.get('shop/web')!.to.hash, h.v2);
});

Waves('replicas on the new spec that fail and stay unready 30 s fail the wave before its deadline; a failure that recovers does not', async () => {
  const { f, reconcile, h } = await rolling({ ...ROLLOUT, progressDeadlineSeconds: 600 });
  report(f, 'a', 0, 1);
  await reconcile('rollout');
  f.clock.ms += 20_000;
  report(f, 'a', 1, 0); // running again, not ready yet: a crash loop between two crashes
  await reconcile('rollout');
  assert.is(rolloutOf(f).state, 'progressing');
  f.clock.ms += 10_000;
  await reconcile('rollout');
  const r = rolloutOf(f);
  assert.is(r.state, 'rolled-back');
  assert.match(r.reason!, /wave 1 \(a\) not ready 30 s after replicas on the new spec failed: a: 0\/\d ready on the new spec, 1 failed/);
  assert.equal(
    ['a', 'b', 'c'].map((c) => hashOf(f, c)),
    [h.v1, h.v1, h.v1],
  );

  const again = await rolling({ ...ROLLOUT, progressDeadlineSeconds: 600 });
  report(again.f, 'a', 0, 1);
  await again.reconcile('rollout');
  again.f.clock.ms += 10_000;
  report(again.f, 'a');
  await again.reconcile('rollout');
  again.f.clock.ms += 25_000;
  await again.reconcile('rollout');
  assert.is(rolloutOf(again.f).state, 'progressing', 'ready after one failure: the wave bakes on');
  assert.is(hashOf(again.f, 'b'), again.h.v2);
});

Waves('a secret set anew (the same spec, a new ciphertext) rolls out wave by wave too', async () => {
  const { f, reconcile, h } = await rolling(undefined, ['oid-1', 'oid-2']);
  assert.is.not(h.v1, h.v2);
  assert.equal(
    ['a', 'b', 'c'].map((c) => hashOf(f, c)),
    [h.v2, h.v1, h.v1],
  );
  report(f, 'a');
  await reconcile('rollout');
  f.clock.ms += 5000;
  await reconcile('rollout');
  assert.is(hashOf(f, 'b'), h.v2, 'the canary was ready on the new ciphertext: wave 2 started');
});

Waves.run();
