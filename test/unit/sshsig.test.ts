// SSH signatures made with node:crypto alone (core/sshsig.ts), judged by the real tools: OpenSSH's
// `ssh-keygen -Y verify` takes them, and a status commit signed by the cluster's key passes native
// `git verify-commit` (and canopy's verifyCommitSignature around it); tampered, foreign and
// unsigned ones do not.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { commitPayload, commitSigner, sshSign, sshVerify } from '../../reconciler/core/sshsig.js';
import { generateSigningKey, signerFrom } from '../../reconciler/core/keys.js';
import { openRepo, resolveRef } from '../../reconciler/git/repo.js';
import { firstNotSignedBy, verifyCommitSignature } from '../../reconciler/git/verify-commit.js';
import { parseSshKey } from '../../reconciler/core/commit-signers.js';
import { StatusRecorder, statusRef } from '../../reconciler/cluster/status-ref.js';
import { aClusterStatus } from '../helpers/root-fakes.js';
import { commitFiles, git, tempDir } from '../helpers/git.js';

const work = tempDir('canopy-sshsig-');
const pair = generateSigningKey('demo/cluster/munich');
const signer = signerFrom(pair.privateKey);
const other = generateSigningKey('demo/cluster/paris');

/** keygenVerify: ssh-keygen -Y verify of `message` against `signature`, `key` allowed for `principal` in namespace git. */
function keygenVerify(message: string | Buffer, signature: string, key = pair.publicKey, namespace = 'git') {
  const allowed = path.join(work, 'allowed');
  writeFileSync(allowed, `munich namespaces="git" ${key}\n`);
  const sig = path.join(work, 'msg.sig');
  writeFileSync(sig, `${signature}\n`);
  const r = spawnSync('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', 'munich', '-n', namespace, '-s', sig], { input: message, encoding: 'utf8' });
  if (r.error) throw new Error(`ssh-keygen could not run: ${r.error.message}`);
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

const Sig = suite('sshsig: signatures ssh-keygen takes');

Sig('ssh-keygen -Y verify accepts a signature made with node:crypto', () => {
  const sig = sshSign(signer, 'hello, site\n');
  assert.match(sig, /^-----BEGIN SSH SIGNATURE-----\n/);
  assert.match(sig, /\n-----END SSH SIGNATURE-----$/);
  for (const line of sig.split('\n').slice(1, -1)) assert.ok(line.length <= 70, line);
  const r = keygenVerify('hello, site\n', sig);
  assert.ok(r.ok, r.output);
  assert.match(r.output, /Good "git" signature for munich with ED25519 key SHA256:/);
});

Sig('a changed message, another namespace, another key: refused', () => {
  const sig = sshSign(signer, 'hello, site\n');
  assert.not.ok(keygenVerify('hello, sitE\n', sig).ok, 'a changed message');
  assert.not.ok(keygenVerify('hello, site\n', sshSign(signer, 'hello, site\n', 'file'), pair.publicKey, 'git').ok, 'signed for another namespace');
  assert.not.ok(keygenVerify('hello, site\n', sig, other.publicKey).ok, 'another key');
  assert.throws(() => sshSign({ publicKey: 'ssh-rsa AAAA', sign: () => '' }, 'x'), /needs an Ed25519 key, not ssh-rsa/);
});

const Commits = suite('sshsig: signed status commits');

const T0 = Date.parse('2026-05-01T08:00:00Z');

/** A bare repository with munich's status recorded: a first status and a change, signed when `sign`. */
async function recorded(sign: boolean) {
  const dir = tempDir('canopy-sshsig-repo-');
  git(dir, 'init', '-q', '--bare');
  const repo = await openRepo(dir);
  const rec = new StatusRecorder(repo, 'munich', { name: 'canopy cluster munich', email: 'munich@canopy.invalid' }, sign ? { sign: commitSigner(signer) } : {});
  await rec.record(aClusterStatus('munich', { at: new Date(T0).toISOString() }), 60_000);
  await rec.record(aClusterStatus('munich', { at: new Date(T0 + 60_000).toISOString(), nodes: { total: 3, online: 2 } }), 60_000);
  await rec.record(aClusterStatus('munich', { at: new Date(T0 + 200_000).toISOString(), nodes: { total: 3, online: 2 } }), 60_000);
  return { dir, repo, tip: (await resolveRef(repo, statusRef('munich')))! };
}

/** Native git verify-commit with munich's declared key allowed. */
function gitVerify(dir: string, commit: string, key = pair.publicKey) {
  const allowed = path.join(work, 'allowed-git');
  writeFileSync(allowed, `munich namespaces="git" ${key}\n`);
  return spawnSync('git', ['--git-dir', dir, '-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'verify-commit', commit], { encoding: 'utf8' });
}

Commits('every status commit, heartbeats too, passes git verify-commit with the cluster’s key', async () => {
  const { dir, repo, tip } = await recorded(true);
  const commits = git(dir, 'rev-list', tip).split('\n');
  assert.is(commits.length, 3, 'first status, a change, a heartbeat');
  for (const c of commits) {
    const r = gitVerify(dir, c);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stderr, /Good "git" signature for munich with ED25519 key/);
    assert.is((await verifyCommitSignature(repo, c, [pair.publicKey])).kind, 'trusted');
    assert.is((await verifyCommitSignature(repo, c, [other.publicKey])).kind, 'untrusted');
  }
  // Native git reads the commits whole: dates are the observed times, the repository is sound.
  assert.is(git(dir, 'log', '-1', '--format=%ct', `${tip}~2`), String(T0 / 1000));
  assert.is(spawnSync('git', ['--git-dir', dir, 'fsck', '--strict'], { encoding: 'utf8' }).status, 0);
});

Commits('a tampered signed commit and an unsigned one are refused', async () => {
  const { dir, repo, tip } = await recorded(true);
  // The same commit with its message changed (signature kept): a new object git cannot verify.
  const text = git(dir, 'cat-file', 'commit', tip).replace('munich: heartbeat', 'munich: all is well');
  const file = path.join(work, 'tampered');
  writeFileSync(file, `${text}\n`);
  const forged = git(dir, 'hash-object', '-t', 'commit', '-w', file);
  assert.ok(readFileSync(file, 'utf8').includes('gpgsig -----BEGIN SSH SIGNATURE-----'));
  const r = gitVerify(dir, forged);
  assert.is.not(r.status, 0);
  assert.not.match(r.stderr, /Good/);
  assert.is((await verifyCommitSignature(repo, forged, [pair.publicKey])).kind, 'invalid');
  const unsigned = await recorded(false);
  assert.is(gitVerify(unsigned.dir, unsigned.tip).status, 1);
  assert.is((await verifyCommitSignature(unsigned.repo, unsigned.tip, [pair.publicKey])).kind, 'unsigned');
  // Signed and unsigned histories record the same trees: the signature is the only difference.
  assert.is(git(dir, 'rev-parse', `${tip}^{tree}`), git(unsigned.dir, 'rev-parse', `${unsigned.tip}^{tree}`));
});

Sig('sshVerify in process agrees: trusted by its key, untrusted by another, invalid when changed or for another namespace', () => {
  const sig = sshSign(signer, 'hello, site\n');
  const fingerprint = parseSshKey(pair.publicKey).fingerprint;
  assert.equal(sshVerify(sig, 'hello, site\n', 'git', [other.publicKey, pair.publicKey]), { kind: 'trusted', index: 1, fingerprint });
  assert.equal(sshVerify(sig, 'hello, site\n', 'git', [other.publicKey]), { kind: 'untrusted', fingerprint });
  assert.is(sshVerify(sig, 'hello, sitE\n', 'git', [pair.publicKey]).kind, 'invalid');
  assert.is(sshVerify(sshSign(signer, 'hello, site\n', 'file'), 'hello, site\n', 'git', [pair.publicKey]).kind, 'invalid');
  assert.is(sshVerify('-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----', 'x', 'git', [pair.publicKey]).kind, 'invalid');
});

Sig('sshVerify takes a commit signed by git with a key ssh-keygen made; an RSA key is left to ssh-keygen', () => {
  const repo = tempDir('canopy-sshsig-git-');
  git(repo, 'init', '-q', '-b', 'main');
  const verdicts: string[] = [];
  for (const type of ['ed25519', 'rsa']) {
    const key = path.join(work, `git-${type}`);
    spawnSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', type, '-f', key]);
    const commit = commitFiles(repo, { [`${type}.txt`]: type }, `signed with ${type}`, { signingKey: key });
    const raw = spawnSync('git', ['-C', repo, 'cat-file', 'commit', commit]).stdout;
    const { payload, gpgsig } = commitPayload(raw);
    assert.ok(gpgsig?.startsWith('-----BEGIN SSH SIGNATURE-----'));
    assert.not.ok(payload.toString().includes('gpgsig'));
    const v = sshVerify(gpgsig!, payload, 'git', [readFileSync(`${key}.pub`, 'utf8')]);
    verdicts.push(v.kind === 'other-key' ? `other-key ${v.type}` : v.kind);
  }
  assert.equal(verdicts, ['trusted', 'other-key ssh-rsa']);
});

Sig.run();
Commits('firstNotSignedBy: one cat-file, every commit checked; the first unsigned or tampered one named', async () => {
  const { dir, tip } = await recorded(true);
  const commits = git(dir, 'rev-list', '--reverse', tip).split('\n');
  const gitArgs = ['--git-dir', dir];
  assert.is(await firstNotSignedBy(gitArgs, commits, [pair.publicKey]), undefined);
  const wrong = await firstNotSignedBy(gitArgs, commits, [other.publicKey]);
  assert.equal(wrong, { commit: commits[0], verdict: { kind: 'untrusted', fingerprint: parseSshKey(pair.publicKey).fingerprint } });
  const text = git(dir, 'cat-file', 'commit', commits[1]!).replace(/nodes/, 'nodez');
  writeFileSync(path.join(work, 'forged2'), `${text}\n`);
  const forged = git(dir, 'hash-object', '-t', 'commit', '-w', path.join(work, 'forged2'));
  assert.is((await firstNotSignedBy(gitArgs, [commits[0]!, forged, commits[2]!], [pair.publicKey]))?.verdict.kind, 'invalid');
  const plain = git(dir, 'commit-tree', `${tip}^{tree}`, '-p', tip, '-m', 'unsigned');
  assert.equal(await firstNotSignedBy(gitArgs, [...commits, plain], [pair.publicKey]), { commit: plain, verdict: { kind: 'unsigned' } });
});

Commits.run();
