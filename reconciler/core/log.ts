// Minimal levelled logger: one line per event, prefixed with the component, to stderr.
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  child(name: string): Logger;
}

export type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

export function createLogger(
  name: string,
  level: Level = (process.env.CANOPY_LOG as Level) || 'info',
  sink: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): Logger {
  const at = (lv: Level) => (msg: string) => {
    if (ORDER[lv] < ORDER[level]) return;
    sink(`${new Date().toISOString()} ${lv.padEnd(5)} [${name}] ${msg}`);
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (n) => createLogger(`${name}/${n}`, level, sink),
  };
}
