// SSH signatures as OpenSSH writes them (PROTOCOL.sshsig; `ssh-keygen -Y sign`), made with
// node:crypto alone from a part's Ed25519 key (keys.ts): what git puts in a commit's gpgsig
// header when gpg.format=ssh, so that `git verify-commit` and `ssh-keygen -Y verify` accept a
// commit canopy wrote (a cluster's status commits, signed by the cluster).
//
// The signed blob is MAGIC "SSHSIG" ‖ string namespace ‖ string reserved ‖ string hash_algorithm ‖
// string H(message); the signature blob is MAGIC ‖ uint32 version 1 ‖ string public key ‖ string
// namespace ‖ string reserved ‖ string hash_algorithm ‖ string (string "ssh-ed25519" ‖ string
// signature), armoured in base64 lines of 70 characters.
import { createHash } from 'node:crypto';
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
export function signedData(message: Buffer | string, namespace: string): Buffer {
  const digest = createHash(HASH)
    .update(Buffer.isBuffer(message) ? message : Buffer.from(message, 'utf8'))
    .digest();
  return Buffer.concat([MAGIC, sshString(namespace), sshString(''), sshString(HASH), sshString(digest)]);
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
