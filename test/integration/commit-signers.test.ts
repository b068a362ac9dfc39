// Trusted commits against a real repository, real git verify-commit and ssh-keygen, and the root
// in this process over a real Mosquitto: with fleet.yaml's spec.trust.commitSigners set, a
// commit is accepted only if one of the last accepted commit's keys signed it; any other is
// rejected whole (nothing from it applies) and its note says who signed, or that nobody did, and
// which keys are trusted.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { startRoot, type Root } from '../../reconciler/root/root.js';
import { connectBus, type Bus } from '../../reconciler/mqtt/bus.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { openRepo, resolveRef, type Repo } from '../../reconciler/git/repo.js';
import { readNote } from '../../reconciler/git/notes.js';
import { parseNote, type CommitNote } from '../../reconciler/core/note.js';
import { placementRef, PLACEMENT_FILE } from '../../reconciler/core/refs.js';
import { readRecord } from '../../reconciler/git/records.js';
import { createLogger } from '../../reconciler/core/log.js';
import type { ClusterStatus } from '../../schemas/messages.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { tempDir, commitFiles, git, serviceYaml } from '../helpers/git.js';
import { eventually } from '../helpers/canopy.js';

const test = suite('trusted commits: fleet.yaml spec.trust.commitSigners, judged by git verify-commit');
const work = tempDir('canopy-commit-signers-');
let broker: Mosquitto, bus: Bus, root: Root | undefined, repo: Repo, dir: string;

interface Key {
  /** the private key file (what git's user.signingkey takes) */
  file: string;
  pub: string;
  fingerprint: string;
}
/** An Ed25519 key pair made by ssh-keygen, and its fingerprint as ssh-keygen -l prints it. */
function sshKey(name: string): Key {
  const file = path.join(work, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@example`, '-f', file]);
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1];
  return { file, pub: readFileSync(`${file}.pub`, 'utf8').trim(), fingerprint };
}
const [alice, bob, mallory] = ['alice', 'bob', 'mallory'].map(sshKey);

const fleetYaml = (name: string, signers?: Key[]) =>
  `apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: ${name}}\nspec:\n  timings: {heartbeatSeconds: 1, unreachableAfterSeconds: 30, statusRefreshSeconds: 60}\n` +
  (signers ? `  trust:\n    commitSigners:\n${signers.map((k) => `      - ${k.pub}\n`).join('')}` : '');
const web = (replicas: number) => serviceYaml('shop', 'web', { runtime: 'process', command: ['sleep', '1'], replicas, resources: { cpu: 0.5 } });
const noteOf = async (r: Repo, commit: string): Promise<CommitNote | undefined> => {
  const text = await readNote(r, commit);
  return text ? parseNote(text) : undefined;
};
const noted = (commit: string, r = repo) => eventually(`note on ${commit.slice(0, 12)}`, () => noteOf(r, commit), 20_000, 50) as Promise<CommitNote>;
const replicas = async (): Promise<number | undefined> => {
  const oid = await resolveRef(repo, placementRef('munich'));
  return oid ? (await readRecord(repo, oid, PLACEMENT_FILE, 'Placement'))?.services['shop/web']?.replicas : undefined;
};
const trusted = (...keys: Key[]) => keys.map((k) => ({ fingerprint: k.fingerprint, comment: `${k.file.split('/').pop()}@example` }));
let inForce = '';

/** Commit (signed with `by`, if given): the root must accept it; its note is returned. */
async function accepted(files: Record<string, string | null>, by?: Key, message = 'change'): Promise<CommitNote> {
  const c = commitFiles(dir, files, message, { signingKey: by?.file });
  const n = await noted(c);
  assert.is(n.outcome, 'accepted', (await readNote(repo, c)) ?? '');
  inForce = c;
  return n;
}

/**
 * Commit (signed with `by`, if given): the root must reject it whole; its note and its text are
 * returned. (Main keeps the rejected tree: each case changes something of its own.)
 */
async function rejected(files: Record<string, string | null>, by?: Key): Promise<[CommitNote, string]> {
  const before = await replicas();
  const c = commitFiles(dir, files, 'change', { signingKey: by?.file });
  const n = await noted(c);
  const text = (await readNote(repo, c))!;
  assert.is(n.outcome, 'rejected', text);
  assert.is(n.inForce, inForce, 'the last accepted commit stays in force');
  assert.is(await replicas(), before, 'nothing from the commit applied');
  assert.is(n.problems?.length, 1, text);
  assert.is(n.problems![0].file, 'fleet.yaml');
  return [n, text];
}

const status = (): ClusterStatus => {
  const c = { cpu: 64, memoryMi: 65536, gpu: 0 };
  const node = { cpu: 8, memoryMi: 8192, gpu: 0 };
  return {
    kind: 'cluster-status',
    cluster: 'munich',
    at: new Date().toISOString(),
    applied: null,
    capacity: c,
    free: c,
    maxNodeFree: node,
    maxNode: node,
    arch: ['amd64'],
    runtimes: ['container', 'process'],
    labels: {},
    nodes: { total: 8, online: 8 },
    services: {},
  };
};

const start = async () => {
  root = await startRoot({ repo, bus, fleet: 'cs', log: createLogger('root', 'error') });
};

test.before(async () => {
  broker = await startMosquitto();
  dir = path.join(work, 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  inForce = commitFiles(dir, { 'fleet.yaml': fleetYaml('cs'), 'services/shop/web.yaml': web(2) }, 'fleet');
  repo = await openRepo(dir);
  bus = await connectBus({ url: broker.url, clientId: 'commit-signers-test', log: createLogger('bus', 'warn') });
  await bus.publish(topics('cs').clusterStatus('munich'), status(), { retain: true });
  await start();
});

test.after(async () => {
  await root?.stop();
  await bus?.close();
  await broker?.stop();
});

test('rule off: an unsigned commit is accepted, and its note has no signature record', async () => {
  const n = await noted(inForce);
  assert.is(n.outcome, 'accepted');
  assert.is(n.signature, undefined);
  await eventually('placed', async () => (await replicas()) === 2, 20_000, 50);
});

test('the commit that sets the rule is judged by the rules before it (none): accepted', async () => {
  const n = await accepted({ 'fleet.yaml': fleetYaml('cs', [alice, bob]) }, alice, 'require signed commits');
  assert.is(n.signature, undefined);
});

test('rule on: an unsigned commit is rejected whole; the note says nobody signed and lists the trusted keys', async () => {
  const [n, text] = await rejected({ 'services/shop/web.yaml': web(5) });
  assert.equal(n.signature, { trusted: trusted(alice, bob), rulesFrom: inForce, problem: n.signature!.problem });
  assert.match(
    n.problems![0].message,
    /is not signed: nobody signed it; spec\.trust\.commitSigners \(fleet\.yaml of accepted \w{12}\) accepts only commits signed by SHA256:/,
  );
  assert.is(n.problems![0].line, 8, 'at the list in fleet.yaml');
  assert.ok(text.includes('Signed by: nobody.'), text);
  for (const k of [alice, bob]) assert.ok(text.includes(`  ${k.fingerprint} (${path.basename(k.file)}@example)\n`), text);
});

test('signed by a key that is not trusted: rejected, the note names that key', async () => {
  const [n, text] = await rejected({ 'services/shop/web.yaml': web(6) }, mallory);
  assert.equal(n.signature?.signedBy, { fingerprint: mallory.fingerprint });
  assert.ok(n.problems![0].message.includes(`is signed by ${mallory.fingerprint}, not a trusted key`), text);
  assert.ok(text.includes(`Signed by: ${mallory.fingerprint}.`), text);
});

test('signed by a trusted key: accepted and placed; the note names the signer', async () => {
  const n = await accepted({ 'services/shop/web.yaml': web(3) }, bob);
  assert.equal(n.signature, { signedBy: trusted(bob)[0], trusted: trusted(alice, bob), rulesFrom: n.signature!.rulesFrom });
  assert.ok(
    ((await readNote(repo, inForce)) ?? '').includes(
      `Signed by: ${bob.fingerprint} (bob@example), a trusted commit signer (spec.trust.commitSigners in fleet.yaml of `,
    ),
  );
  await eventually('placed ×3', async () => (await replicas()) === 3, 20_000, 50);
});

test('an unsigned commit that removes the rule is rejected: the last accepted fleet.yaml judges it', async () => {
  const [n] = await rejected({ 'fleet.yaml': fleetYaml('cs'), 'services/shop/web.yaml': web(7) });
  assert.is(n.signature?.signedBy, undefined);
  assert.is(n.signature?.rulesFrom, inForce);
});

test('a trusted signature copied onto another commit does not verify', async () => {
  const raw = git(dir, 'cat-file', 'commit', inForce);
  const forged = raw.replace(/\n\n[\s\S]*$/, '\n\nchange\n\nforged: the signature of another commit\n');
  writeFileSync(path.join(work, 'forged'), forged + '\n');
  const oid = git(dir, 'hash-object', '-t', 'commit', '-w', path.join(work, 'forged'));
  git(dir, 'update-ref', 'refs/heads/main', oid);
  const n = await noted(oid);
  assert.is(n.outcome, 'rejected');
  assert.is(n.signature?.signedBy, undefined);
  assert.match(n.problems![0].message, /its signature does not verify \(.*incorrect signature/);
  // The forged commit has the accepted tree: the next cases commit on top of it.
});

test('a signed commit that changes the list: the commits after it are judged by the new list', async () => {
  const n = await accepted({ 'fleet.yaml': fleetYaml('cs', [mallory]) }, alice, 'rotate the signers');
  assert.equal(n.signature?.signedBy, trusted(alice)[0], 'judged by the list before it');
  const [r] = await rejected({ 'services/shop/web.yaml': web(8) }, alice);
  assert.equal(r.signature?.trusted, trusted(mallory));
  assert.equal(r.signature?.signedBy, { fingerprint: alice.fingerprint });
  const ok = await accepted({ 'services/shop/web.yaml': web(4) }, mallory);
  assert.equal(ok.signature?.signedBy, trusted(mallory)[0]);
  await eventually('placed ×4', async () => (await replicas()) === 4, 20_000, 50);
});

test('a restarted root keeps the rule: the last accepted commit is recovered from Git', async () => {
  await root!.stop();
  root = undefined;
  const c = commitFiles(dir, { 'services/shop/web.yaml': web(9) }, 'while the root was down');
  await start();
  const n = await noted(c);
  assert.is(n.outcome, 'rejected');
  assert.is(n.signature?.rulesFrom, inForce);
  assert.is(await replicas(), 4);
});

test('the first commit a root sees is judged by its own fleet.yaml', async () => {
  const other = path.join(work, 'first');
  execFileSync('git', ['init', '-q', '-b', 'main', other]);
  const c = commitFiles(other, { 'fleet.yaml': fleetYaml('cs2', [alice]), 'services/shop/web.yaml': web(1) }, 'unsigned, with the rule');
  const r2 = await openRepo(other);
  const second = await startRoot({ repo: r2, bus, fleet: 'cs2', log: createLogger('root', 'error') });
  try {
    const n = await noted(c, r2);
    assert.is(n.outcome, 'rejected');
    assert.is(n.signature?.rulesFrom, c);
    assert.match(n.problems![0].message, /fleet\.yaml of this commit/);
    const signed = commitFiles(other, { 'services/shop/web.yaml': web(2) }, 'signed', { signingKey: alice.file });
    const ok = await noted(signed, r2);
    assert.is(ok.outcome, 'accepted', JSON.stringify(ok));
    assert.equal(ok.signature?.signedBy, trusted(alice)[0]);
  } finally {
    await second.stop();
  }
});

test.run();
