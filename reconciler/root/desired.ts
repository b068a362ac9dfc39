// Steps 1–2 of a root pass: read a commit of main and validate it into a desired state. The
// cost follows the change: the trees are diffed against the last good state (equal subtrees
// skipped), only changed blobs are read and parsed (parse results cached by blob oid), and the
// rules across files live in an index (core/fleet-index.ts) that the changed paths update.
import type { FleetDescriptor, ServiceSpec } from '../../schemas/model.js';
import { FleetIndex, MAX_DESCRIPTOR_BYTES, layoutOf, type FleetFile, type Problem, type ParseResult } from '../core/validate.js';
import type { Change as IndexChange, Indexed } from '../core/fleet-index.js';
import { serviceId, specHash } from '../core/ids.js';
import type { Repo } from '../git/repo.js';
import { objectStore, type ObjectStore } from '../git/odb.js';
import { readCommitObject } from '../git/log.js';
import { loadParseCache, saveParseCache } from './parse-cache.js';
import { sealedFileProblems } from '../core/secret-rules.js';
import { sealedSecretName } from '../core/secrets.js';
import { changedSecrets, secretFacts, servicePathsUsing } from './secrets.js';
import { diffTrees, type Change as TreeChange } from '../git/tree.js';
import { fileUserPaths, withFileOids } from './files.js';

export interface DesiredService {
  id: string;
  spec: ServiceSpec;
  specHash: string;
  file: string;
  /** Secret → the clusters it is sealed to, for the secrets it uses (root/secrets.ts). */
  sealedTo?: Record<string, string[]>;
  /** A hash of the ciphertexts of the secrets it uses: part of its assignment's hash. */
  sealed?: string;
}

export interface DesiredState {
  commit: string;
  tree: string;
  /** Every file of the tree, parsed and indexed; the next commit is judged against it. (A state
   * built by hand, as tests do, may lack it: the next load then starts from scratch.) */
  index?: FleetIndex;
  files: ReadonlyMap<string, FleetFile>;
  fleet: FleetDescriptor;
  services: Map<string, DesiredService>;
}

/** A load of at least this many files is a cold one: it uses the on-disk parse cache. */
const COLD_FILES = 200;

export type LoadResult = { ok: true; state: DesiredState; changed: Set<string>; removed: Set<string> } | { ok: false; problems: Problem[] };

export interface LoadOptions {
  /**
   * Hand `prev` over instead of copying it: its index and services map are updated in place
   * (no O(fleet) copy). On rejection they are restored and `prev` stays valid; once accepted,
   * only the new state may be used. The root does this; a caller that keeps both states must not.
   */
  consume?: boolean;
}

export async function loadDesired(
  repo: Repo,
  commit: string,
  last: DesiredState | undefined,
  cache: Map<string, ParseResult>,
  o: LoadOptions = {},
): Promise<LoadResult> {
  const prev = last?.index ? (last as DesiredState & { index: FleetIndex }) : undefined;
  const tree = (await readCommitObject(repo, commit)).tree;
  const store = objectStore(repo);
  const diff = await diffTrees(repo, prev?.tree, tree);
  // A whole tree to judge (a start, a plan): verdicts this clone stored before are reused.
  const cold = !prev && diff.length >= COLD_FILES;
  if (cold) await loadParseCache(repo, cache);
  const parsedBefore = cache.size;
  const { changes, treeProblems } = await changesOf(store, diff, cache);

  const index = !prev ? new FleetIndex(cache) : o.consume ? prev.index : prev.index.clone();
  const before = new Map<string, Indexed | undefined>(changes.map(([p]) => [p, index.get(p)]));
  const undo = index.apply(changes);
  if (cold && cache.size - parsedBefore >= COLD_FILES / 4) {
    await saveParseCache(
      repo,
      [...index.values()].flatMap((e) => (e.result && e.file.oid ? [[e.file.oid, e.result] as [string, ParseResult]] : [])),
    );
  }
  const secretsChanged = changes.some(([p]) => p.startsWith('secrets/'));
  const problems = [...treeProblems, ...index.problems(), ...(secretsChanged ? sealedFileProblems(new FilesView(index)) : [])];
  if (problems.length) {
    if (prev && o.consume) index.apply(undo);
    problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
    return { ok: false, problems };
  }

  const services = !prev ? new Map<string, DesiredService>() : o.consume ? prev.services : new Map(prev.services);
  const { changed, removed } = updateServices(services, index, before, changes);
  const state: DesiredState = { commit, tree, index, files: new FilesView(index), fleet: index.fleet()!, services };
  return { ok: true, state, changed, removed };
}

/**
 * The index changes for a tree diff: each changed file with its text, or, when its verdict is
 * cached, with its text read only if needed; what a fleet repository may not hold is a problem.
 */
async function changesOf(
  store: ObjectStore,
  diff: TreeChange[],
  cache: Map<string, ParseResult>,
): Promise<{ changes: IndexChange[]; treeProblems: Problem[] }> {
  const treeProblems: Problem[] = [];
  const changes: IndexChange[] = [];
  for (const c of diff) {
    if (!c.after) {
      changes.push([c.path, null]);
      continue;
    }
    if (c.after.type === 'commit') {
      treeProblems.push(at(c.path, 'submodules are not allowed in a fleet repository'));
      continue;
    }
    if (c.after.mode === '120000') {
      treeProblems.push(at(c.path, 'symbolic links are not allowed in a fleet repository: commit the file itself'));
      continue;
    }
    if (layoutOf(c.path).kind === 'ignored') {
      // A sealed secret's ciphertext is read when needed (its placement); other ignored files never.
      // A config file's size and bytes when a service names it (spec.files).
      changes.push([c.path, sealedSecretName(c.path) ? lazyFile(store, c.path, c.after.oid) : blobFile(store, c.path, c.after.oid)]);
      continue;
    }
    const hit = cache.get(c.after.oid);
    if (hit?.file === c.path) {
      changes.push([c.path, lazyFile(store, c.path, c.after.oid)]);
      continue;
    }
    const body = await store.readType(c.after.oid, 'blob');
    if (body.length > MAX_DESCRIPTOR_BYTES) {
      treeProblems.push(at(c.path, `file is ${body.length} bytes: a descriptor may be at most 1 MiB (${MAX_DESCRIPTOR_BYTES} bytes); not parsed`));
      continue;
    }
    changes.push([c.path, { path: c.path, oid: c.after.oid, text: body.toString('utf8'), size: body.length, bytes: () => body }]);
  }
  return { changes, treeProblems };
}

/**
 * Brings `services` (the last state's, or a copy) up to the accepted index, touching only the
 * changed paths (`before`: what each held before); an unchanged service keeps its object.
 */
function updateServices(
  services: Map<string, DesiredService>,
  index: FleetIndex,
  before: Map<string, Indexed | undefined>,
  changes: IndexChange[],
): { changed: Set<string>; removed: Set<string> } {
  const old = new Map<string, DesiredService>();
  for (const [path, was] of before) {
    const id = serviceOf(was);
    const s = id ? services.get(id) : undefined;
    if (id && s && s.file === path) {
      old.set(id, s);
      services.delete(id);
    }
  }
  const changed = new Set<string>();
  // Services using a secret set anew (or sealed to other clusters) are looked at again too.
  const users = servicePathsUsing(index, changedSecrets(changes.map(([p]) => p)));
  // And services whose config files (spec.files) changed: their spec carries the new blob ids.
  for (const p of fileUserPaths(
    index,
    changes.map(([p]) => p),
  ))
    users.add(p);
  for (const path of new Set([...changes.map(([p]) => p), ...users])) {
    const e = index.get(path);
    const id = serviceOf(e);
    if (!id || e?.result?.ok !== true || e.result.kind !== 'Service') continue;
    const spec = withFileOids(index, e.result.value.spec);
    const facts = secretFacts(index, spec);
    const hash = facts.sealed ? specHash([specHash(spec), facts.sealed, facts.sealedTo]) : specHash(spec);
    const was = old.get(id) ?? (users.has(path) ? services.get(id) : undefined);
    services.set(id, was && was.specHash === hash && was.file === path ? was : { id, spec, specHash: hash, file: path, ...facts });
    if (was?.specHash !== hash) changed.add(id);
  }
  const removed = new Set([...old.keys()].filter((id) => !services.has(id)));
  return { changed, removed };
}

function serviceOf(e: Indexed | undefined): string | undefined {
  const r = e?.result;
  return r?.ok && r.kind === 'Service' ? serviceId(r.value.metadata.app, r.value.metadata.name) : undefined;
}

/**
 * A file whose verdict is cached: its text is read only if a rule across files needs it (to
 * place a duplicate's problem at its line), which an accepted tree never does.
 */
function lazyFile(store: ObjectStore, path: string, oid: string): FleetFile {
  let text: string | undefined;
  return {
    path,
    oid,
    get text() {
      return (text ??= store.readSync(oid)?.body.toString('utf8') ?? '');
    },
  };
}

/** A file that is not a descriptor: no text; its size and bytes read when asked (its size once). */
function blobFile(store: ObjectStore, path: string, oid: string): FleetFile {
  let size: number | undefined;
  const bytes = () => store.readSync(oid)?.body ?? Buffer.alloc(0);
  return {
    path,
    oid,
    text: '',
    get size() {
      return (size ??= bytes().length);
    },
    bytes,
  };
}

function at(file: string, message: string): Problem {
  return { file, line: 1, column: 1, message };
}

/** The files of a desired state, read through its index (no second map to keep in step). */
class FilesView implements ReadonlyMap<string, FleetFile> {
  constructor(private readonly index: FleetIndex) {}
  get size(): number {
    return this.index.size;
  }
  get(p: string): FleetFile | undefined {
    return this.index.get(p)?.file;
  }
  has(p: string): boolean {
    return this.index.get(p) !== undefined;
  }
  *entries(): MapIterator<[string, FleetFile]> {
    for (const e of this.index.values()) yield [e.file.path, e.file];
  }
  keys(): MapIterator<string> {
    return this.index.paths();
  }
  *values(): MapIterator<FleetFile> {
    for (const e of this.index.values()) yield e.file;
  }
  [Symbol.iterator](): MapIterator<[string, FleetFile]> {
    return this.entries();
  }
  forEach(fn: (v: FleetFile, k: string, m: ReadonlyMap<string, FleetFile>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }
}
