// Argument parsing for every command: node's parseArgs, strict, with errors that say what to do.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../reconciler/core/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Options;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

export function parse(cmd: Command, argv: string[]) {
  try {
    return parseArgs({ args: argv, options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`canopy ${cmd.name}: ${(e as Error).message.replace(/\. To specify a positional.*$/s, '')}\n\n${cmd.usage}`);
  }
}

export function required(cmd: Command, v: Record<string, unknown>, ...names: string[]): void {
  const missing = names.filter((n) => v[n] === undefined || v[n] === '');
  if (missing.length) throw new UsageError(`canopy ${cmd.name}: missing ${missing.map((m) => `--${m}`).join(', ')}\n\n${cmd.usage}`);
}

export function num(name: string, v: unknown, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} ${String(v)}: expected a number >= ${min}`);
  return n;
}

export function labels(name: string, v: unknown): Record<string, string> {
  if (v === undefined || v === '') return {};
  const out: Record<string, string> = {};
  for (const kv of String(v).split(',')) {
    const m = /^([A-Za-z0-9._/-]{1,63})=([^,]*)$/.exec(kv.trim());
    if (!m) throw new UsageError(`--${name} ${String(v)}: expected key=value[,key=value…]`);
    out[m[1]] = m[2];
  }
  return out;
}

export function location(name: string, v: unknown): { lat: number; lon: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(-?[0-9.]+),(-?[0-9.]+)$/.exec(String(v));
  const lat = Number(m?.[1]),
    lon = Number(m?.[2]);
  if (!m || !(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180))
    throw new UsageError(`--${name} ${String(v)}: expected LAT,LON in degrees, e.g. 48.137,11.575`);
  return { lat, lon };
}

export function brokerUrl(v: unknown): string {
  const s = String(v);
  try {
    const u = new URL(s);
    if (u.protocol === 'mqtt:' || u.protocol === 'tcp:') return s;
  } catch {
    /* below */
  }
  throw new UsageError(`--broker ${s}: expected mqtt://HOST:PORT`);
}
