// One writer per canopy ref, enforced by the Git server: `canopy git-hook pre-receive` runs in the
// fleet's (bare) repository as git's pre-receive hook and refuses a push that writes a canopy
// ref its user does not own. Only the root's Git user writes refs/canopy/placements/* and
// refs/notes/canopy; only cluster C's writes refs/canopy/status/C, and the root's too when it
// carries C's history from a bundle (an air-gapped site): then the push must fast-forward the
// ref and every new commit carry a signature by C's declared keys (clusters/C.yaml
// spec.identity.keys), judged by native git (status-history.ts); nobody writes any other ref
// under refs/canopy/ (a stray refs/canopy/status/munich/x would block munich's own ref). Branches
// and tags are the Git host's business.
//
// The users are those the repository declares (fleet.yaml spec.trust.root.user, clusters/C.yaml
// spec.identity.user), read from main as it is BEFORE the push: git runs the hook before it
// moves any ref, so a push cannot rewrite the rules it is judged by. The judging below is pure;
// readDeclarations is the one native git read.
import { parseNote } from '../core/note.js';
import { execFileSync } from 'node:child_process';
import { parseDocument } from 'yaml';
import { NOTES_REF } from '../core/refs.js';

/** One line of a pre-receive hook's stdin. */
export interface RefUpdate {
  oldOid: string;
  newOid: string;
  ref: string;
}

/** A stdin line that is not `<old-oid> <new-oid> <ref>`. */
export class HookInputError extends Error {}

/** 40 hex digits (SHA-1) or 64 (a SHA-256 repository), the same length on both sides. */
const UPDATE_LINE = /^([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64}) (\S+)$/;

const clip = (s: string, max = 200) => JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);

/** git's stdin to a pre-receive hook: one `<old-oid> <new-oid> <ref>` line per ref the push updates. */
export function parseUpdates(text: string): RefUpdate[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line, i) => {
    const m = UPDATE_LINE.exec(line);
    if (!m || m[1].length !== m[2].length)
      throw new HookInputError(`stdin line ${i + 1} is not "<old-oid> <new-oid> <ref>" (hex object ids, as git gives a pre-receive hook): ${clip(line)}`);
    return { oldOid: m[1], newOid: m[2], ref: m[3] };
  });
}

/** The Git users the repository declares, as read from `branch`. */
export interface WriterRules {
  branch: string;
  /** fleet.yaml spec.trust.root.user */
  root?: string;
  /** cluster → clusters/<cluster>.yaml spec.identity.user */
  clusters: Map<string, string>;
  /** cluster → clusters/<cluster>.yaml spec.identity.keys (SSH public keys): what its status commits are signed with. */
  keys: Map<string, string[]>;
}

/** A file of the repository as read from the branch. */
export interface DeclarationFile {
  path: string;
  text: string;
}

/** As schemas/model.ts PartKeys.user. */
const USER = /^[A-Za-z0-9._@-]{1,128}$/;
const CLUSTER_FILE = /^clusters\/([^/]+)\.yaml$/;

/** The value at `keys` in a parsed document, if every step is a plain object. */
function dig(value: unknown, keys: string[]): unknown {
  let v = value;
  for (const k of keys) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** The user at `keys` in a file: undefined when absent; a note when the file or the value is unusable. */
function userIn(file: DeclarationFile, keys: string[], branch: string, notes: string[]): string | undefined {
  const doc = parseDocument(file.text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) {
    notes.push(`${file.path} on ${branch} does not parse as YAML (${doc.errors[0].message.split('\n')[0]}): the user it declares is ignored`);
    return undefined;
  }
  let user: unknown;
  try {
    user = dig(doc.toJS({ maxAliasCount: 100 }), keys);
  } catch (e) {
    notes.push(`${file.path} on ${branch} cannot be read (${(e as Error).message}): the user it declares is ignored`);
    return undefined;
  }
  if (user === undefined || user === null) return undefined;
  if (typeof user === 'string' && USER.test(user)) return user;
  notes.push(`${file.path} on ${branch}: ${keys.join('.')} is not a user name (letters, digits and ._@-, at most 128): ignored`);
  return undefined;
}

/** The key lines at spec.identity.keys (strings only; an unusable file declares none: userIn has said why). */
function keysIn(file: DeclarationFile): string[] {
  try {
    const keys = dig(parseDocument(file.text, { uniqueKeys: true, prettyErrors: false }).toJS({ maxAliasCount: 100 }), ['spec', 'identity', 'keys']);
    return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : [];
  } catch {
    return [];
  }
}

/** The rules from fleet.yaml and clusters/*.yaml; notes say which files were ignored and why. */
export function rulesFrom(files: DeclarationFile[], branch = 'main'): { rules: WriterRules; notes: string[] } {
  const notes: string[] = [];
  const rules: WriterRules = { branch, clusters: new Map(), keys: new Map() };
  for (const f of files) {
    const cluster = CLUSTER_FILE.exec(f.path)?.[1];
    if (f.path === 'fleet.yaml') rules.root = userIn(f, ['spec', 'trust', 'root', 'user'], branch, notes);
    else if (cluster) {
      const user = userIn(f, ['spec', 'identity', 'user'], branch, notes);
      if (user !== undefined) rules.clusters.set(cluster, user);
      const keys = keysIn(f);
      if (keys.length) rules.keys.set(cluster, keys);
    }
  }
  return { rules, notes };
}

/** Whether the repository declares any user: without one, the hook refuses nothing. */
export const declaresUsers = (r: WriterRules): boolean => r.root !== undefined || r.clusters.size > 0;

/** Who a ref belongs to: the root, one cluster, nobody (else under refs/canopy), or the Git host. */
export type RefOwner = { kind: 'root' } | { kind: 'status'; cluster: string } | { kind: 'nobody' } | { kind: 'host' };

const PLACEMENTS = 'refs/canopy/placements/';
const STATUS = 'refs/canopy/status/';

export function ownerOf(ref: string): RefOwner {
  if (ref === NOTES_REF || (ref.startsWith(PLACEMENTS) && ref.length > PLACEMENTS.length)) return { kind: 'root' };
  if (ref.startsWith(STATUS) && ref.length > STATUS.length) return { kind: 'status', cluster: ref.slice(STATUS.length) };
  // refs/canopy itself and refs/notes/canopy/* too: either would keep canopy's own refs from being created.
  if (ref === 'refs/canopy' || ref.startsWith('refs/canopy/') || ref.startsWith(`${NOTES_REF}/`)) return { kind: 'nobody' };
  return { kind: 'host' };
}

/** Whether a push updates any ref canopy's rules cover (else the hook has nothing to judge). */
export const touchesCanopy = (updates: RefUpdate[]): boolean => updates.some((u) => ownerOf(u.ref).kind !== 'host');

/** Where a hook finds the pushing user: git http-backend (REMOTE_USER), Gitea, GitLab. */
export const PUSHER_VARIABLES = ['REMOTE_USER', 'GITEA_PUSHER_NAME', 'GL_USERNAME'] as const;

/** The pushing user, from the first of PUSHER_VARIABLES that is set and not empty. */
export function pusherFrom(env: Record<string, string | undefined>): string | undefined {
  for (const v of PUSHER_VARIABLES) if (env[v]) return env[v];
  return undefined;
}

/**
 * What native git found of a root's push to refs/canopy/status/C (status-history.ts): whether it
 * fast-forwards the ref, and the first new commit C's keys did not sign, if any.
 */
export interface StatusHistory {
  fastForward: boolean;
  /** e.g. "commit 0123abcd4567 is not signed" */
  problem?: string;
}

/** The root pushing a status ref that is not its own: allowed only for C's signed history, which native git must check first. */
export function needsHistory(u: RefUpdate, user: string | undefined, rules: WriterRules): boolean {
  const owner = ownerOf(u.ref);
  return owner.kind === 'status' && user !== undefined && user === rules.root && user !== rules.clusters.get(owner.cluster);
}

/** The root's push of C's status history: fast-forward, every new commit signed by C's declared keys. */
function rootStatusRefusal(cluster: string, u: RefUpdate, rules: WriterRules, h: StatusHistory | undefined): string | undefined {
  const file = `clusters/${cluster}.yaml on ${rules.branch}`;
  if (!rules.keys.get(cluster)?.length) return `the root writes it only with commits signed by cluster ${cluster}, and ${file} declares no spec.identity.keys`;
  if (/^0+$/.test(u.newOid)) return `the root never deletes cluster ${cluster}'s status history`;
  if (!h) return `its history was not checked`;
  if (!h.fastForward) return `the root may only add to cluster ${cluster}'s status history (a fast-forward), never rewrite it`;
  if (h.problem) return `every new commit must be signed by cluster ${cluster}'s keys (${file}): ${h.problem}`;
  return undefined;
}

/** Why this user may not make this update (one line for stderr), or undefined when it may. */
export function refusal(
  u: RefUpdate,
  user: string | undefined,
  rules: WriterRules,
  histories: ReadonlyMap<string, StatusHistory> = new Map(),
): string | undefined {
  const owner = ownerOf(u.ref);
  if (owner.kind === 'host' || !declaresUsers(rules)) return undefined;
  const who = user === undefined ? `an unauthenticated push (none of ${PUSHER_VARIABLES.join(', ')} is set)` : `user ${user}`;
  const refuse = (why: string) => `canopy: refused ${u.ref} for ${who}: ${why}`;
  if (owner.kind === 'root') {
    if (rules.root === undefined) return refuse(`only the root writes it, and fleet.yaml on ${rules.branch} declares no spec.trust.root.user`);
    return user === rules.root ? undefined : refuse(`only the root (user ${rules.root}) writes it`);
  }
  if (owner.kind === 'status') {
    const own = rules.clusters.get(owner.cluster);
    if (own === undefined)
      return refuse(`only cluster ${owner.cluster} writes it, and clusters/${owner.cluster}.yaml on ${rules.branch} declares no spec.identity.user`);
    if (user === own) return undefined;
    if (user !== undefined && user === rules.root) {
      const why = rootStatusRefusal(owner.cluster, u, rules, histories.get(u.ref));
      return why === undefined ? undefined : refuse(why);
    }
    return refuse(`only cluster ${owner.cluster} (user ${own}) writes it`);
  }
  return refuse(`canopy writes only ${PLACEMENTS}*, ${STATUS}<cluster> and ${NOTES_REF}; nobody writes other refs there`);
}

/** The verdict on a whole push: git refuses all of it when any ref is refused. */
export function judgePush(
  updates: RefUpdate[],
  user: string | undefined,
  rules: WriterRules,
  histories: ReadonlyMap<string, StatusHistory> = new Map(),
): { refused: string[]; warnings: string[] } {
  const warnings: string[] = [];
  if (!declaresUsers(rules) && touchesCanopy(updates))
    warnings.push(
      `canopy: warning: ${rules.branch} declares no Git users (fleet.yaml spec.trust.root, clusters/<cluster>.yaml spec.identity), ` +
        `so anyone may write refs/canopy/* and ${NOTES_REF}: create identities (canopy identity create) and commit them`,
    );
  const refused = updates.map((u) => refusal(u, user, rules, histories)).filter((r): r is string => r !== undefined);
  return { refused, warnings };
}

// ---- Reading the declarations with native git --------------------------------------------------

/** Descriptors are limited to 1 MiB (reconciler/core/validate.ts); a bigger file declares nothing. */
const MAX_FILE_BYTES = 1024 * 1024;

const gitOut = (args: string[], cwd?: string, input?: Buffer): Buffer =>
  execFileSync('git', args, { cwd, input, maxBuffer: 256 * 1024 * 1024, stdio: ['pipe', 'pipe', 'pipe'] });

/**
 * fleet.yaml and clusters/*.yaml as they are on `refs/heads/<branch>` of the repository git runs
 * the hook in (its GIT_DIR, or `cwd`): none when the branch does not exist yet. One ls-tree and
 * one cat-file --batch, however many clusters. Throws when the repository cannot be read.
 */
export function readDeclarations(branch = 'main', cwd?: string): { files: DeclarationFile[]; notes: string[] } {
  const ref = `refs/heads/${branch}`;
  let commit: string;
  try {
    commit = gitOut(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], cwd)
      .toString()
      .trim();
  } catch (e) {
    if ((e as { status?: number }).status === 1) return { files: [], notes: [`${ref} does not exist yet: no Git users are declared`] };
    throw new Error(`cannot read ${ref}: ${String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim()}`);
  }
  const notes: string[] = [];
  commit = lastAccepted(commit, branch, notes, cwd);
  const blobs: Array<{ path: string; oid: string }> = [];
  for (const entry of gitOut(['ls-tree', '-l', '-z', commit, '--', 'fleet.yaml', 'clusters/'], cwd).toString().split('\0')) {
    const blob = declarationBlob(entry);
    if (!blob) continue;
    if (blob.size > MAX_FILE_BYTES)
      notes.push(`${blob.path} on ${branch} is ${blob.size} bytes (descriptors are limited to 1 MiB): the user it declares is ignored`);
    else blobs.push(blob);
  }
  return { files: readBlobs(blobs, cwd), notes };
}

/** How far back along main the hook looks for the commit the root last accepted. */
const ACCEPTED_WITHIN = 1000;

/**
 * The rules in force are those of the commit the root last accepted (its note in
 * refs/notes/canopy says so), not main's tip: a push to main that rewrites clusters/munich.yaml
 * (unsigned, where signed commits are required, or not yet judged) cannot hand anyone munich's
 * status ref. Before the root has noted anything, main's tip. One git log, notes included.
 */
function lastAccepted(tip: string, branch: string, notes: string[], cwd?: string): string {
  let out: string;
  try {
    out = gitOut(['log', '--first-parent', `-n${ACCEPTED_WITHIN}`, '--notes=refs/notes/canopy', '--format=%H%x00%N%x01', tip], cwd).toString();
  } catch {
    return tip;
  }
  let noted = false;
  for (const rec of out.split('\x01')) {
    const [oid, text] = rec.replace(/^\n/, '').split('\0');
    if (!oid || !text?.trim()) continue;
    noted = true;
    if (parseNote(text)?.outcome === 'accepted') {
      if (oid !== tip) notes.push(`rules from ${oid.slice(0, 12)}, the commit on ${branch} the root last accepted`);
      return oid;
    }
  }
  if (noted) notes.push(`no commit among the last ${ACCEPTED_WITHIN} on ${branch} was accepted by the root: rules from its tip`);
  return tip;
}

/** An `ls-tree -l -z` entry that is fleet.yaml or clusters/<name>.yaml, a file (not a link, not a folder). */
function declarationBlob(entry: string): { path: string; oid: string; size: number } | undefined {
  const m = /^(\d+) (\w+) ([0-9a-f]+) +(\S+)\t(.*)$/s.exec(entry);
  if (m?.[2] !== 'blob' || m[1] === '120000') return undefined;
  return m[5] === 'fleet.yaml' || CLUSTER_FILE.test(m[5]) ? { path: m[5], oid: m[3], size: Number(m[4]) } : undefined;
}

/** The blobs' texts, by one `git cat-file --batch`. */
function readBlobs(blobs: Array<{ path: string; oid: string }>, cwd?: string): DeclarationFile[] {
  if (!blobs.length) return [];
  const out = gitOut(['cat-file', '--batch'], cwd, Buffer.from(blobs.map((b) => `${b.oid}\n`).join('')));
  const files: DeclarationFile[] = [];
  let at = 0;
  for (const b of blobs) {
    const eol = out.indexOf(0x0a, at);
    const header = out.subarray(at, eol).toString();
    const m = /^([0-9a-f]+) blob (\d+)$/.exec(header);
    if (!m || m[1] !== b.oid) throw new Error(`git cat-file --batch answered ${clip(header)} for ${b.path} (${b.oid})`);
    const size = Number(m[2]);
    files.push({ path: b.path, text: out.subarray(eol + 1, eol + 1 + size).toString('utf8') });
    at = eol + 1 + size + 1;
  }
  return files;
}

// ---- The hook script -------------------------------------------------------------------------

/** The line that marks a pre-receive hook as canopy's (install overwrites only such a hook). */
export const HOOK_MARK = '# canopy git-hook pre-receive';

const shQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** hooks/pre-receive: runs this canopy (absolute paths of node and its entry) on git's stdin. */
export function hookScript(node: string, cli: string, args: string[] = []): string {
  return [
    '#!/bin/sh',
    HOOK_MARK,
    '# Written by `canopy git-hook install`: only the Git users the fleet declares write refs/canopy/*',
    '# and refs/notes/canopy (see `canopy git-hook --help`). Branches and tags are not judged here.',
    `exec ${[node, cli, 'git-hook', 'pre-receive', ...args].map(shQuote).join(' ')}`,
    '',
  ].join('\n');
}
