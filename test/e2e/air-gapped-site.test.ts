// An air-gapped site, as its operator runs it (issue 19's "Done when"). The root has its own
// Mosquitto and the fleet repository; the site "ship" has another Mosquitto, its cluster (no
// Git: `canopy cluster --name ship --fleet F --state-dir DIR --broker URL`, its repository is the
// one in its state dir, no remote) and an agent running Docker and processes. Nothing connects
// them but files: three commits reach the site by placement bundles (the second a container
// whose image the site's Docker does not have, carried by --images), the site runs them and
// records its status while cut off, and its status history comes back by bundle, with the times
// things happened at the site, into `canopy status`, `canopy history` and `canopy wait`. Every
// part has an identity: the bundles are signed by the root and the status commits by the site.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { canopy, canopyAsync, eventually, start, type Proc } from '../helpers/canopy.js';
import { commitFiles, git, serviceYaml, tempDir } from '../helpers/git.js';
import { ownFleet, removeFleet, requireDocker } from '../helpers/docker.js';
import { freePort, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { atExit } from '../helpers/cleanup.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const test = suite('e2e: an air-gapped site by bundle files');
const fleet = ownFleet(`e2e-gap-${process.pid}`);
const IMAGE = `canopy-e2e/gap-app:${process.pid}`;
const work = tempDir('canopy-airgap-');
const dir = path.join(work, 'fleet');
const ids = path.join(work, 'identities');
const site = path.join(work, 'site', 'ship');
const siteNode = path.join(work, 'site', 'ship-n1');
const file = (n: string) => path.join(work, 'carry', n);
const procs = new Map<string, Proc>();
let central: Mosquitto | undefined;
let local: Mosquitto | undefined;

atExit(() => {
  removeFleet(fleet);
  spawnSync('docker', ['rmi', '-f', IMAGE], { stdio: 'ignore' });
});

const logs = () => [...procs].map(([n, p]) => `--- ${n}:\n${p.output().slice(-2500)}`).join('\n');
const run = (args: string[]) => {
  const r = canopy(args);
  return { ...r, all: `${r.stdout}${r.stderr}` };
};
const ok = (args: string[]) => {
  const r = run(args);
  assert.is(r.code, 0, `canopy ${args.join(' ')}: exit ${r.code}\n${r.all}\n${logs()}`);
  return r;
};
const siteGit = (...args: string[]) => execFileSync('git', ['--git-dir', path.join(site, 'repo'), ...args], { encoding: 'utf8' });
/** The refs a bundle import moves at the site (the status ref is the running cluster's). */
const importedRefs = () =>
  siteGit('for-each-ref')
    .split('\n')
    .filter((l) => !l.includes('refs/canopy/status/'))
    .join('\n');
/** The site's own record of a service (its status ref, in its state dir's repository). */
function siteService(id: string): { desired: number; ready: number; images?: string[] } | undefined {
  const r = spawnSync('git', ['--git-dir', path.join(site, 'repo'), 'show', `refs/canopy/status/ship:services/${id}.json`], { encoding: 'utf8' });
  return r.status === 0 ? JSON.parse(r.stdout) : undefined;
}
const siteApplied = () => {
  const r = spawnSync('git', ['--git-dir', path.join(site, 'repo'), 'show', 'refs/canopy/status/ship:status.json'], { encoding: 'utf8' });
  return r.status === 0 ? (JSON.parse(r.stdout).applied as { seq: number } | null) : undefined;
};
const placementSeq = () => JSON.parse(git(dir, 'show', 'refs/canopy/placements/ship:placement.json')).version.seq as number;
const readyAtSite = (id: string, n: number) =>
  eventually(`${id} ready ${n} at the site`, () => (siteService(id)?.ready ?? -1) >= n, 60_000, 250).catch((e: Error) =>
    assert.unreachable(`${e.message}\n${logs()}`),
  );

function startSiteCluster(): Proc {
  const p = start([
    'cluster',
    '--name',
    'ship',
    '--fleet',
    fleet,
    '--state-dir',
    site,
    '--broker',
    local!.url,
    '--identity',
    path.join(ids, 'clusters/ship.json'),
  ]);
  procs.set('ship', p);
  return p;
}

const beacon = serviceYaml('ops', 'beacon', {
  runtime: 'process',
  command: ['sh', '-c', 'while :; do sleep 1; done', `gap-${process.pid}`],
  replicas: 1,
  resources: { cpu: 0.1 },
});
const web = (version: string) =>
  serviceYaml('ops', 'web', {
    runtime: 'container',
    image: IMAGE,
    imagePullPolicy: 'Never',
    command: ['sh', '-c', 'exec sleep 3600'],
    env: { VERSION: version },
    replicas: 1,
    resources: { cpu: 0.1, memory: '16Mi' },
  });

test.before(async () => {
  requireDocker();
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  commitFiles(
    dir,
    {
      'fleet.yaml': `apiVersion: canopy/v1\nkind: Fleet\nmetadata:\n  name: ${fleet}\nspec:\n  timings: { heartbeatSeconds: 0.5, unreachableAfterSeconds: 3, statusRefreshSeconds: 5 }\n`,
    },
    'the fleet',
  );
  for (const a of [['--root'], ['--cluster', 'ship'], ['--node', 'ship/n1']]) {
    const out = a[0] === '--root' ? 'root.json' : a[0] === '--cluster' ? 'clusters/ship.json' : 'nodes/ship/n1.json';
    ok(['identity', 'create', '--repo', dir, ...a, '--out', path.join(ids, out)]);
  }
  // The site is declared air-gapped, with the capacity it has.
  const cy = parseDocument(readFileSync(path.join(dir, 'clusters/ship.yaml'), 'utf8'));
  cy.setIn(['spec', 'connectivity'], 'air-gapped');
  cy.setIn(['spec', 'capacity'], { cpu: 4, memory: '4Gi', runtimes: ['container', 'process'] });
  cy.setIn(['spec', 'location'], { lat: 53.5, lon: 9.9 });
  writeFileSync(path.join(dir, 'clusters/ship.yaml'), cy.toString());
  commitFiles(dir, {}, 'ship: an air-gapped site, and every part’s key');
  // Two brokers, each with the generated credentials and rules; nothing links them.
  ok(['broker-config', '--identities', ids, '--out', path.join(work, 'broker')]);
  const [p1, p2] = [await freePort(), await freePort()];
  central = await startMosquitto(p1, { conf: [`listener ${p1} 127.0.0.1`, `include_dir ${path.join(work, 'broker')}`] });
  local = await startMosquitto(p2, { conf: [`listener ${p2} 127.0.0.1`, `include_dir ${path.join(work, 'broker')}`] });
  procs.set('root', start(['root', '--repo', dir, '--broker', central.url, '--identity', path.join(ids, 'root.json')]));
  await startSiteCluster().waitFor(/running/);
  const agent = start([
    'agent',
    '--cluster',
    'ship',
    '--name',
    'n1',
    '--broker',
    local.url,
    '--runtime',
    'docker,process',
    '--state-dir',
    siteNode,
    '--identity',
    path.join(ids, 'nodes/ship/n1.json'),
  ]);
  procs.set('ship/n1', agent);
  await agent.waitFor(/running/);
  // An image only this machine's Docker has, under a name no registry serves.
  execFileSync('docker', ['build', '-q', '-t', IMAGE, '-'], { input: `FROM canopy/busybox:1\nLABEL canopy.e2e=${process.pid}\n` });
  mkdirSync(path.join(work, 'carry'), { recursive: true });
});

test.after(async () => {
  for (const p of procs.values()) await p.kill('SIGKILL');
  await central?.stop();
  await local?.stop();
});

let t1 = '';
let recorded: { services: unknown; clusters: unknown } | undefined;

test('commit 1 reaches the site by a bundle file; wait exits 5 naming the air-gapped site until its status returns', async () => {
  const c1 = commitFiles(dir, { 'services/ops/beacon.yaml': beacon }, 'a beacon process on the ship');
  await eventually('the root to place commit 1 on ship', () => git(dir, 'show', 'refs/canopy/placements/ship:placement.json').includes(c1), 30_000, 200).catch(
    () => assert.unreachable(`no placement of ${c1} for ship\n${logs()}`),
  );
  const w = await canopyAsync(['wait', '--repo', dir, '--rev', c1, '--timeout', '30']);
  assert.is(w.code, 5, `${w.stdout}${w.stderr}`);
  assert.match(w.stderr + w.stdout, /ship/);
  const st = run(['status', '--repo', dir]);
  assert.match(st.all, /awaiting-bundle/);
  ok(['bundle', 'export', '--repo', dir, '--cluster', 'ship', '--identity', path.join(ids, 'root.json'), '--out', file('b1.bundle')]);
  // A native Git bundle: git itself accepts it in an empty repository (it is whole).
  const empty = path.join(work, 'empty.git');
  execFileSync('git', ['init', '-q', '--bare', empty]);
  execFileSync('git', ['--git-dir', empty, 'bundle', 'verify', file('b1.bundle')], { stdio: 'pipe' });
  // Imported while the site's cluster runs: adopted within seconds.
  const imp = ok(['bundle', 'import', file('b1.bundle'), '--state-dir', site]);
  assert.match(imp.all, /imported placement #\d+ of ship/);
  await readyAtSite('ops/beacon', 1);
  assert.is(siteApplied()?.seq, placementSeq());
  // The site's operator reads the fleet from what the bundles brought, with the same command.
  const here = ok(['status', '--repo', path.join(site, 'repo')]);
  assert.match(here.all, /ops\/beacon\s+1\/1/);
  // No remote: the site's repository has never had one.
  assert.is(siteGit('remote').trim(), '');
  // Its status history comes back by file, and the root takes it.
  ok(['bundle', 'export', '--status', '--state-dir', site, '--out', file('s1.bundle')]);
  execFileSync('git', ['--git-dir', empty, 'bundle', 'verify', file('s1.bundle')], { stdio: 'pipe' });
  ok(['bundle', 'import', file('s1.bundle'), '--repo', dir]);
  const w1 = await canopyAsync(['wait', '--repo', dir, '--rev', c1, '--timeout', '30']);
  assert.is(w1.code, 0, `${w1.stdout}${w1.stderr}\n${logs()}`);
  const doc = JSON.parse(ok(['status', '--repo', dir, '--json']).stdout);
  assert.is(doc.services['ops/beacon'].state, 'converged');
  t1 = new Date().toISOString();
  recorded = { services: doc.services, clusters: doc.clusters };
  // Git dates commits to the second: what happens next is dated after the moment recorded.
  await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
});

test('commit 2: a container whose image the site never had, carried by --images, runs at the site', async () => {
  const c2 = commitFiles(dir, { 'services/ops/web.yaml': web('1') }, 'a web container on the ship');
  await eventually('the root to place commit 2 on ship', () => git(dir, 'show', 'refs/canopy/placements/ship:placement.json').includes(c2), 30_000, 200);
  const ex = ok([
    'bundle',
    'export',
    '--repo',
    dir,
    '--cluster',
    'ship',
    '--identity',
    path.join(ids, 'root.json'),
    '--out',
    file('b2.bundle'),
    '--images',
    file('i2.tar'),
  ]);
  assert.match(ex.all, /a delta from #\d+/);
  assert.match(ex.all, new RegExp(IMAGE.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
  const id = execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', IMAGE], { encoding: 'utf8' }).trim();
  execFileSync('docker', ['rmi', IMAGE], { stdio: 'ignore' });
  // The site's cluster is down when the bundle arrives: it adopts it when it starts.
  await procs.get('ship')!.kill('SIGKILL');
  ok(['bundle', 'import', file('b2.bundle'), '--state-dir', site, '--images', file('i2.tar')]);
  assert.is(execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', IMAGE], { encoding: 'utf8' }).trim(), id);
  await startSiteCluster().waitFor(/running/);
  await readyAtSite('ops/web', 1);
  const running = execFileSync('docker', ['ps', '-q', '--filter', `label=canopy.fleet=${fleet}`, '--filter', 'label=canopy.service=ops/web'], {
    encoding: 'utf8',
  }).trim();
  assert.ok(running, `no web container\n${logs()}`);
});

test('commit 3 by a delta; a bundle imported twice changes nothing; a stale one is refused', async () => {
  const c3 = commitFiles(dir, { 'services/ops/web.yaml': web('2') }, 'web version 2');
  await eventually('the root to place commit 3 on ship', () => git(dir, 'show', 'refs/canopy/placements/ship:placement.json').includes(c3), 30_000, 200);
  ok(['bundle', 'export', '--repo', dir, '--cluster', 'ship', '--identity', path.join(ids, 'root.json'), '--out', file('b3.bundle')]);
  ok(['bundle', 'import', file('b3.bundle'), '--state-dir', site]);
  const refs = importedRefs();
  const again = ok(['bundle', 'import', file('b3.bundle'), '--state-dir', site]);
  assert.match(again.all, /nothing changed/);
  assert.is(importedRefs(), refs);
  const stale = run(['bundle', 'import', file('b2.bundle'), '--state-dir', site]);
  assert.is(stale.code, 1, stale.all);
  assert.match(stale.all, /stale/);
  assert.is(importedRefs(), refs);
  await eventually('web version 2 at the site', () => siteApplied()?.seq === placementSeq() && (siteService('ops/web')?.ready ?? 0) >= 1, 60_000, 250);
  // Back at the root: the status history of the whole time cut off, with the site's times.
  ok(['bundle', 'export', '--status', '--state-dir', site, '--out', file('s2.bundle')]);
  const before = Date.now();
  ok(['bundle', 'import', file('s2.bundle'), '--repo', dir]);
  const w3 = await canopyAsync(['wait', '--repo', dir, '--rev', c3, '--timeout', '30']);
  assert.is(w3.code, 0, `${w3.stdout}${w3.stderr}\n${logs()}`);
  const dates = git(dir, 'log', '--format=%ct', 'refs/canopy/status/ship').trim().split('\n').map(Number);
  assert.ok(
    dates.every((d) => d * 1000 <= before),
    'status commits keep the times they were made at the site',
  );
  const doc = JSON.parse(ok(['status', '--repo', dir, '--json']).stdout);
  assert.is(doc.services['ops/web'].state, 'converged');
  const h = ok(['history', 'ops/web', '--repo', dir]);
  assert.match(h.all, /ship/);
  // The site imported twice at the root: nothing changes.
  const tip = git(dir, 'rev-parse', 'refs/canopy/status/ship').trim();
  ok(['bundle', 'import', file('s2.bundle'), '--repo', dir]);
  assert.is(git(dir, 'rev-parse', 'refs/canopy/status/ship').trim(), tip);
});

test('status --at a time in the middle agrees with what status said then', () => {
  assert.ok(recorded, 'the first test recorded the status');
  const at = JSON.parse(ok(['status', '--repo', dir, '--json', '--at', t1]).stdout);
  assert.equal(at.services, recorded!.services);
  assert.equal(Object.keys(at.clusters), Object.keys(recorded!.clusters as object));
});

test.run();
