// Placement bundles for an air-gapped site (issue 19: "a benchmark shows bundle size against the
// changed descriptors for 1 and 100 missed commits; goal: at most 2× the changed bytes plus a
// constant"). A signed fleet of 100 services, all placed on "ship", a cluster declared
// `connectivity: air-gapped`; the real root (`canopy root`) writes main's notes and ship's
// placement ref as it does for any commit. The site's acknowledgement (its status, which comes
// back by a status bundle) is written into ship's status ref here directly: it names the
// placement version the last bundle carried. Then N commits (1, then 100) each change one
// descriptor; once the root has placed the last, `canopy bundle export` writes the delta. The
// constant is the same export with no commit missed (the signed manifest, the site's chain
// commits, the refs, the pack's header); the figure is (size − constant) / changed bytes, where
// changed bytes are the changed descriptors' new contents, summed over the commits.
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Bench, Figure } from './types.js';
import { judge } from './types.js';
import { BenchFleet, fleetYaml, git } from './lib/fleet.js';
import { Scope } from './lib/cleanup.js';
import { nowMs, round, sleep } from './lib/stats.js';
import { DIST } from './lib/proc.js';
import { spawnSync } from 'node:child_process';
import { StatusRecorder } from '../reconciler/cluster/status-ref.js';
import { readRecord } from '../reconciler/git/records.js';
import { resolveRef } from '../reconciler/git/repo.js';
import { PLACEMENT_FILE, placementRef } from '../reconciler/core/refs.js';
import type { ClusterStatus, Placement } from '../schemas/messages.js';
import { benchClusterStatus } from './lib/statuses.js';

const FLEET = 'benchbundle';
const SERVICES = 100;
const GOAL_RATIO = 2;

/** A descriptor of the size people write (a container with ports, health, resources, env, a comment). */
function descriptor(i: number, version: number): string {
  return [
    `# shop service ${i}: serves the storefront's part ${i}`,
    'apiVersion: canopy/v1',
    'kind: Service',
    'metadata:',
    `  name: s${i}`,
    '  app: shop',
    'spec:',
    '  runtime: container',
    '  image: canopy/busybox:1',
    '  command: [httpd, -f, -p, "8080", -h, /]',
    '  replicas: 1',
    '  resources: { cpu: 0.01, memory: 16Mi }',
    '  ports: [{ port: 8080, protocol: tcp }]',
    '  health: { http: { path: /etc/hostname, port: 8080 } }',
    `  env: { VERSION: "${version}", FEATURE_FLAGS: "search,cart,recommendations", LOG_LEVEL: info }`,
    '',
  ].join('\n');
}

const shipYaml = [
  'apiVersion: canopy/v1',
  'kind: Cluster',
  'metadata: {name: ship}',
  'spec:',
  '  connectivity: air-gapped',
  '  location: {lat: 53.5, lon: 9.9}',
  '  capacity: {cpu: 64, memory: 64Gi, nodes: 4}',
  '',
].join('\n');

async function placement(f: BenchFleet): Promise<Placement | undefined> {
  const oid = await resolveRef(f.repo, placementRef('ship'));
  return oid ? readRecord(f.repo, oid, PLACEMENT_FILE, 'Placement') : undefined;
}

async function placedAt(f: BenchFleet, commit: string, timeoutMs = 120_000): Promise<Placement> {
  const end = nowMs() + timeoutMs;
  for (;;) {
    const p = await placement(f);
    if (p?.version.commit === commit) return p;
    if (nowMs() > end) throw new Error(`the root did not place ${commit.slice(0, 12)} on ship within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

/** ship's status as the site would report it: the placement applied, every replica ready. */
async function acknowledge(rec: StatusRecorder, p: Placement): Promise<void> {
  const services: ClusterStatus['services'] = {};
  for (const [id, a] of Object.entries(p.services))
    services[id] = { desired: a.replicas, running: a.replicas, ready: a.replicas, updated: a.replicas, failed: 0 };
  await rec.record(benchClusterStatus('ship', { applied: p.version, services }), 60_000);
}

function exportBundle(f: BenchFleet, out: string): number {
  const r = spawnSync(
    process.execPath,
    [path.join(DIST, 'cli/canopy.js'), 'bundle', 'export', '--repo', f.dir, '--cluster', 'ship', '--out', out, ...f.identity('root', 'root')],
    {
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`bundle export: ${r.stderr}`);
  return statSync(out).size;
}

const run: Bench = async ({ log }) => {
  const scope = new Scope();
  try {
    const f = new BenchFleet(FLEET, scope);
    const files: Record<string, string> = { 'fleet.yaml': fleetYaml(FLEET), 'clusters/ship.yaml': shipYaml };
    for (let i = 0; i < SERVICES; i++) files[`services/shop/s${i}.yaml`] = descriptor(i, 0);
    await f.secure(files, { ship: [] });
    const first = await f.init(files);
    await f.startBroker();
    f.startRoot();
    let p = await placedAt(f, first);
    const rec = new StatusRecorder(f.repo, 'ship', { name: 'canopy cluster ship', email: 'ship@canopy.invalid' });
    const full = exportBundle(f, path.join(f.work, 'full.bundle'));
    log(`whole bundle for ${SERVICES} services: ${full} bytes`);
    const figures: Figure[] = [{ label: `whole bundle, ${SERVICES} services (first export)`, value: full, unit: 'bytes' }];
    let version = 0;
    // Each missed commit changes one descriptor (its env); the last case adds a service instead.
    const cases = [
      { missed: 1, adds: false, what: '1 missed commit(s)' },
      { missed: 100, adds: false, what: '100 missed commit(s)' },
      { missed: 1, adds: true, what: '1 missed commit adding a service' },
    ];
    for (const { missed, adds, what } of cases) {
      await acknowledge(rec, p);
      const constant = exportBundle(f, path.join(f.work, `none-${what.replace(/\W+/g, '-')}.bundle`));
      let changed = 0;
      let head = '';
      for (let k = 0; k < missed; k++) {
        version++;
        const i = adds ? SERVICES : version % SERVICES;
        const text = descriptor(i, version);
        changed += Buffer.byteLength(text);
        head = f.commit({ [`services/shop/s${i}.yaml`]: text }, `s${i}: ${adds ? 'a new service' : `version ${version}`}`).commit;
      }
      p = await placedAt(f, head);
      const size = exportBundle(f, path.join(f.work, `delta-${what.replace(/\W+/g, '-')}.bundle`));
      const ratio = round((size - constant) / changed, 2);
      log(`${what}: ${changed} changed bytes, bundle ${size} bytes (constant ${constant}), (size − constant) / changed = ${ratio}`);
      figures.push({ label: `${what}: bundle size`, value: size, unit: 'bytes' });
      figures.push({ label: `${what}: changed descriptor bytes`, value: changed, unit: 'bytes' });
      figures.push(judge({ label: `${what}: (size − constant) / changed`, value: ratio, unit: 'x', goal: { op: '<=', value: GOAL_RATIO } }));
      figures.push({ label: `${what}: constant (no commit missed)`, value: constant, unit: 'bytes' });
    }
    const commits = git(f.dir, 'rev-list', '--count', 'refs/canopy/placements/ship');
    return {
      name: 'bundle',
      figures,
      notes: [
        `${SERVICES} services of ${Buffer.byteLength(descriptor(0, 0))} bytes each on one air-gapped cluster; signed fleet; the root as a process; ${commits} placement commits in all`,
        'a delta carries main’s commits past the bundle the site acknowledged (its status names that placement) and the site’s placement chain: the placement as one document (services inline, stable order: a delta of the last one) with the note of the commit in force beside it at a stable path (a delta of the last note), packed by git',
        'for a single missed commit, about 730 bytes past the constant: main’s commit, three trees and the descriptor’s delta (~350), the chain’s tree and two deltas (~375); the constant holds the signed manifest, the chain commit and the header’s lines (every ref is listed, main too)',
        'a new service’s descriptor goes as a delta of another descriptor the site has beside it (git would send a new file whole: 2.46× before)',
      ],
    };
  } finally {
    await scope.close();
  }
};

export default run;
