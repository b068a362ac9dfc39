// The Git port without a Git library (repo.ts, ref-store.ts) against native git on real
// repositories: refs loose, packed and both, symbolic refs, short names, revisions with short
// ids, annotated tags and ~/^ suffixes, commits and files read from loose and packed objects,
// commits written as isomorphic-git wrote them, compare-and-swap on packed refs, and damaged
// refs named in the error. isomorphic-git is the reference for the shapes the port returns.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fs, { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import isogit from 'isomorphic-git';
import {
  listRefs,
  openRepo,
  readCommit,
  readFileAt,
  resolveRef,
  resolveRevision,
  updateRef,
  writeCommit,
  RefConflictError,
  type Repo,
} from '../../reconciler/git/repo.js';
import { isRefName } from '../../reconciler/git/ref-store.js';
import { resolveRev } from '../../reconciler/git/revision.js';
import { git, tempDir } from '../helpers/git.js';

const test = suite('refs, revisions and commits against native git');

/** git with a fixed author and committer date in a given zone, so commits have offsets. */
function commitAt(dir: string, message: string, date: string, ...extra: string[]): string {
  execFileSync('git', ['-C', dir, 'commit', '-q', '--allow-empty', '-m', message, ...extra], {
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Ann',
      GIT_AUTHOR_EMAIL: 'ann@example.com',
      GIT_COMMITTER_NAME: 'Bob',
      GIT_COMMITTER_EMAIL: 'bob@example.com',
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_DATE: date,
    },
  });
  return git(dir, 'rev-parse', 'HEAD');
}

/** A repository with branches, a merge, tags (light and annotated), a remote-tracking ref and canopy refs. */
function fixture(): { dir: string; commits: string[] } {
  const dir = path.join(tempDir('canopy-refs-'), 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  const commits: string[] = [];
  for (let i = 0; i < 6; i++) {
    writeFileSync(path.join(dir, `f${i % 3}.txt`), `${i}\n`);
    mkdirSync(path.join(dir, 'services/shop'), { recursive: true });
    writeFileSync(path.join(dir, 'services/shop/web.yaml'), `replicas: ${i}\n`);
    git(dir, 'add', '-A');
    commits.push(commitAt(dir, `c${i}\n\nbody line\r\nwith a CR`, `${1700000000 + i * 3600} ${['+0000', '+0530', '-0800', '+1345', '-0000', '+0100'][i]}`));
  }
  git(dir, 'checkout', '-q', '-b', 'side', commits[3]);
  writeFileSync(path.join(dir, 'side.txt'), 'side\n');
  git(dir, 'add', '-A');
  commits.push(commitAt(dir, 'side', '1700100000 +0200'));
  git(dir, 'checkout', '-q', 'main');
  git(dir, 'merge', '-q', '--no-ff', '--no-edit', 'side');
  commits.push(git(dir, 'rev-parse', 'HEAD'));
  git(dir, 'tag', 'light', commits[1]);
  execFileSync('git', ['-C', dir, 'tag', '-a', '-m', 'release', 'v1', commits[2]], {
    env: { ...process.env, GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.com' },
  });
  git(dir, 'update-ref', 'refs/remotes/origin/main', commits[4]);
  git(dir, 'symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
  for (const [i, c] of ['munich', 'paris', 'eu/berlin'].entries()) {
    git(dir, 'update-ref', `refs/canopy/status/${c}`, commits[i]);
    git(dir, 'update-ref', `refs/canopy/placements/${c}`, commits[i + 1]);
  }
  return { dir, commits };
}

/** What `git rev-parse --verify -q` says, or undefined. */
function revParse(dir: string, rev: string): string | undefined {
  try {
    return git(dir, 'rev-parse', '--verify', '-q', rev) || undefined;
  } catch {
    return undefined;
  }
}

const NAMES = [
  'HEAD',
  'main',
  'side',
  'refs/heads/main',
  'heads/main',
  'light',
  'v1',
  'tags/v1',
  'origin/main',
  'origin',
  'refs/remotes/origin/HEAD',
  'refs/canopy/status/munich',
  'canopy/status/eu/berlin',
  'refs/notes/canopy',
  'nope',
  'refs/heads/nope',
];

async function sameRefsAsGit(dir: string, repo: Repo, what: string): Promise<void> {
  for (const n of NAMES) assert.is(await resolveRef(repo, n), revParse(dir, n), `${what}: ${n}`);
  for (const prefix of ['refs/canopy/status/', 'refs/canopy/placements', 'refs/tags/', 'refs/none/']) {
    const native = git(dir, 'for-each-ref', '--format=%(refname) %(objectname)', prefix.replace(/\/?$/, '/'))
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [r, o] = l.split(' ');
        return [r.slice(prefix.replace(/\/?$/, '/').length), o];
      });
    assert.equal([...(await listRefs(repo, prefix))].sort(), native.sort(), `${what}: listRefs ${prefix}`);
  }
}

test('refs resolve as git rev-parse resolves them: loose, packed, and loose over packed', async () => {
  const { dir, commits } = fixture();
  const repo = await openRepo(dir);
  await sameRefsAsGit(dir, repo, 'loose');
  git(dir, 'pack-refs', '--all', '--prune');
  assert.ok(fs.readFileSync(path.join(dir, '.git/packed-refs'), 'utf8').includes('refs/canopy/status/munich'));
  assert.not.ok(fs.existsSync(path.join(dir, '.git/refs/canopy/status/munich')));
  await sameRefsAsGit(dir, repo, 'packed');
  // A ref updated after packing is loose again and wins over its packed line; a new one is loose only.
  git(dir, 'update-ref', 'refs/canopy/status/munich', commits[5]);
  git(dir, 'update-ref', 'refs/canopy/status/rome', commits[6]);
  await sameRefsAsGit(dir, repo, 'loose over packed');
  // A writer's lock file is not a ref.
  writeFileSync(path.join(dir, '.git/refs/canopy/status/oslo.lock'), `${commits[0]}\n`);
  await sameRefsAsGit(dir, repo, 'with a lock file');
  // HEAD on an unborn branch resolves to nothing, as in a fresh repository.
  git(dir, 'symbolic-ref', 'HEAD', 'refs/heads/unborn');
  assert.is(await resolveRef(repo, 'HEAD'), undefined);
});

test('revisions: short ids, annotated tags peeled, ~N and ^N, as git rev-parse …^{commit}', async () => {
  const { dir, commits } = fixture();
  const repo = await openRepo(dir);
  const revs = [
    'HEAD',
    'HEAD~1',
    'HEAD^2',
    'HEAD^2~1',
    'main~3',
    'v1',
    'v1~1',
    'light^',
    'origin/main~2',
    'side^',
    commits[3].slice(0, 7),
    commits[5],
    `${commits[6].slice(0, 10)}~1`,
  ];
  for (const phase of ['loose', 'packed']) {
    if (phase === 'packed') git(dir, 'gc', '-q', '--prune=now');
    for (const r of revs) assert.is(await resolveRev(repo, r), git(dir, 'rev-parse', `${r}^{commit}`), `${phase}: ${r}`);
    const tag = git(dir, 'rev-parse', 'v1');
    assert.is.not(tag, commits[2]);
    assert.is(await resolveRevision(repo, tag.slice(0, 8)), commits[2], `${phase}: short id of an annotated tag`);
  }
  for (const [rev, why] of [
    ['nope', /unknown revision nope: nope is not a branch/],
    ['HEAD~40', /unknown revision HEAD~40: .* has no such parent/],
    ['main^3', /has no such parent/],
    [git(dir, 'rev-parse', 'HEAD^{tree}'), /is a tree, not a commit/],
    ['0000000000000000000000000000000000000000', /not in this repository/],
  ] as const) {
    try {
      await resolveRev(repo, rev);
      assert.unreachable(rev);
    } catch (e) {
      assert.match((e as Error).message, why, rev);
    }
  }
});

test('an ambiguous short id is an error that says so, as git does', async () => {
  const dir = path.join(tempDir('canopy-ambiguous-'), 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  // Blobs until two share their first four hex digits (a few hundred suffice).
  const seen = new Map<string, string>();
  let prefix = '';
  for (let i = 0; !prefix; i++) {
    writeFileSync(path.join(dir, 'x'), `${i}\n`);
    const oid = git(dir, 'hash-object', '-w', 'x');
    if (seen.has(oid.slice(0, 4))) prefix = oid.slice(0, 4);
    else seen.set(oid.slice(0, 4), oid);
  }
  const repo = await openRepo(dir);
  try {
    await resolveRevision(repo, prefix);
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /short id matches 2 objects/);
  }
  assert.throws(() => git(dir, 'rev-parse', '--verify', '-q', prefix));
});

test('readCommit returns what isomorphic-git returns, loose and packed (time zones, merges, CR in messages)', async () => {
  const { dir, commits } = fixture();
  const repo = await openRepo(dir);
  for (const phase of ['loose', 'packed']) {
    if (phase === 'packed') git(dir, 'gc', '-q', '--prune=now');
    for (const c of commits) {
      const theirs = (await isogit.readCommit({ fs, gitdir: repo.gitdir, oid: c })).commit;
      assert.equal(await readCommit(repo, c), theirs, `${phase}: ${c}`);
    }
    // An annotated tag reads as the commit it tags.
    assert.equal(await readCommit(repo, git(dir, 'rev-parse', 'v1')), await readCommit(repo, commits[2]));
  }
});

test('readFileAt reads what git show REV:PATH shows; no such file is undefined; a directory is an error', async () => {
  const { dir, commits } = fixture();
  const repo = await openRepo(dir);
  for (const phase of ['loose', 'packed']) {
    if (phase === 'packed') git(dir, 'gc', '-q', '--prune=now');
    for (const c of commits) {
      for (const f of ['f0.txt', 'services/shop/web.yaml', 'side.txt']) {
        const native = revParse(dir, `${c}:${f}`) ? git(dir, 'show', `${c}:${f}`) + '\n' : undefined;
        assert.is(await readFileAt(repo, c, f), native, `${phase}: ${c.slice(0, 7)}:${f}`);
      }
      assert.is(await readFileAt(repo, c, 'services/none/x.yaml'), undefined);
      assert.is(await readFileAt(repo, c, 'f0.txt/inside'), undefined);
    }
  }
  try {
    await readFileAt(repo, commits[0], 'services/shop');
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /services\/shop is a directory, not a file/);
  }
  try {
    await readFileAt(repo, 'f'.repeat(40), 'x');
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /ffffffff.* not found/);
  }
});

test('writeCommit writes the commit isomorphic-git wrote for the same input, and git fsck accepts it', async () => {
  const { dir, commits } = fixture();
  const repo = await openRepo(dir);
  const tree = git(dir, 'rev-parse', 'HEAD^{tree}');
  const author = { name: 'canopy root', email: 'root@canopy.invalid' };
  const time = new Date('2026-11-24T05:06:07.890Z');
  for (const message of ['one line', 'subject\n\nbody\n', '\n\nleading blank lines\r\nand CRLF\r\n\n\n', 'x'.repeat(5000)]) {
    for (const parents of [[], [commits[0]], [commits[1], commits[6]]]) {
      const ours = await writeCommit(repo, { tree, parents, message, author, time });
      const sig = { ...author, timestamp: Math.floor(time.getTime() / 1000), timezoneOffset: 0 };
      const theirs = await isogit.writeCommit({
        fs,
        gitdir: repo.gitdir,
        commit: { message: message.endsWith('\n') ? message : message + '\n', tree, parent: parents, author: sig, committer: sig },
      });
      assert.is(ours, theirs, JSON.stringify(message.slice(0, 30)));
      assert.is(git(dir, 'cat-file', '-t', ours), 'commit');
      assert.is(git(dir, 'log', '-1', '--format=%an <%ae> %at %ai', ours), `canopy root <root@canopy.invalid> ${sig.timestamp} 2026-11-24 05:06:07 +0000`);
    }
  }
  assert.is(git(dir, 'fsck', '--strict', '--no-dangling'), '');
  try {
    await writeCommit(repo, { tree, parents: [], message: 'm', author: { name: 'a <b>', email: 'c' } });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /may not hold </);
  }
});

test('updateRef: compare-and-swap over a packed ref, conflicts and bad names refused, git sees the result', async () => {
  const { dir, commits } = fixture();
  git(dir, 'pack-refs', '--all', '--prune');
  const repo = await openRepo(dir);
  const ref = 'refs/canopy/status/paris';
  assert.is(await resolveRef(repo, ref), commits[1]);
  await updateRef(repo, ref, commits[7], commits[1]);
  assert.is(git(dir, 'rev-parse', ref), commits[7]);
  try {
    await updateRef(repo, ref, commits[0], commits[1]);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, RefConflictError);
  }
  assert.is(git(dir, 'rev-parse', ref), commits[7]);
  await updateRef(repo, 'refs/canopy/status/new', commits[0], undefined);
  assert.is(git(dir, 'rev-parse', 'refs/canopy/status/new'), commits[0]);
  for (const bad of ['HEAD', 'refs/../config', 'refs/canopy/x.lock', 'refs/canopy//x', 'refs/canopy/ x']) {
    try {
      await updateRef(repo, bad, commits[0], undefined);
      assert.unreachable(bad);
    } catch (e) {
      assert.match((e as Error).message, /not a ref name/, bad);
    }
  }
  assert.is(git(dir, 'fsck', '--strict', '--no-dangling'), '');
});

test('a damaged ref names its file; a damaged packed-refs names its line', async () => {
  const { dir, commits } = fixture();
  const repo = await openRepo(dir);
  writeFileSync(path.join(dir, '.git/refs/canopy/status/munich'), 'not an id\n');
  try {
    await resolveRef(repo, 'refs/canopy/status/munich');
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /\.git\/refs\/canopy\/status\/munich: .*"not an id"/);
  }
  try {
    await listRefs(repo, 'refs/canopy/status/');
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /refs\/canopy\/status\/munich/);
  }
  writeFileSync(path.join(dir, '.git/refs/canopy/status/munich'), `${commits[0]}\n`);
  git(dir, 'pack-refs', '--all', '--prune');
  appendFileSync(path.join(dir, '.git/packed-refs'), 'garbage line\n');
  const lines = fs.readFileSync(path.join(dir, '.git/packed-refs'), 'utf8').trimEnd().split('\n').length;
  try {
    await resolveRef(repo, 'main');
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, new RegExp(`packed-refs:${lines}: expected`));
  }
  // A symbolic ref loop ends with an error, not a hang.
  fs.writeFileSync(path.join(dir, '.git/packed-refs'), '# pack-refs with: peeled fully-peeled sorted\n');
  git(dir, 'symbolic-ref', 'refs/heads/a', 'refs/heads/b');
  git(dir, 'symbolic-ref', 'refs/heads/b', 'refs/heads/a');
  try {
    await resolveRef(repo, 'a');
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /nest deeper than 5 \(a loop\?\)/);
  }
});

test('objects borrowed through alternates (git clone --shared) are read, packed and loose', async () => {
  const { dir, commits } = fixture();
  git(dir, 'gc', '-q', '--prune=now');
  const clone = path.join(tempDir('canopy-shared-'), 'clone');
  execFileSync('git', ['clone', '-q', '--shared', dir, clone]);
  assert.ok(fs.existsSync(path.join(clone, '.git/objects/info/alternates')));
  const repo = await openRepo(clone);
  assert.is(await resolveRev(repo, 'origin/main~2'), git(clone, 'rev-parse', 'origin/main~2'));
  assert.is(await readFileAt(repo, commits[4], 'services/shop/web.yaml'), 'replicas: 4\n');
  assert.is(await resolveRevision(repo, commits[3].slice(0, 8)), commits[3]);
  // Loose objects of the source, written after the clone, are found too; the clone's own as well.
  writeFileSync(path.join(dir, 'late.txt'), 'late\n');
  git(dir, 'add', 'late.txt');
  const late = commitAt(dir, 'late', '1700300000 +0000');
  assert.is((await readCommit(repo, late)).message, 'late\n');
  git(clone, 'commit', '-q', '--allow-empty', '-m', 'own');
  assert.is(await resolveRev(repo, 'HEAD~1'), commits[commits.length - 1]);
});

test('ref names: what git check-ref-format allows, and nothing that leaves the Git directory', () => {
  for (const ok of ['HEAD', 'main', 'refs/heads/main', 'refs/canopy/status/eu-1', 'refs/remotes/origin/HEAD', 'a/b.c/d-e_f']) assert.ok(isRefName(ok), ok);
  for (const bad of [
    '',
    '/main',
    'main/',
    'refs/../x',
    '../x',
    'a..b',
    'a//b',
    'refs/.hidden',
    'x.lock',
    'a b',
    'a~1',
    'a^',
    'a:b',
    'a?',
    'a*',
    'a[',
    'a\\b',
    'a@{1}',
    'end.',
    '\x00',
  ])
    assert.not.ok(isRefName(bad), JSON.stringify(bad));
});

test.run();
