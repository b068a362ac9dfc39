// Trusted commits without a repository: SSH keys and their fingerprints (checked against
// ssh-keygen's own), the allowed_signers file git is handed (checked by ssh-keygen), what git
// verify-commit's report means (its real outputs), and what the note says.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { allowedSigners, noteSignature, parseSshKey, parseVerifyOutput, signatureFormat, type SignatureVerdict } from '../../reconciler/core/commit-signers.js';
import { generateSigningKey, parsePublicKey } from '../../reconciler/core/keys.js';
import { parseNote, renderNote } from '../../reconciler/core/note.js';
import { parseDescriptor } from '../../reconciler/core/parse-descriptor.js';
import { tempDir } from '../helpers/cleanup.js';

const work = tempDir('canopy-signers-unit-');
/** A key pair made by ssh-keygen itself: [public key text, its fingerprint as ssh-keygen -l prints it]. */
function sshKeygen(type: 'ed25519' | 'rsa' | 'ecdsa', comment: string): [string, string] {
  const file = path.join(work, `${type}-${comment}`);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', comment, '-f', file]);
  const fp = execFileSync('ssh-keygen', ['-l', '-f', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1];
  return [readFileSync(`${file}.pub`, 'utf8').trim(), fp];
}
const [ed, edFp] = sshKeygen('ed25519', 'alice@laptop');
const [rsa, rsaFp] = sshKeygen('rsa', 'ci');
const [ecdsa, ecdsaFp] = sshKeygen('ecdsa', 'bob');

const Keys = suite('SSH keys');

Keys('fingerprints are ssh-keygen’s, for every key type; comments are kept', () => {
  assert.equal(parseSshKey(ed), { type: 'ssh-ed25519', blob: ed.split(' ')[1], fingerprint: edFp, comment: 'alice@laptop' });
  assert.is(parseSshKey(rsa).fingerprint, rsaFp);
  assert.is(parseSshKey(ecdsa).fingerprint, ecdsaFp);
  assert.is(parseSshKey(ecdsa).type, 'ecdsa-sha2-nistp256');
  const own = generateSigningKey('x').publicKey;
  assert.is(parseSshKey(own).fingerprint, parsePublicKey(own).id, 'the same name core/keys.ts gives a key');
  assert.is(parseSshKey(ed.split(' ').slice(0, 2).join(' ')).comment, undefined);
});

Keys('what is not a key says why', () => {
  const [type, b64] = ed.split(' ');
  assert.throws(() => parseSshKey('ssh-dss AAAAB3 x'), /not an SSH public key/);
  assert.throws(() => parseSshKey(`ssh-rsa ${b64}`), /malformed ssh-rsa key/, 'an ed25519 blob called rsa');
  assert.throws(() => parseSshKey(`${type} ${b64.slice(0, -4)}`), /malformed ssh-ed25519 key/);
  assert.throws(() => parseSshKey(`${type} AAAA`), /malformed/);
  assert.throws(() => parseSshKey(''), /not an SSH public key/);
});

Keys('fleet.yaml: a commitSigners entry that is no key is a problem at its line', () => {
  const b64 = ed.split(' ')[1];
  const text = `apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: demo}\nspec:\n  trust:\n    commitSigners:\n      - ${ed}\n      - ssh-rsa ${b64} liar\n`;
  const r = parseDescriptor({ path: 'fleet.yaml', text });
  assert.is(r.ok, false);
  if (r.ok) return;
  assert.equal(
    r.problems.map((p) => [p.line, p.message.slice(0, 40)]),
    [[8, 'spec.trust.commitSigners[1]: malformed s']],
  );
  assert.ok(parseDescriptor({ path: 'fleet.yaml', text: text.replace(`ssh-rsa ${b64} liar`, rsa) }).ok);
});

const Allowed = suite('allowed_signers');

Allowed('one line per key, its index as principal, for git’s namespace; ssh-keygen reads it', () => {
  const text = allowedSigners([ed, 'ssh-ed25519 AAAA broken', rsa]);
  assert.equal(text.split('\n'), [
    `canopy-signer-0 namespaces="git" ssh-ed25519 ${ed.split(' ')[1]}`,
    `canopy-signer-2 namespaces="git" ssh-rsa ${rsa.split(' ')[1]}`,
    '',
  ]);
  const file = path.join(work, 'allowed_signers');
  writeFileSync(file, text);
  const found = execFileSync('ssh-keygen', ['-Y', 'find-principals', '-f', file, '-s', signWith(path.join(work, 'rsa-ci'), 'payload')], { encoding: 'utf8' });
  assert.is(found.trim(), 'canopy-signer-2');
});

/** An SSH signature of `text` in git's namespace by the private key at `keyFile`: the signature's file. */
function signWith(keyFile: string, text: string): string {
  const data = path.join(work, 'data');
  writeFileSync(data, text);
  rmSync(`${data}.sig`, { force: true });
  execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-n', 'git', '-f', keyFile, data]);
  return `${data}.sig`;
}

const Output = suite('git verify-commit --raw: what it said');
const keys = [rsa, ed];

Output('a trusted key: the principal names its place in the list, and its fingerprint must agree', () => {
  const good = `Good "git" signature for canopy-signer-1 with ED25519 key ${edFp}\n`;
  assert.equal(parseVerifyOutput(0, good, keys), { kind: 'trusted', index: 1, fingerprint: edFp });
  assert.is(parseVerifyOutput(0, good, [ed, rsa]).kind, 'invalid', 'a principal whose key is not the one listed there');
  assert.is(parseVerifyOutput(1, good, keys).kind, 'invalid', 'git said no');
});

Output('a good signature by a key not in the list', () => {
  const out = 'Good "git" signature with ED25519 key SHA256:DTPj7m741YNG345dH9umaRWxQg7RtdlcBWCe+FEbjgM\nNo principal matched.\n';
  assert.equal(parseVerifyOutput(1, out, keys), { kind: 'untrusted', fingerprint: 'SHA256:DTPj7m741YNG345dH9umaRWxQg7RtdlcBWCe+FEbjgM' });
});

Output('no signature, a bad one, one of another kind', () => {
  assert.equal(parseVerifyOutput(1, '', keys), { kind: 'unsigned' });
  assert.equal(parseVerifyOutput(1, 'Could not verify signature.\nSignature verification failed: incorrect signature\n', keys), {
    kind: 'invalid',
    message: 'Could not verify signature.; Signature verification failed: incorrect signature',
  });
  const v = parseVerifyOutput(
    1,
    "Couldn't verify signature: invalid format\nsig_find_principals: sshsig_get_pubkey: invalid format\nNo principal matched.\n",
    keys,
  );
  assert.is(v.kind, 'invalid');
});

Output('git that cannot do its job throws: the commit is not to blame', () => {
  assert.throws(
    () => parseVerifyOutput(1, 'fatal: cannot run ssh-keygen: No such file or directory\n', keys),
    /could not check the signature: fatal: cannot run ssh-keygen/,
  );
  assert.throws(() => parseVerifyOutput(1, 'error: 0000: unable to read file.\n', keys), /error: 0000/);
  assert.throws(() => parseVerifyOutput(0, '', keys), /without saying whose/);
});

Output('the kind of a signature, from its armour', () => {
  assert.is(signatureFormat('-----BEGIN SSH SIGNATURE-----\nU1NI\n-----END SSH SIGNATURE-----'), 'ssh');
  assert.is(signatureFormat('-----BEGIN PGP SIGNATURE-----\n\niQ\n-----END PGP SIGNATURE-----'), 'openpgp');
  assert.is(signatureFormat('-----BEGIN SIGNED MESSAGE-----\nMII'), 'x509');
  assert.is(signatureFormat('garbage'), 'unknown');
});

const Note = suite('the note on a signed commit');
const C = 'c'.repeat(40);
const G = 'a'.repeat(40);
const cases: Array<[string, SignatureVerdict, RegExp]> = [
  [
    'unsigned',
    { kind: 'unsigned' },
    /^commit cccccccccccc is not signed: nobody signed it; spec\.trust\.commitSigners \(fleet\.yaml of accepted aaaaaaaaaaaa\)/,
  ],
  ['untrusted', { kind: 'untrusted', fingerprint: 'SHA256:xyz' }, /^commit cccccccccccc is signed by SHA256:xyz, not a trusted key; /],
  ['invalid', { kind: 'invalid', message: 'bad' }, /^commit cccccccccccc: its signature does not verify \(bad\); /],
];
for (const [name, v, re] of cases) {
  Note(`${name}: a problem that names the trusted keys`, () => {
    const s = noteSignature(C, v, keys, G);
    assert.match(s.problem!, re);
    assert.match(
      s.problem!,
      new RegExp(`accepts only commits signed by ${rsaFp.replace(/[+/]/g, '\\$&')} \\(ci\\), ${edFp.replace(/[+/]/g, '\\$&')} \\(alice@laptop\\)$`),
    );
    assert.equal(s.trusted, [
      { fingerprint: rsaFp, comment: 'ci' },
      { fingerprint: edFp, comment: 'alice@laptop' },
    ]);
  });
}

Note('trusted: who signed, with the comment fleet.yaml gives the key; no problem; the note round-trips', () => {
  const s = noteSignature(C, { kind: 'trusted', index: 1, fingerprint: edFp }, keys, C);
  assert.equal(s, { signedBy: { fingerprint: edFp, comment: 'alice@laptop' }, trusted: s.trusted, rulesFrom: C });
  const text = renderNote({ outcome: 'accepted', commit: C, at: '2025-01-01T00:00:00Z', signature: s });
  assert.match(text, `\nSigned by: ${edFp} (alice@laptop), a trusted commit signer (spec.trust.commitSigners in fleet.yaml of cccccccccccc).\n`);
  assert.not.match(text, `  ${rsaFp} (ci)`, 'the text of an accepted note does not list every key');
  assert.equal(parseNote(text)?.signature, s);
});

Note('refused: the text says who signed and lists every trusted key', () => {
  const s = noteSignature(C, { kind: 'untrusted', fingerprint: 'SHA256:xyz' }, keys, G);
  const text = renderNote({ outcome: 'rejected', commit: C, at: '2025-01-01T00:00:00Z', problems: [], signature: s });
  assert.match(
    text,
    `\nSigned by: SHA256:xyz.\nTrusted commit signers (spec.trust.commitSigners in fleet.yaml of aaaaaaaaaaaa):\n  ${rsaFp} (ci)\n  ${edFp} (alice@laptop)\n`,
  );
  assert.equal(parseNote(text)?.signature, s);
});

Note('more than a few trusted keys: the problem names five and counts the rest', () => {
  const many = Array.from({ length: 7 }, (_, i) => generateSigningKey(`k${i}`).publicKey);
  const s = noteSignature(C, { kind: 'unsigned' }, many, G);
  assert.match(s.problem!, /\(k4\) and 2 more$/);
  assert.is(s.trusted.length, 7);
});

Keys.run();
Allowed.run();
Output.run();
Note.run();
