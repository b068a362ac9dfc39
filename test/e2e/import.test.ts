// As an Oakestra user moving over: canopy init, import Oakestra's demo app, commit, canopy up,
// and its two services run; a flawed SLA is refused naming the field.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { canopy, start, eventually, ROOT, type Proc } from '../helpers/canopy.js';
import { git, tempDir, commitFiles } from '../helpers/git.js';
import { running, containers, removeFleet, requireDocker } from '../helpers/docker.js';

const test = suite('canopy import (Oakestra demo app, docker)');
const SLAS = path.join(ROOT, '../shared/oakestra-slas');
const fleet = `e2e-import-${process.pid}`;
const dir = path.join(tempDir(), 'fleet');
const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
let up: Proc | undefined;

test.before(() => {
  requireDocker();
  if (!existsSync(SLAS)) throw new Error(`Oakestra SLA cases not found at ${SLAS}`);
  const init = canopy(['init', dir]);
  assert.is(init.code, 0, init.stderr);
  // A fleet of its own name, and none of the template's services: only the import runs.
  commitFiles(
    dir,
    {
      'fleet.yaml': read('fleet.yaml').replace(/name: demo/, `name: ${fleet}`),
      'services/shop/web.yaml': null,
      'services/shop/worker.yaml': null,
      'services/traffic-cam/detector.yaml': null,
    },
    'name the fleet, drop the template services',
  );
});

test.after(async () => {
  await up?.kill('SIGKILL');
  removeFleet(fleet);
});

test('import writes both services, and canopy validate accepts them as written', () => {
  const r = canopy(['import', path.join(SLAS, 'default_app_with_services.json'), '--repo', dir]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^created services\/clientsrvr\/curl\.yaml$/m);
  assert.match(r.stdout, /^created services\/clientsrvr\/nginx\.yaml$/m);
  assert.match(r.stdout, /clientsrvr\/nginx: addresses = .* not honoured/);
  const v = canopy(['validate', dir]);
  assert.is(v.code, 0, v.stdout + v.stderr);
  commitFiles(dir, {}, 'import clientsrvr from Oakestra');
  const again = canopy(['import', path.join(SLAS, 'default_app_with_services.json'), '--repo', dir]);
  assert.match(again.stdout, /^unchanged services\/clientsrvr\/curl\.yaml$/m);
});

test('deployed with stand-in images, both services run and wait --rev HEAD exits 0', async () => {
  // The SLA's images (curlimages/curl, library/nginx) cannot be here: no registry is reachable
  // and agents never pull. Only the image is swapped for the offline busybox one. curl keeps the
  // SLA's own command (busybox has no curl, so each request fails and the loop goes on); nginx
  // used its image's default command, so it gets busybox httpd on the port the import kept (80).
  const curl = read('services/clientsrvr/curl.yaml').replace('image: docker.io/curlimages/curl:7.82.0', 'image: canopy/busybox:1');
  const nginx = read('services/clientsrvr/nginx.yaml').replace(
    'image: docker.io/library/nginx:latest',
    'image: canopy/busybox:1\n  command: [httpd, -f, -p, "80", -h, /]',
  );
  assert.not.equal(curl, read('services/clientsrvr/curl.yaml'));
  assert.not.equal(nginx, read('services/clientsrvr/nginx.yaml'));
  commitFiles(dir, { 'services/clientsrvr/curl.yaml': curl, 'services/clientsrvr/nginx.yaml': nginx }, 'stand-in images (offline)');

  up = start(['up', '--repo', dir, '--runtime', 'docker']);
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '90']);
  assert.is(w.code, 0, `${w.stderr}\n--- up:\n${up.output()}`);
  assert.is(running(fleet, 'clientsrvr/curl'), 1);
  assert.is(running(fleet, 'clientsrvr/nginx'), 1);
  const name = (svc: string) => containers(fleet).find((c) => c.service === svc)!.name;
  await eventually(
    "the SLA's curl loop printing",
    () => /--CURL-START--/.test(execFileSync('docker', ['logs', name('clientsrvr/curl')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })),
    20_000,
  );
  const served = execFileSync('docker', ['exec', name('clientsrvr/nginx'), 'wget', '-qO-', 'http://127.0.0.1:80/etc/hostname'], { encoding: 'utf8' });
  assert.ok(served.trim().length > 0, 'httpd answers on port 80');
  const st = JSON.parse(canopy(['status', '--repo', dir, '--json']).stdout);
  assert.is(st.services['clientsrvr/curl'].state, 'converged');
  assert.is(st.services['clientsrvr/nginx'].state, 'converged');
});

test('a flawed SLA is refused naming the field, and nothing is written', () => {
  const r = canopy(['import', path.join(SLAS, 'sla_flawed_2.json'), '--repo', dir]);
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stderr, /sla_flawed_2\.json: applications\[0\]\.microservices\[0\]\.microservice_name: must be a string \(got 4\)/);
  assert.match(r.stderr, /refused; nothing written/);
  assert.is(git(dir, 'status', '--porcelain'), '');
});

test.run();
