// A document journaled as a snapshot plus a log of patches, in a real state directory: it reads
// back what was written and appended, a line cut short by a crash ends the replay, lines from
// before the latest snapshot are skipped, the log folds into a snapshot as it grows, and a state
// directory from before the log (a bare document) is still read.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { Operation } from 'fast-json-patch';
import { openJournal } from '../../reconciler/core/journal.js';
import { openPatchJournal } from '../../reconciler/core/patch-journal.js';
import { tempDir } from '../helpers/git.js';

type Doc = Record<string, number>;
const test = suite('patch journal');

function opened(dir = tempDir('canopy-pj-')) {
  return { dir, pj: openPatchJournal<Doc>(openJournal(dir), dir, 'doc.json') };
}

test('reads back the snapshot with every appended patch applied, also from a new process', async () => {
  const { dir, pj } = opened();
  assert.is(await pj.read(), undefined);
  await pj.write({ a: 1 });
  await pj.append([{ op: 'add', path: '/b', value: 2 }], { a: 1, b: 2 });
  await pj.append(
    [
      { op: 'remove', path: '/a' },
      { op: 'replace', path: '/b', value: 3 },
    ],
    { b: 3 },
  );
  assert.equal(await opened(dir).pj.read(), { b: 3 });
  // A few hundred bytes per change, not the document.
  assert.ok(statSync(path.join(dir, 'doc.json.log')).size < 300);
});

test('a line cut short by a crash ends the replay at the last whole line', async () => {
  const { dir, pj } = opened();
  await pj.write({ a: 1 });
  await pj.append([{ op: 'replace', path: '/a', value: 2 }], { a: 2 });
  appendFileSync(path.join(dir, 'doc.json.log'), '{"generation":"x","ops":[{"op":"repl');
  assert.equal(await opened(dir).pj.read(), { a: 2 });
});

test('lines from before the latest snapshot are skipped', async () => {
  const { dir, pj } = opened();
  await pj.write({ a: 1 });
  await pj.append([{ op: 'replace', path: '/a', value: 2 }], { a: 2 });
  const stale = readFileSync(path.join(dir, 'doc.json.log'), 'utf8');
  await pj.write({ a: 10 });
  // As if the process died after writing the snapshot and before truncating the log.
  writeFileSync(path.join(dir, 'doc.json.log'), stale);
  assert.equal(await opened(dir).pj.read(), { a: 10 });
});

test('a patch that no longer applies ends the replay there', async () => {
  const { dir, pj } = opened();
  await pj.write({ a: 1 });
  const gen = JSON.parse(readFileSync(path.join(dir, 'doc.json'), 'utf8')).generation;
  const bad: Operation[] = [{ op: 'remove', path: '/nope' }];
  appendFileSync(
    path.join(dir, 'doc.json.log'),
    `${JSON.stringify({ generation: gen, ops: bad })}\n${JSON.stringify({ generation: gen, ops: [{ op: 'add', path: '/z', value: 1 }] })}\n`,
  );
  assert.equal(await opened(dir).pj.read(), { a: 1 });
});

test('the log folds into a snapshot once it outgrows its share', async () => {
  const { dir, pj } = opened();
  let doc: Doc = {};
  await pj.write(doc);
  for (let i = 0; i < 3000; i++) {
    doc = { ...doc, [`k${i}`]: i };
    await pj.append([{ op: 'add', path: `/k${i}`, value: i }], () => doc);
  }
  assert.ok(statSync(path.join(dir, 'doc.json.log')).size <= 64 * 1024 + 100, 'folded');
  assert.equal(await opened(dir).pj.read(), doc);
});

test('a state directory from before the log: the bare document is read and logged onto', async () => {
  const dir = tempDir('canopy-pj-');
  writeFileSync(path.join(dir, 'doc.json'), JSON.stringify({ a: 1 }));
  const { pj } = opened(dir);
  assert.equal(await pj.read(), { a: 1 });
  await pj.append([{ op: 'add', path: '/b', value: 2 }], { a: 1, b: 2 });
  assert.equal(await opened(dir).pj.read(), { a: 1, b: 2 });
});

test.run();
