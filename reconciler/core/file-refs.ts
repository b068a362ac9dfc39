// The rule across files for config files (spec.files: [{path, from}]): each `from` is a regular
// file of the commit, at most MAX_FILE_BYTES, and a service's files together at most
// MAX_SERVICE_FILE_BYTES. Problems at file:line (the line of that `from`). Pure.
import { problemAt, type FleetFile, type ParseResult, type Problem } from './parse-descriptor.js';
import { fromProblem, MAX_FILE_BYTES, MAX_SERVICE_FILE_BYTES } from './file-rules.js';

/** A file's size in bytes (a config file's from the object store, else its text's). */
export function sizeOf(f: FleetFile): number {
  return f.size ?? Buffer.byteLength(f.text, 'utf8');
}

/** The repository paths a service's spec.files names. */
export function filesNamed(r: ParseResult): string[] {
  if (!r.ok || r.kind !== 'Service') return [];
  return [...new Set((r.value.spec.files ?? []).map((f) => f.from))];
}

/**
 * The problems of one service's spec.files against the commit's files (`lookup`: a path's file,
 * undefined when the commit has no regular file there): each `from` exists and is small enough.
 */
export function fileRefProblems(e: { file: FleetFile; result?: ParseResult }, lookup: (path: string) => FleetFile | undefined): Problem[] {
  const r = e.result;
  if (!r?.ok || r.kind !== 'Service' || !r.value.spec.files?.length) return [];
  const out: Problem[] = [];
  const at = (path: string[], message: string) => problemAt(e.file.path, e.file.text, path, message);
  let total = 0;
  r.value.spec.files.forEach((f, i) => {
    if (fromProblem(f.from)) return; // said by the descriptor's own rules
    const file = lookup(f.from);
    const where = ['spec', 'files', String(i), 'from'];
    if (!file) {
      out.push(at(where, `spec.files[${i}].from: ${f.from} is not a file of this commit (commit it, or fix the path)`));
      return;
    }
    const n = sizeOf(file);
    total += n;
    if (n > MAX_FILE_BYTES)
      out.push(at(where, `spec.files[${i}].from: ${f.from} is ${n} bytes: a config file may be at most 256 KiB (${MAX_FILE_BYTES} bytes)`));
  });
  if (total > MAX_SERVICE_FILE_BYTES)
    out.push(
      at(['spec', 'files'], `spec.files: ${total} bytes in all: a service's config files may be at most 1 MiB (${MAX_SERVICE_FILE_BYTES} bytes) together`),
    );
  return out;
}
