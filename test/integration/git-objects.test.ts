// The fast object store and the tree diff against native git: every object of a repository
// (loose, packed, offset and ref deltas) reads back byte for byte; a diff of any two commits
// lists exactly what `git diff-tree -r` lists, tricky names included; trees written by canopy are
// the trees git writes for the same files.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { openRepo } from '../../reconciler/git/repo.js';
import { ObjectStore } from '../../reconciler/git/odb.js';
import { diffTrees, writeFiles } from '../../reconciler/git/tree.js';
import { git, tempDir } from '../helpers/git.js';
import { prng } from '../helpers/builders.js';

const test = suite('object store and tree diff against native git');

/** Every object of the repository as `git cat-file --batch` gives it. */
function allObjects(dir: string): Map<string, { type: string; body: Buffer }> {
  const out = execFileSync('git', ['-C', dir, 'cat-file', '--batch-all-objects', '--batch', '--unordered'], { maxBuffer: 1 << 28 });
  const objects = new Map<string, { type: string; body: Buffer }>();
  let i = 0;
  while (i < out.length) {
    const nl = out.indexOf(10, i);
    const [oid, type, size] = out.toString('latin1', i, nl).split(' ');
    const body = out.subarray(nl + 1, nl + 1 + Number(size));
    objects.set(oid, { type, body: Buffer.from(body) });
    i = nl + 1 + Number(size) + 1;
  }
  return objects;
}

function readsAll(dir: string, what: string): number {
  const store = new ObjectStore({ dir, gitdir: path.join(dir, '.git'), cache: {} });
  let n = 0;
  for (const [oid, o] of allObjects(dir)) {
    const got = store.readSync(oid);
    assert.ok(got, `${what}: ${oid} not found`);
    assert.is(got!.type, o.type, `${what}: ${oid} type`);
    assert.ok(got!.body.equals(o.body), `${what}: ${oid} (${o.type}, ${o.body.length} bytes) differs`);
    n++;
  }
  return n;
}

// Names that sort differently as files and as directories ("a" vs "a-b" vs "a.b" vs "a/"), and
// a flat directory big enough for the shared-prefix skip to matter.
const NAMES = ['a', 'a-b', 'a.b', 'a0', 'ab', 'é', 'b c', 'z'];

function randomChange(dir: string, rng: ReturnType<typeof prng>): void {
  for (let k = rng.int(1, 6); k > 0; k--) {
    const where = rng.pick(['top', 'flat', 'nested']);
    const name =
      where === 'flat' ? `flat/f${String(rng.int(0, 299)).padStart(3, '0')}` : where === 'nested' ? `n/${rng.pick(NAMES)}/${rng.pick(NAMES)}` : rng.pick(NAMES);
    const p = path.join(dir, name);
    const r = rng.next();
    rmSync(p, { recursive: true, force: true });
    if (r < 0.15) continue; // deleted
    mkdirSync(path.dirname(p), { recursive: true });
    if (r < 0.25 && where !== 'flat') {
      mkdirSync(p, { recursive: true });
      writeFileSync(path.join(p, 'inner'), `${rng.next()}\n`);
      continue;
    } // file → directory
    if (r < 0.3) {
      symlinkSync('target', p);
      continue;
    }
    writeFileSync(p, `${rng.int(0, 5)}\n`);
    if (r > 0.9) chmodSync(p, 0o755);
  }
}

test('every object reads back as git has it: loose, packed, offset and ref deltas', async () => {
  const dir = path.join(tempDir('canopy-odb-'), 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  const rng = prng(5);
  for (let i = 0; i < 300; i++) writeFileSync(path.join(dir, `f${i}.txt`), `line ${i}\n`.repeat(50));
  for (let c = 0; c < 12; c++) {
    for (let k = 0; k < 20; k++) writeFileSync(path.join(dir, `f${rng.int(0, 299)}.txt`), `line ${c}\n`.repeat(50) + `change ${k}\n`);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', `c${c}`);
  }
  const loose = readsAll(dir, 'loose');
  git(dir, 'gc', '-q', '--aggressive');
  assert.is(readsAll(dir, 'packed with offset deltas'), loose);
  git(dir, '-c', 'repack.useDeltaBaseOffset=false', 'repack', '-q', '-a', '-d', '-f');
  assert.is(readsAll(dir, 'packed with ref deltas'), loose);
  // Loose beside packed, written after the store first scanned: found too.
  const store = new ObjectStore({ dir, gitdir: path.join(dir, '.git'), cache: {} });
  store.readSync(git(dir, 'rev-parse', 'HEAD'));
  writeFileSync(path.join(dir, 'new.txt'), 'new\n');
  const blob = git(dir, 'hash-object', '-w', 'new.txt');
  assert.is(store.readSync(blob)?.body.toString(), 'new\n');
});

test('diffTrees lists what git diff-tree -r lists, for any two commits', async () => {
  const dir = path.join(tempDir('canopy-diff-'), 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  mkdirSync(path.join(dir, 'flat'));
  for (let i = 0; i < 300; i++) writeFileSync(path.join(dir, `flat/f${String(i).padStart(3, '0')}`), `${i}\n`);
  for (const n of NAMES) {
    mkdirSync(path.join(dir, 'n', n), { recursive: true });
    writeFileSync(path.join(dir, 'n', n, 'x'), 'x\n');
  }
  const rng = prng(9);
  const commits: string[] = [];
  for (let c = 0; c < 40; c++) {
    if (c) randomChange(dir, rng);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '--allow-empty', '-m', `c${c}`);
    commits.push(git(dir, 'rev-parse', 'HEAD'));
  }
  const repo = await openRepo(dir);
  const tree = (c: string) => git(dir, 'rev-parse', `${c}^{tree}`);
  const pairs: Array<[string, string]> = commits.slice(1).map((c, i) => [commits[i], c]);
  pairs.push([commits[0], commits[39]], [commits[39], commits[0]], [commits[5], commits[30]]);
  for (const [a, b] of pairs) {
    const native = git(dir, '-c', 'core.quotepath=off', 'diff-tree', '-r', '--no-renames', a, b)
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [meta, p] = l.split('\t');
        const [, , oa, ob] = meta.split(' ');
        return `${p} ${oa.startsWith('0000000') ? '-' : oa} ${ob.startsWith('0000000') ? '-' : ob}`;
      })
      .sort();
    const ours = (await diffTrees(repo, tree(a), tree(b))).map((c) => `${c.path} ${c.before?.oid ?? '-'} ${c.after?.oid ?? '-'}`).sort();
    assert.equal(ours, native, `${a.slice(0, 7)}..${b.slice(0, 7)}`);
  }
});

test('writeFiles writes the very trees git writes for the same files', async () => {
  const dir = path.join(tempDir('canopy-write-'), 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  const files = new Map<string, string>();
  for (const n of NAMES) files.set(n === 'a' ? 'a/x' : n, `${n}\n`);
  for (let i = 0; i < 40; i++) files.set(`d/${i}.json`, `{"i": ${i}}\n`);
  for (const [p, t] of files) {
    mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    writeFileSync(path.join(dir, p), t);
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'files');
  const repo = await openRepo(dir);
  const ours = await writeFiles(repo, undefined, files);
  assert.is(ours, git(dir, 'rev-parse', 'HEAD^{tree}'));
  // A change along one path: the other subtrees are kept as they are.
  const next = await writeFiles(
    repo,
    ours,
    new Map([
      ['d/7.json', '{"i": 70}\n'],
      ['a-b', null],
    ]),
  );
  writeFileSync(path.join(dir, 'd/7.json'), '{"i": 70}\n');
  rmSync(path.join(dir, 'a-b'));
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'change');
  assert.is(next, git(dir, 'rev-parse', 'HEAD^{tree}'));
  assert.is(git(dir, 'fsck', '--strict', '--no-dangling'), '');
});

test.run();
