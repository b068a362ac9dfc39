// The /metrics endpoint: a node:http server that answers GET (and HEAD) /metrics with the
// Prometheus text exposition format (version 0.0.4) of what `families` returns when scraped,
// and 404 elsewhere. One part's registry, or several merged (canopy up: mergeFamilies labels
// each part's series with part, cluster and node).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Failure } from './args.js';
import type { MetricsAt } from './metrics-option.js';
import type { Running } from './parts/running.js';
import type { Logger } from '../reconciler/core/log.js';
import { renderPrometheus, type MetricFamily } from '../reconciler/core/telemetry.js';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricsServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Listens at `at` (port 0: a free one); fails with a message naming `option` when it cannot. */
export async function serveMetrics(at: MetricsAt, families: () => MetricFamily[], option = '--metrics'): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    let body: string;
    try {
      body = renderPrometheus(families());
    } catch (e) {
      return void res.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${(e as Error).message}\n`);
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new Failure(`${option} ${shown(at.host, at.port)}: ${listenProblem(e)}`)));
    server.listen(at.port, at.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${shown(at.host, port)}/metrics`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const shown = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}:${port}`;

function listenProblem(e: NodeJS.ErrnoException): string {
  if (e.code === 'EADDRINUSE') return 'the port is in use (another process listens there): choose another, or 0 for a free one';
  if (e.code === 'EADDRNOTAVAIL') return 'no interface of this machine has that address';
  if (e.code === 'EACCES') return 'not allowed to listen there (ports below 1024 need privileges)';
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return 'the host name does not resolve';
  return e.message;
}

/**
 * A single part's start, with its metrics served: the address is taken before the part starts
 * (a port in use fails at once, not after connecting), the part's registry served once it runs,
 * the server closed before the part stops.
 */
export function servingMetrics(at: MetricsAt, log: Logger, start: () => Promise<Running>): () => Promise<Running> {
  return async () => {
    let part: Running | undefined;
    const server = await serveMetrics(at, () => part?.telemetry?.collect() ?? []);
    try {
      part = await start();
    } catch (e) {
      await server.close();
      throw e;
    }
    log.info(`metrics at ${server.url}`);
    const running = part;
    return {
      telemetry: running.telemetry,
      async stop() {
        await server.close();
        await running.stop();
      },
    };
  };
}
