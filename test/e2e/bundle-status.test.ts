// Status history up from an air-gapped site, with real git: a site's StatusRecorder signs its
// commits with the cluster's key in <state-dir>/repo; `canopy bundle export --status` writes a
// native bundle (`git bundle verify` takes it); `canopy bundle import --repo` at the root adds it
// to refs/canopy/status/munich with the original times (canopy history and status show them),
// twice changes nothing, a delta (the acked ref) goes on top; unsigned, tampered, foreign,
// diverged and invalid bundles are refused with the reason and nothing changed. Then the Git
// server's hook (a real git http-backend) takes the root's push of that signed history and
// refuses an unsigned or rewritten one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { canopy } from '../helpers/canopy.js';
import { commitFiles, git, tempDir } from '../helpers/git.js';
import { startGitServer, type GitServer } from '../helpers/git-server.js';
import { aClusterStatus } from '../helpers/root-fakes.js';
import { generateSigningKey, signerFrom } from '../../reconciler/core/keys.js';
import { commitSigner } from '../../reconciler/core/sshsig.js';
import { userNameOf } from '../../reconciler/core/identity.js';
import { renderNote } from '../../reconciler/core/note.js';
import { createIdentity, writeIdentity } from '../../reconciler/core/identity-file.js';
import { StatusRecorder, statusRef } from '../../reconciler/cluster/status-ref.js';
import { openRepo, resolveRef, updateRef, writeCommit } from '../../reconciler/git/repo.js';
import { ensureSiteRepo } from '../../cli/airgap/site.js';
import { ackedStatusRef } from '../../reconciler/core/refs.js';

const test = suite('bundle: status history from an air-gapped site');

const ROOT_USER = userNameOf('demo', 'root', 'root');
const MUNICH = userNameOf('demo', 'cluster', 'munich');
const PARIS = userNameOf('demo', 'cluster', 'paris');
const munichKey = generateSigningKey('demo/cluster/munich');
const rootKey = generateSigningKey('demo/root');
const REF = statusRef('munich');
const T0 = Date.parse('2026-03-01T06:00:00Z');
const HOUR = 3600_000;
const ME = { name: 'canopy cluster munich', email: 'munich@canopy.invalid' };

const work = tempDir('canopy-bundle-status-');
const root = path.join(work, 'fleet');
const site = path.join(work, 'site');
const file = (name: string) => path.join(work, name);

/** The site cluster's recorder, signing (or not) with munich's key. */
async function recorder(stateDir: string, signed = true) {
  const repo = await openRepo(await ensureSiteRepo(stateDir));
  return { repo, rec: new StatusRecorder(repo, 'munich', ME, signed ? { sign: commitSigner(signerFrom(munichKey.privateKey)) } : {}) };
}
/** A status of munich at `at` with `running` of shop/web's two replicas running. */
const status = (at: number, running: number) =>
  aClusterStatus('munich', { at: new Date(at).toISOString(), services: { 'shop/web': { desired: 2, running, failed: 0 } } });

const rev = (dir: string, ref: string) => spawnSync('git', ['-C', dir, 'rev-parse', '--verify', '--quiet', ref], { encoding: 'utf8' }).stdout.trim();
const siteRepo = () => path.join(site, 'repo');
const exportStatus = (out: string, stateDir = site) => canopy(['bundle', 'export', '--status', '--state-dir', stateDir, '--out', out]);
const importStatus = (f: string) => canopy(['bundle', 'import', f, '--repo', root]);

/** A refusal: exit 1, the reason said, the root's ref where it was. */
function refused(f: string, why: RegExp) {
  const before = rev(root, REF);
  const r = importStatus(f);
  assert.is(r.code, 1, `${r.stdout}${r.stderr}`);
  assert.match(r.stderr, why);
  assert.match(r.stderr, /nothing changed/);
  assert.is(rev(root, REF), before);
  assert.is(git(root, 'for-each-ref', 'refs/canopy-import/'), '', 'no temporary ref is left');
}

test.before(async () => {
  git(work, 'init', '-q', '-b', 'main', root);
  const keys = (indent: string, user: string, key: string) => `${indent}user: ${user}\n${indent}keys:\n${indent}  - ${key}\n`;
  commitFiles(root, {
    'fleet.yaml': `apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: demo}\nspec:\n  trust:\n    root:\n${keys('      ', ROOT_USER, rootKey.publicKey)}`,
    'clusters/munich.yaml': `apiVersion: canopy/v1\nkind: Cluster\nmetadata: {name: munich}\nspec:\n  identity:\n${keys('    ', MUNICH, munichKey.publicKey)}`,
    'clusters/paris.yaml': 'apiVersion: canopy/v1\nkind: Cluster\nmetadata: {name: paris}\n',
  });
  const v = canopy(['validate', root]);
  assert.is(v.code, 0, v.stderr);
  // The root accepted main (its note): canopy status reports from the commit in force.
  const main = git(root, 'rev-parse', 'main');
  git(root, 'notes', '--ref=canopy', 'add', '-m', renderNote({ outcome: 'accepted', commit: main, at: new Date(T0 - HOUR).toISOString(), changed: {} }), main);
  // Three hours cut off at the site: a first status, a replica lost, back to two.
  const { rec } = await recorder(site);
  await rec.record(status(T0, 2), 60_000);
  await rec.record(status(T0 + HOUR, 1), 60_000);
  await rec.record(status(T0 + 2 * HOUR, 2), 60_000);
});

test('export --status: a native bundle of the whole history, which git bundle verify takes', () => {
  const r = exportStatus(file('s1.bundle'));
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote .*s1\.bundle: munich's status, 3 commits from 2026-03-01T06:00:00\.000Z to 2026-03-01T08:00:00\.000Z \(the whole history/);
  assert.match(r.stdout, /\d+ bytes\nnext: carry it to the root and run: canopy bundle import s1\.bundle --repo/);
  const v = spawnSync('git', ['-C', root, 'bundle', 'verify', file('s1.bundle')], { encoding: 'utf8' });
  assert.is(v.status, 0, v.stderr);
  assert.equal(git(root, 'bundle', 'list-heads', file('s1.bundle')), `${rev(siteRepo(), REF)} ${REF}`);
});

test('import at the root: the history, its original times, in canopy history and status; twice changes nothing', () => {
  const r = importStatus(file('s1.bundle'));
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /imported 3 commits of munich's status, from 2026-03-01T06:00:00\.000Z to 2026-03-01T08:00:00\.000Z, each signed by the cluster/);
  const tip = rev(siteRepo(), REF);
  assert.is(rev(root, REF), tip);
  assert.is(git(root, 'log', '--format=%cI', REF), '2026-03-01T08:00:00+00:00\n2026-03-01T07:00:00+00:00\n2026-03-01T06:00:00+00:00');
  const h = canopy(['history', '--repo', root, '--json']);
  assert.is(h.code, 0, h.stderr);
  // What munich observed, at the times the site observed it: two running, one lost, two again.
  const observed: Array<{ at: string; running: number }> = [];
  JSON.parse(h.stdout, (_k, v: { kind?: string; cluster?: string; at?: string; services?: Record<string, { running: number }> }) => {
    if (v?.kind === 'observed' && v.cluster === 'munich') observed.push({ at: v.at!, running: v.services!['shop/web']!.running });
    return v;
  });
  assert.equal(
    observed.sort((a, b) => a.at.localeCompare(b.at)),
    [
      { at: '2026-03-01T06:00:00.000Z', running: 2 },
      { at: '2026-03-01T07:00:00.000Z', running: 1 },
      { at: '2026-03-01T08:00:00.000Z', running: 2 },
    ],
    h.stdout.slice(0, 3000),
  );
  const s = canopy(['status', '--repo', root, '--json']);
  assert.is(s.code, 0, s.stderr);
  // Heard last when the site recorded its last status, by its own clock (the commit's date).
  const munich = (JSON.parse(s.stdout) as { clusters: Record<string, { lastHeartbeat: string; nodes: unknown }> }).clusters.munich;
  assert.equal(
    { lastHeartbeat: munich?.lastHeartbeat, nodes: munich?.nodes },
    { lastHeartbeat: '2026-03-01T08:00:00.000Z', nodes: { total: 1, online: 1 } },
    s.stdout,
  );
  const again = importStatus(file('s1.bundle'));
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /already imported, nothing changed/);
  assert.is(rev(root, REF), tip);
});

test('a delta past what the root holds (the acked ref) goes on top; nothing new writes no file', async () => {
  const { repo, rec } = await recorder(site);
  const acked = (await resolveRef(repo, REF))!;
  await updateRef(repo, ackedStatusRef('munich'), acked, undefined);
  const none = exportStatus(file('none.bundle'));
  assert.is(none.code, 0, none.stderr);
  assert.match(none.stdout, /nothing new: the root already holds munich's status up to [0-9a-f]{12} .*no bundle written/);
  assert.not.ok(existsSync(file('none.bundle')));
  await rec.record(status(T0 + 3 * HOUR, 0), 60_000);
  await rec.record(status(T0 + 4 * HOUR, 2), 60_000);
  const r = exportStatus(file('s2.bundle'));
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`2 commits from 2026-03-01T09:00:00\\.000Z to 2026-03-01T10:00:00\\.000Z, past ${acked.slice(0, 12)}`));
  // A delta: git needs the root's history to take it.
  const empty = tempDir('canopy-empty-');
  git(empty, 'init', '-q', '--bare');
  assert.is.not(spawnSync('git', ['--git-dir', empty, 'bundle', 'verify', file('s2.bundle')]).status, 0);
  assert.is(spawnSync('git', ['-C', root, 'bundle', 'verify', file('s2.bundle')]).status, 0);
  const i = importStatus(file('s2.bundle'));
  assert.is(i.code, 0, i.stderr);
  assert.match(i.stdout, /imported 2 commits/);
  assert.is(rev(root, REF), rev(siteRepo(), REF));
  assert.is(git(root, 'rev-list', '--count', REF), '5');
  // The older, whole bundle after the newer delta: already there.
  assert.match(importStatus(file('s1.bundle')).stdout, /already imported, nothing changed/);
});

test('refused, nothing changed: unsigned, tampered, invalid status, foreign, diverged; a missing file is a usage error', async () => {
  const { repo } = await recorder(site);
  const good = (await resolveRef(repo, REF))!;
  await updateRef(repo, ackedStatusRef('munich'), good, await resolveRef(repo, ackedStatusRef('munich')));
  // Unsigned: the same cluster recording without its key.
  const unsigned = await recorder(site, false);
  await unsigned.rec.record(status(T0 + 5 * HOUR, 1), 60_000);
  assert.is(exportStatus(file('unsigned.bundle')).code, 0);
  refused(file('unsigned.bundle'), /refused: commit [0-9a-f]{12} is not signed \(clusters\/munich\.yaml on main declares them\)/);
  // Tampered: a signed commit's message changed, its signature kept.
  await updateRef(repo, REF, good, (await resolveRef(repo, REF))!);
  const { rec } = await recorder(site);
  await rec.record(status(T0 + 5 * HOUR, 1), 60_000);
  const signed = (await resolveRef(repo, REF))!;
  const text = git(siteRepo(), 'cat-file', 'commit', signed).replace('shop/web 1/2', 'shop/web 2/2');
  writeFileSync(file('forged'), `${text}\n`);
  const forged = git(siteRepo(), 'hash-object', '-t', 'commit', '-w', file('forged'));
  await updateRef(repo, REF, forged, signed);
  assert.is(exportStatus(file('tampered.bundle')).code, 0);
  refused(file('tampered.bundle'), /refused: commit [0-9a-f]{12}: its signature does not verify/);
  // Signed, but no status of munich in it.
  const junk = spawnSync('git', ['--git-dir', siteRepo(), 'hash-object', '-w', '--stdin'], { input: '{"not": "a status"}\n', encoding: 'utf8' }).stdout.trim();
  const tree = spawnSync('git', ['--git-dir', siteRepo(), 'mktree'], { input: `100644 blob ${junk}\tstatus.json\n`, encoding: 'utf8' }).stdout.trim();
  const bad = await writeCommit(repo, { tree, parents: [good], message: 'munich: odd', author: ME, sign: commitSigner(signerFrom(munichKey.privateKey)) });
  await updateRef(repo, REF, bad, forged);
  assert.is(exportStatus(file('invalid.bundle')).code, 0);
  refused(file('invalid.bundle'), /refused: commit [0-9a-f]{12}: not a valid status\.json/);
  await updateRef(repo, REF, good, bad);
  // Foreign: a bundle of main, and the status of a cluster this fleet does not declare.
  git(root, 'bundle', 'create', '-q', file('main.bundle'), 'main');
  refused(file('main.bundle'), /refused: foreign: a status bundle carries refs\/canopy\/status\/<cluster> alone, this one carries refs\/heads\/main/);
  git(siteRepo(), 'update-ref', 'refs/canopy/status/lisbon', good);
  git(siteRepo(), 'bundle', 'create', '-q', file('lisbon.bundle'), 'refs/canopy/status/lisbon');
  // Two status refs at the site: which is this site's is its identity's to say.
  const which = exportStatus(file('which.bundle'));
  assert.is(which.code, 1);
  assert.match(which.stderr, /holds the status of lisbon, munich; which one is this site's\? put the cluster's identity at .*identity\.json/);
  writeIdentity(path.join(site, 'identity.json'), await createIdentity({ fleet: 'demo', role: 'cluster', name: 'munich' }));
  const named = exportStatus(file('which.bundle'));
  assert.is(named.code, 0, named.stderr);
  assert.match(named.stdout, /munich's status/);
  git(siteRepo(), 'update-ref', '-d', 'refs/canopy/status/lisbon');
  refused(file('lisbon.bundle'), /refused: foreign: cluster lisbon is not declared here \(no clusters\/lisbon\.yaml on main\)/);
  // Diverged: a site whose state directory was made anew records munich's history afresh.
  const reset = path.join(work, 'site-reset');
  const fresh = await recorder(reset);
  await fresh.rec.record(status(T0 + 6 * HOUR, 2), 60_000);
  assert.is(exportStatus(file('diverged.bundle'), reset).code, 0);
  refused(file('diverged.bundle'), /refused: diverged: its history of munich does not continue the one here .* a status history is never rewritten/);
  // A usage error: exit 64, naming the file.
  const missing = canopy(['bundle', 'import', file('nope.bundle'), '--repo', root]);
  assert.is(missing.code, 64);
  assert.match(missing.stderr, /canopy bundle: import: .*nope\.bundle: no such file/);
  const noRepo = exportStatus(file('x.bundle'), path.join(work, 'no-such-state'));
  assert.is(noRepo.code, 1);
  assert.match(noRepo.stderr, /no site repository at .*no-such-state\/repo/);
});

// ---- the Git server's hook: the root pushes what it imported -----------------------------------

let server: GitServer | undefined;
test.after(async () => {
  await server?.close();
});

/** A git command that may fail, without blocking the Git server this process serves. */
const run = (dir: string, args: string[]): Promise<{ ok: boolean; stderr: string }> =>
  new Promise((resolve) => execFile('git', ['-C', dir, ...args], { encoding: 'utf8', timeout: 60_000 }, (e, _o, stderr) => resolve({ ok: !e, stderr })));

test('the hook takes the root’s push of munich’s signed history; unsigned, rewritten or by another user: refused', async () => {
  server = await startGitServer({ users: { [ROOT_USER]: 'pw-root', [MUNICH]: 'pw-munich', [PARIS]: 'pw-paris' } });
  const bare = server.publish('fleet', root);
  const inst = canopy(['git-hook', 'install', '--repo', bare]);
  assert.is(inst.code, 0, inst.stderr);
  const push = (user: string, ...refspecs: string[]) => run(root, ['push', server!.urlAs('fleet', user), ...refspecs]);
  const served = () => rev(bare, REF);
  const signed = rev(root, REF);
  const p = await push(ROOT_USER, `${REF}:${REF}`);
  assert.ok(p.ok, p.stderr);
  assert.is(served(), signed);
  // An unsigned commit on top, pushed by the root: refused, naming it.
  const tree = git(root, 'rev-parse', `${REF}^{tree}`);
  const unsigned = git(root, 'commit-tree', tree, '-p', signed, '-m', 'munich: heartbeat');
  git(root, 'update-ref', REF, unsigned, signed);
  const u = await push(ROOT_USER, `${REF}:${REF}`);
  assert.not.ok(u.ok);
  assert.match(
    u.stderr,
    new RegExp(
      `refused ${REF} for user ${ROOT_USER.replaceAll('.', '\\.')}: every new commit must be signed by cluster munich's keys .*: commit ${unsigned.slice(0, 12)} is not signed`,
    ),
  );
  // A rewrite (the fresh site's history), forced: refused.
  const other = rev(path.join(work, 'site-reset', 'repo'), REF);
  git(root, 'fetch', '-q', path.join(work, 'site-reset', 'repo'), `${REF}:refs/tmp/other`);
  const f = await push(ROOT_USER, `+${other}:${REF}`);
  assert.not.ok(f.ok);
  assert.match(f.stderr, /the root may only add to cluster munich's status history \(a fast-forward\), never rewrite it/);
  // Signed commits, but pushed by paris: not paris's to write.
  git(root, 'update-ref', REF, signed, unsigned);
  const { rec } = await recorder(site);
  await rec.record(status(T0 + 7 * HOUR, 0), 60_000);
  assert.is(exportStatus(file('s3.bundle')).code, 0);
  assert.is(importStatus(file('s3.bundle')).code, 0);
  const s = await push(PARIS, `${REF}:${REF}`);
  assert.not.ok(s.ok);
  assert.match(s.stderr, /only cluster munich \(user demo\.cluster\.munich\) writes it/);
  const ok = await push(ROOT_USER, `${REF}:${REF}`);
  assert.ok(ok.ok, ok.stderr);
  assert.is(served(), rev(root, REF));
  assert.is.not(served(), signed);
});

test.run();
