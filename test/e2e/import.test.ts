// As an Oakestra user moving over: canopy init, import a two-service demo app written as an
// Oakestra SLA (test/fixtures/oakestra), commit, canopy up, and its two services run; a flawed
// SLA is refused naming the field.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { canopy, start, eventually, ROOT, type Proc } from '../helpers/canopy.js';
import { git, tempDir, commitFiles } from '../helpers/git.js';
import { running, containers, ownFleet, removeFleet, requireDocker } from '../helpers/docker.js';

const test = suite('canopy import (Oakestra demo app, docker)');
const SLAS = path.join(ROOT, 'test/fixtures/oakestra');
const fleet = ownFleet(`e2e-import-${process.pid}`);
const dir = path.join(tempDir(), 'fleet');
const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
let up: Proc | undefined;

test.before(() => {
  requireDocker();
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
  const r = canopy(['import', path.join(SLAS, 'demo-two-services.json'), '--repo', dir]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^created services\/webpair\/client\.yaml$/m);
  assert.match(r.stdout, /^created services\/webpair\/server\.yaml$/m);
  assert.match(r.stdout, /webpair\/server: addresses\.rr_ip 10\.44\.0\.7 becomes server\.webpair\.canopy/);
  assert.match(r.stdout, /webpair\/client: cmd\[2\]: .* → .*http:\/\/server\.webpair\.canopy:80\//);
  const v = canopy(['validate', dir]);
  assert.is(v.code, 0, v.stdout + v.stderr);
  commitFiles(dir, {}, 'import webpair from Oakestra');
  const again = canopy(['import', path.join(SLAS, 'demo-two-services.json'), '--repo', dir]);
  assert.match(again.stdout, /^unchanged services\/webpair\/client\.yaml$/m);
});

test('deployed with stand-in images, both services run and wait --rev HEAD exits 0', async () => {
  // The SLA's images (curlimages/curl, library/nginx) cannot be here: no registry is reachable
  // and agents never pull. Only the image is swapped for the offline busybox one. curl keeps the
  // SLA's own command (busybox has no curl, so each request fails and the loop goes on); nginx
  // used its image's default command, so it gets busybox httpd on the port the import kept (80).
  const curl = read('services/webpair/client.yaml').replace('image: docker.io/curlimages/curl:8.5.0', 'image: canopy/busybox:1');
  const nginx = read('services/webpair/server.yaml').replace(
    'image: docker.io/library/nginx:1.25-alpine',
    'image: canopy/busybox:1\n  command: [httpd, -f, -p, "80", -h, /]',
  );
  assert.not.equal(curl, read('services/webpair/client.yaml'));
  assert.not.equal(nginx, read('services/webpair/server.yaml'));
  commitFiles(dir, { 'services/webpair/client.yaml': curl, 'services/webpair/server.yaml': nginx }, 'stand-in images (offline)');

  up = start(['up', '--repo', dir, '--runtime', 'docker']);
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '90']);
  assert.is(w.code, 0, `${w.stderr}\n--- up:\n${up.output()}`);
  assert.is(running(fleet, 'webpair/client'), 1);
  assert.is(running(fleet, 'webpair/server'), 1);
  const name = (svc: string) => containers(fleet).find((c) => c.service === svc)!.name;
  await eventually(
    "the SLA's curl loop printing",
    () => /--CLIENT-TICK--/.test(execFileSync('docker', ['logs', name('webpair/client')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })),
    20_000,
  );
  const served = execFileSync('docker', ['exec', name('webpair/server'), 'wget', '-qO-', 'http://127.0.0.1:80/etc/hostname'], { encoding: 'utf8' });
  assert.ok(served.trim().length > 0, 'httpd answers on port 80');
  const st = JSON.parse(canopy(['status', '--repo', dir, '--json']).stdout);
  assert.is(st.services['webpair/client'].state, 'converged');
  assert.is(st.services['webpair/server'].state, 'converged');
});

test('a flawed SLA is refused naming the field, and nothing is written', () => {
  const r = canopy(['import', path.join(SLAS, 'flawed-numeric-name.json'), '--repo', dir]);
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stderr, /flawed-numeric-name\.json: applications\[0\]\.microservices\[0\]\.microservice_name: must be a string \(got 7\)/);
  assert.match(r.stderr, /refused; nothing written/);
  assert.is(git(dir, 'status', '--porcelain'), '');
});

test.run();
