// A container's output from Docker's own logs (GET /containers/{id}/logs, the API of `docker
// logs --tail N --follow`): Docker keeps and caps it (its log driver's options), so the agent
// stores nothing. Without a TTY the engine multiplexes stdout and stderr in frames of an 8-byte
// header (stream, 0, 0, 0, big-endian length) and the bytes; with one the stream is raw.
import http from 'node:http';
import https from 'node:https';
import { LineSplitter } from '../../reconciler/core/logs.js';
import type { EngineAddress } from './docker-engine.js';
import type { LogSource } from './driver.js';

export function dockerLogs(address: EngineAddress, name: string, o: { tail: number; follow: boolean }, onLine: (line: string) => void): LogSource {
  const transport = address.tls ? https : http;
  const split = new LineSplitter(onLine);
  const demux = frameReader((bytes) => split.push(bytes.toString('utf8')));
  let req: http.ClientRequest | undefined;
  const done = new Promise<void>((resolve, reject) => {
    req = transport.request(
      {
        method: 'GET',
        path: `/containers/${encodeURIComponent(name)}/logs?stdout=1&stderr=1&tail=${o.tail}&follow=${o.follow ? 1 : 0}`,
        ...(address.socketPath ? { socketPath: address.socketPath } : { host: address.host, port: address.port }),
        ...(address.tls ?? {}),
        headers: { Host: 'docker' },
        agent: false,
      },
      (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(new Error(`docker logs ${name}: ${res.statusCode} ${Buffer.concat(chunks).toString('utf8').trim().slice(0, 200)}`)));
          return;
        }
        res.on('data', (c: Buffer) => demux(c));
        res.on('error', () => resolve());
        res.on('close', () => {
          split.end();
          resolve();
        });
      },
    );
    req.on('error', (e) => reject(new Error(`docker logs ${name}: ${e.message}`)));
    req.end();
  });
  return {
    done,
    stop: () => req?.destroy(),
  };
}

/** Reads multiplexed frames; a stream that does not start with a frame header is passed on raw (a TTY). */
export function frameReader(out: (bytes: Buffer) => void): (chunk: Buffer) => void {
  let mode: 'unknown' | 'frames' | 'raw' = 'unknown';
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    if (mode === 'raw') return out(chunk);
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    if (mode === 'unknown') {
      if (buf.length < 4) return;
      mode = buf[0]! <= 2 && buf[1] === 0 && buf[2] === 0 && buf[3] === 0 ? 'frames' : 'raw';
      if (mode === 'raw') {
        out(buf);
        buf = Buffer.alloc(0);
        return;
      }
    }
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      out(buf.subarray(8, 8 + size));
      buf = buf.subarray(8 + size);
    }
  };
}
