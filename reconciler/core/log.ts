// Levelled logger: one line per event, to stderr. Two formats, chosen once per process
// (`--log-format`, or CANOPY_LOG_FORMAT; text unless asked):
//
//   text  2026-12-06T10:00:00.000Z warn  [cluster munich] node n1 disconnected; …
//   json  {"time":"2026-12-06T10:00:00.000Z","level":"warn","part":"cluster","fleet":"demo",
//          "cluster":"munich","msg":"node n1 disconnected; …"}
//
// JSON lines carry stable fields: time, level, part (root, cluster, agent, canopy for `up`
// itself), fleet, cluster, node, service and commit when the event concerns one (a logger
// `with` them), component for a child's own name, and msg. The part, cluster and node come from
// the logger's name as every part names it ('root', 'cluster C', 'agent C/N'), so every logger
// in the code base has them without being told.
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  child(name: string): Logger;
  /** The same logger, its lines carrying these fields too (JSON; text shows service and commit in its messages already). */
  with(fields: LogFields): Logger;
}

export type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFormat = 'text' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/** The stable fields of a JSON line (besides time, level and msg). */
export interface LogFields {
  part?: string;
  fleet?: string;
  cluster?: string;
  node?: string;
  service?: string;
  commit?: string;
  component?: string;
}

const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };
const FIELD_ORDER: ReadonlyArray<keyof LogFields> = ['part', 'fleet', 'cluster', 'node', 'service', 'commit', 'component'];

const settings: { format: LogFormat; fleet?: string } = { format: process.env.CANOPY_LOG_FORMAT === 'json' ? 'json' : 'text' };

/** Process-wide: the format of every line from now on, and the fleet every JSON line names. */
export function configureLogs(o: { format?: LogFormat; fleet?: string }): void {
  if (o.format) settings.format = o.format;
  if (o.fleet) settings.fleet = o.fleet;
}

export function logFormat(): LogFormat {
  return settings.format;
}

/** The fields a logger's name implies: 'canopy/cluster munich/adopt' → part cluster, cluster munich, component adopt. */
export function fieldsOfName(name: string): LogFields {
  const segs = name.split('/');
  const out: LogFields = {};
  const rest: string[] = [];
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const m = out.part && out.part !== 'canopy' ? null : /^(root|cluster|agent)(?: (.+))?$/.exec(seg);
    if (m) {
      out.part = m[1];
      if (m[1] === 'cluster') out.cluster = m[2];
      if (m[1] === 'agent' && m[2]) {
        out.cluster = m[2];
        out.node = segs[++i]; // 'agent C/N'
      }
    } else if (i === 0 && seg === 'canopy') out.part = 'canopy';
    else rest.push(seg);
  }
  for (const k of ['cluster', 'node'] as const) if (out[k] === undefined) delete out[k];
  if (rest.length) out.component = rest.join('/');
  return out;
}

/** One JSON line: the fields in a fixed order, absent ones left out. */
export function jsonLine(time: string, level: Exclude<Level, 'silent'>, fields: LogFields, msg: string): string {
  const o: Record<string, string> = { time, level };
  for (const k of FIELD_ORDER) {
    const v = k === 'fleet' ? (fields.fleet ?? settings.fleet) : fields[k];
    if (v !== undefined) o[k] = v;
  }
  o.msg = msg;
  return JSON.stringify(o);
}

export function createLogger(
  name: string,
  level: Level = (process.env.CANOPY_LOG as Level) || 'info',
  sink: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  fields: LogFields = fieldsOfName(name),
): Logger {
  const at = (lv: Exclude<Level, 'silent'>) => (msg: string) => {
    if (ORDER[lv] < ORDER[level]) return;
    const time = new Date().toISOString();
    sink(settings.format === 'json' ? jsonLine(time, lv, fields, msg) : `${time} ${lv.padEnd(5)} [${name}] ${msg}`);
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (n) => {
      const sub = `${name}/${n}`;
      return createLogger(sub, level, sink, { ...fields, ...fieldsOfName(sub) });
    },
    with: (more) => createLogger(name, level, sink, { ...fields, ...more }),
  };
}
