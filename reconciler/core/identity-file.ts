// A part's identity file: its broker credential, its Ed25519 signing key, its age (X25519) key
// for sealed secrets, and the keys it trusts when it starts. Written by `canopy identity
// create` with mode 0600; read by `--identity FILE`. Loading checks it whole and says which
// file and field is wrong.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { IdentityFile } from '../../schemas/messages.js';
import { parsePayload } from '../../schemas/parse.js';
import { generateSigningKey, sameKey, signerFrom, type Signer } from './keys.js';
import { userNameOf, type IdentityRole } from './identity.js';

export type { IdentityFile };

export interface NewIdentity {
  fleet: string;
  role: IdentityRole;
  name: string;
  trust?: IdentityFile['trust'];
  /** Keep this broker credential (a rotated key keeps its user and password). */
  mqtt?: IdentityFile['mqtt'];
  /** Keys it had before (a rotation): kept to sign for peers that have not learned the new one. */
  previous?: IdentityFile['previous'];
}

export async function createIdentity(o: NewIdentity): Promise<IdentityFile> {
  const { generateX25519Identity, identityToRecipient } = await import('age-encryption');
  const ageIdentity = await generateX25519Identity();
  const comment = `${o.fleet}/${o.role === 'root' ? 'root' : `${o.role}/${o.name}`}`;
  return {
    apiVersion: 'canopy/v1',
    kind: 'Identity',
    fleet: o.fleet,
    role: o.role,
    name: o.role === 'root' ? 'root' : o.name,
    createdAt: new Date().toISOString(),
    mqtt: o.mqtt ?? { username: userNameOf(o.fleet, o.role, o.name), password: randomBytes(24).toString('base64url') },
    ed25519: generateSigningKey(comment),
    age: { recipient: await identityToRecipient(ageIdentity), identity: ageIdentity },
    ...(o.previous?.length ? { previous: o.previous.slice(0, 3) } : {}),
    ...(o.trust && Object.keys(o.trust).length ? { trust: o.trust } : {}),
  };
}

export function writeIdentity(file: string, id: IdentityFile): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, JSON.stringify(id, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
}

export interface LoadedIdentity {
  file: string;
  identity: IdentityFile;
  signer: Signer;
  /** Signers of its previous keys, newest first. */
  previous: Signer[];
}

/** Read and check an identity file; throws an Error naming the file and what is wrong. */
export function loadIdentity(file: string): LoadedIdentity {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`identity ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); make one with canopy identity create`);
  }
  const parsed = parsePayload('IdentityFile', text, `identity ${file}`);
  if (!parsed.ok) throw new Error(parsed.error);
  const identity = parsed.value;
  if ((identity.role === 'node') !== identity.name.includes('/')) {
    throw new Error(`identity ${file}: /name: a node is named cluster/node, other parts by one name (got ${identity.name})`);
  }
  let signer: Signer;
  try {
    signer = signerFrom(identity.ed25519.privateKey);
  } catch (e) {
    throw new Error(`identity ${file}: /ed25519/privateKey: ${(e as Error).message}`);
  }
  if (!sameKey(identity.ed25519.publicKey, signer.publicKey)) {
    throw new Error(`identity ${file}: /ed25519/publicKey is not the public half of /ed25519/privateKey`);
  }
  const previous: Signer[] = [];
  for (const [i, k] of (identity.previous ?? []).entries()) {
    try {
      previous.push(signerFrom(k.privateKey));
    } catch (e) {
      throw new Error(`identity ${file}: /previous/${i}/privateKey: ${(e as Error).message}`);
    }
  }
  if (identity.tls) {
    const base = path.dirname(path.resolve(file));
    for (const k of ['ca', 'cert', 'key'] as const) if (identity.tls[k]) identity.tls[k] = path.resolve(base, identity.tls[k]!);
  }
  return { file, identity, signer, previous };
}
