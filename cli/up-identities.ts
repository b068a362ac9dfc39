// `canopy up` runs its fleet with identities, always: one per part, kept in
// DIR/.git/canopy-up/identities/ (root.json, operator.json, clusters/C.json, nodes/C/N.json) so
// that a user can point other tools at the fleet, and their public keys declared on main (one
// commit, made only when a key is missing), so the root accepts them and hands them down.
import { existsSync } from 'node:fs';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createIdentity, loadIdentity, writeIdentity, type IdentityFile } from '../reconciler/core/identity-file.js';
import type { IdentityRole } from '../reconciler/core/identity.js';
import { sameKey } from '../reconciler/core/keys.js';
import { declarationFile, declaredAge, declaredKeys, declareKey, newClusterFile, sealsSecrets } from '../reconciler/core/declare-keys.js';

export interface UpPart {
  role: IdentityRole;
  name: string;
}

export interface UpIdentities {
  dir: string;
  /** Where each part's identity file is. */
  file(part: UpPart): string;
  /** Every identity, for the embedded broker's users. */
  all: IdentityFile[];
  /** The commit that declared missing keys, if one was made. */
  declared?: string;
}

export function identityPath(dir: string, p: UpPart): string {
  if (p.role === 'root') return path.join(dir, 'root.json');
  if (p.role === 'operator') return path.join(dir, 'operator.json');
  if (p.role === 'cluster') return path.join(dir, 'clusters', `${p.name}.json`);
  const [c, n] = p.name.split('/');
  return path.join(dir, 'nodes', c!, `${n}.json`);
}

/**
 * Make (or reuse) the identities of `parts` for fleet `fleet` in the work tree `repoDir`, and
 * commit the declarations main lacks. The root comes first, then clusters, then nodes: each
 * trusts the keys of the one above it.
 */
export async function ensureUpIdentities(repoDir: string, gitdir: string, fleet: string, parts: UpPart[]): Promise<UpIdentities> {
  const dir = path.join(gitdir, 'canopy-up', 'identities');
  const order: Record<IdentityRole, number> = { root: 0, operator: 1, cluster: 2, node: 3 };
  const sorted = [{ role: 'root', name: 'root' } as UpPart, { role: 'operator', name: 'operator' } as UpPart, ...parts].sort(
    (a, b) => order[a.role] - order[b.role],
  );
  const ids = new Map<string, IdentityFile>();
  const key = (p: UpPart) => `${p.role}:${p.name}`;
  const changed = new Set<string>();
  const read = (rel: string) => readFile(path.join(repoDir, rel), 'utf8').catch(() => undefined);
  for (const p of sorted) {
    const file = identityPath(dir, p);
    const have = existsSync(file) ? loadIdentity(file).identity : undefined;
    const trust = trustFor(p, ids);
    const id = have && have.fleet === fleet ? have : await createIdentity({ fleet, role: p.role, name: p.name, trust });
    // A part above was made anew (its file removed): trust its new key.
    if (id === have && trust && JSON.stringify(have.trust) !== JSON.stringify(trust)) id.trust = trust;
    if (id !== have || id.trust !== trust) writeIdentity(file, id);
    ids.set(key(p), id);
    const rel = declarationFile(p.role, p.name);
    const text = (await read(rel)) ?? newClusterFile(p.name.split('/')[0]!);
    const age = sealsSecrets(p.role) ? id.age.recipient : undefined;
    const hasKey = declaredKeys(rel, text, p.role, p.name).some((k) => sameKey(k, id.ed25519.publicKey));
    if (hasKey && declaredAge(rel, text, p.role, p.name) === age) continue;
    const next = declareKey(rel, text, p.role, p.name, id.mqtt.username, id.ed25519.publicKey, age).text;
    await mkdir(path.dirname(path.join(repoDir, rel)), { recursive: true });
    await writeFile(path.join(repoDir, rel), next);
    changed.add(rel);
  }
  const declared = changed.size ? await commitDeclarations(repoDir, [...changed].sort()) : undefined;
  return { dir, file: (p) => identityPath(dir, p), all: [...ids.values()], declared };
}

function trustFor(p: UpPart, ids: Map<string, IdentityFile>): IdentityFile['trust'] {
  if (p.role === 'cluster') return { root: [ids.get('root:root')!.ed25519.publicKey] };
  if (p.role === 'node') return { cluster: [ids.get(`cluster:${p.name.split('/')[0]}`)!.ed25519.publicKey] };
  return undefined;
}

/** Commit the declaration files on main, as `git add && git commit` would. */
async function commitDeclarations(dir: string, files: string[]): Promise<string> {
  const [{ default: git }, { default: fs }] = await Promise.all([import('isomorphic-git'), import('node:fs')]);
  for (const f of files) await git.add({ fs, dir, filepath: f });
  const author = { name: 'canopy up', email: 'up@canopy.invalid' };
  return git.commit({ fs, dir, message: `Declare the keys of the fleet's parts (canopy up)\n\n${files.join('\n')}\n`, author });
}
