// An air-gapped site whose root works against a Git server (a real `git http-backend` with Basic
// auth and canopy's pre-receive hook), not a local repository. The operator exports a placement
// bundle from the server's URL (mirrored where no root ever ran), imports it at the site, and
// brings the site's signed status history back with `canopy bundle import FILE --repo URL`: the
// import pushes refs/canopy/status/ship to the server as the root (the hook checks ship's
// signatures again), another user's push of it is refused with the hook's words and nothing
// changed, and the root, which mirrors the server elsewhere, pulls it and takes it: the commit
// converges (`canopy wait` 0).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { canopy, canopyAsync, eventually, start, type Proc } from '../helpers/canopy.js';
import { commitFiles, serviceYaml, tempDir } from '../helpers/git.js';
import { startGitServer, type GitServer } from '../helpers/git-server.js';
import { freePort, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { aClusterStatus } from '../helpers/root-fakes.js';
import { userNameOf } from '../../reconciler/core/identity.js';
import { loadIdentity } from '../../reconciler/core/identity-file.js';
import { commitSigner } from '../../reconciler/core/sshsig.js';
import { StatusRecorder } from '../../reconciler/cluster/status-ref.js';
import { openRepo } from '../../reconciler/git/repo.js';
import { ensureSiteRepo } from '../../cli/airgap/site.js';
import { placementRef, statusRef } from '../../reconciler/core/refs.js';

const test = suite('e2e: bundles against a root on a Git server');
const FLEET = `e2e-gapremote-${process.pid}`;
const ROOT = userNameOf(FLEET, 'root', 'root');
const SHIP = userNameOf(FLEET, 'cluster', 'ship');
const ALICE = 'alice';
const work = tempDir('canopy-bundle-remote-');
const dir = path.join(work, 'fleet');
const ids = path.join(work, 'identities');
const site = path.join(work, 'site');
const carry = (n: string) => path.join(work, n);
const cache = (n: string) => path.join(work, 'cache', n);
const REF = statusRef('ship');

let server: GitServer | undefined;
let broker: Mosquitto | undefined;
let root: Proc | undefined;
let bare = '';

const rev = (gitdir: string, ref: string) =>
  spawnSync('git', ['--git-dir', gitdir, 'rev-parse', '--verify', '--quiet', ref], { encoding: 'utf8' }).stdout.trim();
const url = (user: string) => server!.urlAs('fleet', user);
/** A canopy command that talks to the Git server this process serves: never a blocking spawn. */
async function run(args: string[]) {
  const r = await canopyAsync(args);
  return { ...r, all: `${r.stdout}${r.stderr}` };
}
async function ok(args: string[]) {
  const r = await run(args);
  assert.is(r.code, 0, `canopy ${args.join(' ')}: exit ${r.code}\n${r.all}\n--- root:\n${root?.output().slice(-3000) ?? ''}`);
  return r;
}

test.before(async () => {
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  commitFiles(
    dir,
    {
      'fleet.yaml': `apiVersion: canopy/v1\nkind: Fleet\nmetadata:\n  name: ${FLEET}\nspec:\n  timings: { heartbeatSeconds: 0.5, unreachableAfterSeconds: 3 }\n`,
    },
    'the fleet',
  );
  for (const [a, out] of [
    [['--root'], 'root.json'],
    [['--cluster', 'ship'], 'clusters/ship.json'],
  ] as const) {
    const r = canopy(['identity', 'create', '--repo', dir, ...a, '--out', path.join(ids, out)]);
    assert.is(r.code, 0, r.stderr);
  }
  const cy = parseDocument(readFileSync(path.join(dir, 'clusters/ship.yaml'), 'utf8'));
  cy.setIn(['spec', 'connectivity'], 'air-gapped');
  cy.setIn(['spec', 'capacity'], { cpu: 4, memory: '4Gi', runtimes: ['process'] });
  writeFileSync(path.join(dir, 'clusters/ship.yaml'), cy.toString());
  const beacon = serviceYaml('ops', 'beacon', { runtime: 'process', command: ['sleep', '3600'], replicas: 1, resources: { cpu: 0.1 } });
  commitFiles(dir, { 'services/ops/beacon.yaml': beacon }, 'ship: an air-gapped site, its keys, and a beacon on it');
  server = await startGitServer({ users: { [ROOT]: 'pw-root', [SHIP]: 'pw-ship', [ALICE]: 'pw-alice' } });
  bare = server.publish('fleet', dir);
  const hook = await run(['git-hook', 'install', '--repo', bare]);
  assert.is(hook.code, 0, hook.all);
  const conf = await run(['broker-config', '--identities', ids, '--out', path.join(work, 'broker')]);
  assert.is(conf.code, 0, conf.all);
  const port = await freePort();
  broker = await startMosquitto(port, { conf: [`listener ${port} 127.0.0.1`, `include_dir ${path.join(work, 'broker')}`] });
  root = start([
    'root',
    '--repo',
    url(ROOT),
    '--cache-dir',
    cache('root'),
    '--poll-seconds',
    '0.3',
    '--broker',
    broker.url,
    '--identity',
    path.join(ids, 'root.json'),
  ]);
  await eventually('the root to push ship’s placement to the Git server', () => rev(bare, placementRef('ship')), 60_000, 200).catch((e: Error) =>
    assert.unreachable(`${e.message}\n${root!.output().slice(-3000)}`),
  );
});

test.after(async () => {
  await root?.kill('SIGKILL');
  await broker?.stop();
  await server?.close();
});

test('a server that cannot be reached, or credentials it refuses: exit 1, saying so, no bundle written', async () => {
  for (const [repo, why] of [
    ['http://127.0.0.1:1/fleet.git', /ECONNREFUSED/],
    [server!.url('fleet').replace('s3cret', 'wrong'), /refused the credentials/],
  ] as const) {
    const r = await run(['bundle', 'export', '--repo', repo, '--cache-dir', cache('bad'), '--cluster', 'ship', '--out', carry('bad.bundle')]);
    assert.is(r.code, 1, r.all);
    assert.match(r.all, why, r.all);
    assert.match(r.all, /check the URL and the credentials/);
    assert.not.match(r.all, /wrong/, 'the credentials are never printed');
    assert.not.ok(existsSync(carry('bad.bundle')));
  }
});

test('a placement bundle exported from the server’s URL, where no root ever ran, imports at the site', async () => {
  const r = await ok([
    'bundle',
    'export',
    '--repo',
    url(ROOT),
    '--cache-dir',
    cache('operator'),
    '--cluster',
    'ship',
    '--out',
    carry('p1.bundle'),
    '--identity',
    path.join(ids, 'root.json'),
  ]);
  assert.match(r.all, /wrote .*p1\.bundle .*placement #\d+ of ship .*whole .*signed by the root/);
  assert.not.match(r.all, /pw-root/, 'the credentials are never printed');
  const i = await ok(['bundle', 'import', carry('p1.bundle'), '--state-dir', site, '--identity', path.join(ids, 'clusters/ship.json')]);
  assert.match(i.all, /imported placement #\d+ of ship/);
  const placed = JSON.parse(
    execFileSync('git', ['--git-dir', path.join(site, 'repo'), 'show', `${placementRef('ship')}:placement.json`], { encoding: 'utf8' }),
  );
  assert.ok(placed.services['ops/beacon'], 'the site holds the beacon’s placement');
});

let tip = '';

test('the site’s status goes to the server by import --repo URL, as the root; another user’s push is refused, nothing changed', async () => {
  // The site records its status, signed by ship's key (its cluster would: tested in air-gapped-site).
  const placed = JSON.parse(
    execFileSync('git', ['--git-dir', path.join(site, 'repo'), 'show', `${placementRef('ship')}:placement.json`], { encoding: 'utf8' }),
  );
  const repo = await openRepo(await ensureSiteRepo(site));
  const sign = commitSigner(loadIdentity(path.join(ids, 'clusters/ship.json')).signer);
  const rec = new StatusRecorder(repo, 'ship', { name: 'canopy cluster ship', email: 'ship@canopy.invalid' }, { sign });
  await rec.record(
    aClusterStatus('ship', {
      at: new Date().toISOString(),
      applied: placed.version,
      services: { 'ops/beacon': { desired: 1, running: 1, ready: 1, updated: 1, failed: 0 } },
    }),
    60_000,
  );
  tip = rev(path.join(site, 'repo'), REF);
  // Until the site's status comes back, the root has the commit awaiting ship's bundle.
  const waiting = await run(['wait', '--repo', cache('root'), '--rev', 'main', '--timeout', '30s']);
  assert.is(waiting.code, 5, waiting.all);
  assert.match(waiting.stdout, /^ship$/m);
  await ok(['bundle', 'export', '--status', '--state-dir', site, '--out', carry('s1.bundle')]);

  const refused = await run(['bundle', 'import', carry('s1.bundle'), '--repo', url(ALICE), '--cache-dir', cache('alice')]);
  assert.is(refused.code, 1, refused.all);
  assert.match(refused.all, /refused: the Git server at http:\/\/127\.0\.0\.1:\d+\/fleet\.git did not take it/, refused.all);
  assert.match(refused.all, /remote: canopy: refused refs\/canopy\/status\/ship for user alice: only cluster ship/, refused.all);
  assert.match(refused.all, /nothing changed/, refused.all);
  assert.is(rev(bare, REF), '', 'the server holds no status of ship');
  assert.is(rev(cache('alice'), REF), '', 'nor does the mirror the refused import used');

  const r = await ok(['bundle', 'import', carry('s1.bundle'), '--repo', url(ROOT), '--cache-dir', cache('operator')]);
  assert.match(r.all, /imported 1 commit of ship's status/);
  assert.match(r.all, /pushed to http:\/\/127\.0\.0\.1:\d+\/fleet\.git/);
  assert.is(rev(bare, REF), tip, 'the server holds the site’s history');
  assert.is(rev(cache('operator'), REF), tip);
  const again = await ok(['bundle', 'import', carry('s1.bundle'), '--repo', url(ROOT), '--cache-dir', cache('operator')]);
  assert.match(again.all, /already imported, nothing changed/);
});

test('the root, mirroring the server elsewhere, pulls it and takes it: the commit converges', async () => {
  await root!.waitFor(/air-gapped cluster ship: status of .* taken from refs\/canopy\/status\/ship/, 30_000);
  await root!.waitFor(/converged [0-9a-f]{12}/, 30_000);
  assert.is(rev(cache('root'), REF), tip);
  const w = await ok(['wait', '--repo', cache('root'), '--rev', 'main', '--timeout', '30s']);
  assert.is(w.code, 0);
});

test.run();
