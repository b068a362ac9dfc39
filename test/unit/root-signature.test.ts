// The root's signature step over fake ports: which fleet.yaml's keys judge a commit, and that a
// refused commit is rejected whole without being loaded, its note saying who signed and which
// keys are trusted. (Real git and ssh-keygen: test/integration/commit-signers.test.ts.)
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseNote } from '../../reconciler/core/note.js';
import { generateSigningKey, parsePublicKey } from '../../reconciler/core/keys.js';
import { newPass } from '../../reconciler/root/steps/pass.js';
import { loadCommit, readCommit } from '../../reconciler/root/steps/read-commit.js';
import { validate } from '../../reconciler/root/steps/validate.js';
import { verifySignature } from '../../reconciler/root/steps/verify-signature.js';
import type { SignatureVerdict } from '../../reconciler/core/commit-signers.js';
import { aService } from '../helpers/builders.js';
import { desiredState, fakeCommits, fakeRoot, fakeSignatures, loaded, oid } from '../helpers/root-fakes.js';

const web = aService('shop/web');
const [C1, C2] = ['c1', 'c2'].map(oid);
const alice = generateSigningKey('alice@laptop').publicKey;
const bob = generateSigningKey('').publicKey;
const aliceId = parsePublicKey(alice).id;
const bobId = parsePublicKey(bob).id;
const ruled = (commit: string, keys: string[]) => desiredState(commit, [web], { trust: { commitSigners: keys } });

/** A pass over `head` through read, signature, load and validate, as MAIN_PASS runs them. */
async function pass(o: { good?: ReturnType<typeof ruled>; verdict?: SignatureVerdict; ownRules?: string[]; next?: ReturnType<typeof ruled> }) {
  const commits = fakeCommits({ head: C2, loads: { [C2]: loaded(o.next ?? desiredState(C2, [web])) } });
  const signatures = fakeSignatures({
    rules: o.ownRules ? { [C2]: { keys: o.ownRules, from: C2, fleetYaml: 'spec:\n  trust:\n    commitSigners: []\n' } } : {},
    verdicts: o.verdict ? { [C2]: o.verdict } : {},
  });
  const f = fakeRoot({ commits, signatures, seed: o.good ? { good: o.good, seen: o.good.commit } : {} });
  const p = newPass();
  for (const step of [readCommit, verifySignature, loadCommit, validate]) if ((await step(f.state, f.ports, p)) === 'done') break;
  const text = f.notes.at(-1)?.notes.get(C2);
  return { f, p, commits, signatures, note: text ? parseNote(text) : f.state.pending, text };
}

const Step = suite('root step: the commit’s signature');

Step('without commitSigners nothing is asked and nothing is recorded', async () => {
  const r = await pass({ good: desiredState(C1, [web]) });
  assert.equal(r.signatures.calls, []);
  assert.is(r.p.commit?.signature, undefined);
  assert.is(r.f.state.good?.commit, C2, 'accepted');
  assert.is(r.f.state.pending?.signature, undefined);
});

Step('an unsigned commit is rejected whole and never loaded; the note says nobody signed and lists the trusted keys', async () => {
  const good = ruled(C1, [alice, bob]);
  const r = await pass({ good, verdict: { kind: 'unsigned' } });
  assert.equal(r.signatures.calls, [`verify ${C2} against 2`], 'judged by the last accepted commit’s keys');
  assert.not.ok(
    r.commits.calls.some((c) => c.startsWith('load')),
    'not loaded',
  );
  assert.is(r.f.state.good, good, 'the last accepted state stays in force');
  assert.is(r.f.state.seen, C2);
  const n = r.note!;
  assert.is(n.outcome, 'rejected');
  assert.is(n.inForce, C1);
  assert.equal(n.signature, {
    trusted: [{ fingerprint: aliceId, comment: 'alice@laptop' }, { fingerprint: bobId }],
    rulesFrom: C1,
    problem: n.signature!.problem,
  });
  assert.match(n.problems![0].message, /is not signed: nobody signed it/);
  assert.match(n.problems![0].message, new RegExp(`${aliceId.replace(/[+/]/g, '\\$&')} \\(alice@laptop\\), ${bobId.replace(/[+/]/g, '\\$&')}`));
  assert.is(n.problems![0].file, 'fleet.yaml');
  assert.match(r.text!, /Signed by: nobody\.\nTrusted commit signers \(spec\.trust\.commitSigners in fleet\.yaml of c10000000000\):\n {2}SHA256:/);
  assert.match(r.f.logs.join('\n'), /warn +\[root\] commit c20000000000 is not signed/);
});

Step('a commit signed by a trusted key is loaded and accepted; its note names the signer', async () => {
  const r = await pass({ good: ruled(C1, [bob, alice]), verdict: { kind: 'trusted', index: 1, fingerprint: aliceId } });
  assert.ok(r.commits.calls.includes(`load ${C2}`));
  assert.is(r.f.state.good?.commit, C2);
  assert.equal(r.f.state.pending?.signature, {
    signedBy: { fingerprint: aliceId, comment: 'alice@laptop' },
    trusted: [{ fingerprint: bobId }, { fingerprint: aliceId, comment: 'alice@laptop' }],
    rulesFrom: C1,
  });
});

Step('a commit signed by a key not in the list is rejected; the note names that key', async () => {
  const stranger = generateSigningKey('mallory').publicKey;
  const r = await pass({ good: ruled(C1, [alice]), verdict: { kind: 'untrusted', fingerprint: parsePublicKey(stranger).id } });
  assert.is(r.note?.outcome, 'rejected');
  assert.equal(r.note?.signature?.signedBy, { fingerprint: parsePublicKey(stranger).id });
  assert.match(r.note!.problems![0].message, /is signed by SHA256:\S+, not a trusted key/);
  assert.match(r.text!, new RegExp(`Signed by: ${parsePublicKey(stranger).id.replace(/[+/]/g, '\\$&')}\\.`));
});

Step('the rules are the last accepted commit’s: a commit that lifts them is still judged by them', async () => {
  // The next state sets no commitSigners; the good one does: the head is judged by the good one's.
  const r = await pass({ good: ruled(C1, [alice]), verdict: { kind: 'unsigned' }, next: desiredState(C2, [web]) });
  assert.is(r.note?.outcome, 'rejected');
  assert.is(r.note?.signature?.rulesFrom, C1);
});

Step('before any commit was accepted, the head’s own fleet.yaml says', async () => {
  const off = await pass({});
  assert.equal(off.signatures.calls, [`rules ${C2}`], 'asked for its rules; it has none: no verify');
  assert.is(off.f.state.good?.commit, C2);
  const on = await pass({ ownRules: [alice], verdict: { kind: 'unsigned' } });
  assert.equal(on.signatures.calls, [`rules ${C2}`, `verify ${C2} against 1`]);
  assert.is(on.note?.outcome, 'rejected');
  assert.is(on.note?.signature?.rulesFrom, C2);
  assert.match(on.note!.problems![0].message, /fleet\.yaml of this commit/);
  assert.is(on.note!.problems![0].line, 3, 'at the list in the file that sets it');
});

Step('a signature that does not verify is rejected with what git said', async () => {
  const r = await pass({ good: ruled(C1, [alice]), verdict: { kind: 'invalid', message: 'Signature verification failed: incorrect signature' } });
  assert.is(r.note?.outcome, 'rejected');
  assert.is(r.note?.signature?.signedBy, undefined);
  assert.match(r.note!.problems![0].message, /signature does not verify \(Signature verification failed: incorrect signature\)/);
});

Step.run();
