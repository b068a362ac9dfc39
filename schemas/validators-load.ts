// Loads the validators generated at build time (validators.ts), each on first use: a process
// pays only for the shapes it checks.
import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);
const loaded = new Map<string, ValidateFunction>();

function load<T>(file: string): T {
  try {
    return require(`./validators/${file}`) as T;
  } catch (e) {
    throw new Error(`validator ${file} not found in dist/schemas/validators: run npm run build (${(e as Error).message.split('\n')[0]})`);
  }
}

export function validator(name: string): ValidateFunction {
  const known = loaded.get(name);
  if (known) return known;
  const mod = load<ValidateFunction & { default?: ValidateFunction }>(`${name}.cjs`);
  const v: ValidateFunction = mod.default ?? mod;
  loaded.set(name, v);
  return v;
}

interface Index {
  kinds: Record<string, string[]>;
  descriptorStamp: string;
}
let index: Index | undefined;

/** For each union told apart by `kind`: its kinds (validated as Name_kind); and the descriptor schemas' stamp. */
export function validatorIndex(): Index {
  if (!index) index = load<Index>('index.json');
  return index;
}
