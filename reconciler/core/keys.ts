// Ed25519 signing keys (node:crypto), written as text people already know: a public key in
// OpenSSH's one-line form (`ssh-ed25519 AAAA… comment`, what authorized_keys, allowed_signers and
// `ssh-keygen -lf` read), a private key as PKCS#8 PEM. A key is named by its fingerprint, as
// ssh-keygen prints it (`SHA256:…`), which is what a signed message names as its signer.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

const SSH_TYPE = 'ssh-ed25519';
/** The fixed DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface SigningKeyPair {
  /** `ssh-ed25519 AAAA… comment` */
  publicKey: string;
  /** PKCS#8 PEM */
  privateKey: string;
}

/** A public key ready to verify with, and the names it goes by. */
export interface PublicKey {
  /** `ssh-ed25519 AAAA…` without the comment. */
  text: string;
  /** `SHA256:…`, as ssh-keygen -l prints it. */
  id: string;
  key: KeyObject;
}

export function generateSigningKey(comment: string): SigningKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { publicKey: `${sshText(rawOf(publicKey))} ${comment}`.trim(), privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** Parse `ssh-ed25519 AAAA… [comment]`; throws with what is wrong. */
export function parsePublicKey(text: string): PublicKey {
  if (typeof text !== 'string') throw new Error('a public key must be a string "ssh-ed25519 AAAA…"');
  const [type, b64] = text.trim().split(/\s+/);
  if (type !== SSH_TYPE || !b64) throw new Error(`not an Ed25519 public key (want "ssh-ed25519 AAAA…"): ${clip(text)}`);
  const blob = Buffer.from(b64, 'base64');
  // string "ssh-ed25519", string key(32)
  const tlen = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  const name = tlen === SSH_TYPE.length ? blob.subarray(4, 4 + tlen).toString() : '';
  const klen = name === SSH_TYPE && blob.length >= 8 + tlen ? blob.readUInt32BE(4 + tlen) : -1;
  if (name !== SSH_TYPE || klen !== 32 || blob.length !== 8 + tlen + 32 || unpadded(blob.toString('base64')) !== unpadded(b64)) {
    throw new Error(`malformed ssh-ed25519 key (the base64 does not hold a 32-byte Ed25519 key): ${clip(text)}`);
  }
  const raw = blob.subarray(8 + tlen);
  return { text: `${SSH_TYPE} ${b64}`, id: fingerprint(blob), key: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }) };
}

/** Two public key lines name the same key, whatever their comments. */
export function sameKey(a: string, b: string): boolean {
  return a.trim().split(/\s+/).slice(0, 2).join(' ') === b.trim().split(/\s+/).slice(0, 2).join(' ');
}

/** A private key ready to sign with, and the public key it goes with. */
export interface Signer {
  id: string;
  publicKey: string;
  sign(data: Buffer | string): string;
}

export function signerFrom(privateKeyPem: string): Signer {
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch (e) {
    throw new Error(`the private key does not load: ${(e as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the private key is ${key.asymmetricKeyType}, not Ed25519`);
  const raw = rawOf(createPublicKey(key));
  const text = sshText(raw);
  const pub = parsePublicKey(text);
  return { id: pub.id, publicKey: text, sign: (data) => sign(null, Buffer.from(data), key).toString('base64') };
}

export function verifySignature(pub: PublicKey, data: Buffer | string, signature: string): boolean {
  const sig = Buffer.from(signature, 'base64');
  if (sig.length !== 64) return false;
  try {
    return verify(null, Buffer.from(data), pub.key, sig);
  } catch {
    return false;
  }
}

function rawOf(pub: KeyObject): Buffer {
  return Buffer.from(pub.export({ format: 'jwk' }).x as string, 'base64url');
}

function sshBlob(raw: Buffer): Buffer {
  const t = Buffer.from(SSH_TYPE);
  const out = Buffer.alloc(8 + t.length + raw.length);
  out.writeUInt32BE(t.length, 0);
  t.copy(out, 4);
  out.writeUInt32BE(raw.length, 4 + t.length);
  raw.copy(out, 8 + t.length);
  return out;
}

const sshText = (raw: Buffer) => `${SSH_TYPE} ${sshBlob(raw).toString('base64')}`;
const fingerprint = (blob: Buffer) => `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
const unpadded = (b64: string) => b64.replace(/=+$/, '');
const clip = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}…` : s);
