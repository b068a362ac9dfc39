// The web dashboard's server (node:http, no framework): the page (dist/ui: index.html, style.css
// and app.js, the client bundled by scripts/bundle-cli.mjs) and read-only JSON under /api/, each
// read from Git on every request by the functions `canopy status`, `history` and the map use:
//
//   /api/status                 fleetStatus: the document `canopy status --json` prints
//   /api/clusters               clusterMap: where each cluster is, its capacity and what is free
//   /api/timeline               timeline: main's commits with their notes, convergence, rollouts
//   /api/history?service=A/N    fleetHistory: a service's placement history (`canopy history A/N --json`)
//   /api/events                 server-sent events: a snapshot of status, clusters and timeline, then a
//                               JSON Patch of them per change (live.ts)
//
// The refs are looked at every REF_POLL_MS while a page listens (listRefs reads the ref files and
// packed-refs: a few small reads), so a change shows within a second wherever the repository is
// written from: the root in this process, a cluster's push, or `git fetch` into a clone.
// With a token, every request must carry it: `Authorization: Bearer T`, the cookie that `?token=T`
// sets, else 401. Nothing here writes.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Repo } from '../git/repo.js';
import { fleetStatus } from './fleet-status.js';
import { fleetHistory, UnknownServiceError } from './history.js';
import { clusterMap, timeline } from './dashboard.js';
import { liveFeed } from './live.js';

export const REF_POLL_MS = 250;
/** The documents are read again this often while a page listens, moved ref or not (a record goes stale by time). */
export const RECOMPUTE_MS = 5_000;
const COOKIE = 'canopy_ui_token';
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

export interface UiServerOptions {
  repo: Repo;
  host: string;
  /** 0: a free port. */
  port: number;
  /** When set, every request must carry it. */
  token?: string;
  log?: { warn(m: string): void };
}

export interface UiServer {
  /** http://HOST:PORT/ */
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startUiServer(o: UiServerOptions): Promise<UiServer> {
  const assets = new Map(
    Object.entries(ASSETS).map(([p, a]) => {
      const body = readFileSync(fileURLToPath(new URL(`../../ui/${a.file}`, import.meta.url)));
      return [p, { ...a, body, gz: gzipSync(body, { level: 9 }) }];
    }),
  );
  const events = liveFeed(o.repo, { pollMs: REF_POLL_MS, recomputeMs: RECOMPUTE_MS, log: o.log });
  const server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      o.log?.warn(`ui: ${req.url}: ${e.message}`);
      if (!res.headersSent) json(res, 500, { error: e.message });
      else res.end();
    });
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://ui');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:");
    if (o.token !== undefined && !allowed(req, url, res, o.token)) return unauthorized(res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'the dashboard is read-only: GET only' });
    const asset = assets.get(url.pathname);
    if (asset) {
      // Compressed once at start for a browser that takes gzip (the client is about 150 KB, 55 KB gzipped).
      const gz = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      res.writeHead(200, { 'Content-Type': asset.type, 'Cache-Control': 'no-cache', Vary: 'Accept-Encoding', ...(gz ? { 'Content-Encoding': 'gzip' } : {}) });
      return void res.end(gz ? asset.gz : asset.body);
    }
    switch (url.pathname) {
      case '/api/status':
        return json(res, 200, await fleetStatus(o.repo));
      case '/api/clusters':
        return json(res, 200, await clusterMap(o.repo));
      case '/api/timeline':
        return json(res, 200, await timeline(o.repo));
      case '/api/history':
        return history(res, url.searchParams.get('service'));
      case '/api/events':
        if (req.method === 'HEAD') return void res.writeHead(200, { 'Content-Type': 'text/event-stream' }).end();
        return events.add(req, res);
    }
    json(res, 404, {
      error: `no ${url.pathname} here: the dashboard serves /, /api/status, /api/clusters, /api/timeline, /api/history?service=APP/NAME, /api/events`,
    });
  }
  async function history(res: ServerResponse, service: string | null): Promise<void> {
    if (!service) return json(res, 400, { error: 'give ?service=APP/NAME' });
    try {
      json(res, 200, await fleetHistory(o.repo, { service, limit: 500 }));
    } catch (e) {
      if (e instanceof UnknownServiceError) return json(res, 404, { error: e.message, known: e.known });
      throw e;
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}/`,
    port,
    async close() {
      events.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** The request carries the token (a `?token=` one is kept in a cookie for the page's later requests). */
function allowed(req: IncomingMessage, url: URL, res: ServerResponse, token: string): boolean {
  const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (bearer !== undefined) return same(bearer.trim(), token);
  const q = url.searchParams.get('token');
  if (q !== null) {
    if (!same(q, token)) return false;
    res.setHeader('Set-Cookie', `${COOKIE}=${encodeURIComponent(q)}; Path=/; HttpOnly; SameSite=Strict`);
    return true;
  }
  const cookie = (req.headers.cookie ?? '').split(/;\s*/).find((c) => c.startsWith(`${COOKIE}=`));
  return cookie !== undefined && same(decodeURIComponent(cookie.slice(COOKIE.length + 1)), token);
}

function unauthorized(res: ServerResponse): void {
  res.writeHead(401, { 'Content-Type': 'text/plain; charset=utf-8', 'WWW-Authenticate': 'Bearer realm="canopy"', 'Cache-Control': 'no-store' });
  res.end(
    'canopy dashboard: this dashboard needs its token (--ui-token-file or CANOPY_UI_TOKEN where it runs).\n' +
      'Open it as http://HOST:PORT/?token=TOKEN (a cookie keeps it), or send "Authorization: Bearer TOKEN".\n',
  );
}

/** The dashboard's token: the first line of --ui-token-file FILE, else $CANOPY_UI_TOKEN, else none. */
export function uiToken(file: string | undefined, env = process.env): string | undefined {
  if (file !== undefined) {
    let t: string;
    try {
      t = readFileSync(file, 'utf8').split('\n')[0].trim();
    } catch (e) {
      throw new Error(`--ui-token-file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    if (!t) throw new Error(`--ui-token-file ${file}: empty (its first line is the token)`);
    return t;
  }
  return env.CANOPY_UI_TOKEN?.trim() || undefined;
}
