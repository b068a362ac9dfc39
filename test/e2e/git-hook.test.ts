// One writer per canopy ref, enforced by the Git server: `canopy git-hook install` puts canopy's
// pre-receive hook in a bare repository served by a real `git http-backend` with Basic auth for
// several users (each reaches the hook as REMOTE_USER), and native `git push` over HTTP shows
// what the hook lets through and what it refuses, with git's own "remote:" lines.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { canopy, CLI } from '../helpers/canopy.js';
import { commitFiles, git, tempDir } from '../helpers/git.js';
import { startGitServer, type GitServer } from '../helpers/git-server.js';
import { generateSigningKey } from '../../reconciler/core/keys.js';
import { userNameOf } from '../../reconciler/core/identity.js';
import { HOOK_MARK, readDeclarations } from '../../reconciler/git/hook.js';
import { MARK } from '../../reconciler/core/note.js';

const test = suite('git-hook: one writer per canopy ref');

const ROOT = userNameOf('demo', 'root', 'root');
const MUNICH = userNameOf('demo', 'cluster', 'munich');
const PARIS = userNameOf('demo', 'cluster', 'paris');
const ALICE = 'alice';
const ZERO = '0'.repeat(40);

const fleetYaml = (trust: string) => `apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: demo}\n${trust}`;
const clusterYaml = (name: string, identity = '') => `apiVersion: canopy/v1\nkind: Cluster\nmetadata: {name: ${name}}\n${identity}`;
const partKeys = (indent: string, user: string, key: string) => `${indent}user: ${user}\n${indent}keys:\n${indent}  - ${key}\n`;

/** The demo fleet's files: the root, munich and paris each declare a user and a real key. */
function declaredFleet(): Record<string, string> {
  const key = (name: string) => generateSigningKey(name).publicKey;
  return {
    'fleet.yaml': fleetYaml(`spec:\n  trust:\n    root:\n${partKeys('      ', ROOT, key('root'))}`),
    'clusters/munich.yaml': clusterYaml('munich', `spec:\n  identity:\n${partKeys('    ', MUNICH, key('munich'))}`),
    'clusters/paris.yaml': clusterYaml('paris', `spec:\n  identity:\n${partKeys('    ', PARIS, key('paris'))}`),
  };
}

let server: GitServer;
let work = '';
let bare = '';

/** A git command's outcome, refused or not, with its stderr (where the hook's lines arrive). */
function run(dir: string, args: string[], env: Record<string, string | undefined> = {}): Promise<{ ok: boolean; stderr: string }> {
  return new Promise((resolve) =>
    // Bounded: a push that hangs fails this test with what git said, instead of holding the file to its timeout.
    execFile('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 }, (e, _out, stderr) =>
      resolve({ ok: !e, stderr: e?.killed ? `git ${args[0]} did not finish within 60 s (killed); its stderr: ${stderr}` : stderr }),
    ),
  );
}
const pushAs = (user: string, ...refspecs: string[]) => run(work, ['push', server.urlAs('fleet', user), ...refspecs]);

/** A new commit on `ref` in the working repository (main's tree, a message of its own). */
function advance(ref: string, message: string): string {
  const parent = spawnSync('git', ['-C', work, 'rev-parse', '--verify', '--quiet', ref], { encoding: 'utf8' }).stdout.trim();
  const commit = git(work, 'commit-tree', 'HEAD^{tree}', '-m', message, ...(parent ? ['-p', parent] : []));
  git(work, 'update-ref', ref, commit);
  return commit;
}
/** The ref's commit in the served repository, or '' when it has none. */
const served = (ref: string, repo = bare) => spawnSync('git', ['-C', repo, 'rev-parse', '--verify', '--quiet', ref], { encoding: 'utf8' }).stdout.trim();

const refusedLine = (ref: string, user: string, why: string) => new RegExp(`remote: canopy: refused ${ref} for user ${user.replaceAll('.', '\\.')}: ${why}`);

test.before(async () => {
  server = await startGitServer({ users: { [ROOT]: 'pw-root', [MUNICH]: 'pw-munich', [PARIS]: 'pw-paris', [ALICE]: 'pw-alice' } });
  work = tempDir('canopy-git-hook-');
  git(work, 'init', '-q', '-b', 'main');
  commitFiles(work, declaredFleet(), 'declare the root and the clusters');
  const v = canopy(['validate', work]);
  assert.is(v.code, 0, `the declarations are valid descriptors: ${v.stderr}`);
  bare = server.publish('fleet', work);
});

test.after(async () => {
  await server?.close();
});

test('install writes an executable hooks/pre-receive that runs this canopy', () => {
  const r = canopy(['git-hook', 'install', '--repo', bare]);
  assert.is(r.code, 0, r.stderr);
  const hook = path.join(bare, 'hooks', 'pre-receive');
  assert.is(r.stdout, `${hook}: runs ${CLI} git-hook pre-receive\n`);
  assert.ok(statSync(hook).mode & 0o100, 'executable');
  const text = readFileSync(hook, 'utf8');
  assert.ok(text.includes(HOOK_MARK));
  assert.ok(text.includes(`exec '${process.execPath}' '${CLI}' 'git-hook' 'pre-receive'\n`), text);
  // Installing again replaces canopy's own hook.
  assert.is(canopy(['git-hook', 'install', '--repo', bare]).code, 0);
});

test('install keeps a pre-receive hook that is not canopy’s, unless --force', () => {
  const other = server.publish('other', work);
  const hook = server.installHook('other', '#!/bin/sh\nexit 0\n');
  const r = canopy(['git-hook', 'install', '--repo', other]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /hooks\/pre-receive exists and is not canopy's: kept \(--force replaces it\)/);
  assert.is(readFileSync(hook, 'utf8'), '#!/bin/sh\nexit 0\n');
  assert.is(canopy(['git-hook', 'install', '--repo', other, '--force']).code, 0);
  assert.ok(readFileSync(hook, 'utf8').includes(HOOK_MARK));
  const none = canopy(['git-hook', 'install', '--repo', tempDir('canopy-not-git-')]);
  assert.is(none.code, 1);
  assert.match(none.stderr, /canopy git-hook install: .* is no Git repository/);
});

test('munich’s user pushes munich’s status: accepted', async () => {
  const commit = advance('refs/canopy/status/munich', 'munich status 1');
  const r = await pushAs(MUNICH, 'refs/canopy/status/munich:refs/canopy/status/munich');
  assert.ok(r.ok, r.stderr);
  assert.not.match(r.stderr, /canopy:/);
  assert.is(served('refs/canopy/status/munich'), commit);
});

test('paris’s user pushes munich’s status: refused, with the reason in git’s output', async () => {
  const before = served('refs/canopy/status/munich');
  advance('refs/canopy/status/munich', 'forged by paris');
  const r = await pushAs(PARIS, 'refs/canopy/status/munich:refs/canopy/status/munich');
  assert.not.ok(r.ok);
  assert.match(r.stderr, refusedLine('refs/canopy/status/munich', PARIS, `only cluster munich \\(user ${MUNICH.replaceAll('.', '\\.')}\\) writes it`));
  assert.match(r.stderr, /pre-receive hook declined/);
  assert.is(served('refs/canopy/status/munich'), before);
  // Nor may paris delete it.
  const d = await pushAs(PARIS, ':refs/canopy/status/munich');
  assert.not.ok(d.ok);
  assert.match(d.stderr, refusedLine('refs/canopy/status/munich', PARIS, 'only cluster munich'));
  assert.is(served('refs/canopy/status/munich'), before);
});

test('paris’s user pushes a placement (its own): refused, only the root writes placements', async () => {
  advance('refs/canopy/placements/paris', 'paris places itself');
  const r = await pushAs(PARIS, 'refs/canopy/placements/paris:refs/canopy/placements/paris');
  assert.not.ok(r.ok);
  assert.match(r.stderr, refusedLine('refs/canopy/placements/paris', PARIS, `only the root \\(user ${ROOT.replaceAll('.', '\\.')}\\) writes it`));
  assert.is(served('refs/canopy/placements/paris'), '');
});

test('the root’s user pushes placements and notes: accepted; its status pushes are not', async () => {
  const munich = advance('refs/canopy/placements/munich', 'place munich');
  const paris = git(work, 'rev-parse', 'refs/canopy/placements/paris');
  git(work, 'notes', '--ref=canopy', 'add', '-f', '-m', '{"accepted":true}', 'HEAD');
  const notes = git(work, 'rev-parse', 'refs/notes/canopy');
  const r = await pushAs(
    ROOT,
    'refs/canopy/placements/munich:refs/canopy/placements/munich',
    'refs/canopy/placements/paris:refs/canopy/placements/paris',
    'refs/notes/canopy:refs/notes/canopy',
  );
  assert.ok(r.ok, r.stderr);
  assert.is(served('refs/canopy/placements/munich'), munich);
  assert.is(served('refs/canopy/placements/paris'), paris);
  assert.is(served('refs/notes/canopy'), notes);
  const s = await pushAs(ROOT, '+refs/canopy/status/munich:refs/canopy/status/munich');
  assert.not.ok(s.ok);
  // The root may carry munich's history only when munich signed every new commit: these are not signed.
  assert.match(
    s.stderr,
    refusedLine('refs/canopy/status/munich', ROOT, "every new commit must be signed by cluster munich's keys .*: commit [0-9a-f]{12} is not signed"),
  );
  // Deleting a placement (a cluster gone) is the root's too.
  const d = await pushAs(ROOT, ':refs/canopy/placements/paris');
  assert.ok(d.ok, d.stderr);
  assert.is(served('refs/canopy/placements/paris'), '');
});

test('anyone pushes a branch or a tag: accepted (the Git host’s business)', async () => {
  const topic = advance('refs/heads/topic', 'a topic');
  for (const user of [ALICE, PARIS]) {
    const r = await pushAs(user, '+refs/heads/topic:refs/heads/topic');
    assert.ok(r.ok, `${user}: ${r.stderr}`);
  }
  git(work, 'tag', 'v1', 'HEAD');
  const t = await pushAs(ALICE, 'refs/tags/v1:refs/tags/v1');
  assert.ok(t.ok, t.stderr);
  assert.is(served('refs/heads/topic'), topic);
  assert.ok(served('refs/tags/v1'));
});

test('a push with one refused ref is refused whole: its branch does not move either', async () => {
  const topicBefore = served('refs/heads/topic');
  advance('refs/heads/topic', 'topic, with a forged ref beside it');
  const r = await pushAs(ALICE, 'refs/heads/topic:refs/heads/topic', 'refs/canopy/placements/munich:refs/canopy/junk');
  assert.not.ok(r.ok);
  assert.match(
    r.stderr,
    refusedLine('refs/canopy/junk', ALICE, 'canopy writes only refs/canopy/placements/\\*, refs/canopy/status/<cluster> and refs/notes/canopy'),
  );
  assert.not.match(r.stderr, /refused refs\/heads\/topic/);
  assert.is(served('refs/heads/topic'), topicBefore);
  assert.is(served('refs/canopy/junk'), '');
});

test('the rules are main’s before the push: a push cannot rewrite the rules it is judged by', async () => {
  const mainBefore = served('refs/heads/main');
  const statusBefore = served('refs/canopy/status/munich');
  // paris makes itself munich's writer on main, and pushes munich's status in the same push.
  git(work, 'checkout', '-q', '-b', 'takeover');
  const key = generateSigningKey('paris').publicKey;
  commitFiles(work, { 'clusters/munich.yaml': clusterYaml('munich', `spec:\n  identity:\n${partKeys('    ', PARIS, key)}`) }, 'paris takes munich');
  advance('refs/canopy/status/munich', 'paris as munich');
  const r = await pushAs(PARIS, '+takeover:refs/heads/main', '+refs/canopy/status/munich:refs/canopy/status/munich');
  assert.not.ok(r.ok);
  assert.match(r.stderr, refusedLine('refs/canopy/status/munich', PARIS, `only cluster munich \\(user ${MUNICH.replaceAll('.', '\\.')}\\)`));
  assert.is(served('refs/heads/main'), mainBefore);
  assert.is(served('refs/canopy/status/munich'), statusBefore);
  git(work, 'checkout', '-q', 'main');
});

test('once the root has accepted a commit, its rules hold: a later push to main cannot hand munich’s status to paris', async () => {
  // The root notes the current main as accepted (what refs/notes/canopy holds in a running fleet).
  const accepted = served('refs/heads/main');
  const note = `canopy: accepted.\n\n${MARK}\n${JSON.stringify({ outcome: 'accepted', commit: accepted, at: new Date().toISOString(), changed: {} })}\n`;
  git(work, 'fetch', '-q', bare, 'refs/heads/main:refs/remotes/served/main');
  git(work, 'notes', '--ref=refs/notes/canopy', 'add', '-f', '-m', note, accepted);
  const n = await pushAs(ROOT, '+refs/notes/canopy:refs/notes/canopy');
  assert.ok(n.ok, n.stderr);
  // A push to main (a branch: the Git host lets it through) that makes paris munich's writer.
  git(work, 'checkout', '-q', '-B', 'rewrite', 'refs/remotes/served/main');
  const files = declaredFleet();
  commitFiles(work, { 'clusters/munich.yaml': files['clusters/munich.yaml']!.replace(MUNICH, PARIS) }, 'munich is paris now');
  const m = await pushAs(ALICE, 'HEAD:refs/heads/main');
  assert.ok(m.ok, m.stderr);
  advance('refs/canopy/status/munich', 'paris writes munich');
  const r = await pushAs(PARIS, '+refs/canopy/status/munich:refs/canopy/status/munich');
  assert.not.ok(r.ok, 'judged by the accepted commit, where munich is munich');
  assert.match(r.stderr, refusedLine('refs/canopy/status/munich', PARIS, 'only cluster munich'));
  assert.match(r.stderr, new RegExp(`rules from ${accepted.slice(0, 12)}, the commit on main the root last accepted`));
  git(work, 'checkout', '-q', 'main');
});

test('a local push (no REMOTE_USER) may write no canopy ref; its branches go through', async () => {
  const env = { REMOTE_USER: undefined, GITEA_PUSHER_NAME: undefined, GL_USERNAME: undefined };
  const r = await run(work, ['push', bare, '+refs/canopy/status/munich:refs/canopy/status/munich'], env);
  assert.not.ok(r.ok);
  assert.match(
    r.stderr,
    /remote: canopy: refused refs\/canopy\/status\/munich for an unauthenticated push \(none of REMOTE_USER, GITEA_PUSHER_NAME, GL_USERNAME is set\): only cluster munich/,
  );
  const b = await run(work, ['push', bare, '+refs/heads/topic:refs/heads/local'], env);
  assert.ok(b.ok, b.stderr);
});

test('GITEA_PUSHER_NAME and GL_USERNAME name the pusher too (Gitea, GitLab server hooks)', async () => {
  for (const [variable, user, ok] of [
    ['GITEA_PUSHER_NAME', MUNICH, true],
    ['GL_USERNAME', MUNICH, true],
    ['GITEA_PUSHER_NAME', PARIS, false],
  ] as const) {
    advance('refs/canopy/status/munich', `munich via ${variable}`);
    const r = await run(work, ['push', bare, '+refs/canopy/status/munich:refs/canopy/status/munich'], { REMOTE_USER: undefined, [variable]: user });
    assert.is(r.ok, ok, `${variable}=${user}: ${r.stderr}`);
  }
});

test('a fleet that declares no users: everything is allowed, with a warning', async () => {
  const open = tempDir('canopy-open-fleet-');
  git(open, 'init', '-q', '-b', 'main');
  commitFiles(open, { 'fleet.yaml': fleetYaml(''), 'clusters/munich.yaml': clusterYaml('munich') }, 'no identities');
  const openBare = server.publish('open', open);
  assert.is(canopy(['git-hook', 'install', '--repo', openBare]).code, 0);
  const commit = git(open, 'commit-tree', 'HEAD^{tree}', '-m', 'anyone');
  git(open, 'update-ref', 'refs/canopy/status/munich', commit);
  const r = await run(open, ['push', server.urlAs('open', PARIS), 'refs/canopy/status/munich:refs/canopy/status/munich']);
  assert.ok(r.ok, r.stderr);
  assert.match(
    r.stderr,
    /remote: canopy: warning: main declares no Git users .* anyone may write refs\/canopy\/\* and refs\/notes\/canopy: create identities \(canopy identity create\)/,
  );
  assert.is(served('refs/canopy/status/munich', openBare), commit);
});

/** The hook run by hand in a repository, as git runs it: stdin lines, the user in the environment. */
function hook(repo: string, stdin: string, env: Record<string, string | undefined> = {}, args: string[] = []) {
  const r = spawnSync(process.execPath, [CLI, 'git-hook', 'pre-receive', ...args], {
    cwd: repo,
    input: stdin,
    encoding: 'utf8',
    env: { ...process.env, REMOTE_USER: undefined, ...env },
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

test('a bad stdin line: exit 1, naming the line', () => {
  const good = `${ZERO} ${'a'.repeat(40)} refs/heads/x`;
  const r = hook(bare, `${good}\nnot an update\n`, { REMOTE_USER: ROOT });
  assert.is(r.code, 1);
  assert.is(
    r.stderr,
    'canopy git-hook pre-receive: stdin line 2 is not "<old-oid> <new-oid> <ref>" (hex object ids, as git gives a pre-receive hook): "not an update"\n',
  );
  assert.is(hook(bare, `${good}\n`).code, 0);
});

test('files on main that do not parse are ignored, and said so; --branch reads another branch', () => {
  const repo = tempDir('canopy-hook-files-');
  git(repo, 'init', '-q', '-b', 'main');
  const files = declaredFleet();
  commitFiles(repo, { ...files, 'clusters/paris.yaml': 'spec: {identity: [\n' }, 'paris broken');
  const line = `${ZERO} ${'a'.repeat(40)} refs/canopy/status/paris\n`;
  const r = hook(repo, line, { REMOTE_USER: PARIS });
  assert.is(r.code, 1);
  assert.match(r.stderr, /^canopy: note: clusters\/paris\.yaml on main does not parse as YAML \(.+\): the user it declares is ignored\n/);
  assert.match(
    r.stderr,
    /canopy: refused refs\/canopy\/status\/paris for user demo\.cluster\.paris: only cluster paris writes it, and clusters\/paris\.yaml on main declares no spec\.identity\.user\n$/,
  );
  git(repo, 'checkout', '-q', '-b', 'prod');
  commitFiles(repo, { 'clusters/paris.yaml': files['clusters/paris.yaml'] }, 'paris fixed on prod');
  assert.is(hook(repo, line, { REMOTE_USER: PARIS }, ['--branch', 'prod']).code, 0);
  assert.is(hook(repo, line, { REMOTE_USER: PARIS }).code, 1);
});

test('readDeclarations: fleet.yaml and clusters/*.yaml of the branch; big files and links ignored; no branch, no files', () => {
  const repo = tempDir('canopy-hook-read-');
  git(repo, 'init', '-q', '-b', 'main');
  assert.equal(readDeclarations('main', repo), { files: [], notes: ['refs/heads/main does not exist yet: no Git users are declared'] });
  const files = declaredFleet();
  commitFiles(
    repo,
    { ...files, 'clusters/big.yaml': `# ${'x'.repeat(1024 * 1024)}\n`, 'services/web/api.yaml': 'x: 1\n', 'clusters/README.md': 'hi\n' },
    'files',
  );
  symlinkSync('munich.yaml', path.join(repo, 'clusters', 'link.yaml'));
  mkdirSync(path.join(repo, 'clusters', 'sub'));
  writeFileSync(path.join(repo, 'clusters', 'sub', 'x.yaml'), 'x: 1\n');
  commitFiles(repo, {}, 'a link and a folder');
  const r = readDeclarations('main', repo);
  assert.equal(
    r.files.map((f) => f.path),
    ['clusters/munich.yaml', 'clusters/paris.yaml', 'fleet.yaml'],
  );
  assert.is(r.files[2].text, files['fleet.yaml']);
  assert.is(r.files[0].text, files['clusters/munich.yaml']);
  assert.equal(r.notes, [`clusters/big.yaml on main is ${1024 * 1024 + 3} bytes (descriptors are limited to 1 MiB): the user it declares is ignored`]);
  assert.throws(() => readDeclarations('main', tempDir('canopy-not-git-')), /cannot read refs\/heads\/main/);
});

test('the hook runs on every push: its bundle carries no Git client, MQTT or Docker code', () => {
  const map = JSON.parse(readFileSync(path.join(path.dirname(CLI), 'bundle', 'git-hook.cjs.map'), 'utf8')) as { sources: string[] };
  const packages = new Set(map.sources.flatMap((s) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(s)?.[1] ?? []));
  assert.equal([...packages], ['yaml']);
});

test('usage errors exit 64', () => {
  for (const [args, message] of [
    [['git-hook'], /expected pre-receive or install, got none/],
    [['git-hook', 'post-receive'], /unknown subcommand post-receive: expected pre-receive or install/],
    [['git-hook', 'install'], /install needs --repo BARE_DIR/],
    [['git-hook', 'pre-receive', '--repo', bare], /--repo and --force are for install/],
    [['git-hook', 'pre-receive', '--branch', 'a..b'], /--branch a\.\.b: expected a branch name/],
  ] as const) {
    const r = canopy([...args]);
    assert.is(r.code, 64, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test.run();
