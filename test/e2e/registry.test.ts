// Images from registries, as a new user meets them: root, cluster and a docker agent as separate
// processes over a real Mosquitto, two real registries on loopback (Debian's docker-registry):
// one open, one behind htpasswd. A service whose image is only in the open registry runs after a
// commit, and its digest is in `canopy status --json` and in the commit's note. A service whose
// image is only in the password-protected one fails with the registry's reason in the status
// (this agent is handed no credentials: the secrets chain wires them), while the other runs on.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { canopy, start, eventually, type Proc } from '../helpers/canopy.js';
import { git, tempDir, commitFiles, serviceYaml } from '../helpers/git.js';
import { ownFleet, requireDocker } from '../helpers/docker.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { requireBaseImage, startRegistry, type Registry } from '../helpers/registry.js';

const test = suite('images from registries, end to end');
const fleet = ownFleet(`e2e-reg-${process.pid}`);
const work = tempDir();
const dir = path.join(work, 'fleet');
const procs = new Map<string, Proc>();
let broker: Mosquitto;
let open: Registry;
let locked: Registry;
let digest = '';
let head = '';

const small = { replicas: 1, resources: { cpu: 0.1, memory: '16Mi' }, command: ['sleep', '600'] };
const logs = () => [...procs].map(([n, p]) => `--- ${n}\n${p.output().slice(-3000)}`).join('\n');
const withLogs = (e: Error): never => {
  throw new Error(`${e.message}\n${logs()}`);
};

type Status = { services: Record<string, { running: number; state: string; reason: string; images?: Record<string, string[]> }> };
function status(): Status {
  const r = canopy(['status', '--repo', dir, '--json']);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Status;
}

test.before(async () => {
  requireDocker();
  requireBaseImage();
  open = await startRegistry({ auth: false });
  locked = await startRegistry();
  digest = open.push('web:1', { randomMiB: 2 });
  locked.push('secret:1');
  broker = await startMosquitto();
  assert.is(canopy(['init', dir]).code, 0);
  const fy = git(dir, 'show', 'HEAD:fleet.yaml').replace(/name: demo/, `name: ${fleet}`);
  head = commitFiles(
    dir,
    {
      'fleet.yaml': fy,
      'clusters/munich.yaml': null,
      'clusters/paris.yaml': null,
      'services/shop/web.yaml': serviceYaml('shop', 'web', { runtime: 'container', image: `${open.host}/canopy/web:1`, ...small }),
      'services/shop/worker.yaml': null,
      'services/traffic-cam/detector.yaml': null,
      'services/shop/private.yaml': serviceYaml('shop', 'private', { runtime: 'container', image: `${locked.host}/canopy/secret:1`, ...small }),
    },
    'two services whose images are only in registries',
  );
  procs.set('munich', start(['cluster', '--name', 'munich', '--broker', broker.url, '--repo', dir, '--state-dir', path.join(work, 'state', 'munich')]));
  await procs.get('munich')!.waitFor(/running/);
  procs.set(
    'munich-d',
    start([
      'agent',
      '--cluster',
      'munich',
      '--name',
      'munich-d',
      '--broker',
      broker.url,
      '--state-dir',
      path.join(work, 'state', 'munich-d'),
      '--runtime',
      'docker',
    ]),
  );
  await procs.get('munich-d')!.waitFor(/running/);
  procs.set('root', start(['root', '--repo', dir, '--broker', broker.url]));
});

test.after(async () => {
  for (const p of procs.values()) await p.kill('SIGKILL');
  await broker?.stop();
  open?.stop();
  locked?.stop();
});

test('the image pulled from the registry runs; its digest is in status --json and in the note', async () => {
  const st = await eventually(
    'shop/web running with its digest in canopy status',
    () => {
      const s = status().services['shop/web'];
      return s?.running === 1 && s.images?.munich?.length ? s : undefined;
    },
    90_000,
  ).catch(withLogs);
  if (!st) return assert.unreachable();
  assert.equal(st.images, { munich: [digest] });
  const note = await eventually(
    'the digest in the note',
    () => {
      const n = git(dir, 'notes', '--ref', 'canopy', 'show', head);
      return n.includes(digest) ? n : undefined;
    },
    60_000,
  ).catch(withLogs);
  if (!note) return assert.unreachable();
  assert.match(note, `Images, as the clusters report them:\n  shop/web: ${digest}`);
});

test('an image in a registry that wants a login fails its replica with the reason; the other runs on', async () => {
  const st = await eventually(
    'shop/private failing with the pull reason',
    () => {
      const s = status().services['shop/private'];
      return /pull /.test(s?.reason ?? '') ? s : undefined;
    },
    90_000,
  ).catch(withLogs);
  if (!st) return assert.unreachable();
  assert.match(
    st.reason,
    new RegExp(`munich: shop/private#0: pull ${locked.host}/canopy/secret:1: .*(no basic auth credentials|unauthorized|authentication required)`),
  );
  assert.is(st.running, 0);
  assert.is(status().services['shop/web'].running, 1);
});

test.run();
