// The plan at the cost of the change: the same answer as plan-full.ts, reading and placing only
// what can differ.
//  1. Base in force (plan-in-force.ts): walked as plan-full does, each commit judged by the
//     root's note (accepted), else against a commit known to validate (plan-judge.ts).
//  2. Head: judged against base in force; only the files it changed (and their namesakes) parse.
//  3. Placement: a service is settled when its file is the one the root placed (unchanged since
//     the source commit of every placement record holding it) and it holds exactly its replicas
//     on clusters that may take it, at base and at head alike. Settled services keep their
//     recorded clusters and stand in for their capacity (root/place-beside.ts); the rest (the
//     changed, the short, the unplaced) are parsed and placed, and they are all that can differ.
// When that is not exact (no commit known to validate, a latency target dropped, a cluster
// over-committed by the recorded placements), it says why and plan-full.ts answers.
import { canonicalJson, specHash } from '../core/ids.js';
import { secretYaml } from '../core/secrets.js';
import { layoutOf, type ParseResult } from '../core/validate.js';
import { parseCached } from '../core/parse-descriptor.js';
import type { Repo } from '../git/repo.js';
import { objectStore } from '../git/odb.js';
import { entryAtPath, readEntries, type Change } from '../git/tree.js';
import type { DesiredService } from '../root/desired.js';
import { loadParseCache } from '../root/parse-cache.js';
import { placeServices, type Allocation, type ClusterView, type PlaceOptions, type ServiceDecision } from '../root/place.js';
import { allocationOf, type PlanInputs } from './plan-inputs.js';
import { allHeld, atBase, beside, computeBasis, ineligibleWith, loadBasis, moveTo, storeBasis, type Basis } from './plan-basis.js';
import { keyOf } from './plan-cache.js';
import { placementIndexes, type PlacementIndex } from './plan-index.js';
import { declaredAt, fleetAt, judgeAgainst, withDeclared } from './plan-judge.js';
import { placeBeside } from '../root/place-beside.js';
import { compareServices } from './plan-compare.js';
import { commitAt, inForceFrom, type Commit } from './plan-in-force.js';
import type { PlanCore } from './plan-types.js';

/** The plan, or why it cannot be computed incrementally (then plan-full.ts computes it). */
export async function planIncremental(
  repo: Repo,
  baseOid: string,
  headOid: string,
  inputs: PlanInputs,
  cache: Map<string, ParseResult>,
): Promise<PlanCore | string> {
  // 1. Base in force.
  const base = await inForceFrom(repo, baseOid, inputs, cache);
  if (typeof base === 'string') return base;

  // 2. Head, judged against base in force.
  const head = (await commitAt(repo, headOid))!;
  const judged = await judgeAgainst(repo, base.tree, head.tree, cache, { keepUnread: true });
  if (!judged) return 'fleet.yaml drops a latency target that unchanged services may name';
  const accepted = judged.problems.length === 0;
  const ref = accepted ? head : base;
  const core: PlanCore = {
    inForce: base.oid,
    fleet: await fleetAt(repo, ref.tree, cache),
    declared: await declaredClusters(repo, ref.tree),
    accepted,
    problems: judged.problems,
    services: [],
    unchanged: 0,
    method: { kind: 'incremental', placed: 0, services: 0 },
  };
  if (!accepted) return core;
  // Which clusters a secret is sealed to bounds its users, wherever they are: every service is placed.
  if (judged.diff.some((c) => /^secrets\/[^/]+\.yaml$/.test(c.path))) return 'a secret names other clusters';
  // A cluster retired (or no longer): every service it may hold moves, and each side sees it as its own clusters/ says.
  if (judged.diff.some((c) => /^clusters\/[^/]+\.yaml$/.test(c.path))) return 'a cluster declaration changed (spec.retired moves what it runs)';

  // 3. Placement of what can move.
  return placeChanged(repo, inputs, cache, base, head, judged.diff, core);
}

/** A value for base and one for head. */
interface Sides<T> {
  base: T;
  head: T;
}

/**
 * Step 3: the settled basis at base (kept while the records, the clusters' shapes and base are
 * the same), and what head changed (`diff`, base to head), placed beside it. Completes `core`
 * (steps 1 and 2, accepted), or says why that is not exact.
 */
async function placeChanged(
  repo: Repo,
  inputs: PlanInputs,
  cache: Map<string, ParseResult>,
  base: Commit,
  head: Commit,
  diff: Change[],
  core: PlanCore,
): Promise<PlanCore | string> {
  const fleets = { base: (await fleetAt(repo, base.tree, cache))!, head: core.fleet! };
  const opts = { base: { targets: fleets.base.spec?.targets }, head: { targets: fleets.head.spec?.targets } };
  const policy = { base: fleets.base.spec?.scheduler?.root ?? 'bestfit', head: fleets.head.spec?.scheduler?.root ?? 'bestfit' };
  // Clusters retired before base (the change does not touch clusters/: else it is planned in full) take nothing; air-gapped ones come after connected ones.
  const declared = await declaredAt(repo, head.tree, cache);
  const views = inputs.statuses.flatMap((s) => (s.view ? [withDeclared(s.view, declared)] : []));
  const viewMap = new Map(views.map((v) => [v.name, v]));
  let indexes: Map<string, PlacementIndex> | undefined;
  const index = async () => (indexes ??= await placementIndexes(repo, inputs.records));
  const { basis, kept } = await settledBasis(repo, inputs, base.tree, views, viewMap, opts.base, index);
  core.method.kept = kept;
  const inBase = (id: string) => atBase(basis, id);
  const atHead = new Map<string, boolean>();
  for (const c of diff) {
    const id = serviceIdOf(c.path);
    if (id) atHead.set(id, !!c.after);
  }
  // Those gone from base move too: what they held is free again.
  const moving = new Set([...basis.moving, ...basis.gone, ...atHead.keys()]);
  if (canonicalJson(opts.base) !== canonicalJson(opts.head)) {
    for (const id of ineligibleWith(basis, await index(), viewMap, opts.head)) moving.add(id);
  }
  const exists = { base: inBase, head: (id: string) => atHead.get(id) ?? inBase(id) };
  const count = basis.count + [...atHead].filter(([id, there]) => there && !inBase(id)).length;
  if (moving.size > count / 2) return `most services can move (${moving.size} of ${count})`;

  const { reserved, previous } = beside(basis, moving);

  if (moving.size >= COLD_PARSES) await loadParseCache(repo, cache);
  const specs = { base: new Map<string, DesiredService>(), head: new Map<string, DesiredService>() };
  for (const z of ['base', 'head'] as const) {
    const tree = z === 'base' ? base.tree : head.tree;
    for (const id of moving) {
      if (!exists[z](id)) continue;
      const s = await serviceAt(repo, tree, id, cache);
      if (!s) return `${pathOf(id)} does not read as the service its path names`;
      specs[z].set(id, s);
    }
  }
  const placeAt = (z: 'base' | 'head') => placeBeside([...specs[z].values()], reserved, views, previous, policy[z], opts[z]);
  let before = placeAt('base'),
    after = placeAt('head');
  let compared: Set<string> | undefined = moving;
  if (!before || !after) {
    ({ before, after } = await placeEverything(inputs, basis, moving, specs, views, policy, opts));
    compared = undefined;
    core.method.why = 'a cluster cannot hold every recorded replica: every service placed';
  }
  const pick = (m: Map<string, DesiredService>) => (compared ? new Map([...m].filter(([id]) => compared.has(id))) : m);
  const list = compareServices({ services: pick(specs.base) }, { services: pick(specs.head) }, before, after);
  core.services = list.filter((s) => s.change !== 'unchanged' || s.unschedulable);
  core.unchanged = count - list.filter((s) => s.change !== 'unchanged').length;
  core.method.placed = compared ? new Set([...specs.base.keys(), ...specs.head.keys()]).size : count;
  core.method.services = count;
  return core;
}

/**
 * The settled basis at base: kept from an earlier plan while the records, the clusters' shapes
 * and the targets are the same (carried to this base by a tree diff), else computed (and kept
 * for the next plan when large enough). `kept`: it was.
 */
async function settledBasis(
  repo: Repo,
  inputs: PlanInputs,
  baseTree: string,
  views: ClusterView[],
  viewMap: Map<string, ClusterView>,
  opts: PlaceOptions,
  index: () => Promise<Map<string, PlacementIndex>>,
): Promise<{ basis: Basis; kept: boolean }> {
  const key = keyOf(
    inputs.placementKey,
    views.map(({ capacity: _c, ...shape }) => shape),
    opts,
  );
  const kept = inputs.cache.basis?.key === key ? await moveTo(repo, loadBasis(inputs.cache.basis), baseTree) : undefined;
  if (kept) return { basis: kept, kept: true };
  const basis = await computeBasis(repo, await index(), baseTree, await serviceIds(repo, baseTree), viewMap, opts);
  if (basis.count >= KEEP_BASIS) {
    inputs.cache.basis = storeBasis(basis, key);
    inputs.cache.dirty = true;
  }
  return { basis, kept: false };
}

/**
 * Every service placed, the settled as their records hold them (added to `specs`): a cluster
 * cannot hold every recorded replica, so pass 1 may fail anywhere.
 */
async function placeEverything(
  inputs: PlanInputs,
  basis: Basis,
  moving: Set<string>,
  specs: Sides<Map<string, DesiredService>>,
  views: ClusterView[],
  policy: Sides<string>,
  opts: Sides<PlaceOptions>,
): Promise<{ before: Map<string, ServiceDecision>; after: Map<string, ServiceDecision> }> {
  const placements = await inputs.placements();
  const held = allHeld(basis);
  for (const id in held) {
    if (moving.has(id) || basis.gone.has(id)) continue;
    const c = basis.clusters[held[id][1]];
    const s: DesiredService = { id, spec: placements.get(c)!.services[id].spec, specHash: '', file: pathOf(id) };
    specs.base.set(id, s);
    specs.head.set(id, s);
  }
  const everything = allocationOf(placements);
  return {
    before: placeAll(specs.base, views, everything, policy.base, opts.base),
    after: placeAll(specs.head, views, everything, policy.head, opts.head),
  };
}

/** Below this many services a basis is cheaper to compute than to store. */
const KEEP_BASIS = 200;

/** Above this many descriptors to parse, the parse cache this clone keeps on disk pays. */
const COLD_PARSES = 200;

function placeAll(
  services: Map<string, DesiredService>,
  views: ClusterView[],
  previous: Allocation,
  policy: string,
  o: PlaceOptions,
): Map<string, ServiceDecision> {
  return placeServices([...services.values()], views, previous, policy, o).decisions;
}

const pathOf = (id: string) => `services/${id}.yaml`;

function serviceIdOf(path: string): string | undefined {
  const l = layoutOf(path);
  return l.kind === 'Service' ? `${l.dir}/${l.name}` : undefined;
}

/** Every service of a tree that validates: its path names it. Names only: nothing else is decoded. */
async function serviceIds(repo: Repo, tree: string): Promise<Set<string>> {
  const out = new Set<string>();
  const services = await entryAtPath(repo, tree, 'services');
  if (services?.type !== 'tree') return out;
  const store = objectStore(repo);
  for (const [app, e] of await readEntries(repo, services.oid)) {
    if (e.type !== 'tree') continue;
    const body = await store.readType(e.oid, 'tree');
    // Entries are "<mode> <name>\0<20-byte oid>"; a blob's mode starts with 1, a tree's with 4.
    for (let pos = 0; pos < body.length; ) {
      const sp = body.indexOf(0x20, pos),
        nul = body.indexOf(0, sp);
      if (body[pos] === 0x31 && body[nul - 5] === 0x2e && body.toString('latin1', nul - 5, nul) === '.yaml')
        out.add(`${app}/${body.toString('utf8', sp + 1, nul - 5)}`);
      pos = nul + 21;
    }
  }
  return out;
}

async function serviceAt(repo: Repo, tree: string, id: string, cache: Map<string, ParseResult>): Promise<DesiredService | undefined> {
  const path = pathOf(id);
  const r = await parsedAt(repo, tree, path, cache);
  if (!r?.ok || r.kind !== 'Service') return undefined;
  const spec = r.value.spec;
  const names = [...new Set((spec.secrets ?? []).map((s) => s.secret))].sort();
  if (!names.length) return { id, spec, specHash: specHash(spec), file: path };
  // Where its secrets are sealed to bounds where it may run, as at the root (root/secrets.ts).
  const sealedTo: Record<string, string[]> = {};
  for (const n of names) {
    const d = await parsedAt(repo, tree, secretYaml(n), cache);
    sealedTo[n] = d?.ok && d.kind === 'Secret' ? [...d.value.spec.clusters] : [];
  }
  return { id, spec, specHash: specHash(spec), file: path, sealedTo };
}

/** The file at `path` of `tree`, parsed (through the cache), or undefined when there is none. */
async function parsedAt(repo: Repo, tree: string, path: string, cache: Map<string, ParseResult>): Promise<ParseResult | undefined> {
  const e = await entryAtPath(repo, tree, path);
  if (e?.type !== 'blob') return undefined;
  const hit = cache.get(e.oid);
  return hit?.file === path ? hit : parseCached({ path, oid: e.oid, text: (await objectStore(repo).readType(e.oid, 'blob')).toString('utf8') }, cache);
}

async function declaredClusters(repo: Repo, tree: string): Promise<string[]> {
  const e = await entryAtPath(repo, tree, 'clusters');
  if (e?.type !== 'tree') return [];
  return [...(await readEntries(repo, e.oid))].flatMap(([name, f]) => (f.type !== 'tree' && name.endsWith('.yaml') ? [name.slice(0, -5)] : []));
}
