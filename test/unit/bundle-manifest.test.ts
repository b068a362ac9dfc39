// A placement bundle's manifest, signed by the root as its messages are: it opens only by the
// root keys the site trusts, only for the fleet and cluster it was signed for, untampered, and a
// site that trusts root keys refuses an unsigned one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generateSigningKey, parsePublicKey, signerFrom } from '../../reconciler/core/keys.js';
import { openManifest, writeManifest, type BundleManifest } from '../../reconciler/core/bundle-manifest.js';

const test = suite('bundle manifest');
const root = generateSigningKey('root');
const other = generateSigningKey('other');
const signer = signerFrom(root.privateKey);
const keys = [parsePublicKey(root.publicKey)];
const oid = (c: string) => c.repeat(40);
const manifest = (over: Partial<BundleManifest> = {}): BundleManifest => ({
  kind: 'canopy-bundle',
  fleet: 'demo',
  cluster: 'ship',
  version: { commit: oid('a'), seq: 4, epoch: 0 },
  placement: oid('b'),
  main: oid('a'),
  exportedAt: '2026-12-07T02:00:00.000Z',
  images: [{ ref: 'canopy/busybox:1', id: `sha256:${'c'.repeat(64)}` }],
  ...over,
});

test('a signed manifest opens by the root key, for its fleet and cluster', () => {
  const text = writeManifest(manifest(), signer);
  const o = openManifest(text, 'm', keys, { fleet: 'demo', cluster: 'ship' });
  assert.ok(o.ok, o.ok ? '' : o.error);
  if (o.ok) {
    assert.equal(o.manifest.version, { commit: oid('a'), seq: 4, epoch: 0 });
    assert.is(o.signedBy, signer.id);
  }
  // The site may not know its names yet: the manifest's own are checked against the signature.
  assert.ok(openManifest(text, 'm', keys).ok);
});

test('another key, another cluster, a tampered body: refused, saying why', () => {
  const text = writeManifest(manifest(), signer);
  const byOther = openManifest(text, 'm', [parsePublicKey(other.publicKey)], { cluster: 'ship' });
  assert.not.ok(byOther.ok);
  const elsewhere = openManifest(text, 'm', keys, { fleet: 'demo', cluster: 'mine' });
  assert.not.ok(elsewhere.ok);
  const tampered = text.replace('"seq":4', '"seq":9');
  const t = openManifest(tampered, 'm', keys);
  assert.not.ok(t.ok);
  if (!t.ok) assert.match(t.error, /^m: /);
  // A manifest signed for another cluster, relabelled: the signature covers the cluster's topic.
  const forMine = writeManifest(manifest({ cluster: 'mine' }), signer);
  const relabelled = forMine.replace('"cluster":"mine"', '"cluster":"ship"');
  assert.not.ok(openManifest(relabelled, 'm', keys, { cluster: 'ship' }).ok);
});

test('unsigned: refused where root keys are trusted, taken where none are', () => {
  const text = writeManifest(manifest(), undefined);
  const o = openManifest(text, 'bundle.bundle:manifest.json', keys);
  assert.not.ok(o.ok);
  if (!o.ok) assert.match(o.error, /not signed, and this site trusts the root's keys/);
  assert.ok(openManifest(text, 'm', undefined).ok);
});

test('a manifest that is not one: refused with the field', () => {
  const bad = writeManifest({ ...manifest(), version: { commit: 'nope', seq: 1, epoch: 0 } } as BundleManifest, signer);
  const o = openManifest(bad, 'm', keys);
  assert.not.ok(o.ok);
  if (!o.ok) assert.match(o.error, /version\/commit/);
  assert.not.ok(openManifest('not json', 'm', keys).ok);
  assert.not.ok(openManifest('{}', 'm', undefined).ok);
});

test.run();
