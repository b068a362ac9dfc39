import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { command, Failure, list, text, usageError } from '../args.js';
import { declaredAge } from '../../reconciler/core/declare-keys.js';
import { MAX_SECRET_BYTES, seal, secretAge, secretYaml } from '../../reconciler/core/secrets.js';
import { parseDescriptor } from '../../reconciler/core/parse-descriptor.js';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const KEY = /^[A-Za-z0-9_.-]{1,128}$/;

const cmd = command({
  name: 'secret',
  summary: 'seal a secret to the clusters that use it; list its keys',
  usage: [
    'Usage: canopy secret set --repo DIR --name NAME --clusters C1,C2 KEY=VALUE...',
    '       canopy secret keys --repo DIR NAME',
    '',
    'set writes secrets/NAME.age, an age file (armored) sealed to the age recipients the clusters',
    'declare in clusters/C.yaml (spec.identity.age, which canopy identity create writes); it opens to',
    'a JSON object of KEY → VALUE (`age -d -i KEY-FILE secrets/NAME.age`). Beside it secrets/NAME.yaml',
    'names the clusters and the keys, never the values. It replaces the secret: give every key. Commit',
    'both files; a service uses a key as spec.secrets: [{secret: NAME, key: KEY, env: VAR}] or',
    '{secret, key, file: PATH}, and runs only on the clusters the secret is sealed to.',
    'KEY=- reads that value from standard input (one trailing newline removed): a value on the command',
    'line is seen by other users of this machine and kept in shell history. At most one KEY=-.',
    '',
    'keys prints the key names of secrets/NAME.yaml, one a line.',
    '',
    '  --repo DIR          the fleet repository (its working tree)',
    '  --name NAME         the secret: a lower-case DNS label',
    '  --clusters C1,C2    the clusters that may open it',
  ].join('\n'),
  options: {
    repo: text({ required: true }),
    name: text(),
    clusters: list((c) => c),
  },
  args: { min: 1, max: 257, what: 'the action (set or keys) and its arguments' },
  check(v, pos) {
    const [action, ...rest] = pos;
    const problems: string[] = [];
    if (action === 'keys') {
      if (rest.length !== 1 || !LABEL.test(rest[0]!)) problems.push('keys takes one secret NAME (a lower-case DNS label)');
      return problems;
    }
    if (action !== 'set') return [`unknown action "${action}": the actions are set and keys`];
    if (!v.name || !LABEL.test(v.name)) problems.push('--name NAME: required, a lower-case DNS label');
    if (!v.clusters?.length) problems.push('--clusters C1,C2: required, the clusters that may open the secret');
    for (const c of v.clusters ?? []) if (!LABEL.test(c)) problems.push(`--clusters: "${c}" is not a cluster name (a lower-case DNS label)`);
    if (!rest.length) problems.push('give at least one KEY=VALUE');
    const seen = new Set<string>();
    rest.forEach((a, i) => {
      const k = a.slice(0, Math.max(0, a.indexOf('=')));
      // Never echo the argument: it may hold a value.
      if (!KEY.test(k)) problems.push(`argument ${i + 2} is not KEY=VALUE with KEY of letters, digits, ".", "_", "-"`);
      else if (seen.has(k)) problems.push(`key ${k} is given twice`);
      seen.add(k);
    });
    if (rest.filter((a) => a.endsWith('=-') && a.indexOf('=') === a.length - 2).length > 1) problems.push('at most one KEY=- (standard input)');
    return problems;
  },
  async run(v, pos) {
    const repo = path.resolve(v.repo);
    if (!existsSync(path.join(repo, 'fleet.yaml'))) throw usageError(this, `--repo ${v.repo}: no fleet.yaml there (canopy init makes a fleet repository)`);
    if (pos[0] === 'keys') return keys(repo, pos[1]!);
    const values: Record<string, string> = {};
    for (const a of pos.slice(1)) {
      const i = a.indexOf('=');
      const value = a.slice(i + 1);
      values[a.slice(0, i)] = value === '-' ? (await readStdin()).replace(/\r?\n$/, '') : value;
    }
    const plain = JSON.stringify(values);
    if (Buffer.byteLength(plain) > MAX_SECRET_BYTES) throw new Failure(`canopy secret: the secret's JSON is over ${MAX_SECRET_BYTES} bytes`);
    const clusters = [...new Set(v.clusters!)].sort();
    const recipients = await recipientsOf(repo, clusters);
    await mkdir(path.join(repo, 'secrets'), { recursive: true });
    await writeFile(path.join(repo, secretAge(v.name!)), await seal(plain, recipients));
    await writeFile(path.join(repo, secretYaml(v.name!)), descriptorText(v.name!, clusters, Object.keys(values).sort()));
    process.stderr.write(
      [
        `canopy secret: ${secretAge(v.name!)} sealed to ${clusters.join(', ')}; keys ${Object.keys(values).sort().join(', ')} in ${secretYaml(v.name!)}; commit both:`,
        `  git -C ${v.repo} add secrets/${v.name}.age secrets/${v.name}.yaml && git -C ${v.repo} commit -m "Set secret ${v.name}"`,
        '',
      ].join('\n'),
    );
    return 0;
  },
});
export default cmd;

/** Each cluster's declared age recipient; a Failure naming those that declare none. */
async function recipientsOf(repo: string, clusters: string[]): Promise<string[]> {
  const out: string[] = [];
  const lacking: string[] = [];
  for (const c of clusters) {
    const rel = `clusters/${c}.yaml`;
    const body = await readFile(path.join(repo, rel), 'utf8').catch(() => undefined);
    const age = declaredAge(rel, body, 'cluster', c);
    if (age) out.push(age);
    else lacking.push(`cluster ${c} declares no age key in ${rel}: run canopy identity create --repo DIR --cluster ${c} --out FILE first`);
  }
  if (lacking.length) throw new Failure(lacking.map((l) => `canopy secret: ${l}`).join('\n'));
  return out;
}

function descriptorText(name: string, clusters: string[], keys: string[]): string {
  return [
    '# yaml-language-server: $schema=../schemas/secret.schema.json',
    `# Written by canopy secret set: the value is in ${name}.age, sealed to these clusters; this file holds no value.`,
    'apiVersion: canopy/v1',
    'kind: Secret',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  clusters:',
    ...clusters.map((c) => `    - ${c}`),
    '  keys:',
    ...keys.map((k) => `    - ${JSON.stringify(k)}`),
    '',
  ].join('\n');
}

async function keys(repo: string, name: string): Promise<number> {
  const rel = secretYaml(name);
  const body = await readFile(path.join(repo, rel), 'utf8').catch(() => undefined);
  if (body === undefined) throw new Failure(`canopy secret: no ${rel} in ${repo} (canopy secret set writes it)`);
  const r = parseDescriptor({ path: rel, text: body });
  if (!r.ok) throw new Failure(r.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`).join('\n'));
  if (r.kind !== 'Secret') throw new Failure(`${rel}: not a Secret`);
  process.stdout.write(r.value.spec.keys.map((k) => `${k}\n`).join(''));
  return 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
