import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RunningCounts } from '../../reconciler/root/running-counts.js';
import { aClusterStatus } from '../helpers/root-fakes.js';

const Counts = suite('RunningCounts: services not running as many replicas as they want');

const wants = (w: Record<string, number>) => new Map(Object.entries(w).map(([id, replicas]) => [id, { spec: { replicas } }]));
const running = (cluster: string, r: Record<string, number>) =>
  aClusterStatus(cluster, { services: Object.fromEntries(Object.entries(r).map(([id, n]) => [id, { desired: n, running: n, failed: 0 }])) });

const cases: Array<[string, Record<string, number>, Array<[string, Record<string, number>]>, number]> = [
  ['nothing wanted, nothing running', {}, [], 0],
  ['wanted and not running yet', { 'shop/web': 2 }, [], 1],
  ['running as many as wanted on one cluster', { 'shop/web': 2 }, [['munich', { 'shop/web': 2 }]], 0],
  [
    'summed over clusters',
    { 'shop/web': 3 },
    [
      ['munich', { 'shop/web': 2 }],
      ['paris', { 'shop/web': 1 }],
    ],
    0,
  ],
  ['one short', { 'shop/web': 3 }, [['munich', { 'shop/web': 2 }]], 1],
  ['one too many', { 'shop/web': 1 }, [['munich', { 'shop/web': 2 }]], 1],
  ['running and not wanted', {}, [['munich', { 'shop/old': 1 }]], 1],
];
for (const [name, want, statuses, off] of cases) {
  Counts(name, () => {
    const c = new RunningCounts();
    const desired = wants(want);
    c.desiredChanged(desired.keys(), desired);
    for (const [cluster, r] of statuses) c.statusChanged(undefined, running(cluster, r), desired);
    assert.is(c.off(), off);
  });
}

Counts('a new status replaces the cluster’s last one: services it no longer reports stop counting', () => {
  const c = new RunningCounts();
  const desired = wants({ 'shop/web': 2 });
  c.desiredChanged(desired.keys(), desired);
  const before = running('munich', { 'shop/web': 2 });
  c.statusChanged(undefined, before, desired);
  assert.is(c.off(), 0);
  c.statusChanged(before, aClusterStatus('munich'), desired);
  assert.is(c.off(), 1);
});

Counts('a desired change is judged against what already runs', () => {
  const c = new RunningCounts();
  c.statusChanged(undefined, running('munich', { 'shop/web': 2 }), undefined);
  assert.is(c.off(), 1, 'running, and nothing wanted yet');
  c.desiredChanged(['shop/web'], wants({ 'shop/web': 2 }));
  assert.is(c.off(), 0);
  c.desiredChanged(['shop/web'], wants({ 'shop/web': 3 }));
  assert.is(c.off(), 1);
});

Counts.run();
