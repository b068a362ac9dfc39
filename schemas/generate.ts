// Writes every schema of schemas/model.ts and schemas/messages.ts to schemas/<name>.schema.json,
// and their validators as plain JavaScript beside this file (dist/schemas/validators/, see
// validators.ts). Run by `npm run build`; `--check` exits 1 when a committed schema is stale.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { fileSchemas } from './model.js';
import { messageSchemas } from './messages.js';
import { mkdir } from 'node:fs/promises';
import { renderValidators } from './validators.js';

export function renderSchemas(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [file, schema] of Object.entries({ ...fileSchemas, ...messageSchemas })) {
    const doc = { $schema: 'http://json-schema.org/draft-07/schema#', ...JSON.parse(JSON.stringify(schema)) };
    out.set(file, JSON.stringify(doc, null, 2) + '\n');
  }
  return out;
}

export function schemasDir(): string {
  // dist/schemas/generate.js → <repo>/schemas
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schemas');
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [file, text] of renderSchemas()) {
    const target = path.join(schemasDir(), file);
    const current = await readFile(target, 'utf8').catch(() => '');
    if (current === text) continue;
    if (check) {
      console.error(`stale: schemas/${file} (run npm run build)`);
      stale++;
      continue;
    }
    await writeFile(target, text);
  }
  if (stale) process.exit(1);
  if (check) return;
  const here = path.dirname(fileURLToPath(import.meta.url));
  await mkdir(path.join(here, 'validators'), { recursive: true });
  for (const [file, text] of renderValidators()) await writeFile(path.join(here, 'validators', file), text);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
