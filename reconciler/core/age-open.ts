// Opening an age file (age-encryption.org/v1) sealed to X25519 recipients, with node:crypto
// alone. Sealing stays with the `age-encryption` package (the CLI and the cluster seal); opening
// is what every agent does, and that package (with its post-quantum, scrypt and WebAuthn code)
// costs an idle agent about 20 MB of resident memory once loaded and used, against well under
// one for this. The format (https://age-encryption.org/v1):
//
//   age-encryption.org/v1
//   -> X25519 <ephemeral share, base64>
//   <the file key wrapped, base64 in lines of 64>
//   --- <HMAC-SHA256 of the header up to "---", base64>
//   <16-byte nonce><payload: ChaCha20-Poly1305 chunks of 64 KiB, STREAM nonces>
//
// Only X25519 stanzas are tried; others (scrypt, ssh, plugins) are skipped as age itself does
// for an identity they do not match. Every failure is one of two messages, never any plaintext.
import { createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey, diffieHellman, hkdfSync, timingSafeEqual } from 'node:crypto';

const VERSION = 'age-encryption.org/v1';
const ARMOR_BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----';
const ARMOR_END = '-----END AGE ENCRYPTED FILE-----';
const CHUNK = 64 * 1024;
const TAG = 16;

/** Why a file cannot be opened: not sealed to this identity, or not an age file at all. */
export class AgeOpenError extends Error {
  constructor(readonly why: 'no-identity-matched' | 'invalid') {
    super(why === 'no-identity-matched' ? 'no identity matched' : 'not a valid age file');
  }
}

/** The 32-byte X25519 secret of an `AGE-SECRET-KEY-1…` identity (Bech32). */
export function identitySecret(identity: string): Buffer {
  const s = identity.trim().toLowerCase();
  const sep = s.lastIndexOf('1');
  if (s.slice(0, sep) !== 'age-secret-key-') throw new Error('not an age identity (AGE-SECRET-KEY-1…)');
  const words = [...s.slice(sep + 1)].map((c) => BECH32.indexOf(c));
  if (words.some((w) => w < 0) || words.length < 7 || bech32Polymod([...hrpExpand(s.slice(0, sep)), ...words]) !== 1)
    throw new Error('not an age identity: its checksum does not match');
  const bytes = convertBits(words.slice(0, -6), 5, 8);
  if (bytes?.length !== 32) throw new Error('not an age identity: wrong length');
  return Buffer.from(bytes);
}

/** Open `sealed` (armored text or binary) with `identity`: the plaintext bytes. */
export function ageOpen(sealed: string | Uint8Array, identity: string): Buffer {
  const secret = identitySecret(identity);
  const bytes = typeof sealed === 'string' ? dearmor(sealed) : Buffer.from(sealed);
  const { stanzas, macInput, mac, payload } = parseHeader(bytes);
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, secret]), format: 'der', type: 'pkcs8' });
  const ours = createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(SPKI_X25519.length);
  let fileKey: Buffer | undefined;
  for (const s of stanzas) {
    if (s.args[0] !== 'X25519') continue;
    if (s.args.length !== 2) throw new AgeOpenError('invalid');
    const share = b64(s.args[1]!);
    if (share.length !== 32 || s.body.length !== 32) throw new AgeOpenError('invalid');
    const pub = createPublicKey({ key: Buffer.concat([SPKI_X25519, share]), format: 'der', type: 'spki' });
    let shared: Buffer;
    try {
      shared = diffieHellman({ privateKey: priv, publicKey: pub });
    } catch {
      throw new AgeOpenError('invalid'); // a low-order share: all-zero secret
    }
    const wrapKey = hkdf(shared, Buffer.concat([share, ours]), 'age-encryption.org/v1/X25519');
    fileKey = chachaOpen(wrapKey, Buffer.alloc(12), s.body);
    if (fileKey) break;
  }
  if (!fileKey) throw new AgeOpenError('no-identity-matched');
  const expected = createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header'))
    .update(macInput)
    .digest();
  if (mac.length !== 32 || !timingSafeEqual(mac, expected)) throw new AgeOpenError('invalid');
  if (payload.length < 16) throw new AgeOpenError('invalid');
  return openPayload(hkdf(fileKey, payload.subarray(0, 16), 'payload'), payload.subarray(16));
}

/** Seal one chunk's worth with ChaCha20-Poly1305 (used by tests to build files by hand). */
export function chachaSeal(key: Buffer, nonce: Buffer, plain: Buffer): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG });
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}

function chachaOpen(key: Buffer, nonce: Buffer, sealed: Buffer): Buffer | undefined {
  if (sealed.length < TAG) return undefined;
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG });
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  try {
    return Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG)), d.final()]);
  } catch {
    return undefined;
  }
}

/** STREAM: chunks of 64 KiB + tag, nonce = 11-byte big-endian counter ‖ last-chunk flag. */
function openPayload(key: Buffer, body: Buffer): Buffer {
  const out: Buffer[] = [];
  const size = CHUNK + TAG;
  for (let i = 0, at = 0; ; i++, at += size) {
    const last = at + size >= body.length;
    const nonce = Buffer.alloc(12);
    nonce.writeUIntBE(i, 5, 6);
    nonce[11] = last ? 1 : 0;
    const chunk = chachaOpen(key, nonce, body.subarray(at, at + size));
    // The last chunk may be empty only when it is the first: a full chunk is never followed by nothing.
    if (!chunk || (last && chunk.length === 0 && i > 0)) throw new AgeOpenError('invalid');
    out.push(chunk);
    if (last) return Buffer.concat(out);
  }
}

interface Stanza {
  args: string[];
  body: Buffer;
}

function parseHeader(bytes: Buffer): { stanzas: Stanza[]; macInput: Buffer; mac: Buffer; payload: Buffer } {
  let at = 0;
  const line = (): string => {
    const nl = bytes.indexOf(0x0a, at);
    if (nl < 0) throw new AgeOpenError('invalid');
    const l = bytes.toString('latin1', at, nl);
    at = nl + 1;
    return l;
  };
  if (line() !== VERSION) throw new AgeOpenError('invalid');
  const stanzas: Stanza[] = [];
  for (;;) {
    const start = at;
    const l = line();
    if (l.startsWith('--- ')) {
      return { stanzas, macInput: bytes.subarray(0, start + 3), mac: b64(l.slice(4)), payload: bytes.subarray(at) };
    }
    if (!l.startsWith('-> ')) throw new AgeOpenError('invalid');
    const args = l.slice(3).split(' ');
    if (args.some((a) => a === '')) throw new AgeOpenError('invalid');
    const parts: Buffer[] = [];
    for (;;) {
      const b = line();
      if (b.length > 64) throw new AgeOpenError('invalid');
      parts.push(b64(b));
      if (b.length < 64) break;
    }
    stanzas.push({ args, body: Buffer.concat(parts) });
  }
}

/** Unpadded standard base64, strictly (age writes no padding). */
function b64(s: string): Buffer {
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) throw new AgeOpenError('invalid');
  const b = Buffer.from(s, 'base64');
  if (b.toString('base64').replace(/=+$/, '') !== s) throw new AgeOpenError('invalid');
  return b;
}

function dearmor(text: string): Buffer {
  const lines = text.trim().split(/\r?\n/);
  if (lines[0] !== ARMOR_BEGIN || lines[lines.length - 1] !== ARMOR_END) throw new AgeOpenError('invalid');
  const body = lines.slice(1, -1).join('');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new AgeOpenError('invalid');
  return Buffer.from(body, 'base64');
}

function hkdf(ikm: Buffer, salt: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, 32));
}

/** DER prefixes that make node:crypto keys of raw X25519 bytes (RFC 8410). */
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
function hrpExpand(hrp: string): number[] {
  return [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31)];
}
function bech32Polymod(values: number[]): number {
  const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >> i) & 1) chk ^= GEN[i]!;
  }
  return chk;
}
function convertBits(data: number[], from: number, to: number): number[] | undefined {
  let acc = 0,
    bits = 0;
  const out: number[] = [];
  for (const v of data) {
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & ((1 << to) - 1));
    }
  }
  if (bits >= from || (acc << (to - bits)) & ((1 << to) - 1)) return undefined;
  return out;
}
