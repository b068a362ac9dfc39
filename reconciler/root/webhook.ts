// A webhook endpoint for Git hosts: a push to main (GitHub or Gitea form) makes the root fetch
// at once instead of waiting for its poll. The payload is only a hint; the root fetches and
// reads main itself. With a secret, the HMAC signature must match.
import http from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Logger } from '../core/log.js';

export interface Webhook {
  port: number;
  close(): Promise<void>;
  readonly stats: { accepted: number; rejected: number };
}

export async function startWebhook(o: { host: string; port: number; branch: string; secret?: string; onPush: () => void; log: Logger }): Promise<Webhook> {
  const stats = { accepted: 0, rejected: 0 };
  const reply = (res: http.ServerResponse, code: number, body: Record<string, unknown>) => {
    if (code >= 400) stats.rejected++;
    res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body) + '\n');
  };
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') return reply(res, 405, { error: 'POST a push event here' });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 1 << 20) chunks.push(c);
    });
    req.on('end', () => {
      if (size > 1 << 20) return reply(res, 413, { error: 'payload over 1 MiB' });
      const body = Buffer.concat(chunks);
      if (o.secret) {
        const sig = String(req.headers['x-hub-signature-256'] ?? req.headers['x-gitea-signature'] ?? '').replace(/^sha256=/, '');
        const want = createHmac('sha256', o.secret).update(body).digest('hex');
        if (sig.length !== want.length || !timingSafeEqual(Buffer.from(sig), Buffer.from(want))) {
          o.log.warn('webhook: bad or missing signature (X-Hub-Signature-256 / X-Gitea-Signature)');
          return reply(res, 401, { error: 'signature does not match the webhook secret' });
        }
      }
      let payload: { ref?: unknown };
      try {
        payload = JSON.parse(body.toString('utf8'));
      } catch (e) {
        return reply(res, 400, { error: `body is not JSON: ${(e as Error).message}` });
      }
      const event = String(req.headers['x-github-event'] ?? req.headers['x-gitea-event'] ?? 'push');
      if (event === 'ping') return reply(res, 200, { ok: true });
      if (typeof payload?.ref !== 'string') return reply(res, 400, { error: 'push payload has no "ref" string' });
      if (payload.ref !== `refs/heads/${o.branch}`) return reply(res, 202, { ignored: `${payload.ref} is not refs/heads/${o.branch}` });
      stats.accepted++;
      o.onPush();
      return reply(res, 202, { queued: true });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  o.log.info(`webhook listening on http://${o.host}:${port}/`);
  return {
    port,
    stats,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}
