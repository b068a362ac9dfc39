// Refs read the way native git reads them, with no Git library: a loose file under the Git
// directory wins over a line of packed-refs; "ref: <name>" is a symbolic ref (HEAD) followed to
// its target; a short name is looked up as git rev-parse does (NAME, refs/NAME,
// refs/tags/NAME, refs/heads/NAME, refs/remotes/NAME, refs/remotes/NAME/HEAD). packed-refs is
// parsed once and read again only when the file changes. Writes go through repo.updateRef.
import { readFileSync, readdirSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { CanopyError } from '../core/errors.js';

/** A ref file or packed-refs line that is not a ref: names the file, says what to do. */
export class BadRefError extends CanopyError {
  constructor(file: string, why: string) {
    super('bad-ref', `${file}: ${why} (repair or delete it; git fsck can help)`, { file });
  }
}

const OID = /^[0-9a-f]{40}$/;
/** Files in a Git directory that are not refs though their names are legal ref names. */
const NOT_REFS = new Set(['config', 'description', 'index', 'shallow', 'commondir', 'packed-refs']);
const MAX_SYMREF_DEPTH = 5;

/** Whether `name` can name a ref file (git check-ref-format, and nothing that leaves the Git directory). */
export function isRefName(name: string): boolean {
  if (!name || name.length > 1024 || name.startsWith('/') || name.endsWith('/') || name.endsWith('.')) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]|\.\.|@\{|\/\//.test(name)) return false;
  return name.split('/').every((c) => c !== '' && !c.startsWith('.') && !c.endsWith('.lock'));
}

/** Where git looks for a name the user wrote, in order. */
export function refCandidates(name: string): string[] {
  return [name, `refs/${name}`, `refs/tags/${name}`, `refs/heads/${name}`, `refs/remotes/${name}`, `refs/remotes/${name}/HEAD`];
}

interface Packed {
  key: string;
  refs: Map<string, string>;
}
const packedByGitdir = new Map<string, Packed>();

/** packed-refs as ref → oid (peeled lines skipped); empty when there is none. */
export function packedRefs(gitdir: string): Map<string, string> {
  const file = path.join(gitdir, 'packed-refs');
  let key: string;
  try {
    const st = statSync(file);
    key = `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw e;
  }
  const known = packedByGitdir.get(gitdir);
  if (known?.key === key) return known.refs;
  const refs = new Map<string, string>();
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line || line.startsWith('#') || line.startsWith('^')) return;
    const sp = line.indexOf(' ');
    const oid = line.slice(0, sp),
      name = line.slice(sp + 1).trimEnd();
    if (sp !== 40 || !OID.test(oid) || !isRefName(name))
      throw new BadRefError(`${file}:${i + 1}`, `expected "<40-hex object id> <ref name>", found ${JSON.stringify(line.slice(0, 100))}`);
    refs.set(name, oid);
  });
  packedByGitdir.set(gitdir, { key, refs });
  return refs;
}

/** The loose ref file's content (trimmed), or undefined when there is no such file. */
function looseRef(gitdir: string, name: string): string | undefined {
  try {
    return readFileSync(path.join(gitdir, name), 'utf8').trim();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw e;
  }
}

/** The value stored for exactly `name` (loose first, then packed): an oid or "ref: <target>". */
function storedValue(gitdir: string, name: string): { value: string; file: string } | undefined {
  if (NOT_REFS.has(name)) return undefined;
  const loose = looseRef(gitdir, name);
  if (loose !== undefined) return { value: loose, file: path.join(gitdir, name) };
  const packed = packedRefs(gitdir).get(name);
  return packed ? { value: packed, file: path.join(gitdir, 'packed-refs') } : undefined;
}

/**
 * The object a ref points at, following symbolic refs; undefined when no such ref exists (a
 * symbolic ref to a branch with no commits yet included). A full 40-hex id is returned as is.
 * `exact`: only `name` itself, not the short-name candidates.
 */
export function readRef(gitdir: string, name: string, exact = false): string | undefined {
  return follow(gitdir, name, exact, 0);
}

function follow(gitdir: string, name: string, exact: boolean, depth: number): string | undefined {
  if (OID.test(name)) return name;
  if (!isRefName(name)) return undefined;
  for (const candidate of exact ? [name] : refCandidates(name)) {
    const found = storedValue(gitdir, candidate);
    if (!found) continue;
    if (OID.test(found.value)) return found.value;
    const sym = /^ref:\s*(\S+)$/.exec(found.value);
    if (!sym) throw new BadRefError(found.file, `${candidate} holds ${JSON.stringify(found.value.slice(0, 100))}, neither an object id nor "ref: <name>"`);
    if (depth >= MAX_SYMREF_DEPTH) throw new BadRefError(found.file, `symbolic refs nest deeper than ${MAX_SYMREF_DEPTH} (a loop?) at ${candidate}`);
    return follow(gitdir, sym[1], true, depth + 1);
  }
  return undefined;
}

/** Names of the refs under `prefix` (e.g. refs/canopy/status), loose and packed, relative to it, sorted. */
export function refNamesUnder(gitdir: string, prefix: string): string[] {
  const base = prefix.replace(/\/+$/, '');
  const names = new Set<string>();
  const walk = (dir: string, rel: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw e;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(dir, e.name), r);
      else if (isRefName(`${base}/${r}`)) names.add(r); // skips *.lock files of writers at work
    }
  };
  walk(path.join(gitdir, base), '');
  for (const name of packedRefs(gitdir).keys()) if (name.startsWith(base + '/')) names.add(name.slice(base.length + 1));
  return [...names].sort();
}
