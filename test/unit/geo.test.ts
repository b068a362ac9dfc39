// Where things are: geohash cells with known answers, distance to a cell, footprints, round
// trips estimated from distance; and constraints that cannot be met, caught at validate time.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { geohash, cellOf, distanceToCellKm, footprintOf, estimateRttMs, nearestKm } from '../../reconciler/scheduling/geo.js';
import { validateFleet, parseDescriptor } from '../../reconciler/core/validate.js';
import { MUNICH, PARIS } from '../helpers/builders.js';

const Geo = suite('geohash and estimates');

const hashes: Array<[string, { lat: number; lon: number }, number, string]> = [
  ['the reference example (Jutland)', { lat: 57.64911, lon: 10.40744 }, 11, 'u4pruydqqvj'],
  ['Munich', MUNICH, 5, 'u281z'],
  ['Paris', PARIS, 5, 'u09tv'],
  ['Munich, coarse', MUNICH, 3, 'u28'],
  ['the south-west corner of the world', { lat: -90, lon: -180 }, 4, '0000'],
  ['the north-east corner', { lat: 90, lon: 180 }, 4, 'zzzz'],
];
for (const [name, p, precision, want] of hashes) Geo(`${name}: ${want}`, () => assert.is(geohash(p, precision), want));

Geo('a cell holds the point it was made from, and is about 4.9 km across at 5 characters', () => {
  const c = cellOf('u281z')!;
  assert.ok(c.latMin <= MUNICH.lat && MUNICH.lat <= c.latMax && c.lonMin <= MUNICH.lon && MUNICH.lon <= c.lonMax);
  assert.ok(Math.abs(c.lonMax - c.lonMin - 360 / 2 ** 13) < 1e-12);
  assert.is(cellOf('u2a1'), undefined, 'a is not a geohash character');
});

Geo('distance to a cell: 0 inside, to its nearest edge outside', () => {
  assert.is(distanceToCellKm(MUNICH, 'u281z'), 0);
  const toParisCell = distanceToCellKm(MUNICH, 'u09tv');
  assert.ok(toParisCell > 678 && toParisCell < 684, String(toParisCell));
  assert.is(distanceToCellKm(MUNICH, 'u28'), 0, 'a coarse cell around Munich');
  // Across the date line: a point at 179.99° E is next to a cell at -180° W.
  assert.ok(distanceToCellKm({ lat: 0, lon: 179.99 }, geohash({ lat: 0, lon: -179.999 }, 5)) < 2);
});

Geo('the footprint is sorted, distinct, and coarser when there are many cells', () => {
  assert.equal(footprintOf([PARIS, MUNICH, MUNICH]), ['u09tv', 'u281z']);
  assert.equal(footprintOf([]), []);
  const many = Array.from({ length: 100 }, (_, i) => ({ lat: 48 + i * 0.01, lon: 11 }));
  const f = footprintOf(many, 8);
  assert.ok(f.length <= 8 && f.every((c) => c.length === f[0].length && c.length < 5), JSON.stringify(f));
});

Geo('round trips from distance: 2 × km / 200,000 km/s + 2 ms', () => {
  assert.is(estimateRttMs(0), 2);
  assert.is(estimateRttMs(684), 8.8);
  assert.is(estimateRttMs(50), 2.5);
  assert.is(estimateRttMs(20000), 202);
});

Geo('nearest: a location is exact; without one, the nearest footprint cell', () => {
  assert.equal(nearestKm(MUNICH, { location: MUNICH, footprint: ['u09tv'] }), { km: 0, via: 'location' });
  assert.equal(nearestKm(MUNICH, { footprint: ['u09tv', 'u281z'] }), { km: 0, via: 'footprint' });
  assert.is(nearestKm(MUNICH, {}), undefined);
});

// --- constraints that cannot be met, caught before anything runs ---------------------------------

const Bad = suite('constraints that cannot be met');

const FLEET =
  'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: demo}\nspec:\n  targets:\n    cams: {lat: 48.137, lon: 11.575, probe: "http://cams.example:80/"}\n';
const service = (constraints: string) =>
  `apiVersion: canopy/v1\nkind: Service\nmetadata: {name: d, app: cam}\nspec:\n  runtime: process\n  command: [sleep, "1"]\n  replicas: 1\n  constraints:\n${constraints}`;

Bad('a negative radius: the schema says so at its line', () => {
  const r = parseDescriptor({ path: 'services/cam/d.yaml', text: service('    geo: {lat: 48.137, lon: 11.575, withinKm: -5}\n') });
  assert.is(r.ok, false);
  if (r.ok) return;
  assert.is(r.problems[0].line, 9);
  assert.match(r.problems[0].message, /withinKm/);
});

Bad('a zero latency budget is refused too', () => {
  const r = parseDescriptor({ path: 'services/cam/d.yaml', text: service('    latency: {to: {target: cams}, maxMs: 0}\n') });
  assert.is(r.ok, false);
});

Bad('an unknown latency target names the declared ones', () => {
  const r = validateFleet([
    { path: 'fleet.yaml', text: FLEET },
    { path: 'services/cam/d.yaml', text: service('    latency: {to: {target: radar}, maxMs: 10}\n') },
  ]);
  assert.is(r.ok, false);
  if (r.ok) return;
  assert.match(r.problems[0].message, /"radar" is not a target of fleet\.yaml \(declared: cams\)/);
});

Bad('a known target validates', () => {
  const r = validateFleet([
    { path: 'fleet.yaml', text: FLEET },
    { path: 'services/cam/d.yaml', text: service('    latency: {to: {target: cams}, maxMs: 10}\n') },
  ]);
  assert.ok(r.ok, JSON.stringify(r));
});

Geo.run();
Bad.run();
