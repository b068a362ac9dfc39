// Checks a parsed descriptor against its JSON Schema and words ajv's errors for fleet
// authors: "spec.replicas: must be an integer between 0 and 10000 (got -1)", not
// "/spec/replicas must be >= 0". Positions are left to the caller (it holds the YAML).
import type { AnySchemaObject, ErrorObject, ValidateFunction } from 'ajv';
import { validator, validatorIndex } from '../../schemas/validators-load.js';
import { displayPath, pointerSegments } from './yaml-locate.js';

export type Kind = 'Service' | 'Fleet' | 'Cluster' | 'Secret';

/** A schema violation at a path (and, for an unknown field, at that key of the path). */
export interface SchemaIssue {
  at: string[];
  key?: string;
  message: string;
}

/** What a cached verdict depends on, as far as the schemas go. */
export function schemaStamp(): string {
  return validatorIndex().descriptorStamp;
}

/** Whether a value is a valid descriptor of its kind: the common case costs the check alone. */
export function schemaValid(kind: Kind, value: unknown): boolean {
  return validator(kind)(value) === true;
}

export function schemaIssues(kind: Kind, value: unknown): SchemaIssue[] {
  return schemaIssuesUpTo(kind, value, Number.POSITIVE_INFINITY).issues;
}

/**
 * The problems of a value against its schema, worded from its first `max` raw errors only:
 * wording is the costly part, and a list of 100,000 numbers where strings belong has 100,000
 * errors. `unworded` says how many raw errors were left.
 */
export function schemaIssuesUpTo(kind: Kind, value: unknown, max: number): { issues: SchemaIssue[]; unworded: number } {
  // Generated at build time (schemas/validators.ts): every error, with its data and schema.
  const validate: ValidateFunction = validator(kind);
  if (validate(value)) return { issues: [], unworded: 0 };
  const errors = validate.errors ?? [];
  const worded = errors.length > max ? errors.slice(0, max) : errors;
  // A value can fail two keywords with one sentence (a number where a constant string must be).
  const seen = new Set<string>();
  const issues = collapseAnyOf(worded)
    .map(toIssue)
    .filter((i) => {
      const k = `${i.at.join('/')}\0${i.key ?? ''}\0${i.message}`;
      return !seen.has(k) && !!seen.add(k);
    });
  return { issues, unworded: errors.length - worded.length };
}

// Phrases for the patterns of schemas/model.ts; an unknown pattern falls back to the regex.
const PATTERNS: Record<string, string> = {
  '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$': 'a lower-case DNS label (letters, digits and -, at most 63 characters)',
  '^[A-Za-z0-9._/-]{1,63}$': 'a label key (letters, digits, ".", "_", "/" and "-", at most 63 characters)',
  '^[A-Za-z_][A-Za-z0-9_]*$': 'a variable name (letters, digits and "_", not starting with a digit)',
  '^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|k|K|M|G|T)?$': 'a quantity like 128Mi, 1Gi or 500M',
  '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?/[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$': 'a service as APP/NAME (two lower-case DNS labels)',
  '^/': 'a path starting with "/"',
  '^ssh-ed25519 [A-Za-z0-9+/]+={0,2}( [^\\n]*)?$': 'an Ed25519 public key as OpenSSH writes it: ssh-ed25519 AAAA… comment',
  '^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|sk-ssh-ed25519@openssh.com|sk-ecdsa-sha2-nistp256@openssh.com) [A-Za-z0-9+/]+={0,2}( [^\\n]*)?$':
    'an SSH public key as in allowed_signers: ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521 or sk-… then AAAA… and a comment',
  '^[A-Za-z0-9._@-]{1,128}$': 'a user name (letters, digits, ".", "_", "@" and "-", 1 to 128 characters)',
  '^https?://[^\\s/?#@]+(/[^\\s]*)?$': 'an http:// or https:// URL without a user or password in it (credentials go in environment variables)',
  '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$': 'a repository as OWNER/NAME',
};

function toIssue(e: ErrorObject): SchemaIssue {
  const at = pointerSegments(e.instancePath);
  const where = displayPath(at);
  const say = (message: string, issueAt = at, key?: string): SchemaIssue => ({ at: issueAt, key, message: where ? `${where}: ${message}` : message });
  const p = e.params as Record<string, unknown>;
  const schema = (e.parentSchema ?? {}) as AnySchemaObject;
  if (e.keyword === 'type' && at.length === 0) {
    return say(`expected a mapping of ${(schema.required as string[]).join(', ')}${got(e.data, schema)}`);
  }
  switch (e.keyword) {
    case 'required':
      return say(`missing required field "${String(p.missingProperty)}"`);
    case 'additionalProperties':
      return say(unknownKey(String(p.additionalProperty), schema), at, String(p.additionalProperty));
    case 'pattern':
      return say(`${JSON.stringify(e.data)} must be ${patternPhrase(String(p.pattern))}`);
    case 'minLength':
      return say(p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters`);
    case 'maxLength':
      return say(`must be at most ${String(p.limit)} characters (it has ${String((e.data as string).length)})`);
    case 'minItems':
      return say(`must list at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}`);
    case 'uniqueItems': {
      const later = Math.max(Number(p.i), Number(p.j));
      return say(`${JSON.stringify((e.data as unknown[])[later])} is listed twice`, [...at, String(later)]);
    }
    case 'anyOf':
      return say(`must be ${schema.description ?? alternatives(e.schema as AnySchemaObject[])}${got(e.data, schema)}`);
    case 'enum': {
      const hint = typeof e.data === 'string' ? closest(e.data, schema.enum as string[]) : undefined;
      return say(`${expectation(schema)}${got(e.data, schema, hint && `did you mean "${hint}"?`)}`);
    }
    case 'type':
    case 'const':
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      // One sentence for the whole expectation, so `type` and `minimum` errors on one value agree.
      return say(`${expectation(schema)}${got(e.data, schema)}`);
    default:
      return say(e.message ?? 'is not valid');
  }
}

function expectation(s: AnySchemaObject): string {
  if (s.const !== undefined) return `must be ${JSON.stringify(s.const)}`;
  if (Array.isArray(s.enum)) return `must be one of: ${s.enum.join(', ')}`;
  switch (s.type) {
    case 'integer':
    case 'number':
      return `must be ${s.type === 'integer' ? 'an integer' : 'a number'}${bounds(s)}`;
    case 'string':
      return 'must be a string';
    case 'boolean':
      return 'must be true or false';
    case 'array':
      return 'must be a list';
    case 'object':
      return 'must be a mapping';
    default:
      return 'has the wrong type';
  }
}

function bounds(s: AnySchemaObject): string {
  const lo = s.minimum !== undefined ? `>= ${s.minimum}` : s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : '';
  const hi = s.maximum !== undefined ? `<= ${s.maximum}` : s.exclusiveMaximum !== undefined ? `< ${s.exclusiveMaximum}` : '';
  if (s.minimum !== undefined && s.maximum !== undefined) return ` between ${s.minimum} and ${s.maximum}`;
  return [lo, hi]
    .filter(Boolean)
    .map((b) => ` ${b}`)
    .join(' and');
}

/** ` (got "2": remove the quotes)`: what was there, and the likely slip. */
function got(data: unknown, s: AnySchemaObject, hint?: string): string {
  if (data === undefined) return '';
  const shown =
    data === null
      ? 'an empty value'
      : Array.isArray(data)
        ? 'a list'
        : typeof data === 'object'
          ? 'a mapping'
          : typeof data === 'number' && !Number.isFinite(data)
            ? String(data) // YAML's .inf and .nan: JSON would say null
            : clip(JSON.stringify(data));
  const wantsNumber = s.type === 'integer' || s.type === 'number';
  if (typeof data === 'string' && wantsNumber && data.trim() !== '' && !Number.isNaN(Number(data))) {
    return ` (got the string ${shown}: remove the quotes)`;
  }
  const scalar = typeof data === 'number' || typeof data === 'boolean';
  if (scalar && s.type === 'string' && s.const === undefined && !s.enum) hint ??= 'put it in quotes';
  return ` (got ${shown}${hint ? `: ${hint}` : ''})`;
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 59)}…` : s;
}

function patternPhrase(pattern: string): string {
  return PATTERNS[pattern] ?? `text matching /${pattern}/`;
}

function unknownKey(key: string, parent: AnySchemaObject): string {
  const patterns = Object.keys(parent.patternProperties ?? {});
  if (patterns.length > 0) return `key ${JSON.stringify(key)} must be ${patterns.map(patternPhrase).join(' or ')}`;
  const known = Object.keys(parent.properties ?? {});
  const hint = closest(key, known);
  if (hint) return `unknown field "${key}" (did you mean "${hint}"?)`;
  return `unknown field "${key}"${known.length ? ` (known fields: ${known.join(', ')})` : ''}`;
}

function alternatives(branches: AnySchemaObject[]): string {
  return branches.map((b) => (b.type === 'object' ? `{${Object.keys(b.properties ?? {}).join(', ')}}` : `a ${String(b.type)}`)).join(' or ');
}

/**
 * ajv reports every failed branch of an `anyOf` (a quantity is a number or a string). Keep
 * the errors of the branch the author evidently meant (same JSON type, or an object sharing
 * keys); when none fits, keep only the anyOf error, which names all alternatives.
 */
function collapseAnyOf(errors: ErrorObject[]): ErrorObject[] {
  let out = errors;
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf').sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const a of anyOfs) {
    if (!out.includes(a)) continue;
    const inside = `${a.schemaPath}/`;
    const branch = meantBranch(a.schema as AnySchemaObject[], a.data);
    const keep = branch === undefined ? undefined : `${inside}${branch}/`;
    out = out.filter((e) => (e === a ? keep === undefined : !e.schemaPath.startsWith(inside) || (keep !== undefined && e.schemaPath.startsWith(keep))));
  }
  return out;
}

function meantBranch(branches: AnySchemaObject[], data: unknown): number | undefined {
  const type = data === null ? 'null' : Array.isArray(data) ? 'array' : typeof data;
  const sameType = branches.map((b, i) => ({ b, i })).filter(({ b }) => b.type === type || (type === 'number' && b.type === 'integer'));
  if (sameType.length === 1) return sameType[0].i;
  if (type !== 'object') return undefined;
  const keys = Object.keys(data as object);
  return sameType.find(({ b }) => keys.some((k) => k in (b.properties ?? {})))?.i;
}

/** The candidate a typo most likely meant, if any is close enough. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d <= Math.max(1, Math.floor(c.length / 3)) && (!best || d < best.d)) best = { c, d };
  }
  return best?.c;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}
