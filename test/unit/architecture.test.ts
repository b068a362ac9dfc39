// The shape docs/architecture.md promises, checked on the sources (scripts/architecture.mjs):
// small functions and files in the levels, no import between root and cluster, no import cycle.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tempDir } from '../helpers/cleanup.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const { checkArchitecture, MAX_FILE_LINES, MAX_FUNCTION_LINES } = await import(pathToFileURL(path.join(ROOT, 'scripts/architecture.mjs')).href);
const found = checkArchitecture(ROOT);

const Shape = suite('architecture');

Shape(`no file in reconciler/root, reconciler/cluster or agents is over ${MAX_FILE_LINES} lines`, () => {
  assert.equal(found.bigFiles, []);
});

Shape(`no function there is over ${MAX_FUNCTION_LINES} lines`, () => {
  assert.equal(found.longFunctions, []);
});

Shape('the root and the cluster do not import each other', () => {
  assert.equal(found.crossImports, []);
});

Shape('no import cycle among reconciler/, schemas/ and agents/', () => {
  assert.equal(found.cycles, []);
});

Shape('the checker finds each kind of breach in a tree made to have them', () => {
  const dir = tempDir('canopy-arch-');
  const put = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  };
  const body = Array.from({ length: 90 }, (_, i) => `  const v${i} = ${i};`).join('\n');
  put('reconciler/root/a.ts', `import type { B } from '../cluster/b.js';\nexport function long(): void {\n${body}\n}\n`);
  put('reconciler/cluster/b.ts', `import { long } from '../root/a.js';\nexport type B = typeof long;\n`);
  put('agents/big.ts', `${'export const x = 1;\n'.repeat(260)}`);
  const r = checkArchitecture(dir);
  assert.equal(
    r.longFunctions.map((f: { file: string; name: string }) => `${f.file} ${f.name}`),
    ['reconciler/root/a.ts long'],
  );
  assert.equal(r.bigFiles, [{ file: 'agents/big.ts', lines: 260 }]);
  assert.equal(r.crossImports.length, 2);
  assert.equal(r.cycles, ['reconciler/cluster/b.ts ⇄ reconciler/root/a.ts']);
});

Shape.run();
