import path from 'node:path';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { command, flag, text, usageError } from '../args.js';
import { importOakestraSla } from '../../reconciler/import/oakestra.js';

type Action = 'create' | 'unchanged' | 'overwrite' | 'conflict';

const cmd = command({
  name: 'import',
  summary: 'import an Oakestra SLA as canopy descriptors',
  usage: [
    'Usage: canopy import SLA.json [--repo DIR] [--dry-run] [--force] [--json]',
    '',
    'Reads an Oakestra SLA (sla_version, applications[], microservices[]) and writes one descriptor per',
    'microservice to DIR/services/<app>/<service>.yaml. Prints each file and every note: fields canopy',
    'cannot honour are listed, never dropped silently. Commit the files to deploy them.',
    '',
    '  --repo DIR   the fleet repository to write into (default .)',
    '  --dry-run    print the descriptors, write nothing',
    '  --force      overwrite descriptors that exist with other content',
    '  --json       print {ok, files, notes, errors} as JSON',
    '',
    'Exit 0 when imported (or nothing to import), 1 when the SLA is refused or unreadable or a file',
    'would be overwritten (nothing is written then), 64 on usage errors.',
  ].join('\n'),
  options: { repo: text({ default: '.' }), 'dry-run': flag(), force: flag(), json: flag() },
  args: { min: 1, max: 1, what: 'one SLA file' },
  async run(v, pos) {
    const file = pos[0];
    const repo = path.resolve(v.repo);
    if (
      !(await stat(repo).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    )
      throw usageError(this, `--repo ${v.repo}: not a directory`);
    const say = (s: string) => {
      if (!v.json) process.stdout.write(s + '\n');
    };
    const refuse = (errors: string[], notes: string[] = []): number => {
      if (v.json) process.stdout.write(JSON.stringify({ ok: false, source: file, errors, notes }, null, 2) + '\n');
      else process.stderr.write(`${errors.join('\n')}\ncanopy import: ${file} refused; nothing written.\n`);
      return 1;
    };

    const doc = await readSla(file);
    if (!doc.ok) return refuse([doc.error]);
    const r = importOakestraSla(doc.value, path.basename(file));
    if (!r.ok) return refuse(r.errors.map((e) => `${file}: ${e}`));

    const plan = await Promise.all(
      r.services.map(async (s) => {
        const old = await readFile(path.join(repo, s.path), 'utf8').catch(() => undefined);
        const action: Action = old === undefined ? 'create' : old === s.yaml ? 'unchanged' : v.force ? 'overwrite' : 'conflict';
        return { ...s, action };
      }),
    );
    const conflicts = plan.filter((p) => p.action === 'conflict');
    if (conflicts.length)
      return refuse(
        conflicts.map((p) => `${path.join(repo, p.path)}: exists with other content: use --force to overwrite it`),
        r.notes,
      );

    const dry = v['dry-run'];
    for (const p of plan) {
      if (!dry && p.action !== 'unchanged') {
        await mkdir(path.dirname(path.join(repo, p.path)), { recursive: true });
        await writeFile(path.join(repo, p.path), p.yaml);
      }
      say(
        `${dry ? 'would ' : ''}${{ create: dry ? 'create' : 'created', overwrite: dry ? 'overwrite' : 'overwrote', unchanged: 'unchanged', conflict: '' }[p.action]} ${p.path}`,
      );
      if (dry) say(p.yaml.replace(/^/gm, '    '));
    }
    const notes = [...r.notes];
    if (
      !(await stat(path.join(repo, 'fleet.yaml')).then(
        () => true,
        () => false,
      ))
    )
      notes.push(`${repo} has no fleet.yaml: create a fleet repository with canopy init first`);
    if (notes.length) say(`notes:\n${notes.map((n) => `  - ${n}`).join('\n')}`);
    if (!plan.length) say(`Nothing imported: ${file} has no microservices.`);
    else if (!dry) say(`Imported ${plan.length} service(s) from ${file}. Next: canopy validate ${v.repo}, then commit the files to deploy them.`);
    if (v.json) {
      process.stdout.write(
        JSON.stringify({ ok: true, source: file, dryRun: dry, files: plan.map((p) => ({ path: p.path, action: p.action, yaml: p.yaml })), notes }, null, 2) +
          '\n',
      );
    }
    return 0;
  },
});
export default cmd;

async function readSla(file: string): Promise<{ ok: true; value: unknown } | { ok: false; error: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    return { ok: false, error: `${file}: cannot read: ${why}` };
  }
  text = text.replace(/^\uFEFF/, '');
  if (!text.trim()) return { ok: false, error: `${file}: empty file: expected an Oakestra SLA (JSON)` };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    const message = (e as Error).message;
    const why = message
      .replace(/ at position \d+.*$/s, '')
      .replace(/ in JSON$/, '')
      .replace(/, .*is not valid JSON$/s, '');
    return { ok: false, error: `${file}:${errorAt(text, message)}: not valid JSON: ${why}` };
  }
}

/**
 * 1-based line:column of a JSON syntax error. V8 gives a position for some errors only; else the
 * error is where the longest prefix that is valid, or merely unfinished, JSON ends.
 */
function errorAt(text: string, message: string): string {
  let pos = Number(/at position (\d+)/.exec(message)?.[1] ?? NaN);
  if (Number.isNaN(pos)) {
    const unfinished = (k: number) => {
      try {
        JSON.parse(text.slice(0, k));
        return true;
      } catch (e) {
        const m = (e as Error).message,
          at = /at position (\d+)/.exec(m);
        return at ? Number(at[1]) >= k : /end of JSON input/.test(m);
      }
    };
    let lo = 0,
      hi = text.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (unfinished(mid)) lo = mid;
      else hi = mid - 1;
    }
    pos = lo;
  }
  const lines = text.slice(0, pos).split('\n');
  return `${lines.length}:${lines[lines.length - 1].length + 1}`;
}
