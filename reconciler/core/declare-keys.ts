// Writes a part's public key and user name into the fleet repository's declaration files, as
// `canopy identity create` does: the root's and operators' into fleet.yaml (spec.trust), a
// cluster's and its nodes' into clusters/<c>.yaml (spec.identity, spec.nodeIdentities). The
// files are edited as YAML documents, so comments and order survive; a key already declared
// for the part stays (a rotation: old and new are both valid until the old one is removed).
import { isMap, parseDocument, type Document } from 'yaml';
import type { PartKeys } from '../../schemas/model.js';
import type { IdentityRole } from './identity.js';
import { sameKey } from './keys.js';

export interface Declared {
  /** The file's new text. */
  text: string;
  /** How many keys the part has now (more than one: a rotation in progress). */
  keys: number;
}

/** The YAML path of a part's declaration inside its file. */
export function declarationPath(role: IdentityRole, name: string): string[] {
  switch (role) {
    case 'root':
      return ['spec', 'trust', 'root'];
    case 'operator':
      return ['spec', 'trust', 'operators', name];
    case 'cluster':
      return ['spec', 'identity'];
    case 'node':
      return ['spec', 'nodeIdentities', name.split('/')[1]!];
  }
}

/** The file a part is declared in, relative to the repository. */
export function declarationFile(role: IdentityRole, name: string): string {
  return role === 'root' || role === 'operator' ? 'fleet.yaml' : `clusters/${name.split('/')[0]}.yaml`;
}

/** A new clusters/<c>.yaml for a cluster the repository does not declare yet. */
export function newClusterFile(cluster: string): string {
  return `# Cluster ${cluster}: declared so that its keys are known (canopy identity create).\napiVersion: canopy/v1\nkind: Cluster\nmetadata:\n  name: ${cluster}\n`;
}

/**
 * Add `key` (and set `user`, and `age`: the part's age recipient, which secrets are sealed to) for
 * the part in `text`; throws with the file name when it is not YAML.
 */
export function declareKey(file: string, text: string, role: IdentityRole, name: string, user: string, key: string, age?: string): Declared {
  const doc = load(file, text);
  const at = declarationPath(role, name);
  const cur = doc.getIn(at, false) as unknown;
  const old = isMap(cur) ? (cur.toJSON() as Partial<PartKeys>) : undefined;
  const keys = [...(old?.keys ?? []).filter((k) => !sameKey(k, key)), key];
  const recipient = age ?? old?.age;
  doc.setIn(at, doc.createNode({ user, keys, ...(recipient ? { age: recipient } : {}) }));
  return { text: doc.toString({ lineWidth: 0 }), keys: keys.length };
}

/** The keys declared for a part, from a declaration file's text (none when it declares none). */
export function declaredKeys(file: string, text: string | undefined, role: IdentityRole, name: string): string[] {
  if (text === undefined) return [];
  const v = load(file, text).getIn(declarationPath(role, name)) as { toJSON?: () => unknown } | undefined;
  const keys = (v && typeof v.toJSON === 'function' ? (v.toJSON() as Partial<PartKeys>).keys : undefined) ?? [];
  return keys.filter((k) => typeof k === 'string');
}

/** The age recipient declared for a part (undefined when none is). */
export function declaredAge(file: string, text: string | undefined, role: IdentityRole, name: string): string | undefined {
  if (text === undefined) return undefined;
  const v = load(file, text).getIn([...declarationPath(role, name), 'age']);
  return typeof v === 'string' ? v : undefined;
}

/** Whether a part's secrets can be sealed: clusters and nodes declare an age recipient. */
export function sealsSecrets(role: IdentityRole): boolean {
  return role === 'cluster' || role === 'node';
}

/** The fleet's name from fleet.yaml. */
export function fleetName(file: string, text: string): string {
  const name = load(file, text).getIn(['metadata', 'name']);
  if (typeof name !== 'string' || !name) throw new Error(`${file}: metadata.name is missing: is this a canopy fleet repository?`);
  return name;
}

function load(file: string, text: string): Document {
  const doc = parseDocument(text);
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const [line, col] = e.linePos?.[0] ? [e.linePos[0].line, e.linePos[0].col] : [1, 1];
    throw new Error(`${file}:${line}:${col}: not valid YAML (${e.message.split('\n')[0]}); fix it before adding keys`);
  }
  return doc;
}
