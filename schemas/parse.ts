// The receiving boundary for wire messages: bytes in, a typed value or a precise error out.
// TypeBox's compiled checkers are used here (not ajv) because agents load this on every start
// and it keeps their import graph small.
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema, Static } from '@sinclair/typebox';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const checks = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checkerFor<T extends TSchema>(schema: T): TypeCheck<T> {
  let c = checks.get(schema);
  if (!c) { c = TypeCompiler.Compile(schema); checks.set(schema, c); }
  return c as TypeCheck<T>;
}

/** Parse JSON bytes received on `where` (a topic or a ref) against `schema`. */
export function parsePayload<T extends TSchema>(schema: T, payload: Uint8Array | string, where: string): Parsed<Static<T>> {
  const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `${where}: not JSON (${(e as Error).message})` };
  }
  return checkValue(schema, data, where);
}

export function checkValue<T extends TSchema>(schema: T, data: unknown, where: string): Parsed<Static<T>> {
  const check = checkerFor(schema);
  if (check.Check(data)) return { ok: true, value: data as Static<T> };
  let first = check.Errors(data).First();
  // A union's own error says only "Expected union value": descend into the variant the message
  // meant (the one whose `kind` matches, else the first) to name the real path.
  for (let depth = 0; first && first.errors?.length && depth < 8; depth++) {
    const kind = (data as { kind?: unknown })?.kind;
    const variants = first.errors.map((it) => it.First()).filter((e): e is NonNullable<typeof e> => !!e);
    const pick = variants.find((e) => !e.path.endsWith('/kind') && typeof kind === 'string' && JSON.stringify(e.schema).length > 0 && !variants.every((v) => v === e)) ?? variants[0];
    const matching = first.errors.map((it, i) => ({ e: variants[i], errs: [...it] })).find(({ errs }) => !errs.some((x) => x.path === '/kind'));
    first = matching?.e ?? pick;
  }
  const at = first?.path || '/';
  return { ok: false, error: `${where}: ${at}: ${first?.message ?? 'does not match the schema'}` };
}
