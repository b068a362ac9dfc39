// The rules across files of a fleet repository, kept as indexes that a change updates by its
// changed paths only: which files hold each service id and cluster name (duplicates), which
// services name each latency target (unknown targets), which files have problems of their own,
// whether fleet.yaml exists. Judging a commit that changed one file of 10,000 costs one parse
// and a few map updates; the problems are exactly those validateFleet reports for the whole
// tree (validateFleet is built on this index). Pure: no I/O.
import type { ClusterDescriptor, FleetDescriptor, ServiceDescriptor } from '../../schemas/model.js';
import { serviceVariable } from './service-names.js';
import { secretRefProblems, secretYaml } from './secret-rules.js';
import { fileRefProblems, filesNamed } from './file-refs.js';
import { START } from './yaml-locate.js';
import {
  byPosition,
  compare,
  descriptorOf,
  idOf,
  layoutOf,
  parseCached,
  problemAt,
  type FleetFile,
  type Layout,
  type ParseResult,
  type Problem,
} from './parse-descriptor.js';

/** What the index knows of one path. Never mutated: a change replaces it. */
export interface Indexed {
  file: FleetFile;
  layout: Layout;
  /** Absent for ignored and unknown files. */
  result?: ParseResult;
  /** "service app/name" or "cluster name": what must be unique. */
  key?: string;
  /** The fleet.yaml target an accepted service's latency constraint names. */
  target?: string;
  /** A service's CANOPY_ADDR_ variable: two services may not share one. */
  variable?: string;
  /** The services an accepted service's `uses` names. */
  uses?: readonly string[];
  /** The secrets an accepted service (or fleet.yaml's registries) refers to. */
  secrets?: readonly string[];
  /** The repository files an accepted service's spec.files names. */
  froms?: readonly string[];
}

export type Change = readonly [path: string, file: FleetFile | null];

export class FleetIndex {
  private entries = new Map<string, Indexed>();
  private byKey = new Map<string, readonly string[]>();
  private dupKeys = new Set<string>();
  private failing = new Set<string>();
  private byTarget = new Map<string, readonly string[]>();
  private byVariable = new Map<string, readonly string[]>();
  private byUse = new Map<string, readonly string[]>();
  private bySecret = new Map<string, readonly string[]>();
  private byFrom = new Map<string, readonly string[]>();

  constructor(private readonly cache?: Map<string, ParseResult>) {}

  get size(): number {
    return this.entries.size;
  }
  get(path: string): Indexed | undefined {
    return this.entries.get(path);
  }
  paths(): IterableIterator<string> {
    return this.entries.keys();
  }
  values(): IterableIterator<Indexed> {
    return this.entries.values();
  }

  /** Set (or with null remove) files; returns the changes that undo it. */
  apply(changes: Iterable<Change>): Change[] {
    const undo: Change[] = [];
    for (const [path, file] of changes) {
      const before = this.entries.get(path);
      if (before) this.forget(path, before);
      undo.push([path, before?.file ?? null]);
      if (file) this.index(path, file);
    }
    return undo.reverse();
  }

  /** An independent copy (the maps are copied; entries and path lists are shared, never mutated). */
  clone(): FleetIndex {
    const c = new FleetIndex(this.cache);
    c.entries = new Map(this.entries);
    c.byKey = new Map(this.byKey);
    c.dupKeys = new Set(this.dupKeys);
    c.failing = new Set(this.failing);
    c.byTarget = new Map(this.byTarget);
    c.byVariable = new Map(this.byVariable);
    c.byUse = new Map(this.byUse);
    c.bySecret = new Map(this.bySecret);
    c.byFrom = new Map(this.byFrom);
    return c;
  }

  /** The files (services, fleet.yaml) that name secret `name`. */
  secretUsers(name: string): readonly string[] {
    return this.bySecret.get(name) ?? [];
  }

  /** The services whose spec.files names repository file `path`. */
  fileUsers(path: string): readonly string[] {
    return this.byFrom.get(path) ?? [];
  }

  /** Whether any service names a config file. */
  usesFiles(): boolean {
    return this.byFrom.size > 0;
  }

  /** Whether any file names a secret: a fleet without secrets pays nothing for them. */
  usesSecrets(): boolean {
    return this.bySecret.size > 0;
  }

  /** Every problem of the tree as it stands, sorted by file and position. */
  problems(): Problem[] {
    const out: Problem[] = [];
    for (const path of this.failing) {
      const e = this.entries.get(path)!;
      // A file outside the layout is fine when a service names it as a config file.
      if (e.layout.kind === 'unknown' && this.byFrom.has(path)) continue;
      if (e.layout.kind === 'unknown') out.push({ file: path, ...START, message: e.layout.message });
      else if (e.result && !e.result.ok) out.push(...e.result.problems);
    }
    if (!this.entries.has('fleet.yaml')) {
      out.push({ file: 'fleet.yaml', ...START, message: 'missing fleet.yaml: every fleet repository needs one at its root (canopy init writes one)' });
    }
    for (const key of this.dupKeys) out.push(...this.duplicates(key));
    out.push(...this.unknownTargets());
    out.push(...this.variableClashes());
    out.push(...this.unknownUses());
    out.push(...this.secretProblems());
    out.push(...this.fileProblems());
    return out.sort(byPosition);
  }

  /** The fleet descriptor, when fleet.yaml parsed and validated. */
  fleet(): FleetDescriptor | undefined {
    const r = this.entries.get('fleet.yaml')?.result;
    return r?.ok && r.kind === 'Fleet' ? r.value : undefined;
  }

  /** Accepted descriptors of a kind, in path order of insertion (sort them for output). */
  accepted<K extends 'Service' | 'Cluster'>(kind: K): Array<K extends 'Service' ? ServiceDescriptor : ClusterDescriptor> {
    const out: unknown[] = [];
    for (const e of this.entries.values()) if (e.result?.ok && e.result.kind === kind) out.push(e.result.value);
    return out as Array<K extends 'Service' ? ServiceDescriptor : ClusterDescriptor>;
  }

  private index(path: string, file: FleetFile): void {
    const layout = layoutOf(path);
    const e: Indexed = { file, layout };
    if (layout.kind === 'unknown') this.failing.add(path);
    if (layout.kind !== 'ignored' && layout.kind !== 'unknown') {
      const result = parseCached(file, this.cache);
      e.result = result;
      if (!result.ok) this.failing.add(path);
      const d = descriptorOf(result);
      if (d && (d.kind === 'Service' || d.kind === 'Cluster')) {
        e.key = d.kind === 'Service' ? `service ${idOf(d.value)}` : `cluster ${d.value.metadata.name}`;
        const paths = [...(this.byKey.get(e.key) ?? []), path];
        this.byKey.set(e.key, paths);
        if (paths.length > 1) this.dupKeys.add(e.key);
        if (d.kind === 'Service') {
          e.variable = serviceVariable(d.value.metadata.app, d.value.metadata.name);
          add(this.byVariable, e.variable, path);
        }
      }
      const uses = result.ok && result.kind === 'Service' ? result.value.spec.uses : undefined;
      if (uses?.length) {
        e.uses = [...new Set(uses)];
        for (const u of e.uses) add(this.byUse, u, path);
      }
      const secrets = result.ok ? secretsNamed(result) : [];
      if (secrets.length) {
        e.secrets = secrets;
        for (const n of secrets) add(this.bySecret, n, path);
      }
      const froms = filesNamed(result);
      if (froms.length) {
        e.froms = froms;
        for (const f of froms) add(this.byFrom, f, path);
      }
      const to = result.ok && result.kind === 'Service' ? result.value.spec.constraints?.latency?.to : undefined;
      if (to && 'target' in to) {
        e.target = to.target;
        this.byTarget.set(to.target, [...(this.byTarget.get(to.target) ?? []), path]);
      }
    }
    this.entries.set(path, e);
  }

  private forget(path: string, e: Indexed): void {
    this.entries.delete(path);
    this.failing.delete(path);
    if (e.key) {
      const paths = (this.byKey.get(e.key) ?? []).filter((p) => p !== path);
      if (paths.length) this.byKey.set(e.key, paths);
      else this.byKey.delete(e.key);
      if (paths.length < 2) this.dupKeys.delete(e.key);
    }
    if (e.variable) drop(this.byVariable, e.variable, path);
    for (const u of e.uses ?? []) drop(this.byUse, u, path);
    for (const n of e.secrets ?? []) drop(this.bySecret, n, path);
    for (const f of e.froms ?? []) drop(this.byFrom, f, path);
    if (e.target) {
      const paths = (this.byTarget.get(e.target) ?? []).filter((p) => p !== path);
      if (paths.length) this.byTarget.set(e.target, paths);
      else this.byTarget.delete(e.target);
    }
  }

  /**
   * The same service id (or cluster name) in several files. The file whose path agrees with
   * its metadata is the original; the problem goes on the others, naming the original.
   */
  private duplicates(key: string): Problem[] {
    const results = (this.byKey.get(key) ?? []).map((p) => this.entries.get(p)!.result!);
    results.sort((a, b) => Number(b.ok) - Number(a.ok) || compare(a.file, b.file));
    const [original, ...others] = results;
    return others.map((r) =>
      problemAt(r.file, this.entries.get(r.file)!.file.text, ['metadata', 'name'], `duplicate ${key}: also defined in ${original.file}`),
    );
  }

  /** `latency.to.target` must name a target of fleet.yaml, or the planner has no point to measure to. */
  private unknownTargets(): Problem[] {
    const fleet = this.fleet();
    if (!fleet) return [];
    const targets = Object.keys(fleet.spec?.targets ?? {});
    const out: Problem[] = [];
    for (const [target, paths] of this.byTarget) {
      if (targets.includes(target)) continue;
      const known = targets.length ? `declared: ${targets.join(', ')}` : 'fleet.yaml declares none under spec.targets';
      for (const p of paths) {
        out.push(
          problemAt(
            p,
            this.entries.get(p)!.file.text,
            ['spec', 'constraints', 'latency', 'to', 'target'],
            `spec.constraints.latency.to.target: "${target}" is not a target of fleet.yaml (${known})`,
          ),
        );
      }
    }
    return out;
  }

  /**
   * Two services (different ids) whose variable names are one (`a-b/c` and `a/b-c` are both
   * CANOPY_ADDR_A_B_C): a workload could not tell them apart. Reported on each file but the
   * first, naming the first; the same id twice is a duplicate, reported above.
   */
  private variableClashes(): Problem[] {
    const out: Problem[] = [];
    for (const [variable, paths] of this.byVariable) {
      if (paths.length < 2) continue;
      const ids = new Map<string, string>(); // id → its first path
      for (const p of [...paths].sort(compare)) {
        const id = this.entries.get(p)!.key!.slice('service '.length);
        if (!ids.has(id)) ids.set(id, p);
      }
      if (ids.size < 2) continue;
      const [[firstId, firstPath], ...rest] = ids;
      for (const [id, p] of rest) {
        const message = `service ${id} and service ${firstId} (${firstPath}) both have the variable ${variable}: rename one (upper case, with "-" read as "_", their names are the same)`;
        out.push(problemAt(p, this.entries.get(p)!.file.text, ['metadata', 'name'], message));
      }
    }
    return out;
  }

  /** `uses` must name a service of this commit. */
  private unknownUses(): Problem[] {
    const out: Problem[] = [];
    for (const [id, paths] of this.byUse) {
      if (this.byKey.has(`service ${id}`)) continue;
      for (const p of paths) {
        const e = this.entries.get(p)!;
        const uses = e.result?.ok && e.result.kind === 'Service' ? (e.result.value.spec.uses ?? []) : [];
        const i = Math.max(0, uses.indexOf(id));
        out.push(problemAt(p, e.file.text, ['spec', 'uses', String(i)], `spec.uses[${i}]: "${id}" is not a service of this commit (no services/${id}.yaml)`));
      }
    }
    return out;
  }

  /** A secret named in spec.secrets (or a registry's) must exist (secrets/<name>.yaml) with that key. */
  private secretProblems(): Problem[] {
    const out: Problem[] = [];
    for (const [name, paths] of this.bySecret) {
      const r = this.entries.get(secretYaml(name))?.result;
      const keys = r?.ok && r.kind === 'Secret' ? r.value.spec.keys : undefined;
      for (const p of paths) out.push(...secretRefProblems(this.entries.get(p)!, name, keys));
    }
    return out;
  }

  /** Each config file a service names (spec.files[].from) is a file of the tree, small enough. */
  private fileProblems(): Problem[] {
    const out: Problem[] = [];
    const seen = new Set<string>();
    const lookup = (p: string) => this.entries.get(p)?.file;
    for (const paths of this.byFrom.values()) {
      for (const p of paths) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push(...fileRefProblems(this.entries.get(p)!, lookup));
      }
    }
    return out;
  }
}

/** The secrets a service's spec.secrets or fleet.yaml's spec.registries name. */
function secretsNamed(r: ParseResult): string[] {
  if (!r.ok) return [];
  if (r.kind === 'Service') return [...new Set((r.value.spec.secrets ?? []).map((x) => x.secret))];
  if (r.kind === 'Fleet') return [...new Set((r.value.spec?.registries ?? []).map((x) => x.secret))];
  return [];
}

function add(m: Map<string, readonly string[]>, key: string, path: string): void {
  m.set(key, [...(m.get(key) ?? []), path]);
}

function drop(m: Map<string, readonly string[]>, key: string, path: string): void {
  const paths = (m.get(key) ?? []).filter((p) => p !== path);
  if (paths.length) m.set(key, paths);
  else m.delete(key);
}
