// Loose objects written by canopy are packed as they pile up, by native git, and everything
// still reads the same afterwards (refs packed too, objects from the pack).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { openRepo, resolveRef, writeCommit, updateRef } from '../../reconciler/git/repo.js';
import { objectStore } from '../../reconciler/git/odb.js';
import { writeFiles } from '../../reconciler/git/tree.js';
import { estimateLoose, startMaintenance } from '../../reconciler/git/maintenance.js';
import { readServiceRecord, writeServiceRecord } from '../../reconciler/git/service-records.js';
import { createLogger } from '../../reconciler/core/log.js';
import { git, tempDir } from '../helpers/git.js';

const test = suite('maintenance');
const log = createLogger('test', 'warn');
const ME = { name: 'canopy root', email: 'root@canopy.invalid' };

test('past the threshold, git gc packs the loose objects; refs and records read the same', async () => {
  const dir = tempDir('canopy-maint-');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  const repo = await openRepo(dir);
  const services: Record<string, { n: number }> = {};
  for (let i = 0; i < 3000; i++) services[`app${i % 10}/svc-${i}`] = { n: i };
  const tree = await writeServiceRecord(repo, undefined, 'placement.json', { v: 1 }, undefined, services);
  const oid = await writeCommit(repo, { tree, parents: [], message: 'many', author: ME });
  await updateRef(repo, 'refs/canopy/placements/a', oid, undefined);
  const loose = () => Number(/^count: (\d+)$/m.exec(git(dir, 'count-objects', '-v'))![1]);
  assert.ok(loose() > 3000, `${loose()} loose`);
  assert.ok((await estimateLoose(repo)) > 500);

  const m = startMaintenance(repo, log, { looseLimit: 500, everyMs: 3_600_000 });
  assert.is(await m.check(), 'packed');
  m.stop();
  assert.ok(loose() < 100, `${loose()} loose after gc`);
  assert.is(await resolveRef(repo, 'refs/canopy/placements/a'), oid);
  assert.equal(await readServiceRecord(repo, oid, 'placement.json'), { v: 1, services });
  // A fresh store reads from the pack.
  assert.ok(objectStore(await openRepo(dir)).readSync(tree));
});

test('below the threshold nothing runs', async () => {
  const dir = tempDir('canopy-maint-');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  const repo = await openRepo(dir);
  await writeFiles(repo, undefined, new Map([['a', 'b']]));
  const m = startMaintenance(repo, log, { everyMs: 3_600_000 });
  assert.is(await m.check(), 'not needed');
  m.stop();
});

test.run();
