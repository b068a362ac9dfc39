// --metrics HOST:PORT, the option of root, cluster, agent and up that serves /metrics: parsed
// here (a usage error, exit 64, names the option), served by metrics-server.ts, which a part's
// command imports only when the option is given (the agent's footprint stays as it was).
import { ArgProblem, custom } from './args.js';

export interface MetricsAt {
  host: string;
  port: number;
}

/** A host name, an IPv4 address or an IPv6 one (bracketed or not), then a port; PORT alone is on 127.0.0.1; port 0 picks a free one. */
export function metricsAt(text: string): MetricsAt {
  const m = /^(?:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*):)?([0-9]{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535) throw new ArgProblem('expected HOST:PORT or PORT (0 for a free port)');
  return { host: m[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1', port: Number(m[2]) };
}

export const metricsOption = () => custom(metricsAt);

export const METRICS_USAGE = '  --metrics HOST:PORT   serve Prometheus metrics at http://HOST:PORT/metrics (PORT alone: on 127.0.0.1)';
