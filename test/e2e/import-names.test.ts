// canopy import of Oakestra SLAs whose services call each other by their service IPs (rr_ip,
// closest_ip): the video-analytics pipeline of Oakestra's ATC'23 evaluation (four services, each
// calling the next, and a dashboard of another app) and client-server. The CLI writes the calls by
// name, prints each rewrite, and canopy validate accepts the repository as written. No Docker.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { canopy, ROOT } from '../helpers/canopy.js';
import { tempDir, commitFiles } from '../helpers/git.js';

const test = suite('canopy import: service addresses become names');
const SLAS = path.join(ROOT, 'test/fixtures/oakestra');
const dir = path.join(tempDir(), 'fleet');
const spec = (f: string) => parse(readFileSync(path.join(dir, f), 'utf8')).spec;

test.before(() => {
  const init = canopy(['init', dir]);
  assert.is(init.code, 0, init.stderr);
  commitFiles(
    dir,
    { 'services/shop/web.yaml': null, 'services/shop/worker.yaml': null, 'services/traffic-cam/detector.yaml': null },
    'drop the template services',
  );
});

test('the video pipeline: each call by rr_ip is written by name, each rewrite printed, and validate accepts it', () => {
  const r = canopy(['import', path.join(SLAS, 'video-pipeline.json'), '--repo', dir]);
  assert.is(r.code, 0, r.stderr);
  for (const s of ['pipeline/source', 'pipeline/aggregator', 'pipeline/detector', 'pipeline/tracker', 'ops/dashboard'])
    assert.match(r.stdout, new RegExp(`^created services/${s}\\.yaml$`, 'm'));
  assert.match(
    r.stdout,
    /pipeline\/detector: cmd\[3\]: "--tracker-address 10\.30\.31\.30:8181" → "--tracker-address tracker\.pipeline\.canopy:8181" \(round-robin to pipeline\/tracker\)/,
  );
  assert.match(r.stdout, /pipeline\/tracker: environment ARCHIVE: 10\.30\.31\.300 is not one of this SLA's service addresses: kept as it is/);
  assert.equal(spec('services/pipeline/detector.yaml').command.at(-1), '--tracker-address tracker.pipeline.canopy:8181');
  assert.equal(spec('services/pipeline/tracker.yaml').uses, ['ops/dashboard']);
  assert.is(spec('services/pipeline/tracker.yaml').env.RESULTS_URL, 'http://closest.dashboard.ops.canopy:9000/results');
  const v = canopy(['validate', dir]);
  assert.is(v.code, 0, v.stdout + v.stderr);
});

test('client-server: the client fetches from the server by name, and validate accepts both', () => {
  const r = canopy(['import', path.join(SLAS, 'client-server.json'), '--repo', dir]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /clientsrvapp\/server: addresses\.rr_ip 10\.30\.55\.55 becomes server\.clientsrvapp\.canopy/);
  assert.match(spec('services/clientsrvapp/client.yaml').command[2], /wget -qO- http:\/\/server\.clientsrvapp\.canopy\/ /);
  const v = canopy(['validate', dir]);
  assert.is(v.code, 0, v.stdout + v.stderr);
});

test.run();
