// Placement.routes, computed (reconciler/root/routes.ts): which services a cluster's workloads
// may call and the other online clusters exposing them, closest first.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_ROUTE_CLUSTERS, type Placement } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { appsWithPorts, changedRoutes, routesFor, type RouteCluster, type RoutesInput } from '../../reconciler/root/routes.js';
import { MUNICH, PARIS } from '../helpers/builders.js';

const LONDON = { lat: 51.507, lon: -0.128 };
const TOKYO = { lat: 35.68, lon: 139.69 };
const port = (p: number, protocol?: 'tcp' | 'udp') => [{ port: p, ...(protocol ? { protocol } : {}) }];

/** Desired services: id → spec (ports and uses only). */
function services(specs: Record<string, Partial<ServiceSpec>>): RoutesInput['services'] {
  return new Map(Object.entries(specs).map(([id, s]) => [id, { spec: { ...s } }]));
}
const assigned = (...ids: string[]): Placement['services'] =>
  Object.fromEntries(ids.map((id) => [id, { replicas: 1, specHash: 'h', spec: { runtime: 'process', command: ['x'], replicas: 1 }, reason: 'r' }]));
function cluster(o: { online?: boolean; location?: { lat: number; lon: number }; eps?: Record<string, string[]> }): RouteCluster {
  return { online: o.online ?? true, location: o.location, endpoints: (id) => o.eps?.[id] };
}
function input(
  specs: RoutesInput['services'],
  mine: Placement['services'],
  clusters: Record<string, RouteCluster>,
  extra: Partial<RoutesInput> = {},
): RoutesInput {
  return { services: specs, byApp: appsWithPorts(specs), assigned: mine, clusters: new Map(Object.entries(clusters)), ...extra };
}

const shop = services({
  'shop/web': { ports: port(80) },
  'shop/db': { ports: port(5432) },
  'shop/batch': {},
  'pay/api': { ports: port(9000, 'udp') },
  'pay/ledger': { ports: port(7000) },
});

const R = suite('root routes: the pure computation');

R("a cluster gets every service with ports of its own apps, never itself, and other clusters' endpoints", () => {
  const r = routesFor(
    'munich',
    input(shop, assigned('shop/web'), {
      munich: cluster({ location: MUNICH, eps: { 'shop/web': ['10.0.0.1:80'], 'shop/db': ['10.0.0.2:5432'] } }),
      paris: cluster({ location: PARIS, eps: { 'shop/db': ['10.1.0.1:31000'] } }),
    }),
  );
  assert.equal(Object.keys(r), ['shop/db', 'shop/web'], 'own app, sorted; shop/batch has no ports; pay not used');
  assert.equal(r['shop/web'], { port: 80, clusters: [] }, 'only munich runs web: the route still carries the port');
  assert.equal(r['shop/db'], { port: 5432, clusters: [{ cluster: 'paris', rank: 0, endpoints: ['10.1.0.1:31000'] }] });
});

R('uses across apps bring that service (with its protocol), not the rest of its app', () => {
  const specs = services({ 'shop/web': { ports: port(80), uses: ['pay/api'] }, 'pay/api': { ports: port(9000, 'udp') }, 'pay/ledger': { ports: port(7000) } });
  const r = routesFor('munich', input(specs, assigned('shop/web'), { paris: cluster({ eps: { 'pay/api': ['10.1.0.1:9000'] } }) }));
  assert.equal(Object.keys(r), ['pay/api', 'shop/web']);
  assert.equal(r['pay/api'], { port: 9000, protocol: 'udp', clusters: [{ cluster: 'paris', rank: 0, endpoints: ['10.1.0.1:9000'] }] });
});

R('interest adds known services with ports; unknown ids are ignored and reported', () => {
  const unknown: string[] = [];
  const r = routesFor('munich', input(shop, assigned('shop/web'), {}, { interest: ['pay/ledger', 'nope/x', 'shop/batch'], unknown: (id) => unknown.push(id) }));
  assert.equal(Object.keys(r), ['pay/ledger', 'shop/db', 'shop/web']);
  assert.equal(unknown, ['nope/x']);
});

R('a service assigned with 0 replicas brings no routes, and a cluster with nothing gets none', () => {
  const a = assigned('shop/web');
  a['shop/web'].replicas = 0;
  assert.equal(routesFor('munich', input(shop, a, {})), {});
  assert.equal(routesFor('munich', input(shop, {}, {})), {});
});

R('clusters are ranked by distance from the receiving cluster; unknown locations last, ties by name', () => {
  const eps = { 'shop/web': ['1.1.1.1:80'] };
  const r = routesFor(
    'munich',
    input(shop, assigned('shop/web'), {
      munich: cluster({ location: MUNICH }),
      tokyo: cluster({ location: TOKYO, eps }),
      zeta: cluster({ eps }),
      alpha: cluster({ eps }),
      london: cluster({ location: LONDON, eps }),
      paris: cluster({ location: PARIS, eps }),
    }),
  );
  assert.equal(
    r['shop/web'].clusters.map((c) => [c.cluster, c.rank]),
    [
      ['paris', 0],
      ['london', 1],
      ['tokyo', 2],
      ['alpha', 3],
      ['zeta', 4],
    ],
  );
});

R('offline clusters and clusters without endpoints are left out', () => {
  const r = routesFor(
    'munich',
    input(shop, assigned('shop/web'), {
      paris: cluster({ online: false, eps: { 'shop/web': ['1.1.1.1:80'] } }),
      london: cluster({ eps: { 'shop/web': [] } }),
      tokyo: cluster({ eps: { 'shop/web': ['2.2.2.2:80'] } }),
    }),
  );
  assert.equal(r['shop/web'].clusters, [{ cluster: 'tokyo', rank: 0, endpoints: ['2.2.2.2:80'] }]);
});

R(`at most MAX_ROUTE_CLUSTERS (${MAX_ROUTE_CLUSTERS}) clusters, the closest`, () => {
  const all: Record<string, RouteCluster> = { munich: cluster({ location: MUNICH }) };
  for (let i = 0; i < MAX_ROUTE_CLUSTERS + 5; i++)
    all[`c${String(i).padStart(2, '0')}`] = cluster({ location: { lat: 48, lon: 12 + i }, eps: { 'shop/web': [`10.0.0.${i}:80`] } });
  const r = routesFor('munich', input(shop, assigned('shop/web'), all));
  assert.is(r['shop/web'].clusters.length, MAX_ROUTE_CLUSTERS);
  assert.equal(r['shop/web'].clusters.at(-1), {
    cluster: `c${MAX_ROUTE_CLUSTERS - 1}`,
    rank: MAX_ROUTE_CLUSTERS - 1,
    endpoints: [`10.0.0.${MAX_ROUTE_CLUSTERS - 1}:80`],
  });
});

R('the same routes computed again keep their objects; changedRoutes names what differs', () => {
  const clusters = { paris: cluster({ eps: { 'shop/web': ['1.1.1.1:80'] } }) };
  const a = routesFor('munich', input(shop, assigned('shop/web'), clusters));
  const b = routesFor('munich', input(shop, assigned('shop/web'), clusters), a);
  assert.ok(a['shop/web'] === b['shop/web'] && a['shop/db'] === b['shop/db']);
  const c = routesFor('munich', input(shop, assigned('shop/web'), { paris: cluster({ eps: { 'shop/web': ['1.1.1.2:80'] } }) }), a);
  assert.ok(c['shop/db'] === a['shop/db']);
  assert.ok(c['shop/web'] !== a['shop/web']);
  assert.equal(changedRoutes(a, c), ['shop/web']);
  assert.equal(changedRoutes(a, { 'shop/web': a['shop/web'], 'pay/api': { port: 1, clusters: [] } }), ['pay/api', 'shop/db']);
  assert.equal(changedRoutes(undefined, undefined), []);
});

R('exposing narrows the clusters looked at', () => {
  const seen: string[] = [];
  const clusters = { paris: cluster({ eps: { 'shop/web': ['1.1.1.1:80'] } }), london: cluster({ eps: { 'shop/web': ['2.2.2.2:80'] } }) };
  const r = routesFor(
    'munich',
    input(shop, assigned('shop/web'), clusters, {
      exposing: (id) => {
        seen.push(id);
        return id === 'shop/web' ? ['london'] : [];
      },
    }),
  );
  assert.equal(
    r['shop/web'].clusters.map((c) => c.cluster),
    ['london'],
  );
  assert.equal(seen.sort(), ['shop/db', 'shop/web']);
});

R.run();
