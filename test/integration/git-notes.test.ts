// Notes under refs/notes/canopy against native git, both directions, fan-out included: the
// trees canopy writes are byte-identical to the ones `git notes` writes for the same notes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { openRepo } from '../../reconciler/git/repo.js';
import { readNote, writeNotes, notesIndex, NOTES_REF } from '../../reconciler/git/notes.js';
import { git, tempDir } from '../helpers/git.js';
import { manyCommits } from '../helpers/big-repo.js';

const ME = { name: 'canopy root', email: 'root@canopy.invalid' };

function repoWith(n: number): { dir: string; commits: string[] } {
  const dir = path.join(tempDir('canopy-notes-'), 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  return { dir, commits: manyCommits(dir, n) };
}

/** Native git annotates every commit with `text` in one notes commit (notes.c's layout). */
function nativeNotes(dir: string, commits: string[], text: string, ref = NOTES_REF): void {
  git(dir, 'notes', '--ref', ref, 'add', '-f', '-m', text, commits[0]);
  if (commits.length > 1) {
    execFileSync('git', ['-C', dir, 'notes', '--ref', ref, 'copy', '-f', '--stdin'], {
      input:
        commits
          .slice(1)
          .map((c) => `${commits[0]} ${c}`)
          .join('\n') + '\n',
      stdio: ['pipe', 'ignore', 'ignore'],
      env: { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@x' },
    });
  }
}

const tree = (dir: string) => git(dir, 'rev-parse', `${NOTES_REF}^{tree}`);
const show = (dir: string, c: string) => git(dir, 'notes', '--ref', 'canopy', 'show', c);

const Notes = suite('notes against native git');

Notes('canopy writes 1,000 notes in one notes commit, fanned out as git does; git reads any of them', async () => {
  const a = repoWith(1000);
  const repo = await openRepo(a.dir);
  const texts = new Map(a.commits.map((c, i) => [c, `note ${i}\n`]));
  await writeNotes(repo, texts, ME, 'canopy: round 1');
  assert.is(git(a.dir, 'rev-list', '--count', NOTES_REF), '1', 'one notes commit for the round');
  assert.ok(/^040000 tree [0-9a-f]{40}\t[0-9a-f]{2}$/m.test(git(a.dir, 'ls-tree', NOTES_REF)), 'ab/ directories at the top');
  for (const i of [0, 1, 499, 998, 999]) assert.is(show(a.dir, a.commits[i]), `note ${i}`);
  // Native git reads the whole set the way it walks any notes tree.
  const listed = new Set(
    git(a.dir, 'notes', '--ref', 'canopy', 'list')
      .split('\n')
      .map((l) => l.split(' ')[1]),
  );
  assert.ok(a.commits.every((c) => listed.has(c)));
});

Notes('the same notes written by canopy and by git give byte-identical trees, flat and fanned out', async () => {
  const a = repoWith(1000);
  const repo = await openRepo(a.dir);
  for (const n of [1, 20, 120, 300, 1000]) {
    const commits = a.commits.slice(0, n);
    nativeNotes(a.dir, commits, 'same text', `refs/notes/git-${n}`);
    await writeNotes(repo, new Map(commits.map((c) => [c, 'same text\n'])), ME, 'canopy', `refs/notes/canopy-${n}`);
    assert.is(git(a.dir, 'rev-parse', `refs/notes/canopy-${n}^{tree}`), git(a.dir, 'rev-parse', `refs/notes/git-${n}^{tree}`), `${n} notes`);
  }
});

Notes('native git writes 1,000 notes; canopy reads any of them', async () => {
  const a = repoWith(1000);
  nativeNotes(a.dir, a.commits, 'from git');
  const repo = await openRepo(a.dir);
  for (const i of [0, 7, 512, 999]) assert.is(await readNote(repo, a.commits[i]), 'from git\n');
  assert.is((await notesIndex(repo)).size, 1000);
  assert.is(await readNote(repo, 'f'.repeat(40)), undefined);
});

Notes('mixed: git adds after canopy and canopy after git; both read all, trees as git alone would write', async () => {
  const a = repoWith(600),
    b = repoWith(600);
  const first = a.commits.slice(0, 500),
    later = a.commits.slice(500);
  // a: canopy 500, git 1 more, canopy 99 more, canopy removes one.
  const repo = await openRepo(a.dir);
  await writeNotes(repo, new Map(first.map((c) => [c, 'same text\n'])), ME, 'canopy');
  git(a.dir, 'notes', '--ref', 'canopy', 'add', '-m', 'same text', later[0]);
  assert.is(await readNote(repo, later[0]), 'same text\n', 'canopy sees what git added');
  await writeNotes(repo, new Map([...later.slice(1).map((c) => [c, 'same text\n'] as [string, string]), [first[3], null]]), ME, 'canopy');
  assert.is(show(a.dir, later[99]), 'same text');
  assert.is(show(a.dir, first[4]), 'same text');
  assert.throws(() => show(a.dir, first[3]), 'removed by canopy: git finds no note');
  // b: git alone, the same steps.
  nativeNotes(b.dir, first, 'same text');
  git(b.dir, 'notes', '--ref', 'canopy', 'add', '-m', 'same text', later[0]);
  nativeNotes(b.dir, [later[0], ...later.slice(1)], 'same text');
  git(b.dir, 'notes', '--ref', 'canopy', 'remove', first[3]);
  assert.is(tree(a.dir), tree(b.dir));
  // git adds to canopy's fanned-out tree; canopy reads it.
  git(a.dir, 'notes', '--ref', 'canopy', 'add', '-f', '-m', 'changed by git', first[10]);
  assert.is(await readNote(repo, first[10]), 'changed by git\n');
  assert.is(await readNote(repo, first[11]), 'same text\n');
});

Notes.run();
