// Argument parsing and validation for every command, in one place. Each command declares its
// options as typed specs (a whole number in a range, one of some words, a duration, a broker
// URL…) and its positionals; runCommand parses and checks ALL of them before the command runs,
// so a usage error exits 64 (EX_USAGE, sysexits.h) before anything starts: no broker, no child
// process, no repository read. Nothing else exits 64.
import { parseArgs } from 'node:util';
import { UsageError } from '../reconciler/core/errors.js';

/** The exit code of every usage error (sysexits.h EX_USAGE), and of nothing else. */
export const EX_USAGE = 64;

/** One option: how it is given, and how its text becomes a value (throwing ArgProblem when it cannot). */
export interface Opt<T = unknown, Present extends boolean = boolean> {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** A string option that may be given more than once: its texts are joined with commas for `parse`. */
  readonly multiple?: boolean;
  readonly required?: boolean;
  readonly default?: T;
  /** Only for string options: the value from its text, or throw ArgProblem saying what was expected. */
  readonly parse?: (text: string) => T;
  /** Type-level only: whether the value is always there (required or defaulted). */
  readonly __present?: Present;
}

export type Options = Record<string, Opt>;

type ValueOf<O> = O extends Opt<infer T, infer P> ? (P extends true ? T : T | undefined) : never;
/** The checked values of a command's options, typed by their specs. */
export type Values<O extends Options> = { -readonly [K in keyof O]: ValueOf<O[K]> };

/** What a command takes: its options, its positionals, and what it does with them. */
export interface Command<O extends Options = Options> {
  name: string;
  summary: string;
  usage: string;
  options: O;
  /** How many positionals, and what they are (for the message); none when absent. */
  args?: { min?: number; max: number; what: string };
  /** Checks across options (e.g. one needs another), after each was checked: the problems found. */
  check?(v: Values<O>, positionals: string[]): string[] | undefined;
  run(v: Values<O>, positionals: string[]): Promise<number>;
}

/** Identity, for type inference of a command's values from its option specs. */
export function command<const O extends Options>(cmd: Command<O>): Command<O> {
  return cmd;
}

/** A value that does not fit its option: says what was expected. */
export class ArgProblem extends Error {}

/** The usage line(s) of a command: its usage text up to the first blank line. */
export function usageLine(cmd: Pick<Command, 'name' | 'usage'>): string {
  return `${cmd.usage.split(/\n\s*\n/)[0]}\n(canopy ${cmd.name} --help describes every option)`;
}

/** A usage error of this command: each problem on a line, then the usage line. Exits 64. */
export function usageError(cmd: Pick<Command, 'name' | 'usage'>, ...problems: string[]): UsageError {
  return new UsageError(`${problems.map((p) => `canopy ${cmd.name}: ${p}`).join('\n')}\n\n${usageLine(cmd)}`, EX_USAGE);
}

/**
 * Parses and checks argv against the command's specs: unknown options, missing values, missing
 * required options, each value, the positionals and the command's own cross-checks. Every
 * problem found is reported at once, as one usage error.
 */
export function parse<O extends Options>(cmd: Command<O>, argv: string[]): { values: Values<O>; positionals: string[]; help: boolean } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    const options = Object.fromEntries(
      Object.entries(cmd.options).map(([k, o]) => [k, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
    ) as Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageError(cmd, (e as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
  const raw = Object.fromEntries(Object.entries(parsed.values).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v])) as Record<
    string,
    string | boolean | undefined
  >;
  if (raw.help) return { values: {} as Values<O>, positionals: parsed.positionals, help: true };
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  const missing: string[] = [];
  for (const [name, o] of Object.entries(cmd.options)) {
    const text = raw[name];
    if (text === undefined || text === '') {
      if (o.required) missing.push(`--${name}`);
      else if (text === '') problems.push(`--${name}: expected a value, got an empty one`);
      values[name] = o.type === 'boolean' ? (o.default ?? false) : o.default;
      continue;
    }
    if (o.type === 'boolean' || !o.parse) {
      values[name] = text;
      continue;
    }
    try {
      values[name] = o.parse(String(text));
    } catch (e) {
      if (!(e instanceof ArgProblem)) throw e;
      problems.push(`--${name} ${String(text)}: ${e.message}`);
    }
  }
  if (missing.length) problems.unshift(`missing ${missing.join(', ')}`);
  const pos = parsed.positionals;
  const args = cmd.args ?? { min: 0, max: 0, what: 'no arguments' };
  if (pos.length < (args.min ?? 0) || pos.length > args.max)
    problems.push(
      `${pos.length > args.max && args.max === 0 ? `unexpected argument ${pos[0]}` : `expected ${args.what}, got ${pos.length ? pos.join(' ') : 'none'}`}`,
    );
  if (!problems.length) problems.push(...(cmd.check?.(values as Values<O>, pos) ?? []));
  if (problems.length) throw usageError(cmd, ...problems);
  return { values: values as Values<O>, positionals: pos, help: false };
}

// ---- Option specs ---------------------------------------------------------------------------

interface Common<T> {
  required?: boolean;
  default?: T;
  short?: string;
}
type Present<C> = C extends { required: true } ? true : C extends { default: unknown } ? true : false;

function spec<T, const C extends Common<T>>(c: C | undefined, parse: (text: string) => T): Opt<T, Present<C>> {
  return { type: 'string', ...c, parse } as Opt<T, Present<C>>;
}

/** A flag: true when given, else false. */
export function flag(short?: string): Opt<boolean, true> {
  return { type: 'boolean', default: false, ...(short ? { short } : {}) } as Opt<boolean, true>;
}

/** Any non-empty text (a directory, a name, a revision). */
export function text<const C extends Common<string>>(c?: C): Opt<string, Present<C>> {
  return spec(c, (t) => t);
}

/** A value checked by a command's own function (which throws ArgProblem). */
export function custom<T, const C extends Common<T>>(parse: (text: string) => T, c?: C): Opt<T, Present<C>> {
  return spec(c, parse);
}

/**
 * A list, given as often as needed and comma-separated (`--x a,b --x c`): each item checked by
 * `item`, which throws (an ArgProblem, or an Error saying what is wrong with it).
 */
export function list<T, const C extends Common<T[]>>(item: (text: string) => T, c?: C): Opt<T[], Present<C>> {
  const parse = (t: string) =>
    t.split(',').map((x) => {
      if (!x) throw new ArgProblem('expected a comma-separated list without empty items');
      try {
        return item(x);
      } catch (e) {
        throw e instanceof ArgProblem ? e : new ArgProblem((e as Error).message);
      }
    });
  return { ...spec(c, parse), multiple: true };
}

/** A number in [min, max]; whole numbers only when integer. */
export function number<const C extends Common<number> & { min?: number; max?: number; integer?: boolean; above?: number }>(c?: C): Opt<number, Present<C>> {
  return spec(c, (t) => {
    const n = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t.trim()) ? Number(t) : Number.NaN;
    const what = c?.integer ? 'a whole number' : 'a number';
    const range = [c?.min !== undefined ? `>= ${c.min}` : c?.above !== undefined ? `> ${c.above}` : '', c?.max !== undefined ? `<= ${c.max}` : '']
      .filter(Boolean)
      .join(' and ');
    const ok =
      Number.isFinite(n) &&
      (!c?.integer || Number.isInteger(n)) &&
      (c?.min === undefined || n >= c.min) &&
      (c?.above === undefined || n > c.above) &&
      (c?.max === undefined || n <= c.max);
    if (!ok) throw new ArgProblem(`expected ${what}${range ? ` ${range}` : ''}`);
    return n;
  });
}

/** One of the given words. */
export function oneOf<const W extends string, const C extends Common<W>>(words: readonly W[], c?: C): Opt<W, Present<C>> {
  return spec(c, (t) => {
    if (!(words as readonly string[]).includes(t)) throw new ArgProblem(`expected ${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`);
    return t as W;
  });
}

/** setTimeout's limit: a longer duration would fire at once. */
const MAX_MS = 2 ** 31 - 1;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration, in milliseconds: seconds when bare (90, 0.5), or with a unit (500ms, 90s, 5m, 1h). */
export function duration<const C extends Common<number> & { minMs?: number }>(c?: C): Opt<number, Present<C>> {
  return spec(c, (t) => {
    const m = /^(\d+\.?\d*|\.\d+)(ms|s|m|h)?$/.exec(t.trim());
    const ms = m ? Number(m[1]) * UNIT_MS[m[2] ?? 's'] : Number.NaN;
    const min = c?.minMs ?? 0;
    if (!Number.isFinite(ms) || ms < min || ms > MAX_MS)
      throw new ArgProblem(`expected a duration from ${min / 1000} s to 24 days: seconds (90, 0.5) or with a unit (500ms, 90s, 5m, 1h)`);
    return ms;
  });
}

/** An MQTT broker's URL: mqtt://HOST:PORT (or tcp://), or mqtts://HOST:PORT for TLS. */
export function brokerUrl<const C extends Common<string>>(c?: C): Opt<string, Present<C>> {
  return spec(c, (t) => {
    let u: URL | undefined;
    try {
      u = new URL(t);
    } catch {
      /* below */
    }
    if (!u || !['mqtt:', 'tcp:', 'mqtts:'].includes(u.protocol) || !u.hostname) throw new ArgProblem('expected mqtt://HOST:PORT or mqtts://HOST:PORT');
    return t;
  });
}

/** key=value[,key=value…] */
export function labels<const C extends Common<Record<string, string>>>(c?: C): Opt<Record<string, string>, Present<C>> {
  return spec(c, (t) => {
    const out: Record<string, string> = {};
    for (const kv of t.split(',')) {
      const m = /^([A-Za-z0-9._/-]{1,63})=([^,]*)$/.exec(kv.trim());
      if (!m) throw new ArgProblem('expected key=value[,key=value…]');
      out[m[1]] = m[2];
    }
    return out;
  });
}

/** LAT,LON in degrees. */
export function location<const C extends Common<{ lat: number; lon: number }>>(c?: C): Opt<{ lat: number; lon: number }, Present<C>> {
  return spec(c, (t) => {
    const m = /^(-?[0-9.]+),(-?[0-9.]+)$/.exec(t);
    const lat = Number(m?.[1]),
      lon = Number(m?.[2]);
    if (!m || !(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180)) throw new ArgProblem('expected LAT,LON in degrees, e.g. 48.137,11.575');
    return { lat, lon };
  });
}

/** HOST:PORT or PORT (port 0: any free one). */
export function hostPort<const C extends Common<{ host: string; port: number }>>(c?: C): Opt<{ host: string; port: number }, Present<C>> {
  return spec(c, (t) => {
    const m = /^(?:(.+):)?([0-9]{1,5})$/.exec(t);
    if (!m || Number(m[2]) > 65535) throw new ArgProblem('expected HOST:PORT or PORT');
    return { host: m[1] ?? '127.0.0.1', port: Number(m[2]) };
  });
}

/** A command's failure that is not a usage error: its message is printed, without a stack, and it exits with exitCode (never 64). */
export class Failure extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'Failure';
  }
}

/** --tls-ca / --tls-cert / --tls-key of a part: a client certificate needs its key, and the reverse. */
export function tlsProblems(v: { 'tls-cert'?: string; 'tls-key'?: string }): string[] {
  if (v['tls-cert'] !== undefined && v['tls-key'] === undefined) return ['--tls-cert needs --tls-key (the client certificate’s private key)'];
  if (v['tls-key'] !== undefined && v['tls-cert'] === undefined) return ['--tls-key needs --tls-cert'];
  return [];
}

/** `--log-format text|json`, for the long-running parts (reconciler/core/log.ts); CANOPY_LOG_FORMAT when absent. */
export const logFormatOption = () => oneOf(['text', 'json'] as const);
export const LOG_FORMAT_USAGE =
  '  --log-format F       text (the default) or json: a JSON object a line (time, level, part, fleet, cluster, node, service, commit, msg)';
