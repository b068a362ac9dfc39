// Secrets sealed to their sites, end to end, as a site would run them: identities made with
// `canopy identity create` (which declares each cluster's and node's age recipient), a real
// Mosquitto with the generated password and ACL files, root, clusters and agents as separate
// processes, real Docker. `canopy secret set` seals a value to munich; a container on munich
// gets it as an environment variable and as a file; no broker message, no Git ref, no part's
// log holds it; the age CLI opens secrets/db.age with munich's key; a service using it that is
// constrained to paris is refused, and the note says why.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { open, type NodeSecrets } from '../../reconciler/core/secrets.js';
import { CLI, eventually } from '../helpers/canopy.js';
import { serviceYaml } from '../helpers/git.js';
import { ID_FILES, IMAGE, startTrustedFleet, type Spy, type TrustedFleet } from '../helpers/trusted-fleet.js';

const test = suite('e2e: secrets sealed to their sites');

function requireAge(): void {
  const r = spawnSync('age', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error('the age CLI is missing: install Debian’s age (bash scripts/setup.sh does)');
}

const VALUE = `s3cr3t-${randomBytes(9).toString('hex')}`;
const VALUE2 = `n3w-${randomBytes(9).toString('hex')}`;
const HUB = `hub-${randomBytes(9).toString('hex')}`;
/** Whether `git grep` finds `value` in any ref of the fleet repository (notes, placements, status refs, main). */
function inGit(value: string): string {
  const refs = execFileSync('git', ['-C', f.dir, 'for-each-ref', '--format=%(refname)'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const r = spawnSync('git', ['-C', f.dir, 'grep', '-I', '-a', value, ...refs], { encoding: 'utf8' });
  return r.status === 1 ? '' : r.stdout || `git grep exited ${r.status}: ${r.stderr}`;
}
const webContainer = () =>
  execFileSync('docker', ['ps', '-q', '--filter', `label=canopy.fleet=${f.fleet}`, '--filter', 'label=canopy.service=shop/web'], { encoding: 'utf8' }).trim();
let f: TrustedFleet;
const spies: Spy[] = [];
let rev = '';

test.before(async () => {
  requireAge();
  f = await startTrustedFleet('secrets');
  // Every message between the parts, from the start: each part's own credential reads its topics.
  const T = f.t;
  spies.push(await f.spy(f.id(path.join(f.idDir, ID_FILES.root)), T.allClusterStatus));
  for (const c of ['munich', 'paris'] as const) {
    spies.push(await f.spy(f.id(path.join(f.idDir, ID_FILES[c])), T.clusterDesired(c), T.allNodeStatus(c)));
    spies.push(await f.spy(f.id(path.join(f.idDir, ID_FILES[`${c}/n1`])), T.nodeDesired(c, 'n1')));
  }
  for (const s of spies) assert.equal(s.refused, [], 'the spies may read what they watch');
});

test.after(async () => {
  await f?.stop();
});

test('identity create declared the clusters’ and nodes’ age recipients', () => {
  const text = readFileSync(path.join(f.dir, 'clusters/munich.yaml'), 'utf8');
  const munich = f.id(path.join(f.idDir, ID_FILES.munich));
  const n1 = f.id(path.join(f.idDir, ID_FILES['munich/n1']));
  assert.ok(text.includes(`age: ${munich.age.recipient}`), text);
  assert.ok(text.includes(`age: ${n1.age.recipient}`), text);
});

test('canopy secret set (value on stdin) seals it; a munich container gets it as env and as a file', async () => {
  const set = spawnSync(process.execPath, [CLI, 'secret', 'set', '--repo', f.dir, '--name', 'db', '--clusters', 'munich', 'password=-', 'user=admin'], {
    input: `${VALUE}\n`,
    encoding: 'utf8',
  });
  assert.is(set.status, 0, set.stderr);
  assert.not.ok(set.stderr.includes(VALUE) || set.stdout.includes(VALUE), 'the command never prints the value');
  const keys = spawnSync(process.execPath, [CLI, 'secret', 'keys', '--repo', f.dir, 'db'], { encoding: 'utf8' });
  assert.is(keys.stdout, 'password\nuser\n');
  const web = serviceYaml('shop', 'web', {
    runtime: 'container',
    image: IMAGE,
    command: ['sleep', '600'],
    replicas: 1,
    resources: { cpu: 0.1, memory: '16Mi' },
    constraints: { clusters: { names: ['munich'] } },
    secrets: [
      { secret: 'db', key: 'password', env: 'DB_PASSWORD' },
      { secret: 'db', key: 'password', file: '/run/secrets/db' },
    ],
  });
  rev = f.commit({ 'services/shop/web.yaml': web }, 'web uses the db secret');
  const w = await f.wait(rev, 90);
  assert.is(w.code, 0, `${w.stdout}${w.stderr}\n${f.logs()}`);
  const id = webContainer();
  assert.ok(id, 'the container runs');
  const inside = execFileSync('docker', ['exec', id, 'sh', '-c', 'printf "%s|" "$DB_PASSWORD"; cat /run/secrets/db'], { encoding: 'utf8' });
  assert.is(inside, `${VALUE}|${VALUE}`);
  // The file is a read-only bind.
  const write = spawnSync('docker', ['exec', id, 'sh', '-c', 'echo x > /run/secrets/db'], { encoding: 'utf8' });
  assert.is.not(write.status, 0, 'the secret file is read-only');
});

test('a process on munich gets it as env and as a file relative to its working directory', async () => {
  const worker = serviceYaml('shop', 'worker', {
    runtime: 'process',
    command: ['sh', '-c', 'cp conf/db.txt seen-file; printf %s "$DB_PASSWORD" > seen-env; while :; do sleep 1; done'],
    replicas: 1,
    constraints: { clusters: { names: ['munich'] } },
    secrets: [
      { secret: 'db', key: 'password', env: 'DB_PASSWORD' },
      { secret: 'db', key: 'password', file: 'conf/db.txt' },
    ],
  });
  const at = f.commit({ 'services/shop/worker.yaml': worker }, 'worker uses the db secret');
  const w = await f.wait(at, 90);
  assert.is(w.code, 0, `${w.stdout}${w.stderr}\n${f.logs()}`);
  const work = path.join(f.work, 'state', 'munich-n1', 'work', 'shop_worker_0');
  const seen = await eventually('the process to copy what it was given', () => {
    const read = (n: string) => (existsSync(path.join(work, n)) ? readFileSync(path.join(work, n), 'utf8') : undefined);
    const [file, env] = [read('seen-file'), read('seen-env')];
    return file && env ? { file, env } : undefined;
  });
  assert.equal(seen, { file: VALUE, env: VALUE });
  f.commit({ 'services/shop/worker.yaml': null }, 'no worker');
});

test('the broker carried only ciphertext: the node got a sealed part, no message holds the value', async () => {
  const all = spies.flatMap((s) => s.got);
  const sealed = await eventually('a node assignment with a sealed part', () =>
    all.find((m) => m.topic === f.t.nodeDesired('munich', 'n1') && typeof m.body?.sealed === 'string'),
  );
  assert.match(String(sealed?.body?.sealed), /^-----BEGIN AGE ENCRYPTED FILE-----/);
  assert.ok(
    all.some((m) => m.topic === f.t.clusterDesired('munich')),
    'the root → cluster messages were captured',
  );
  const leaked = all.filter((m) => m.text.includes(VALUE));
  assert.equal(
    leaked.map((m) => m.topic),
    [],
  );
  // Nor any part's log.
  for (const [name, p] of f.procs) assert.not.ok(p.output().includes(VALUE), `${name}'s log holds the value`);
});

test('git grep finds the value in no ref of the fleet repository; age -d opens it with munich’s key', () => {
  execFileSync('git', ['-C', f.dir, 'add', '-A']);
  const refs = execFileSync('git', ['-C', f.dir, 'for-each-ref', '--format=%(refname)'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  assert.ok(refs.includes('refs/notes/canopy') && refs.some((r) => r.startsWith('refs/canopy/placements/')), refs.join(' '));
  assert.ok(
    refs.some((r) => r.startsWith('refs/canopy/status/')),
    refs.join(' '),
  );
  const grep = spawnSync('git', ['-C', f.dir, 'grep', '-I', '-a', VALUE, ...refs], { encoding: 'utf8' });
  assert.is(grep.status, 1, `git grep found it:\n${grep.stdout}`);
  const work = spawnSync('git', ['-C', f.dir, 'grep', '--no-index', VALUE], { encoding: 'utf8' });
  assert.is(work.status, 1, `the work tree holds it:\n${work.stdout}`);
  const keyFile = path.join(f.work, 'munich.agekey');
  writeFileSync(keyFile, `${f.id(path.join(f.idDir, ID_FILES.munich)).age.identity}\n`, { mode: 0o600 });
  const plain = execFileSync('age', ['-d', '-i', keyFile, path.join(f.dir, 'secrets/db.age')], { encoding: 'utf8' });
  assert.equal(JSON.parse(plain), { password: VALUE, user: 'admin' });
  const parisKey = path.join(f.work, 'paris.agekey');
  writeFileSync(parisKey, `${f.id(path.join(f.idDir, ID_FILES.paris)).age.identity}\n`, { mode: 0o600 });
  assert.is.not(spawnSync('age', ['-d', '-i', parisKey, path.join(f.dir, 'secrets/db.age')]).status, 0, 'paris cannot open it');
});

test('a secret set anew rolls the replicas that use it: the new value reaches the container', async () => {
  const before = webContainer();
  const set = spawnSync(process.execPath, [CLI, 'secret', 'set', '--repo', f.dir, '--name', 'db', '--clusters', 'munich', 'password=-', 'user=admin'], {
    input: VALUE2,
    encoding: 'utf8',
  });
  assert.is(set.status, 0, set.stderr);
  const at = f.commit({}, 'db: a new password');
  const w = await f.wait(at, 90);
  assert.is(w.code, 0, `${w.stdout}${w.stderr}\n${f.logs()}`);
  const now = await eventually('the replica on the new secret', () => {
    const id = webContainer();
    if (!id || id === before) return undefined;
    const r = spawnSync('docker', ['exec', id, 'sh', '-c', 'printf "%s|" "$DB_PASSWORD"; cat /run/secrets/db'], { encoding: 'utf8' });
    return r.stdout === `${VALUE2}|${VALUE2}` ? id : undefined;
  });
  assert.ok(now);
  const all = spies.flatMap((x) => x.got);
  assert.not.ok(
    all.some((m) => m.text.includes(VALUE2)),
    'no message holds the new value',
  );
});

test('a node is sealed only the keys its replicas use, and the fleet’s registry credentials', async () => {
  const set = spawnSync(process.execPath, [CLI, 'secret', 'set', '--repo', f.dir, '--name', 'hub', '--clusters', 'munich', 'username=puller', 'password=-'], {
    input: HUB,
    encoding: 'utf8',
  });
  assert.is(set.status, 0, set.stderr);
  const fleetYaml = parseDocument(readFileSync(path.join(f.dir, 'fleet.yaml'), 'utf8'));
  fleetYaml.setIn(['spec', 'registries'], fleetYaml.createNode([{ host: '127.0.0.1:5999', secret: 'hub' }]));
  const at = f.commit({ 'fleet.yaml': fleetYaml.toString() }, 'a private registry');
  assert.is((await f.wait(at, 90)).code, 0);
  const n1 = f.id(path.join(f.idDir, ID_FILES['munich/n1'])).age.identity;
  const opened = await eventually('an assignment with the registry', async () => {
    const all = spies.flatMap((x) => x.got).filter((m) => m.topic === f.t.nodeDesired('munich', 'n1') && typeof m.body?.sealed === 'string');
    const last = all.at(-1);
    const v = last ? (JSON.parse(await open(String(last.body!.sealed), n1)) as NodeSecrets) : undefined;
    return v?.registries ? v : undefined;
  });
  assert.equal(opened, { secrets: { db: { password: VALUE2 } }, registries: { '127.0.0.1:5999': { username: 'puller', password: HUB } } });
  assert.not.ok(
    spies.flatMap((x) => x.got).some((m) => m.text.includes(HUB)),
    'no message holds the registry password',
  );
});

test('a service using the secret, constrained to paris, is refused with the reason in the note', async () => {
  const api = serviceYaml('shop', 'api', {
    runtime: 'process',
    command: ['sh', '-c', 'while :; do sleep 1; done'],
    replicas: 1,
    constraints: { clusters: { names: ['paris'] } },
    secrets: [{ secret: 'db', key: 'password', env: 'DB_PASSWORD' }],
  });
  const at = f.commit({ 'services/shop/api.yaml': api }, 'api on paris uses the db secret');
  const note = await eventually(
    'the note on the commit',
    () => spawnSync('git', ['-C', f.dir, 'notes', '--ref', 'canopy', 'show', at], { encoding: 'utf8' }).stdout || undefined,
    30_000,
    200,
  );
  assert.match(note ?? '', /secret db is sealed to munich only/);
  // At the end, after every change: no value in any ref.
  for (const v of [VALUE, VALUE2, HUB]) assert.is(inGit(v), '', `git grep finds ${v}`);
});

test.run();
