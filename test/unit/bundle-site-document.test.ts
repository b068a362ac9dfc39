// The placement as an air-gapped site's chain holds it (cli/airgap/site-chains.ts): one document,
// services inline in a stable order, so a changed service is a delta of a few lines. Written into
// a real Git repository and read back as the site's cluster reads it (readRecord).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { siteDocument } from '../../cli/airgap/site-chains.js';
import { readRecord } from '../../reconciler/git/records.js';
import { openRepo } from '../../reconciler/git/repo.js';
import { aPlacement, aService } from '../helpers/builders.js';
import { commitFiles, git, tempDir } from '../helpers/git.js';

const test = suite('bundle: the site placement document');

const placement = (version: string) =>
  aPlacement('ship')
    .with(aService('shop/web').replicas(2).env({ VERSION: version }))
    .with(aService('ops/beacon'))
    .with(aService('shop/cart'))
    .seq(Number(version))
    .build();

test('services in id order whatever order the record had them in', () => {
  const p = placement('1');
  const reversed = { ...p, services: Object.fromEntries(Object.entries(p.services).reverse()) };
  const doc = JSON.parse(siteDocument(reversed)) as typeof p;
  assert.equal(Object.keys(doc.services), ['ops/beacon', 'shop/cart', 'shop/web']);
  assert.is(siteDocument(reversed), siteDocument(p));
});

test('read back from a commit as the placement it was (readRecord, as the site cluster reads it)', async () => {
  const dir = tempDir('canopy-site-doc-');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  const p = placement('1');
  const oid = commitFiles(dir, { 'placement.json': siteDocument(p), 'note.txt': 'canopy: accepted\n' });
  const read = await readRecord(await openRepo(dir), oid, 'placement.json', 'Placement');
  assert.equal(read, p);
});

test('one service changed: the diff touches its lines and the version, nothing else', () => {
  const dir = tempDir('canopy-site-doc-');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  commitFiles(dir, { 'placement.json': siteDocument(placement('1')) });
  commitFiles(dir, { 'placement.json': siteDocument(placement('2')) });
  const changed = git(dir, 'diff', '-U0', 'HEAD~1', 'HEAD')
    .split('\n')
    .filter((l) => /^[-+] /.test(l));
  assert.ok(changed.length > 0 && changed.length <= 8, changed.join('\n'));
  for (const l of changed) assert.match(l, /"(seq|specHash|VERSION)"/);
});

test.run();
