// A private registry, as issue 17's first "done when" reads: a fleet with identities (root,
// clusters and agents as separate processes over a Mosquitto with generated password and ACL
// files, test/helpers/trusted-fleet.ts), Debian's docker-registry on loopback with htpasswd, its
// login sealed with `canopy secret set` and named in fleet.yaml `spec.registries`. A service whose
// image is only in that registry runs after a commit, its digest is in `canopy status --json`
// and in the note; with the wrong password sealed instead, a service of another image there fails
// with the reason in the status, and the agent keeps serving the first. No password in any ref.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { CLI, eventually } from '../helpers/canopy.js';
import { serviceYaml } from '../helpers/git.js';
import { requireBaseImage, startRegistry, type Registry } from '../helpers/registry.js';
import { startTrustedFleet, type TrustedFleet } from '../helpers/trusted-fleet.js';

const test = suite('e2e: images from a password-protected registry, credentials sealed to the site');

let f: TrustedFleet;
let reg: Registry;
let digest = '';
const WRONG = `wrong-${process.pid}-pw`;

type Status = { services: Record<string, { running: number; state: string; reason: string; images?: Record<string, string[]> }> };
const status = () => f.status() as unknown as Promise<Status>;

function sealLogin(password: string): void {
  const r = spawnSync(
    process.execPath,
    [CLI, 'secret', 'set', '--repo', f.dir, '--name', 'hub', '--clusters', 'munich', `username=${reg.username}`, 'password=-'],
    {
      input: password,
      encoding: 'utf8',
    },
  );
  assert.is(r.status, 0, r.stderr);
}

const onMunich = (name: string, image: string) =>
  serviceYaml('shop', name, {
    runtime: 'container',
    image,
    command: ['sleep', '600'],
    replicas: 1,
    resources: { cpu: 0.1, memory: '16Mi' },
    constraints: { clusters: { names: ['munich'] } },
  });

/** Whether `git grep` finds `value` in any ref of the fleet repository. */
function inGit(value: string): string {
  const refs = execFileSync('git', ['-C', f.dir, 'for-each-ref', '--format=%(refname)'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const r = spawnSync('git', ['-C', f.dir, 'grep', '-I', '-a', value, ...refs], { encoding: 'utf8' });
  return r.status === 1 ? '' : r.stdout || `git grep exited ${r.status}: ${r.stderr}`;
}

test.before(async () => {
  requireBaseImage();
  reg = await startRegistry();
  digest = reg.push('app:1', { randomMiB: 2 });
  reg.push('app:2');
  f = await startTrustedFleet('reglogin');
});

test.after(async () => {
  await f?.stop();
  reg?.stop();
});

test('an image only in the password-protected registry runs after a commit; its digest is in status --json and the note', async () => {
  sealLogin(reg.password);
  const fy = parseDocument(readFileSync(path.join(f.dir, 'fleet.yaml'), 'utf8'));
  fy.setIn(['spec', 'registries'], fy.createNode([{ host: reg.host, secret: 'hub' }]));
  const at = f.commit(
    {
      'fleet.yaml': fy.toString(),
      'secrets/hub.age': readFileSync(path.join(f.dir, 'secrets/hub.age'), 'utf8'),
      'secrets/hub.yaml': readFileSync(path.join(f.dir, 'secrets/hub.yaml'), 'utf8'),
      'services/shop/app.yaml': onMunich('app', `${reg.host}/canopy/app:1`),
    },
    'a service from the private registry',
  );
  const s = await eventually(
    'shop/app running with its digest',
    async () => {
      const x = (await status()).services['shop/app'];
      return x?.running === 1 && x.images?.munich?.length ? x : undefined;
    },
    120_000,
    500,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${f.logs()}`);
  });
  assert.equal(s!.images, { munich: [digest] });
  const note = await eventually('the digest in the note', () => {
    const n = spawnSync('git', ['-C', f.dir, 'notes', '--ref', 'canopy', 'show', at], { encoding: 'utf8' }).stdout;
    return n.includes(digest) ? n : undefined;
  });
  assert.match(note ?? '', `shop/app: ${digest}`);
});

test('with the wrong password sealed, another image fails with the reason; the running one goes on; no password in Git', async () => {
  sealLogin(WRONG);
  f.commit(
    {
      'secrets/hub.age': readFileSync(path.join(f.dir, 'secrets/hub.age'), 'utf8'),
      'secrets/hub.yaml': readFileSync(path.join(f.dir, 'secrets/hub.yaml'), 'utf8'),
      'services/shop/other.yaml': onMunich('other', `${reg.host}/canopy/app:2`),
    },
    'the wrong password, and a second service from the registry',
  );
  const s = await eventually(
    'shop/other failing with the pull reason',
    async () => {
      const x = (await status()).services['shop/other'];
      return /pull /.test(x?.reason ?? '') ? x : undefined;
    },
    120_000,
    500,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${f.logs()}`);
  });
  assert.match(s!.reason, new RegExp(`munich: shop/other#0: pull ${reg.host}/canopy/app:2: .*(unauthorized|authentication required)`));
  assert.not.ok(s!.reason.includes(WRONG));
  assert.is((await status()).services['shop/app'].running, 1, 'the agent keeps serving the other replica');
  for (const v of [reg.password, WRONG]) assert.is(inGit(v), '', `git grep finds ${v}`);
  assert.not.ok(f.logs().includes(WRONG) || f.logs().includes(reg.password), 'no password in the parts’ logs');
});

test.run();
