// SSH signatures as OpenSSH writes them (PROTOCOL.sshsig; `ssh-keygen -Y sign`), made with
// node:crypto alone from a part's Ed25519 key (keys.ts): what git puts in a commit's gpgsig
// header when gpg.format=ssh, so that `git verify-commit` and `ssh-keygen -Y verify` accept a
// commit canopy wrote (a cluster's status commits, signed by the cluster).
//
// The signed blob is MAGIC "SSHSIG" ‖ string namespace ‖ string reserved ‖ string hash_algorithm ‖
// string H(message); the signature blob is MAGIC ‖ uint32 version 1 ‖ string public key ‖ string
// namespace ‖ string reserved ‖ string hash_algorithm ‖ string (string "ssh-ed25519" ‖ string
// signature), armoured in base64 lines of 70 characters.
import { createHash, createPublicKey, verify } from 'node:crypto';
import type { Signer } from './keys.js';

const MAGIC = Buffer.from('SSHSIG');
const HASH = 'sha512';
const BEGIN = '-----BEGIN SSH SIGNATURE-----';
const END = '-----END SSH SIGNATURE-----';

/** An RFC 4251 string: uint32 length, then the bytes. */
function sshString(b: Buffer | string): Buffer {
  const bytes = Buffer.isBuffer(b) ? b : Buffer.from(b, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

/** What the key signs for `message` in `namespace`. */
export function signedData(message: Buffer | string, namespace: string, hash = HASH): Buffer {
  const digest = createHash(hash)
    .update(Buffer.isBuffer(message) ? message : Buffer.from(message, 'utf8'))
    .digest();
  return Buffer.concat([MAGIC, sshString(namespace), sshString(''), sshString(hash), sshString(digest)]);
}

/**
 * The armoured SSH signature of `message` by `signer` in `namespace` ("git" for commits), as
 * `ssh-keygen -Y sign -n NAMESPACE` writes it (without a final newline).
 */
export function sshSign(signer: Pick<Signer, 'publicKey' | 'sign'>, message: Buffer | string, namespace = 'git'): string {
  const [type, b64] = signer.publicKey.trim().split(/\s+/);
  if (type !== 'ssh-ed25519' || !b64) throw new Error(`an SSH signature needs an Ed25519 key, not ${type}`);
  const raw = Buffer.from(signer.sign(signedData(message, namespace)), 'base64');
  const version = Buffer.alloc(4);
  version.writeUInt32BE(1);
  const blob = Buffer.concat([
    MAGIC,
    version,
    sshString(Buffer.from(b64, 'base64')),
    sshString(namespace),
    sshString(''),
    sshString(HASH),
    sshString(Buffer.concat([sshString(type), sshString(raw)])),
  ]);
  const lines = blob.toString('base64').match(/.{1,70}/g) ?? [];
  return [BEGIN, ...lines, END].join('\n');
}

/** A commit signer: the armoured signature of a commit's text (what goes in its gpgsig header). */
export type CommitSigner = (payload: Buffer) => string;

/** A commit signer for a part's key: SSH signatures in git's namespace. */
export const commitSigner =
  (signer: Pick<Signer, 'publicKey' | 'sign'>): CommitSigner =>
  (payload) =>
    sshSign(signer, payload, 'git');

/** A signature judged against trusted keys (as core/commit-signers.ts SignatureVerdict, less 'unsigned'). */
export type SshVerdict =
  | { kind: 'trusted'; index: number; fingerprint: string }
  | { kind: 'untrusted'; fingerprint: string }
  | { kind: 'invalid'; message: string }
  /** A key type this module does not verify (not Ed25519): ask ssh-keygen. */
  | { kind: 'other-key'; type: string };

/** RFC 4251 strings from `at` on: each length-prefixed field, and where the next starts. */
function readStrings(b: Buffer, at: number, n: number): Buffer[] | undefined {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    if (at + 4 > b.length) return undefined;
    const len = b.readUInt32BE(at);
    if (at + 4 + len > b.length) return undefined;
    out.push(b.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return at === b.length ? out : undefined;
}

/**
 * Verify an armoured SSH signature of `message` in `namespace` against `keys` (public key lines),
 * as `ssh-keygen -Y verify` does for Ed25519: the blob's own public key must be one of `keys`,
 * its namespace the one asked for, its hash sha512 or sha256, and the signature valid.
 */
export function sshVerify(armoured: string, message: Buffer | string, namespace: string, keys: readonly string[]): SshVerdict {
  const body = armoured.trim().split('\n');
  if (body[0]?.trim() !== BEGIN || body[body.length - 1]?.trim() !== END) return { kind: 'invalid', message: 'not an armoured SSH signature' };
  const blob = Buffer.from(body.slice(1, -1).join(''), 'base64');
  if (blob.length < 10 || !blob.subarray(0, 6).equals(MAGIC) || blob.readUInt32BE(6) !== 1) return { kind: 'invalid', message: 'not an SSHSIG version 1 blob' };
  const f = readStrings(blob, 10, 5);
  if (!f) return { kind: 'invalid', message: 'a malformed SSHSIG blob' };
  const [pub, ns, , hash, sig] = f as [Buffer, Buffer, Buffer, Buffer, Buffer];
  const pubFields = readStrings(pub, 0, 2);
  const type = pub.length >= 4 && pub.readUInt32BE(0) <= pub.length - 4 ? pub.subarray(4, 4 + pub.readUInt32BE(0)).toString('latin1') : '?';
  if (type !== 'ssh-ed25519') return { kind: 'other-key', type };
  if (pubFields?.[1]?.length !== 32) return { kind: 'invalid', message: 'a malformed Ed25519 public key' };
  const fingerprint = `SHA256:${createHash('sha256').update(pub).digest('base64').replace(/=+$/, '')}`;
  if (ns.toString('utf8') !== namespace) return { kind: 'invalid', message: `signed for namespace ${JSON.stringify(ns.toString('utf8'))}, not ${namespace}` };
  const alg = hash.toString('latin1');
  if (alg !== 'sha512' && alg !== 'sha256') return { kind: 'invalid', message: `hash ${alg} is not sha512 or sha256` };
  const sigFields = readStrings(sig, 0, 2);
  if (sigFields?.[0]?.toString('latin1') !== 'ssh-ed25519' || sigFields[1]?.length !== 64) return { kind: 'invalid', message: 'not an Ed25519 signature' };
  const raw = pubFields![1]!;
  const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
  if (!verify(null, signedData(message, namespace, alg), key, sigFields[1]!))
    return { kind: 'invalid', message: `the signature by ${fingerprint} does not verify` };
  const index = keys.findIndex((k) => {
    const b64 = k.trim().split(/\s+/)[1];
    return b64 !== undefined && Buffer.from(b64, 'base64').equals(pub);
  });
  return index >= 0 ? { kind: 'trusted', index, fingerprint } : { kind: 'untrusted', fingerprint };
}

/**
 * A commit object's text split as git verifies it: the payload (the commit without its gpgsig
 * header and that header's continuation lines) and the signature, if any.
 */
export function commitPayload(raw: Buffer): { payload: Buffer; gpgsig?: string } {
  const text = raw.toString('latin1');
  const end = text.indexOf('\n\n');
  const head = end < 0 ? text : text.slice(0, end + 1);
  const lines = head.split('\n');
  const kept: string[] = [];
  let sig: string[] | undefined;
  for (let i = 0; i < lines.length; i++) {
    if (sig === undefined && lines[i]!.startsWith('gpgsig ')) {
      sig = [lines[i]!.slice('gpgsig '.length)];
      while (lines[i + 1]?.startsWith(' ')) sig.push(lines[++i]!.slice(1));
    } else kept.push(lines[i]!);
  }
  if (!sig) return { payload: raw };
  const payload = Buffer.from(kept.join('\n') + (end < 0 ? '' : text.slice(end + 1)), 'latin1');
  return { payload, gpgsig: Buffer.from(sig.join('\n'), 'latin1').toString('utf8') };
}
