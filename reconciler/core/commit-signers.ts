// Trusted commits: fleet.yaml's spec.trust.commitSigners (SSH public keys) decides which commits
// of main the root accepts. Native `git verify-commit` checks a signature (it runs ssh-keygen,
// reconciler/git/verify-commit.ts); this module is what surrounds it and needs no process: the
// allowed_signers text git is handed, what git's report means, and what the commit's note says.
import { createHash } from 'node:crypto';
import { keyName, type NoteKey, type NoteSignature } from './note.js';

/** The key types git's SSH signing knows (the schema's pattern allows the same). */
const SSH_TYPES = new Set([
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
]);

export interface SshKey {
  type: string;
  /** base64 of the key blob */
  blob: string;
  /** `SHA256:…`, as ssh-keygen -l prints it (and as git verify-commit names a signer). */
  fingerprint: string;
  comment?: string;
}

/** `type AAAA… [comment]` → the key and its fingerprint; throws with what is wrong. */
export function parseSshKey(text: string): SshKey {
  const m = /^\s*(\S+)\s+(\S+)(?:\s+(.*?))?\s*$/.exec(text);
  const clip = text.length > 60 ? `${text.slice(0, 57)}…` : text;
  if (!m || !SSH_TYPES.has(m[1])) throw new Error(`not an SSH public key (want "ssh-ed25519 AAAA… comment"): ${clip}`);
  const raw = Buffer.from(m[2], 'base64');
  // The blob is SSH strings, the first its own type name; an Ed25519 key is 32 bytes.
  const fields = sshStrings(raw);
  const typed = fields?.[0].toString('latin1') === m[1] && (m[1] !== 'ssh-ed25519' || fields[1].length === 32);
  if (!typed || unpadded(raw.toString('base64')) !== unpadded(m[2])) {
    throw new Error(`malformed ${m[1]} key (its base64 does not hold a ${m[1]} key): ${clip}`);
  }
  const fingerprint = `SHA256:${createHash('sha256').update(raw).digest('base64').replace(/=+$/, '')}`;
  return { type: m[1], blob: m[2], fingerprint, ...(m[3] ? { comment: m[3] } : {}) };
}

/** A key blob as its length-prefixed fields (RFC 4253 strings), or undefined when they do not fill it exactly. */
function sshStrings(raw: Buffer): Buffer[] | undefined {
  const out: Buffer[] = [];
  for (let at = 0; at < raw.length; ) {
    if (at + 4 > raw.length) return undefined;
    const n = raw.readUInt32BE(at);
    if (at + 4 + n > raw.length) return undefined;
    out.push(raw.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out.length >= 2 ? out : undefined;
}

/** The principal a trusted key gets in the allowed_signers file: its place in the list. */
const PRINCIPAL = 'canopy-signer-';

/**
 * The allowed_signers file for `keys` (ssh-keygen(1) ALLOWED SIGNERS): one line per key, its
 * principal naming its index, valid for git's namespace only. Keys that do not parse are left
 * out (fleet.yaml's validation names them; a stray one must not make git refuse every key).
 */
export function allowedSigners(keys: readonly string[]): string {
  const lines: string[] = [];
  keys.forEach((k, i) => {
    try {
      const key = parseSshKey(k);
      lines.push(`${PRINCIPAL}${i} namespaces="git" ${key.type} ${key.blob}`);
    } catch {
      /* not trusted: nothing can match it */
    }
  });
  return lines.join('\n') + '\n';
}

/** What git verify-commit made of a commit's signature, against the keys it was given. */
export type SignatureVerdict =
  | { kind: 'unsigned' }
  /** Signed by keys[index]. */
  | { kind: 'trusted'; index: number; fingerprint: string }
  /** A good signature, by a key that is not in the list. */
  | { kind: 'untrusted'; fingerprint: string }
  /** A signature that does not verify, or of a kind SSH keys cannot verify (OpenPGP, X.509). */
  | { kind: 'invalid'; message: string };

/** The kind of signature in a commit's gpgsig header, from its armour line. */
export function signatureFormat(gpgsig: string): 'ssh' | 'openpgp' | 'x509' | 'unknown' {
  const first = gpgsig.trimStart().split('\n')[0];
  if (first.startsWith('-----BEGIN SSH SIGNATURE-----')) return 'ssh';
  if (first.startsWith('-----BEGIN PGP SIGNATURE-----')) return 'openpgp';
  if (first.startsWith('-----BEGIN SIGNED MESSAGE-----')) return 'x509';
  return 'unknown';
}

/**
 * The verdict from `git verify-commit --raw` (exit code and everything it printed; ssh-keygen
 * writes to stderr): "Good "git" signature for canopy-signer-N with … key SHA256:…" is a trusted
 * key, "Good … with … key SHA256:…" then "No principal matched." a good signature by an unknown
 * key. A line of git's own "fatal:"/"error:" means git could not do its job (no ssh-keygen, no
 * such object): that is thrown, never blamed on the commit.
 */
export function parseVerifyOutput(code: number, output: string, keys: readonly string[]): SignatureVerdict {
  const lines = output.split('\n').map((l) => l.trim());
  const broken = lines.find((l) => /^(fatal|error):/.test(l));
  if (broken) throw new Error(`git verify-commit could not check the signature: ${broken}`);
  const text = lines.filter(Boolean);
  if (!text.length) {
    if (code === 0) throw new Error('git verify-commit succeeded without saying whose signature it was');
    return { kind: 'unsigned' };
  }
  const good = lines.map((l) => /^Good "git" signature (?:for (\S+) )?with \S+ key (SHA256:[A-Za-z0-9+/]+)/.exec(l)).find(Boolean);
  if (good?.[1] && code === 0) {
    const index = good[1].startsWith(PRINCIPAL) ? Number(good[1].slice(PRINCIPAL.length)) : Number.NaN;
    const expected = Number.isInteger(index) && keys[index] !== undefined ? fingerprintOf(keys[index]) : undefined;
    if (expected === good[2]) return { kind: 'trusted', index, fingerprint: good[2] };
    return { kind: 'invalid', message: `git named a principal that is not one of the trusted keys: ${good[1]} (${good[2]})` };
  }
  if (good && !good[1]) return { kind: 'untrusted', fingerprint: good[2] };
  return { kind: 'invalid', message: text.slice(0, 4).join('; ').slice(0, 400) };
}

function fingerprintOf(key: string): string | undefined {
  try {
    return parseSshKey(key).fingerprint;
  } catch {
    return undefined;
  }
}

/** A key as a note names it: its fingerprint, and its comment when fleet.yaml gives one. */
export function noteKey(key: string): NoteKey {
  try {
    const k = parseSshKey(key);
    return { fingerprint: k.fingerprint, ...(k.comment ? { comment: k.comment } : {}) };
  } catch {
    return { fingerprint: `(unreadable key) ${key.slice(0, 40)}` };
  }
}

/** How many trusted keys a problem's text names (the note's JSON has all of them). */
const NAMED = 5;

/**
 * The note's signature record for a verdict: who signed (with the comment fleet.yaml gives the
 * key, when it is a trusted one), the keys that judged the commit and the commit whose fleet.yaml
 * listed them, and, unless a trusted key signed, why the commit is refused.
 */
export function noteSignature(commit: string, v: SignatureVerdict, keys: readonly string[], rulesFrom: string): NoteSignature {
  const trusted = keys.map(noteKey);
  const base = { trusted, rulesFrom };
  if (v.kind === 'trusted') return { signedBy: trusted[v.index], ...base };
  const names = trusted.slice(0, NAMED).map(keyName).join(', ') + (trusted.length > NAMED ? ` and ${trusted.length - NAMED} more` : '');
  const rule = `spec.trust.commitSigners (fleet.yaml of ${commit === rulesFrom ? 'this commit' : `accepted ${rulesFrom.slice(0, 12)}`}) accepts only commits signed by ${names}`;
  if (v.kind === 'unsigned') return { ...base, problem: `commit ${commit.slice(0, 12)} is not signed: nobody signed it; ${rule}` };
  if (v.kind === 'untrusted') {
    return {
      signedBy: { fingerprint: v.fingerprint },
      ...base,
      problem: `commit ${commit.slice(0, 12)} is signed by ${v.fingerprint}, not a trusted key; ${rule}`,
    };
  }
  return { ...base, problem: `commit ${commit.slice(0, 12)}: its signature does not verify (${v.message}); ${rule}` };
}

const unpadded = (b64: string) => b64.replace(/=+$/, '');
