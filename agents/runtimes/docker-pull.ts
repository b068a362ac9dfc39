// One image pull through the Docker Engine API (POST /images/create), over node:http like
// docker-engine.ts: the engine answers 200 and streams JSON lines (progress per layer, and an
// `error` line when the pull fails after it started), or an error status before anything.
// Rejects with the engine's reason, never with the credentials it was given.
import http from 'node:http';
import https from 'node:https';
import type { EngineAddress } from './docker-engine.js';
import { PullProgress, parseImageRef, pullQuery, redact, registryAuthHeader, type RegistryCredentials } from './image-ref.js';

export interface PullOptions {
  /** The whole pull's deadline, ms. */
  timeoutMs: number;
  /** No byte from the engine for this long (ms) ends the pull. */
  stallMs: number;
  /** Told the percentage downloaded when it changes. */
  onProgress?(percent: number): void;
}

export function pullImage(address: EngineAddress, image: string, auth: RegistryCredentials | undefined, o: PullOptions): Promise<void> {
  const ref = parseImageRef(image);
  const transport = address.tls ? https : http;
  const progress = new PullProgress();
  const fail = (m: string) => new Error(redact(m, auth));
  return new Promise<void>((resolve, reject) => {
    let shown = -1;
    const req = transport.request(
      {
        method: 'POST',
        path: `/images/create?${pullQuery(ref)}`,
        ...(address.socketPath ? { socketPath: address.socketPath } : { host: address.host, port: address.port }),
        ...(address.tls ?? {}),
        headers: { Host: 'docker', ...(auth ? { 'X-Registry-Auth': registryAuthHeader(ref.host, auth) } : {}) },
        agent: false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        let rest = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (status !== 200) {
            if (rest.length < 4000) rest += chunk;
            return;
          }
          const lines = (rest + chunk).split('\n');
          rest = lines.pop() ?? '';
          if (rest.length > 1 << 20) rest = ''; // no line is that long: drop it rather than grow
          for (const l of lines) if (l.trim()) progress.line(l);
          const pct = progress.percent();
          if (pct !== shown && !progress.error) {
            shown = pct;
            o.onProgress?.(pct);
          }
        });
        res.on('error', (e) => reject(fail(e.message)));
        res.on('end', () => {
          clearTimeout(deadline);
          if (status !== 200) return reject(fail(engineReason(rest) || `the engine answered ${status}`));
          if (rest.trim()) progress.line(rest);
          if (progress.error) reject(fail(progress.error));
          else resolve();
        });
      },
    );
    const deadline = setTimeout(() => req.destroy(new Error(`no image within ${Math.round(o.timeoutMs / 1000)} s`)), o.timeoutMs);
    req.setTimeout(o.stallMs, () => req.destroy(new Error(`no progress for ${Math.round(o.stallMs / 1000)} s`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(deadline);
      reject(fail(e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? `Docker Engine at ${address.label} is not reachable (${e.code})` : e.message));
    });
    req.end();
  });
}

function engineReason(text: string): string {
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof m === 'string') return m;
  } catch {
    /* not JSON */
  }
  return text.trim().slice(0, 300);
}
