// The placement bundle's writer (cli/airgap/git-bundle.ts createThinBundle), with real git: what
// it writes `git bundle verify` accepts and `git fetch` takes; it lists every ref, also one whose
// commit is a prerequisite (git bundle create would leave it out, and the site checks each ref
// against the signed manifest); and a file new to the receiver travels as a delta of one it has
// beside it, not whole.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createThinBundle } from '../../cli/airgap/git-bundle.js';
import { commitFiles, git, tempDir } from '../helpers/git.js';

const test = suite('bundle: the thin bundle writer');

/** A descriptor of some size, different per name (as services are). */
const descriptor = (name: string) =>
  `apiVersion: canopy/v1\nkind: Service\nmetadata: {name: ${name}, app: shop}\nspec:\n` +
  Array.from({ length: 30 }, (_, i) => `  # line ${i} of ${name}: what this service does, and why it runs where it runs\n`).join('') +
  `  runtime: container\n  image: canopy/busybox:1\n  replicas: 1\n`;

const work = tempDir('canopy-thin-');
const src = path.join(work, 'src');
const dst = path.join(work, 'dst');
let base = '';
let side1 = '';

test.before(() => {
  execFileSync('git', ['init', '-q', '-b', 'main', src]);
  base = commitFiles(src, { 'services/shop/a.yaml': descriptor('a'), 'services/shop/b.yaml': descriptor('b') }, 'two services');
  git(src, 'update-ref', 'refs/side', git(src, 'commit-tree', 'HEAD^{tree}', '-m', 'side 1'));
  side1 = git(src, 'rev-parse', 'refs/side');
  // The receiver holds main and refs/side as they are now.
  execFileSync('git', ['clone', '-q', '--bare', src, dst]);
  git(dst, 'fetch', '-q', src, 'refs/side:refs/side');
});

test('main unchanged, another ref moved: both listed; git bundle verify and fetch take it', async () => {
  const side2 = git(src, 'commit-tree', 'HEAD^{tree}', '-p', side1, '-m', 'side 2');
  const out = path.join(work, 'moved.bundle');
  await createThinBundle(
    path.join(src, '.git'),
    out,
    [
      ['refs/heads/main', base],
      ['refs/side', side2],
    ],
    [base, side1],
  );
  assert.equal(git(dst, 'bundle', 'list-heads', out).split('\n').sort(), [`${base} refs/heads/main`, `${side2} refs/side`].sort());
  const v = spawnSync('git', ['--git-dir', dst, 'bundle', 'verify', out], { encoding: 'utf8' });
  assert.is(v.status, 0, v.stderr);
  git(dst, 'fetch', '-q', out, 'refs/side:refs/side');
  assert.is(git(dst, 'rev-parse', 'refs/side'), side2);
});

/** The objects of a bundle's pack that are deltas (index-pack --fix-thin in `gitdir`, then verify-pack). */
function deltasIn(gitdir: string, bundle: string): Set<string> {
  const bytes = readFileSync(bundle);
  const pack = bytes.subarray(bytes.indexOf('\n\n') + 2);
  const out = execFileSync('git', ['--git-dir', gitdir, 'index-pack', '--stdin', '--fix-thin'], { input: pack, encoding: 'utf8' });
  const name = /pack\t([0-9a-f]+)/.exec(out)![1];
  const listed = git(gitdir, 'verify-pack', '-v', path.join(gitdir, 'objects', 'pack', `pack-${name}.idx`));
  // "<oid> <type> <size> <packed> <offset> <depth> <base>" for a delta.
  return new Set(
    listed
      .split('\n')
      .filter((l) => /^[0-9a-f]{40} \w+ +\d+ \d+ \d+ \d+ [0-9a-f]{40}$/.test(l))
      .map((l) => l.slice(0, 40)),
  );
}

test('a new file goes as a delta of one the receiver has beside it (git bundle create sends it whole)', async () => {
  const head = commitFiles(src, { 'services/shop/c.yaml': descriptor('c') }, 'a third service');
  const ours = path.join(work, 'added.bundle');
  await createThinBundle(path.join(src, '.git'), ours, [['refs/heads/main', head]], [base]);
  const theirs = path.join(work, 'added-git.bundle');
  git(src, 'bundle', 'create', '-q', theirs, 'refs/heads/main', `^${base}`);
  const blob = git(src, 'rev-parse', 'HEAD:services/shop/c.yaml');
  const scratch = path.join(work, 'scratch');
  execFileSync('git', ['clone', '-q', '--bare', dst, scratch]);
  assert.ok(deltasIn(scratch, ours).has(blob), 'ours: the new descriptor is a delta');
  assert.not.ok(deltasIn(scratch, theirs).has(blob), 'git bundle create: whole');
  assert.ok(statSync(ours).size < statSync(theirs).size, `ours ${statSync(ours).size} bytes, git's ${statSync(theirs).size}`);
  const v = spawnSync('git', ['--git-dir', dst, 'bundle', 'verify', ours], { encoding: 'utf8' });
  assert.is(v.status, 0, v.stderr);
  git(dst, 'fetch', '-q', ours, 'refs/heads/main:refs/heads/main');
  assert.is(git(dst, 'cat-file', '-p', blob), descriptor('c').trimEnd());
});

test.run();
