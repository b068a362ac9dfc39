// Config files from the repository (spec.files: [{path, from}]): the rules of one descriptor
// (where `path` may be, what `from` may name) and the size limits; the rule across files is in
// file-refs.ts. Pure.
import type { ServiceSpec } from '../../schemas/model.js';
import { containerPathProblem, type VolumeIssue } from './volume-rules.js';

/** One config file may be at most 256 KiB. */
export const MAX_FILE_BYTES = 256 * 1024;
/** A service's config files together may be at most 1 MiB. */
export const MAX_SERVICE_FILE_BYTES = 1024 * 1024;

/** Files under config/ are config files: never descriptors, never "unknown files". */
export function isConfigPath(path: string): boolean {
  return path.startsWith('config/');
}

/** Why `from` cannot name a file of the repository, if it cannot. */
export function fromProblem(from: string): string | undefined {
  if (from.startsWith('/')) return 'must be a path relative to the root of the fleet repository, such as config/web/nginx.conf';
  const parts = from.split('/');
  if (parts.some((p) => p === '.' || p === '..' || p === '')) return 'must be a plain relative path, without ., .. or empty parts';
  if (parts.includes('.git')) return 'may not be under .git';
  return undefined;
}

/** Why `path` cannot be where a process finds a file, if it cannot. */
function processPathProblem(path: string): string | undefined {
  if (path.startsWith('/')) return "must be relative to the process's working directory";
  const parts = path.split('/');
  if (parts.some((p) => p === '..' || p === '')) return 'must be a plain relative path, without .. or empty parts';
  return undefined;
}

/** The rules of one descriptor's spec.files. */
export function fileIssues(spec: Pick<ServiceSpec, 'runtime' | 'files' | 'secrets'>): VolumeIssue[] {
  const out: VolumeIssue[] = [];
  const paths = new Map<string, string>();
  const norm = (p: string) => p.replace(/\/+$/, '').replace(/^(\.\/)+/, '');
  (spec.secrets ?? []).forEach((s, i) => {
    if (s.file !== undefined) paths.set(norm(s.file), `spec.secrets[${i}].file`);
  });
  (spec.files ?? []).forEach((f, i) => {
    const at = (k: string) => ['spec', 'files', String(i), k];
    const name = `spec.files[${i}]`;
    if (f.oid !== undefined) out.push({ at: at('oid'), message: `${name}.oid: set by canopy in what it hands down; remove it from the descriptor` });
    const bad = fromProblem(f.from);
    if (bad) out.push({ at: at('from'), message: `${name}.from: ${bad} (got "${f.from}")` });
    const why = spec.runtime === 'container' ? containerPathProblem(f.path) : processPathProblem(f.path);
    if (why) {
      out.push({ at: at('path'), message: `${name}.path: ${why} (got "${f.path}")` });
      return;
    }
    const key = norm(f.path);
    const same = paths.get(key);
    if (same !== undefined) out.push({ at: at('path'), message: `${name}.path: ${key} is given twice (also ${same})` });
    else paths.set(key, `${name}.path`);
  });
  return out;
}
