// Endpoints on their way up, the Git part: a cluster's status with per-service endpoints,
// recorded in its status ref by the StatusRecorder (one file per service), read back by
// `canopy status` (fleetStatus) as each service's `endpoints: { <cluster>: [host:port, ...] }`;
// a change of endpoints alone is worth a commit.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { renderNote } from '../../reconciler/core/note.js';
import { placementRef, statusRef } from '../../reconciler/core/refs.js';
import { writeNotes } from '../../reconciler/git/notes.js';
import { openRepo, resolveRef, updateRef, writeCommit, type Identity } from '../../reconciler/git/repo.js';
import { writeFiles } from '../../reconciler/git/tree.js';
import { StatusRecorder } from '../../reconciler/cluster/status-ref.js';
import { fleetStatus } from '../../reconciler/report/fleet-status.js';
import { aClusterStatus } from '../helpers/root-fakes.js';
import { commitFiles, git, serviceYaml, tempDir } from '../helpers/git.js';
import { ASSIGNMENT, placementHeader } from '../corpus/record-cases.js';

const test = suite('status endpoints: status ref → canopy status --json');
const AUTHOR: Identity = { name: 'test', email: 'test@canopy.invalid' };
const AT = '2025-01-01T00:00:00.000Z';
const NOW = new Date('2025-01-01T00:00:10Z');

const dir = tempDir('canopy-status-endpoints-');
git(dir, 'init', '-q', '-b', 'main');
const A = commitFiles(dir, {
  'fleet.yaml': 'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: demo}\n',
  'services/web/api.yaml': serviceYaml('web', 'api', { runtime: 'container', image: 'canopy/app:1', replicas: 2 }),
});
const repo = await openRepo(dir);
await writeNotes(repo, new Map([[A, renderNote({ outcome: 'accepted', commit: A, at: AT, changed: {} })]]), AUTHOR, 'notes');
const json = (v: unknown) => `${JSON.stringify(v, null, 1)}\n`;
const parent = await resolveRef(repo, placementRef('munich'));
const placed = await writeCommit(repo, {
  tree: await writeFiles(
    repo,
    undefined,
    new Map([
      ['placement.json', json(placementHeader(A, 5))],
      ['services/web/api.json', json(ASSIGNMENT)],
    ]),
  ),
  parents: parent ? [parent] : [],
  message: 'placement',
  author: AUTHOR,
});
await updateRef(repo, placementRef('munich'), placed, parent);

const IMAGES = [`127.0.0.1:5000/canopy/app@sha256:${'b'.repeat(64)}`];
const statusWith = (endpoints: string[], at = AT, images = IMAGES) =>
  aClusterStatus('munich', {
    at,
    applied: { commit: A, seq: 5, epoch: 0 },
    nodes: { total: 2, online: 2 },
    services: { 'web/api': { desired: 2, running: 2, failed: 0, ...(endpoints.length ? { endpoints } : {}), images } },
  });

test('a status record with endpoints: the service file carries them, canopy status shows them per cluster', async () => {
  const rec = new StatusRecorder(repo, 'munich', AUTHOR);
  assert.is(await rec.record(statusWith(['127.0.0.2:8080', '127.0.0.3:8080']), 60_000), 'changed');
  const file = JSON.parse(git(dir, 'show', `${statusRef('munich')}:services/web/api.json`));
  assert.equal(file.endpoints, ['127.0.0.2:8080', '127.0.0.3:8080']);
  const r = await fleetStatus(repo, NOW);
  assert.equal(r.warnings, undefined);
  assert.equal(r.services['web/api']?.endpoints, { munich: ['127.0.0.2:8080', '127.0.0.3:8080'] });
  assert.is(r.services['web/api']?.state, 'converged');
  // The JSON `canopy status --json` prints is this report as it is.
  assert.equal(JSON.parse(JSON.stringify(r)).services['web/api'].endpoints.munich, ['127.0.0.2:8080', '127.0.0.3:8080']);
  // What ran: the digests per cluster, from the same record.
  assert.equal(file.images, IMAGES);
  assert.equal(r.services['web/api']?.images, { munich: IMAGES });
});

test('a new digest alone (a tag pushed again and pulled) is worth a commit', async () => {
  const rec = new StatusRecorder(repo, 'munich', AUTHOR);
  const other = [`sha256:${'c'.repeat(64)}`];
  assert.is(await rec.record(statusWith(['127.0.0.2:8080', '127.0.0.3:8080'], AT, other), 60_000), 'changed');
  assert.equal((await fleetStatus(repo, NOW)).services['web/api']?.images, { munich: other });
  assert.is(await rec.record(statusWith(['127.0.0.2:8080', '127.0.0.3:8080'], AT, IMAGES), 60_000), 'changed');
});

test('an instance gone: the endpoints alone change, that is a commit; none left, no entry for the cluster', async () => {
  const rec = new StatusRecorder(repo, 'munich', AUTHOR);
  assert.is(await rec.record(statusWith(['127.0.0.2:8080'], '2025-01-01T00:00:01.000Z'), 60_000), 'changed');
  assert.equal((await fleetStatus(repo, NOW)).services['web/api']?.endpoints, { munich: ['127.0.0.2:8080'] });
  assert.is(await rec.record(statusWith([], '2025-01-01T00:00:02.000Z'), 60_000), 'changed');
  const file = JSON.parse(git(dir, 'show', `${statusRef('munich')}:services/web/api.json`));
  assert.not.ok('endpoints' in file);
  assert.equal((await fleetStatus(repo, NOW)).services['web/api']?.endpoints, {});
});

test.run();
