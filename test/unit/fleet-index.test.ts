import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FleetIndex, validateFleet, validationOf, type FleetFile, type ParseResult } from '../../reconciler/core/validate.js';
import { createHash } from 'node:crypto';
import { prng, type Rng } from '../helpers/builders.js';

// Files a random change picks from: good and bad descriptors, duplicates, unknown and ignored
// files, latency targets declared or not, fleet.yaml present, broken or gone.
const FLEETS = [
  'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: demo}\n',
  'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: demo}\nspec:\n  targets: {hq: {lat: 48.1, lon: 11.5}}\n',
  'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: demo\n',
  null,
];
const svc = (app: string, name: string, extra = '') =>
  `apiVersion: canopy/v1\nkind: Service\nmetadata:\n  name: ${name}\n  app: ${app}\nspec:\n  runtime: container\n  image: x:1\n  replicas: 1\n${extra}`;
const LATENCY = (t: string) => `  constraints:\n    latency: {to: {target: ${t}}, maxMs: 10}\n`;

function randomFile(rng: Rng): [string, string | null] {
  const app = rng.pick(['web', 'shop']);
  const name = rng.pick(['api', 'db', 'cache']);
  const r = rng.next();
  if (r < 0.1) return ['fleet.yaml', rng.pick(FLEETS)];
  if (r < 0.15)
    return [
      `clusters/${rng.pick(['a', 'b'])}.yaml`,
      rng.chance(0.8) ? `apiVersion: canopy/v1\nkind: Cluster\nmetadata:\n  name: ${rng.pick(['a', 'b'])}\n` : null,
    ];
  if (r < 0.2) return [rng.pick(['deploy.sh', 'services/web/api.yml', 'README.md', '.github/ci.yaml']), rng.chance(0.7) ? 'x: 1\n' : null];
  const path = `services/${app}/${name}.yaml`;
  if (rng.chance(0.15)) return [path, null];
  const text = rng.pick([
    svc(app, name),
    svc(app, name, '  env: {A: "1"}\n'),
    svc(rng.pick(['web', 'shop']), name), // metadata.app may disagree: a duplicate source
    svc(app, name, LATENCY(rng.pick(['hq', 'nowhere']))),
    svc(app, name).replace('replicas: 1', 'replicas: -1'),
    'apiVersion: canopy/v1\nkind: Service\nmetadata: {name: x\n',
  ]);
  return [path, text];
}

const Index = suite('FleetIndex');

Index('kept up to date change by change, it judges every tree as validateFleet does from scratch', () => {
  const rng = prng(42);
  for (let n = 0; n < 200; n++) {
    const cache = new Map<string, ParseResult>();
    const index = new FleetIndex(cache);
    const tree = new Map<string, FleetFile>();
    for (let step = 0; step < 15; step++) {
      const changes: Array<[string, FleetFile | null]> = [];
      for (let k = rng.int(1, 3); k > 0; k--) {
        const [path, text] = randomFile(rng);
        // Content-addressed, as blob oids are: the cache may hand a result to the same text only.
        const file = text === null ? null : { path, oid: createHash('sha1').update(text).digest('hex'), text };
        changes.push([path, file]);
      }
      const copy = index.clone();
      const undo = index.apply(changes);
      for (const [p, f] of changes) {
        if (f) tree.set(p, f);
        else tree.delete(p);
      }
      const ctx = `sequence ${n} step ${step}`;
      assert.equal(validationOf(index), validateFleet([...tree.values()]), ctx);
      // Undo gives back exactly the index before; a clone was not touched by the change.
      index.apply(undo);
      assert.equal(validationOf(index), validationOf(copy), `${ctx}: undo`);
      index.apply(changes);
    }
  }
});

Index('a change of one file parses that file only', () => {
  const cache = new Map<string, ParseResult>();
  const index = new FleetIndex(cache);
  const files: Array<[string, FleetFile]> = [['fleet.yaml', { path: 'fleet.yaml', oid: 'f', text: FLEETS[0]! }]];
  for (let i = 0; i < 500; i++) files.push([`services/a/s${i}.yaml`, { path: `services/a/s${i}.yaml`, oid: `o${i}`, text: svc('a', `s${i}`) }]);
  index.apply(files);
  assert.is(cache.size, 501);
  index.apply([['services/a/s7.yaml', { path: 'services/a/s7.yaml', oid: 'o7b', text: svc('a', 's7', '  env: {A: "2"}\n') }]]);
  assert.is(cache.size, 502);
  assert.equal(index.problems(), []);
  index.apply([['services/b/s7.yaml', { path: 'services/b/s7.yaml', oid: 'dup', text: svc('a', 's7') }]]);
  assert.equal(
    index.problems().map((p) => `${p.file}:${p.line}: ${p.message.slice(0, 41)}`),
    ['services/b/s7.yaml:4: duplicate service a/s7: also defined in s', 'services/b/s7.yaml:5: metadata.app: "a" does not match the dire'],
  );
});

Index.run();
