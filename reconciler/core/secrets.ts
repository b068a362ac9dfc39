// Secrets sealed to their sites: the age format (X25519 recipients, ASCII armor, which the `age`
// CLI reads): sealed through the `age-encryption` package, opened with node:crypto (age-open.ts). The repository holds secrets/<name>.age,
// sealed to the clusters of secrets/<name>.yaml; the root hands the ciphertext down unopened;
// a cluster opens it with its identity and seals what each node needs to that node's key
// (NodeSecrets); the agent opens that. A plain value is never logged, reported or sent.
import { AgeOpenError, ageOpen } from './age-open.js';
import { createHash } from 'node:crypto';

/** What a cluster seals to one node (NodeDesired.sealed): only what the node's replicas use. */
export interface NodeSecrets {
  /** secret name → key → value: the keys of the secrets its replicas refer to. */
  secrets: Record<string, Record<string, string>>;
  /** registry host → credentials, when the node runs container replicas. */
  registries?: Record<string, { username: string; password: string }>;
}

/** At most this many bytes of plain JSON in one secret (its ciphertext must fit in a message). */
export const MAX_SECRET_BYTES = 32 * 1024;
const ARMOR = '-----BEGIN AGE ENCRYPTED FILE-----';

/** `secrets/<name>.age` → name; undefined for any other path. */
export function sealedSecretName(path: string): string | undefined {
  const m = /^secrets\/([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)\.age$/.exec(path);
  return m?.[1];
}

export const secretYaml = (name: string) => `secrets/${name}.yaml`;
export const secretAge = (name: string) => `secrets/${name}.age`;

/** Whether text is an armored age file (what canopy writes and hands down). */
export function isArmored(text: string): boolean {
  return text.startsWith(ARMOR);
}

/** Seal `plain` to age recipients (age1…): an armored age file. */
export async function seal(plain: string, recipients: readonly string[]): Promise<string> {
  if (!recipients.length) throw new Error('no recipient to seal to');
  const { Encrypter, armor } = await import('age-encryption');
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  return armor.encode(await e.encrypt(plain));
}

/**
 * Open an age file (armored or binary) with an age identity (AGE-SECRET-KEY-1…), with node:crypto
 * alone (age-open.ts: what every agent does, without loading the age-encryption package). The
 * error never holds any of the plaintext: only whether the file could be opened.
 */
export async function open(sealed: string | Uint8Array, identity: string): Promise<string> {
  try {
    return ageOpen(sealed, identity).toString('utf8');
  } catch (e) {
    if (!(e instanceof AgeOpenError)) throw e; // the identity itself is not one (its message says so)
    throw new Error(`cannot open it with this age identity (${e.why === 'no-identity-matched' ? 'not sealed to it' : 'not a valid age file'})`);
  }
}

/** The key → value object a secret's plaintext holds; the error names no value. */
export function secretValues(plain: string): Record<string, string> {
  let v: unknown;
  try {
    v = JSON.parse(plain);
  } catch {
    throw new Error('its plaintext is not JSON (canopy secret set writes a JSON object of key → value)');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('its plaintext is not a JSON object of key → value');
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') throw new Error(`its key ${k} does not hold a string`);
  return v as Record<string, string>;
}

/** The NodeSecrets a node's sealed part opens to; the error names no value. */
export function nodeSecretsOf(plain: string): NodeSecrets {
  let v: NodeSecrets;
  try {
    v = JSON.parse(plain) as NodeSecrets;
  } catch {
    throw new Error('the sealed part is not JSON');
  }
  if (!v || typeof v !== 'object' || !v.secrets || typeof v.secrets !== 'object') throw new Error('the sealed part holds no secrets object');
  return v;
}

/** A short hash of a ciphertext: what changes a service's specHash when its secret changes (never of a plaintext). */
export function sealedHash(ciphertext: string): string {
  return createHash('sha256').update(ciphertext).digest('hex').slice(0, 16);
}
