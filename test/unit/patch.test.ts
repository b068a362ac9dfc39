// Placement patches: made per service by the root (placementPatch), applied copy-on-write by the
// cluster (applyPatchShared, applyPlacementPatch), checked against the schemas at the cost of what
// they change; a patch of any other shape is checked whole.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { applyPatchShared } from '../../reconciler/core/patch.js';
import { placementPatch } from '../../reconciler/root/delegate.js';
import { applyPlacementPatch } from '../../reconciler/cluster/placement-patch.js';
import type { Placement } from '../../schemas/messages.js';
import { aPlacement, aService, prng } from '../helpers/builders.js';

const Shared = suite('applyPatchShared');

const doc = () => ({ a: { b: { c: 1 }, d: [1, 2, { e: 3 }] }, f: 'x' });

Shared('gives what fast-json-patch gives on a copy, and never modifies its input', () => {
  const cases: Operation[][] = [
    [{ op: 'replace', path: '/a/b/c', value: 2 }],
    [
      { op: 'add', path: '/a/d/-', value: 4 },
      { op: 'remove', path: '/a/d/0' },
    ],
    [
      { op: 'add', path: '/g', value: { h: 1 } },
      { op: 'replace', path: '/g/h', value: 2 },
    ],
    [{ op: 'move', from: '/a/b', path: '/b' }],
    [
      { op: 'copy', from: '/a/d/2', path: '/a/e' },
      { op: 'replace', path: '/a/e/e', value: 9 },
    ],
    [
      { op: 'replace', path: '/a/d/2/e', value: 5 },
      { op: 'test', path: '/f', value: 'x' },
    ],
    [{ op: 'replace', path: '', value: { z: 1 } }],
  ];
  for (const ops of cases) {
    const input = doc();
    const frozen = JSON.stringify(input);
    const want = jsonpatch.applyPatch(jsonpatch.deepClone(input), jsonpatch.deepClone(ops), true, false).newDocument;
    assert.equal(applyPatchShared(input, ops), want, JSON.stringify(ops));
    assert.is(JSON.stringify(input), frozen, `input modified by ${JSON.stringify(ops)}`);
  }
});

Shared('shares what the patch did not touch', () => {
  const input = doc();
  const out = applyPatchShared(input, [{ op: 'replace', path: '/a/b/c', value: 2 }]);
  assert.is.not(out.a, input.a);
  assert.is(out.a.d, input.a.d);
});

Shared('a patch that does not apply throws, and the input stays as it was', () => {
  for (const ops of [
    [{ op: 'remove', path: '/nope/x' }],
    [{ op: 'replace', path: '/a/zz', value: 1 }],
    [{ op: 'test', path: '/f', value: 'y' }],
  ] as Operation[][]) {
    const input = doc();
    assert.throws(() => applyPatchShared(input, ops));
    assert.equal(input, doc());
  }
});

const Patch = suite('placementPatch');

function placementOf(services: Record<string, number>, seq: number): Placement {
  const p = aPlacement('munich');
  for (const [id, n] of Object.entries(services)) p.with(aService(id).replicas(n));
  const doc = p.build();
  return { ...doc, version: { ...doc.version, seq } };
}

Patch('applying the patch gives the new placement, for random changes', () => {
  const rng = prng(3);
  for (let round = 0; round < 200; round++) {
    const a: Record<string, number> = {},
      b: Record<string, number> = {};
    for (let i = 0; i < 12; i++) {
      const id = `app${i % 3}/s${i}~x`;
      if (rng.next() < 0.7) a[id] = 1 + Math.floor(rng.next() * 3);
      if (rng.next() < 0.7) b[id] = rng.next() < 0.5 && a[id] ? a[id] : 1 + Math.floor(rng.next() * 3);
    }
    const base = placementOf(a, 1);
    const next = placementOf(b, 2);
    // Unchanged entries are shared by reference, as the root's book keeps them.
    for (const id of Object.keys(next.services)) if (a[id] === b[id]) next.services[id] = base.services[id];
    const ops = placementPatch(base, next);
    const r = applyPlacementPatch(base, ops as Operation[], 'test');
    assert.ok(r.ok, r.ok ? '' : r.error);
    if (r.ok) assert.equal(r.value, next);
    // Only what changed is in the patch.
    const ids = new Set(ops.filter((o) => o.path.startsWith('/services/')).map((o) => o.path.split('/')[2]));
    assert.is(ids.size, Object.keys({ ...a, ...b }).filter((id) => a[id] !== b[id]).length);
    // A changed entry carries only what changed inside it (replica counts, never the whole entry).
    for (const o of ops) if (o.op === 'replace' && o.path.startsWith('/services/')) assert.ok(/\/(replicas|specHash)$/.test(o.path), o.path);
  }
});

Patch('entries read back from Git (other objects, same values) are not resent', () => {
  const base = placementOf({ 'shop/web': 2, 'shop/db': 1 }, 1);
  const next = { ...structuredClone(base), version: { ...base.version, seq: 2 } };
  assert.equal(placementPatch(base, next), [{ op: 'replace', path: '/version', value: next.version }]);
});

const Check = suite('applyPlacementPatch');

Check('a bad value in a service entry is refused, naming the path', () => {
  const base = placementOf({ 'shop/web': 2 }, 1);
  const r = applyPlacementPatch(base, [{ op: 'replace', path: '/services/shop~1web', value: { replicas: -1 } }], 'canopy/v1/f/clusters/munich/desired');
  assert.is(r.ok, false);
  if (!r.ok) assert.match(r.error, /^canopy\/v1\/f\/clusters\/munich\/desired \(patched\): \/services\/shop~1web: /);
});

Check('a patch of another shape is checked whole', () => {
  const base = placementOf({ 'shop/web': 2 }, 1);
  const bad = applyPlacementPatch(base, [{ op: 'replace', path: '/services/shop~1web/replicas', value: 'two' }], 'x');
  assert.is(bad.ok, false);
  const good = applyPlacementPatch(base, [{ op: 'replace', path: '/services/shop~1web/replicas', value: 3 }], 'x');
  assert.ok(good.ok);
  if (good.ok) assert.is(good.value.services['shop/web'].replicas, 3);
  assert.is(base.services['shop/web'].replicas, 2);
});

Check('a patch that does not apply is refused with the topic', () => {
  const r = applyPlacementPatch(placementOf({}, 1), [{ op: 'remove', path: '/services/nope' }], 'topic/x');
  assert.is(r.ok, false);
  if (!r.ok) assert.match(r.error, /^topic\/x: patch does not apply: /);
});

Shared.run();
Patch.run();
Check.run();
