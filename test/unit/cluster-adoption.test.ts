// The cluster's adoption steps on a fake state: a placement taken from a snapshot, a patch or
// Git only when it is for this cluster and newer than the one in force; a patch only on its
// base; Git's answer compared again inside the adoption chain, so a newer MQTT placement that
// came during the read is never replaced by it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import jsonpatch from 'fast-json-patch';
import type { Placement } from '../../schemas/messages.js';
import { adoptPlacement, inAdoptionChain, type Adoption } from '../../reconciler/cluster/steps/adopt.js';
import { adoptMessage } from '../../reconciler/cluster/steps/adopt-mqtt.js';
import { adoptFromGit } from '../../reconciler/cluster/steps/adopt-git.js';
import { onDesired } from '../../reconciler/cluster/events.js';
import { aPlacement, aService } from '../helpers/builders.js';
import { fakeCluster, metric } from '../helpers/cluster-fakes.js';

const web = aService('shop/web').replicas(1);
const at = (seq: number, replicas = seq) => aPlacement('munich').with(web, replicas).seq(seq).build();
const payload = (m: unknown) => Buffer.from(JSON.stringify(m));
const TOPIC = 'canopy/v1/demo/clusters/munich/desired';
/** The patch from `a` to `b` as the root sends it. */
const patchOf = (a: Placement, b: Placement) => ({ kind: 'patch', base: a.version, version: b.version, ops: jsonpatch.compare(a, b) });

// --- adoptPlacement ----------------------------------------------------------------------------

const Adopt = suite('adoptPlacement');

const other = { ...at(2), cluster: 'paris' };
const adoptions: Array<{ name: string; inForce?: Placement; a: Adoption; seq?: number; journal: string; queued: string[]; metric?: [string, string] }> = [
  {
    name: 'a snapshot with none in force',
    a: { placement: at(1), from: TOPIC, source: 'snapshot' },
    seq: 1,
    journal: 'write',
    queued: ['place'],
    metric: ['adopted', 'snapshot'],
  },
  { name: 'a newer snapshot', inForce: at(1), a: { placement: at(2), from: TOPIC, source: 'snapshot' }, seq: 2, journal: 'write', queued: ['place'] },
  {
    name: 'a patch of the one in force is logged as it came',
    inForce: at(1),
    a: { placement: at(2), from: TOPIC, source: 'patch', ops: [] },
    seq: 2,
    journal: 'append',
    queued: ['place'],
    metric: ['adopted', 'patch'],
  },
  {
    name: 'ops with nothing in force: a snapshot',
    a: { placement: at(2), from: TOPIC, source: 'patch', ops: [] },
    seq: 2,
    journal: 'write',
    queued: ['place'],
  },
  {
    name: 'from Git',
    inForce: at(1),
    a: { placement: at(3), from: 'git', source: 'git' },
    seq: 3,
    journal: 'write',
    queued: ['place'],
    metric: ['adopted', 'git'],
  },
  {
    name: 'an older one: ignored, and the root told what is applied',
    inForce: at(2),
    a: { placement: at(1), from: 'git', source: 'git' },
    seq: 2,
    journal: 'none',
    queued: ['report'],
    metric: ['ignored', 'stale'],
  },
  { name: 'the same version: nothing', inForce: at(2), a: { placement: at(2), from: TOPIC, source: 'snapshot' }, seq: 2, journal: 'none', queued: [] },
  { name: "another cluster's: dropped", a: { placement: other, from: TOPIC, source: 'snapshot' }, journal: 'none', queued: [] },
];
for (const c of adoptions) {
  Adopt(c.name, async () => {
    const f = fakeCluster({ placement: c.inForce });
    await adoptPlacement(f.s, f.p, c.a);
    assert.is(f.s.placement?.version.seq, c.seq);
    assert.is(f.placements.writes.length ? 'write' : f.placements.appends.length ? 'append' : 'none', c.journal);
    assert.equal(f.queued, c.queued);
    if (c.metric) {
      const [which, label] = c.metric;
      const name = which === 'adopted' ? 'canopy_cluster_placements_adopted_total' : 'canopy_cluster_placements_ignored_total';
      assert.is(metric(f.telemetry, name, which === 'adopted' ? { source: label } : { reason: label }), 1);
    }
  });
}

Adopt("another cluster's placement is dropped at the bus, naming whose it is", async () => {
  const f = fakeCluster();
  await adoptPlacement(f.s, f.p, { placement: other, from: TOPIC, source: 'snapshot' });
  assert.equal(f.bus.dropped, [{ topic: TOPIC, error: `${TOPIC}: placement is for demo/paris` }]);
});

// --- adoptMessage ------------------------------------------------------------------------------

const Message = suite('adoptMessage');

Message('a snapshot is adopted whole', async () => {
  const f = fakeCluster();
  await adoptMessage(f.s, f.p, { topic: TOPIC, payload: payload({ kind: 'snapshot', placement: at(1) }) });
  assert.equal(f.s.placement, at(1));
  assert.equal(f.placements.writes, [at(1)]);
});

Message('a patch on the placement in force is applied and journaled as ops', async () => {
  const f = fakeCluster({ placement: at(1) });
  await adoptMessage(f.s, f.p, { topic: TOPIC, payload: payload(patchOf(at(1), at(2))) });
  assert.equal(f.s.placement, at(2));
  assert.is(f.placements.appends.length, 1);
  assert.equal(f.placements.appends[0].doc, at(2));
});

Message('a patch for another base asks for a snapshot (a report of what is applied)', async () => {
  const f = fakeCluster({ placement: at(1) });
  await adoptMessage(f.s, f.p, { topic: TOPIC, payload: payload(patchOf(at(2), at(3))) });
  assert.is(f.s.placement?.version.seq, 1);
  assert.equal(f.queued, ['report']);
  assert.is(metric(f.telemetry, 'canopy_cluster_placements_ignored_total', { reason: 'base' }), 1);
  assert.ok(f.logs.some((l) => /patch for base #2 \(epoch 0 of \w+\) from \S+ but applied #1 \(epoch 0 of \w+\): asking for a snapshot/.test(l)));
});

Message('a patch with nothing in force asks for a snapshot', async () => {
  const f = fakeCluster();
  await adoptMessage(f.s, f.p, { topic: TOPIC, payload: payload(patchOf(at(1), at(2))) });
  assert.is(f.s.placement, undefined);
  assert.equal(f.queued, ['report']);
});

Message('a patch to a version already in force (e.g. from Git) is nothing', async () => {
  const f = fakeCluster({ placement: at(2) });
  await adoptMessage(f.s, f.p, { topic: TOPIC, payload: payload(patchOf(at(1), at(2))) });
  assert.equal(f.queued, []);
  assert.equal(f.bus.dropped, []);
});

Message('what does not parse, or does not apply, is dropped', async () => {
  const f = fakeCluster({ placement: at(1) });
  await adoptMessage(f.s, f.p, { topic: TOPIC, payload: Buffer.from('{not json') });
  const bad = { ...patchOf(at(1), at(2)), ops: [{ op: 'remove', path: '/services/nope' }] };
  await adoptMessage(f.s, f.p, { topic: TOPIC, payload: payload(bad) });
  assert.is(f.bus.dropped.length, 2);
  assert.is(f.s.placement?.version.seq, 1);
});

// --- adoptFromGit and the chain ----------------------------------------------------------------

const Git = suite('adoptFromGit');

Git('asks Git with the version in force, and adopts a newer placement', async () => {
  const asked: unknown[] = [];
  const f = fakeCluster({
    placement: at(1),
    placementFromGit: async (have) => {
      asked.push(have);
      return at(2);
    },
  });
  await adoptFromGit(f.s, f.p);
  assert.equal(asked, [at(1).version]);
  assert.is(f.s.placement?.version.seq, 2);
  assert.is(metric(f.telemetry, 'canopy_cluster_placements_adopted_total', { source: 'git' }), 1);
});

Git('nothing from Git, or no Git at all: nothing changes', async () => {
  for (const placementFromGit of [async () => undefined, undefined]) {
    const f = fakeCluster({ placement: at(1), placementFromGit });
    await adoptFromGit(f.s, f.p);
    assert.is(f.s.placement?.version.seq, 1);
    assert.equal(f.queued, []);
  }
});

Git('a newer snapshot that came over MQTT during the read stays in force', async () => {
  for (const delay of [0, 1, 5]) {
    const f = fakeCluster({
      placementFromGit: async () => {
        void onDesired(f.s, f.p, TOPIC, payload({ kind: 'snapshot', placement: at(2) }));
        await new Promise((r) => setTimeout(r, delay));
        return at(1);
      },
    });
    await adoptFromGit(f.s, f.p);
    await f.s.adoption;
    assert.is(f.s.placement?.version.seq, 2, `Git answering ${delay} ms later`);
    assert.equal(
      f.placements.writes.map((p) => p.version.seq),
      [2],
    );
    assert.equal(f.queued, ['place'], 'not even reported as stale: compared again in the chain');
  }
});

const Chain = suite('inAdoptionChain');

Chain('runs adoptions one at a time in the order queued; one failing does not stop the next', async () => {
  const f = fakeCluster();
  const seen: string[] = [];
  const step =
    (name: string, ms: number, fail = false) =>
    async () => {
      seen.push(`${name} start`);
      await new Promise((r) => setTimeout(r, ms));
      seen.push(`${name} end`);
      if (fail) throw new Error(name);
    };
  const a = inAdoptionChain(f.s, step('a', 10, true));
  const b = inAdoptionChain(f.s, step('b', 0));
  const failed = await a.then(
    () => undefined,
    (e: Error) => e.message,
  );
  await b;
  assert.is(failed, 'a', "the failure is the caller's");
  assert.equal(seen, ['a start', 'a end', 'b start', 'b end']);
});

Adopt.run();
Message.run();
Git.run();
Chain.run();
