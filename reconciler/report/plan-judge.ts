// Judging a commit by what it changed since a commit known to validate (an anchor), without
// reading the rest of the tree: the problems are exactly those loadDesired finds for the whole
// tree (root/desired.ts), because in a tree that validates
//  - every file is fine on its own, so a problem of a file's own is in a changed file;
//  - a descriptor's name agrees with its path, so the only unchanged file that can share a name
//    (service id, cluster name) with a changed one is the file at that name's own path: the
//    index below holds the changed files, those files and fleet.yaml, and finds every duplicate;
//  - every latency target named is declared, so an unchanged service can name an unknown target
//    only if fleet.yaml dropped one: then this judge declines (undefined), and the caller reads
//    the whole tree;
//  - there are no symlinks, submodules or oversized files, so any is among the changed entries;
//  - every config file a service names (spec.files) is there and small enough, so one missing or
//    too large is named by a changed service (its files are read here), or is a config file
//    changed or deleted (then this judge declines: its users did not change).
// "Known to validate" is the root's verdict (an accepted note, or the commit its placements came
// from), or one this judge reached itself.
import type { ParseResult, Problem } from '../core/validate.js';
import { FleetIndex, MAX_DESCRIPTOR_BYTES, layoutOf } from '../core/validate.js';
import type { Change as IndexChange } from '../core/fleet-index.js';
import { parseCached } from '../core/parse-descriptor.js';
import { isConfigPath } from '../core/file-rules.js';
import { isAirGapped } from '../core/air-gapped.js';
import type { FleetDescriptor } from '../../schemas/model.js';
import type { Repo } from '../git/repo.js';
import type { ClusterView } from '../root/cluster-view.js';
import { objectStore } from '../git/odb.js';
import { diffTrees, entryAtPath, readEntries, type Change } from '../git/tree.js';

export interface Judgement {
  problems: Problem[];
  /** The changed files (and their namesakes, and fleet.yaml), parsed. */
  index: FleetIndex;
  /** The tree diff from the anchor. */
  diff: Change[];
}

/** `tree` judged against `anchorTree`, a tree known to validate; undefined when that cannot be done exactly. */
export async function judgeAgainst(
  repo: Repo,
  anchorTree: string,
  tree: string,
  cache: Map<string, ParseResult>,
  o: { keepUnread?: boolean } = {},
): Promise<Judgement | undefined> {
  const diff = await diffTrees(repo, anchorTree, tree);
  const treeProblems: Problem[] = [];
  const changes: IndexChange[] = [];
  const changed = new Set<string>();
  for (const c of diff) {
    changed.add(c.path);
    // A config file changed or deleted (under config/, or a file outside the layout, which a tree
    // that validates holds only when a service names it) reaches services that did not change
    // (their files, their specs' blob ids): the whole tree answers for those. One added reaches
    // only the changed services naming it.
    const kind = layoutOf(c.path).kind;
    if ((kind === 'unknown' || isConfigPath(c.path)) && c.before) return undefined;
    if (!c.after) continue;
    if (c.after.type === 'commit') {
      treeProblems.push(at(c.path, 'submodules are not allowed in a fleet repository'));
      continue;
    }
    if (c.after.mode === '120000') {
      treeProblems.push(at(c.path, 'symbolic links are not allowed in a fleet repository: commit the file itself'));
      continue;
    }
    if (kind === 'ignored') continue;
    const file = await fileAt(repo, c.path, c.after.oid, cache);
    if (!file) {
      treeProblems.push(at(c.path, await tooLarge(repo, c.after.oid)));
      // As loadDesired judging against a last good state: a file it could not read keeps its
      // version there (it finds no "missing fleet.yaml" when fleet.yaml grew too large).
      if (o.keepUnread && c.before?.type === 'blob') changes.push([c.path, (await fileAt(repo, c.path, c.before.oid, cache))!]);
      continue;
    }
    changes.push([c.path, file]);
  }
  if (changed.has('fleet.yaml')) {
    const before = await fleetAt(repo, anchorTree, cache);
    if (!before) return undefined;
    const after = await fleetAt(repo, tree, cache);
    const kept = Object.keys(after?.spec?.targets ?? {});
    // A target dropped: unchanged services may name it. (No fleet, or a broken one: no target is checked.)
    if (after && Object.keys(before.spec?.targets ?? {}).some((t) => !kept.includes(t))) return undefined;
  } else {
    const e = await entryAtPath(repo, tree, 'fleet.yaml');
    if (e?.type !== 'blob') return undefined;
    changes.push(['fleet.yaml', (await fileAt(repo, 'fleet.yaml', e.oid, cache))!]);
  }
  const index = new FleetIndex(cache);
  index.apply(changes);
  const namesakes: IndexChange[] = [];
  for (const [path] of changes) {
    const key = index.get(path)?.key;
    const own = key?.startsWith('service ') ? `services/${key.slice(8)}.yaml` : key?.startsWith('cluster ') ? `clusters/${key.slice(8)}.yaml` : undefined;
    if (!own || changed.has(own) || index.get(own)) continue;
    const e = await entryAtPath(repo, tree, own);
    if (e?.type === 'blob') namesakes.push([own, (await fileAt(repo, own, e.oid, cache))!]);
  }
  index.apply(namesakes);
  index.apply(await configFiles(repo, tree, index, changes));
  const problems = [...treeProblems, ...index.problems()];
  problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  return { problems, index, diff };
}

/** A descriptor file's text (undefined when over the size limit; its result cached by oid as the root caches it). */
async function fileAt(
  repo: Repo,
  path: string,
  oid: string,
  cache: Map<string, ParseResult>,
): Promise<{ path: string; oid: string; text: string; size?: number } | undefined> {
  const hit = cache.get(oid);
  if (hit?.file === path)
    return {
      path,
      oid,
      get text() {
        return objectStore(repo).readSync(oid)?.body.toString('utf8') ?? '';
      },
    } as { path: string; oid: string; text: string };
  const body = await objectStore(repo).readType(oid, 'blob');
  if (body.length > MAX_DESCRIPTOR_BYTES) return undefined;
  return { path, oid, text: body.toString('utf8'), size: body.length };
}

/** The files the changed services name (spec.files[].from), as the tree holds them (size only); absent ones are not there. */
async function configFiles(repo: Repo, tree: string, index: FleetIndex, changes: IndexChange[]): Promise<IndexChange[]> {
  const out: IndexChange[] = [];
  const seen = new Set<string>();
  for (const [path] of changes) {
    for (const from of index.get(path)?.froms ?? []) {
      if (seen.has(from) || index.get(from)) continue;
      seen.add(from);
      const e = await entryAtPath(repo, tree, from);
      if (e?.type === 'blob' && e.mode !== '120000') out.push([from, { path: from, oid: e.oid, text: '', size: await blobSize(repo, e.oid) }]);
    }
  }
  return out;
}

async function blobSize(repo: Repo, oid: string): Promise<number> {
  return (await objectStore(repo).readType(oid, 'blob')).length;
}

async function tooLarge(repo: Repo, oid: string): Promise<string> {
  const n = (await objectStore(repo).readType(oid, 'blob')).length;
  return `file is ${n} bytes: a descriptor may be at most 1 MiB (${MAX_DESCRIPTOR_BYTES} bytes); not parsed`;
}

/** fleet.yaml of a tree, when it validates on its own. */
export async function fleetAt(repo: Repo, tree: string, cache: Map<string, ParseResult>): Promise<FleetDescriptor | undefined> {
  const e = await entryAtPath(repo, tree, 'fleet.yaml');
  if (e?.type !== 'blob') return undefined;
  const file = await fileAt(repo, 'fleet.yaml', e.oid, cache);
  const r = file ? parseCached(file, cache) : undefined;
  return r?.ok && r.kind === 'Fleet' ? r.value : undefined;
}

/** What the declarations make of a cluster the plan places on: retired (takes nothing), air-gapped (takes what selects it). */
export function withDeclared(v: ClusterView, d: { retired: ReadonlySet<string>; airGapped: ReadonlySet<string> }): ClusterView {
  if (!d.retired.has(v.name) && !d.airGapped.has(v.name)) return v;
  return { ...v, ...(d.retired.has(v.name) ? { retired: true } : {}), ...(d.airGapped.has(v.name) ? { airGapped: true } : {}) };
}

/** The clusters `tree` retires (clusters/<c>.yaml spec.retired: true) and those it declares air-gapped, parsed as the root parses them. */
export async function declaredAt(repo: Repo, tree: string, cache: Map<string, ParseResult>): Promise<{ retired: Set<string>; airGapped: Set<string> }> {
  const out = { retired: new Set<string>(), airGapped: new Set<string>() };
  const dir = await entryAtPath(repo, tree, 'clusters');
  if (dir?.type !== 'tree') return out;
  for (const [name, e] of await readEntries(repo, dir.oid)) {
    if (e.type === 'tree' || !name.endsWith('.yaml')) continue;
    const file = await fileAt(repo, `clusters/${name}`, e.oid, cache);
    const r = file ? parseCached(file, cache) : undefined;
    if (!r?.ok || r.kind !== 'Cluster') continue;
    if (r.value.spec?.retired === true) out.retired.add(r.value.metadata.name);
    if (isAirGapped(r.value)) out.airGapped.add(r.value.metadata.name);
  }
  return out;
}

function at(file: string, message: string): Problem {
  return { file, line: 1, column: 1, message };
}
