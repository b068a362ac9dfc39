// Scheduling policies as plugins: each one's choice among candidates, table-driven; the
// registries, and the fleet schema's lists of names that follow them.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rootSchedulers, rootScheduler, ROOT_POLICIES } from '../../reconciler/root/policies/index.js';
import { clusterSchedulers, clusterScheduler, CLUSTER_POLICIES } from '../../reconciler/cluster/policies/index.js';
import { compareScores, type RootCandidate, type RootScheduler } from '../../reconciler/root/policies/policy.js';
import type { NodeCandidate, NodeScheduler } from '../../reconciler/cluster/policies/policy.js';
import { parseDescriptor } from '../../reconciler/core/validate.js';
import { FleetDescriptor } from '../../schemas/model.js';
import { aCluster, aNode, aService, capacity } from '../helpers/builders.js';

const spec = aService('shop/web').cpu(1).memory('1Gi').spec();
const req = capacity(1, '1Gi');

/** The candidate a policy ranks first (ties: the first given, as the placers break them by name). */
function pick<C>(score: (c: C) => readonly number[], cs: Array<[string, C]>): string {
  let best = cs[0];
  for (const c of cs.slice(1)) if (compareScores(score(c[1]), score(best[1])) < 0) best = c;
  return best[0];
}

// --- root policies -------------------------------------------------------------------------------

const Root = suite('root policies');

/** A cluster of 8 cpu / 16Gi with `freeCpu` cores and memory in proportion left. */
function rc(freeCpu: number, o: Partial<RootCandidate> = {}): RootCandidate {
  return { cluster: aCluster('c').withCapacity(8, '16Gi').build(), free: capacity(freeCpu, freeCpu * 2048), request: req, holds: 0, ...o };
}

const rootCases: Array<[string, keyof typeof rootSchedulers, Array<[string, RootCandidate]>, string]> = [
  [
    'bestfit: the fuller cluster',
    'bestfit',
    [
      ['empty', rc(8)],
      ['half', rc(4)],
    ],
    'half',
  ],
  [
    'bestfit: a cluster that would be left with exactly nothing',
    'bestfit',
    [
      ['some', rc(3)],
      ['exact', rc(1)],
    ],
    'exact',
  ],
  [
    'bestfit: fullness is relative to size',
    'bestfit',
    [
      ['big', { ...rc(8), cluster: aCluster('big').withCapacity(64, '128Gi').build() }],
      ['small', rc(8)],
    ],
    'big',
  ],
  [
    'spread: the emptier cluster',
    'spread',
    [
      ['half', rc(4)],
      ['empty', rc(8)],
    ],
    'empty',
  ],
  [
    'closest: the lowest round trip, although emptier',
    'closest',
    [
      ['paris', rc(2, { rtt: { ms: 8.8, source: 'estimated', km: 684 } })],
      ['munich', rc(8, { rtt: { ms: 2.1, source: 'measured' } })],
    ],
    'munich',
  ],
  [
    'closest: a measurement counts as it is, even above an estimate',
    'closest',
    [
      ['measured', rc(4, { rtt: { ms: 30, source: 'measured' } })],
      ['estimated', rc(4, { rtt: { ms: 9, source: 'estimated', km: 700 } })],
    ],
    'estimated',
  ],
  [
    'closest: by distance when there is no latency constraint',
    'closest',
    [
      ['far', rc(2, { distanceKm: 40 })],
      ['near', rc(8, { distanceKm: 3 })],
    ],
    'near',
  ],
  [
    'closest: equal round trips fall back to best fit',
    'closest',
    [
      ['empty', rc(8, { rtt: { ms: 5, source: 'measured' } })],
      ['half', rc(4, { rtt: { ms: 5, source: 'measured' } })],
    ],
    'half',
  ],
  [
    'closest: without latency or geo it is best fit',
    'closest',
    [
      ['empty', rc(8)],
      ['half', rc(4)],
    ],
    'half',
  ],
];
for (const [name, policy, cs, want] of rootCases) {
  Root(name, () =>
    assert.is(
      pick((c) => rootSchedulers[policy].score(c, spec), cs),
      want,
    ),
  );
}

Root('every policy is pure: the same candidate scores the same, and nothing is changed', () => {
  for (const [name, p] of Object.entries(rootSchedulers) as Array<[string, RootScheduler]>) {
    const c = rc(3, { rtt: { ms: 4, source: 'measured' }, distanceKm: 12 });
    const copy = structuredClone(c);
    assert.equal(p.score(c, spec), p.score(c, spec), name);
    assert.equal(c, copy, `${name} changed its candidate`);
  }
});

// --- cluster policies ----------------------------------------------------------------------------

const Cluster = suite('cluster policies');

function nc(name: string, order: number, freeCpu: number, o: Partial<NodeCandidate> = {}): [string, NodeCandidate] {
  return [name, { node: aNode(name).withCapacity(4, '8Gi').build(), free: capacity(freeCpu, freeCpu * 2048), request: req, order, holds: 0, ...o }];
}

const clusterCases: Array<[string, keyof typeof clusterSchedulers, Array<[string, NodeCandidate]>, string]> = [
  ['bestfit: the fuller node', 'bestfit', [nc('n1', 0, 4), nc('n2', 1, 2)], 'n2'],
  ['firstfit: the first by name, however full', 'firstfit', [nc('n2', 1, 1.5), nc('n1', 0, 4)], 'n1'],
  ['spread: the emptier node', 'spread', [nc('n1', 0, 2), nc('n2', 1, 4)], 'n2'],
  [
    'ldp: the lowest measured round trip',
    'ldp',
    [nc('n1', 0, 1, { rtt: { ms: 18, source: 'measured' } }), nc('n2', 1, 4, { rtt: { ms: 3, source: 'measured' } })],
    'n2',
  ],
  [
    'ldp: an estimate where nothing was measured',
    'ldp',
    [nc('n1', 0, 4, { rtt: { ms: 40, source: 'measured' } }), nc('n2', 1, 4, { rtt: { ms: 2.3, source: 'estimated', km: 30 } })],
    'n2',
  ],
  [
    'ldp: the nearest to the geo centre when there is no latency constraint',
    'ldp',
    [nc('n1', 0, 1, { distanceKm: 35 }), nc('n2', 1, 4, { distanceKm: 1 })],
    'n2',
  ],
  [
    'ldp: equally near, the fuller node',
    'ldp',
    [nc('n1', 0, 4, { rtt: { ms: 2, source: 'measured' } }), nc('n2', 1, 2, { rtt: { ms: 2, source: 'measured' } })],
    'n2',
  ],
  ['ldp: without constraints it is best fit', 'ldp', [nc('n1', 0, 4), nc('n2', 1, 2)], 'n2'],
];
for (const [name, policy, cs, want] of clusterCases) {
  Cluster(name, () =>
    assert.is(
      pick((c) => clusterSchedulers[policy].score(c, spec), cs),
      want,
    ),
  );
}

Cluster('every policy is pure', () => {
  for (const [name, p] of Object.entries(clusterSchedulers) as Array<[string, NodeScheduler]>) {
    const [, c] = nc('n1', 2, 3, { rtt: { ms: 4, source: 'measured' }, distanceKm: 12 });
    const copy = structuredClone(c);
    assert.equal(p.score(c, spec), p.score(c, spec), name);
    assert.equal(c, copy, `${name} changed its candidate`);
  }
});

// --- registries and the schema -------------------------------------------------------------------

const Registry = suite('policy registries');

type EnumSchema = { enum: string[]; description: string };
const schedulerSchema = () =>
  (FleetDescriptor.properties.spec as unknown as { properties: { scheduler: { properties: { root: EnumSchema; cluster: EnumSchema } } } }).properties.scheduler
    .properties;

Registry('the fleet schema lists exactly the registered policies', () => {
  assert.equal(schedulerSchema().root.enum, ROOT_POLICIES);
  assert.equal(schedulerSchema().cluster.enum, CLUSTER_POLICIES);
  assert.equal(ROOT_POLICIES, ['bestfit', 'spread', 'closest']);
  assert.equal(CLUSTER_POLICIES, ['bestfit', 'firstfit', 'spread', 'ldp']);
});

Registry('each policy says what it does, and the schema shows it to editors', () => {
  for (const [name, p] of [...Object.entries(rootSchedulers), ...Object.entries(clusterSchedulers)]) {
    assert.ok(p.summary.length > 10, name);
  }
  assert.match(schedulerSchema().root.description, /closest: the cluster nearest/);
  assert.match(schedulerSchema().cluster.description, /ldp: latency- and distance-aware/);
});

Registry('lookup by name; an unknown name is best fit', () => {
  assert.is(rootScheduler('closest'), rootSchedulers.closest);
  assert.is(rootScheduler(undefined), rootSchedulers.bestfit);
  assert.is(rootScheduler('toString'), rootSchedulers.bestfit);
  assert.is(clusterScheduler('ldp'), clusterSchedulers.ldp);
  assert.is(clusterScheduler('nope'), clusterSchedulers.bestfit);
});

const fleetYaml = (root: string, cluster: string) =>
  `apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: demo}\nspec:\n  scheduler:\n    root: ${root}\n    cluster: ${cluster}\n`;

Registry('fleet.yaml picks policies by name: registered ones validate', () => {
  const r = parseDescriptor({ path: 'fleet.yaml', text: fleetYaml('closest', 'ldp') });
  assert.ok(r.ok, JSON.stringify(r));
});

Registry('fleet.yaml: a name no registry has is an error at its line', () => {
  const r = parseDescriptor({ path: 'fleet.yaml', text: fleetYaml('closest', 'nearest') });
  assert.is(r.ok, false);
  if (r.ok) return;
  assert.is(r.problems[0].line, 7);
  assert.match(r.problems[0].message, /scheduler\.cluster/);
  assert.match(r.problems[0].message, /bestfit.*firstfit.*spread.*ldp/);
});

Root.run();
Cluster.run();
Registry.run();
