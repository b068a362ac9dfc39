// Steps 1–2 of a root pass: read a commit of main and validate it into a desired state. Only
// blobs that changed since the last good state are read and parsed (parsed results are cached
// by blob oid); cross-file rules still see the whole tree.
import type { FleetDescriptor, ServiceSpec } from '../../schemas/model.js';
import { validateFleet, layoutOf, type FleetFile, type Problem, type ParseResult } from '../core/validate.js';
import { serviceId, specHash } from '../core/ids.js';
import { readCommit, readBlobText, type Repo } from '../git/repo.js';
import { diffTrees } from '../git/tree.js';

export interface DesiredService { id: string; spec: ServiceSpec; specHash: string; file: string }

export interface DesiredState {
  commit: string;
  tree: string;
  files: Map<string, FleetFile>;
  fleet: FleetDescriptor;
  services: Map<string, DesiredService>;
}

export type LoadResult =
  | { ok: true; state: DesiredState; changed: Set<string>; removed: Set<string> }
  | { ok: false; problems: Problem[] };

const MAX_BLOB = 1024 * 1024;

export async function loadDesired(repo: Repo, commit: string, prev: DesiredState | undefined, cache: Map<string, ParseResult>): Promise<LoadResult> {
  const tree = (await readCommit(repo, commit)).tree;
  const files = new Map(prev?.files ?? []);
  const problems: Problem[] = [];
  for (const c of await diffTrees(repo, prev?.tree, tree)) {
    if (!c.after) { files.delete(c.path); continue; }
    if (c.after.type === 'commit') { problems.push(at(c.path, 'submodules are not allowed in a fleet repository')); continue; }
    if (c.after.mode === '120000') { problems.push(at(c.path, 'symbolic links are not allowed in a fleet repository: commit the file itself')); continue; }
    if (layoutOf(c.path).kind === 'ignored') { files.set(c.path, { path: c.path, oid: c.after.oid, text: '' }); continue; }
    const text = await readBlobText(repo, c.after.oid);
    if (Buffer.byteLength(text) > MAX_BLOB) { problems.push(at(c.path, `file is ${text.length} bytes; descriptors are limited to 1 MiB`)); continue; }
    files.set(c.path, { path: c.path, oid: c.after.oid, text });
  }
  const v = validateFleet([...files.values()], cache);
  if (!v.ok || problems.length) {
    const all = [...problems, ...(v.ok ? [] : v.problems)];
    all.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
    return { ok: false, problems: all };
  }
  const services = new Map<string, DesiredService>();
  const fileOf = new Map<string, string>();
  for (const f of files.values()) {
    const m = /^services\/([^/]+)\/([^/]+)\.ya?ml$/.exec(f.path);
    if (m) fileOf.set(serviceId(m[1], m[2]), f.path);
  }
  for (const s of v.services) {
    const id = serviceId(s.metadata.app, s.metadata.name);
    services.set(id, { id, spec: s.spec, specHash: specHash(s.spec), file: fileOf.get(id) ?? '' });
  }
  const changed = new Set<string>();
  const removed = new Set<string>();
  for (const [id, s] of services) if (prev?.services.get(id)?.specHash !== s.specHash) changed.add(id);
  for (const id of prev?.services.keys() ?? []) if (!services.has(id)) removed.add(id);
  return { ok: true, state: { commit, tree, files, fleet: v.fleet, services }, changed, removed };
}

function at(file: string, message: string): Problem {
  return { file, line: 1, column: 1, message };
}
