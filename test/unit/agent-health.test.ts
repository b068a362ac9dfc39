// Health probes of the node agent (agents/health): each probe against real sockets on 127.0.0.1
// (a node http server, a net server, a closed port, commands run on the host), and the readiness
// a run of outcomes gives: not ready until the first pass, unready after failureThreshold
// failures in a row, a restart asked for after failureThreshold more past startSeconds.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { execOnHost, probeHttp, probeTcp } from '../../agents/health/probes.js';
import { newHealthRecord, recordProbe, timingsOf } from '../../agents/health/readiness.js';

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** An http server whose answer to each request is `answer.status` (undefined: never answers). */
async function httpServer(answer: { status?: number }) {
  const hung: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    if (answer.status === undefined) return void hung.push(res);
    res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(`${req.url}\n`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: async () => {
      for (const r of hung) r.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const Probes = suite('health probes on real sockets');

Probes('http: any 2xx or 3xx passes; another status fails naming the request and the status', async () => {
  const answer: { status?: number } = { status: 200 };
  const srv = await httpServer(answer);
  try {
    assert.is(await probeHttp('127.0.0.1', srv.port, '/health', undefined, 2000), undefined);
    answer.status = 302;
    assert.is(await probeHttp('127.0.0.1', srv.port, '/health', undefined, 2000), undefined);
    answer.status = 503;
    assert.is(await probeHttp('127.0.0.1', srv.port, '/health', undefined, 2000), 'GET /health: 503');
    answer.status = 404;
    assert.is(await probeHttp('127.0.0.1', srv.port, '/ok', undefined, 2000), 'GET /ok: 404');
  } finally {
    await srv.close();
  }
});

Probes('http: with `status`, only that status passes', async () => {
  const answer: { status?: number } = { status: 200 };
  const srv = await httpServer(answer);
  try {
    assert.is(await probeHttp('127.0.0.1', srv.port, '/', 204, 2000), 'GET /: 200 (expected 204)');
    answer.status = 204;
    assert.is(await probeHttp('127.0.0.1', srv.port, '/', 204, 2000), undefined);
    answer.status = 418;
    assert.is(await probeHttp('127.0.0.1', srv.port, '/', 418, 2000), undefined, 'a 4xx asked for passes');
  } finally {
    await srv.close();
  }
});

Probes('http: a closed port and a server that never answers fail with why', async () => {
  const port = await closedPort();
  assert.is(await probeHttp('127.0.0.1', port, '/health', undefined, 2000), `GET /health: connect ECONNREFUSED 127.0.0.1:${port}`);
  const srv = await httpServer({});
  try {
    assert.is(await probeHttp('127.0.0.1', srv.port, '/slow', undefined, 300), 'GET /slow: no answer within 0.3 s');
  } finally {
    await srv.close();
  }
});

Probes('tcp: a listening port passes, a closed one fails with the connect error', async () => {
  const server = net.createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    assert.is(await probeTcp('127.0.0.1', (server.address() as AddressInfo).port, 2000), undefined);
  } finally {
    await new Promise((r) => server.close(r));
  }
  const port = await closedPort();
  assert.is(await probeTcp('127.0.0.1', port, 2000), `connect ECONNREFUSED 127.0.0.1:${port}`);
});

Probes('exec on the host: exit 0 passes, another code fails, the environment is the one given, a hang is killed', async () => {
  assert.is(await execOnHost(['true'], process.env, 5000), undefined);
  assert.is(await execOnHost(['sh', '-c', 'exit 3'], process.env, 5000), 'exec exited 3');
  const env = { ...process.env, PROBE_X: 'yes' };
  assert.is(await execOnHost(['sh', '-c', 'test "$PROBE_X" = yes'], env, 5000), undefined);
  assert.is(await execOnHost(['sh', '-c', 'test "$PROBE_X" = yes'], process.env, 5000), 'exec exited 1');
  assert.is(await execOnHost(['sleep', '30'], process.env, 300), 'exec: no exit within 0.3 s');
  assert.match((await execOnHost(['/no/such/probe'], process.env, 5000)) ?? '', /^exec: spawn \/no\/such\/probe ENOENT/);
});

Probes.run();

const Ready = suite('readiness from probe outcomes');
const SINCE = Date.parse('2025-01-01T00:00:00Z');
const at = (s: number) => SINCE + s * 1000;

Ready('not ready until the first pass; failureThreshold failures in a row make it unready with the last failure', () => {
  const t = timingsOf({ http: { path: '/', port: 80 }, failureThreshold: 3 });
  const r = newHealthRecord('h1', new Date(SINCE).toISOString());
  assert.is(r.ready, false);
  assert.is(recordProbe(r, t, undefined, at(1)), true, 'became ready: a change');
  assert.is(r.ready, true);
  assert.is(r.readySince, at(1));
  assert.is(recordProbe(r, t, undefined, at(2)), false, 'still ready: no change');
  assert.is(recordProbe(r, t, 'GET /: 503', at(3)), false, 'one failure: still ready');
  assert.is(recordProbe(r, t, 'GET /: 503', at(4)), false);
  assert.is(r.ready, true);
  assert.is(recordProbe(r, t, 'GET /: 500', at(5)), true, 'the third in a row: unready');
  assert.is(r.ready, false);
  assert.is(r.notReady, 'GET /: 500');
  assert.is(r.failed, undefined, 'unready, not yet restarted');
  assert.is(recordProbe(r, t, undefined, at(6)), true, 'a pass: ready again');
  assert.equal([r.ready, r.notReady, r.failures], [true, undefined, 0]);
});

Ready('a pass between failures resets the count', () => {
  const t = timingsOf({ tcp: { port: 80 }, failureThreshold: 2 });
  const r = newHealthRecord('h1', new Date(SINCE).toISOString());
  recordProbe(r, t, undefined, at(1));
  recordProbe(r, t, 'connect ECONNREFUSED 127.0.0.1:80', at(2));
  recordProbe(r, t, undefined, at(3));
  recordProbe(r, t, 'connect ECONNREFUSED 127.0.0.1:80', at(4));
  assert.is(r.ready, true, 'never two in a row');
});

Ready('unready for failureThreshold more probes: a restart is asked for with the last failure', () => {
  const t = timingsOf({ http: { path: '/', port: 80 }, failureThreshold: 2 });
  const r = newHealthRecord('h1', new Date(SINCE).toISOString());
  recordProbe(r, t, undefined, at(1));
  recordProbe(r, t, 'GET /: 503', at(2));
  assert.is(recordProbe(r, t, 'GET /: 503', at(3)), true);
  assert.is(r.ready, false, 'unready after 2');
  assert.is(r.failed, undefined, 'the failures that made it unready do not count for the restart');
  assert.is(recordProbe(r, t, 'GET /: 503', at(4)), false, 'same message: nothing new to show');
  assert.is(recordProbe(r, t, 'GET /: 404', at(5)), true);
  assert.is(r.failed, 'health probe failed: GET /: 404');
});

Ready('a replica never ready: failures within startSeconds do not count towards the restart', () => {
  const t = timingsOf({ exec: { command: ['true'] }, failureThreshold: 2, startSeconds: 10 });
  const r = newHealthRecord('h1', new Date(SINCE).toISOString());
  for (const s of [1, 3, 5, 7, 9]) recordProbe(r, t, 'exec exited 1', at(s));
  assert.is(r.ready, false);
  assert.is(r.notReady, 'exec exited 1');
  assert.is(r.failed, undefined, 'within the grace: no restart');
  recordProbe(r, t, 'exec exited 1', at(11));
  assert.is(r.failed, undefined, 'one failure past the grace');
  recordProbe(r, t, 'exec exited 2', at(13));
  assert.is(r.failed, 'health probe failed: exec exited 2');
});

Ready('defaults: every 10 s, 2 s deadline, 3 failures, no grace', () => {
  assert.equal(timingsOf({ tcp: { port: 1 } }), { intervalMs: 10_000, timeoutMs: 2000, failureThreshold: 3, startMs: 0 });
  assert.equal(timingsOf({ tcp: { port: 1 }, intervalSeconds: 1, timeoutSeconds: 0.5, failureThreshold: 1, startSeconds: 4 }), {
    intervalMs: 1000,
    timeoutMs: 500,
    failureThreshold: 1,
    startMs: 4000,
  });
});

Ready.run();
