// The bad-input corpus (test/corpus/): tables of cases, one row per bad input with the error it
// must get, and the helpers its runners share: the count each file prints, and commits made in
// bulk (one git fast-import for a whole table, not three git processes per case).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './cleanup.js';

/** One line per corpus file, which a reader of the test output finds: `corpus payloads: 223 cases (…)`. */
export function printCount(boundary: string, counts: Record<string, number>, unit = 'cases'): number {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const parts = Object.entries(counts).map(([k, n]) => `${k} ${n}`);
  console.log(`corpus ${boundary}: ${total} ${unit} (${parts.join(', ')})`);
  return total;
}

/** A file's new content in a case commit: text or bytes, a symbolic link, a submodule, or null to delete it. */
export type FileChange = string | Buffer | null | { symlink: string } | { submodule: string };

/**
 * Commits each change set as a child of `base` (not of each other), in one git fast-import, and
 * returns the commits in order. Nothing moves a branch: the commits are reachable from
 * refs/corpus/<batch>/<i>, so the repository keeps them.
 */
let batches = 0;

export function commitEach(dir: string, base: string, changes: Array<Record<string, FileChange>>): string[] {
  const batch = ++batches;
  const parts: Buffer[] = [];
  const put = (s: string | Buffer) => parts.push(typeof s === 'string' ? Buffer.from(s) : s);
  let mark = 0;
  const commitMarks: number[] = [];
  changes.forEach((files, i) => {
    const lines: string[] = [];
    for (const [p, c] of Object.entries(files)) {
      if (c === null) lines.push(`D ${p}`);
      else if (typeof c === 'object' && 'submodule' in c) lines.push(`M 160000 ${c.submodule} ${p}`);
      else {
        const body = typeof c === 'string' ? Buffer.from(c) : Buffer.isBuffer(c) ? c : Buffer.from(c.symlink);
        put(`blob\nmark :${++mark}\ndata ${body.length}\n`);
        put(body);
        put('\n');
        lines.push(`M ${typeof c === 'object' && 'symlink' in c ? '120000' : '100644'} :${mark} ${p}`);
      }
    }
    const msg = `corpus case ${i}`;
    commitMarks.push(++mark);
    put(`commit refs/corpus/${batch}/${i}\nmark :${mark}\ncommitter Test <t@example.com> ${1700000000 + i} +0000\ndata ${msg.length}\n${msg}\nfrom ${base}\n`);
    put(`${lines.join('\n')}\n\n`);
  });
  const marks = path.join(tempDir('canopy-corpus-marks-'), 'marks');
  execFileSync('git', ['-C', dir, 'fast-import', '--quiet', `--export-marks=${marks}`], { input: Buffer.concat(parts) });
  const byMark = new Map(
    readFileSync(marks, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string]),
  );
  return commitMarks.map((m) => byMark.get(`:${m}`)!);
}
