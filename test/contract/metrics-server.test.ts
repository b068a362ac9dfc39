// The /metrics endpoint as Prometheus meets it: a real node:http server on a free loopback port,
// GET and HEAD of /metrics in format 0.0.4, 404 elsewhere, 405 for other methods, a collect that
// throws gives 500 (not a dead server), and a port in use fails naming the option.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CONTENT_TYPE, serveMetrics, type MetricsServer } from '../../cli/metrics-server.js';
import { createTelemetry } from '../../reconciler/core/telemetry.js';

const t = suite('metrics server');
const registry = createTelemetry();
registry.counter('canopy_commits_total', 'commits').inc({ result: 'accepted' });
let failing = false;
let server: MetricsServer;

t.before(async () => {
  server = await serveMetrics({ host: '127.0.0.1', port: 0 }, () => {
    if (failing) throw new Error('boom');
    return registry.collect();
  });
});
t.after(() => server.close());

t('GET /metrics: the exposition, format 0.0.4; HEAD: headers only', async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  const r = await fetch(server.url);
  assert.is(r.status, 200);
  assert.is(r.headers.get('content-type'), CONTENT_TYPE);
  assert.is(await r.text(), '# HELP canopy_commits_total commits\n# TYPE canopy_commits_total counter\ncanopy_commits_total{result="accepted"} 1\n');
  const q = await fetch(`${server.url}?x=1`);
  assert.is(q.status, 200, 'a query string is ignored');
  const h = await fetch(server.url, { method: 'HEAD' });
  assert.is(h.status, 200);
  assert.is(await h.text(), '');
});

t('elsewhere 404, other methods 405, a failing collect 500', async () => {
  const base = server.url.replace(/\/metrics$/, '');
  for (const p of ['/', '/metrics/', '/health', '/api/status']) assert.is((await fetch(base + p)).status, 404, p);
  const post = await fetch(server.url, { method: 'POST', body: 'x' });
  assert.is(post.status, 405);
  assert.is(post.headers.get('allow'), 'GET, HEAD');
  failing = true;
  const bad = await fetch(server.url);
  assert.is(bad.status, 500);
  assert.match(await bad.text(), /boom/);
  failing = false;
  assert.is((await fetch(server.url)).status, 200, 'and serves again');
});

t('a port in use: an error naming the option and the address', async () => {
  const port = Number(new URL(server.url).port);
  const err = await serveMetrics({ host: '127.0.0.1', port }, () => [], '--metrics').catch((e: Error) => e);
  assert.instance(err, Error);
  assert.is((err as Error).message, `--metrics 127.0.0.1:${port}: the port is in use (another process listens there): choose another, or 0 for a free one`);
  assert.is((err as { exitCode?: number }).exitCode, 1);
});

t.run();
