// Replicas spread over a cluster's nodes by default, as a user sees it: real Mosquitto, a root,
// the template's munich cluster and two agents started by hand on loopback addresses of their
// own, real Docker containers. The template's shop/web (busybox httpd) scaled to 3 runs on both
// nodes; then one node dies (its agent killed with SIGKILL, its containers removed) and the
// service still answers HTTP at a remaining replica's published port on its node's address;
// once the node is unreachable its replicas are placed again on the node that is left.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { canopy, start, eventually, type Proc } from '../helpers/canopy.js';
import { git, tempDir, commitFiles } from '../helpers/git.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { ownFleet, requireDocker } from '../helpers/docker.js';

const test = suite('spread over nodes');
const fleet = ownFleet(`e2e-spread-${process.pid}`);
const work = tempDir('canopy-spread-');
const dir = path.join(work, 'fleet');
// Loopback addresses of this run's nodes: apart from other test files' (127.0.0.x is up's).
const net = `127.${20 + ((process.pid + 97) % 200)}.${(process.pid >> 8) % 250}`;
const addr: Record<string, string> = { 'munich-n1': `${net}.11`, 'munich-n2': `${net}.12` };
const procs: Proc[] = [];
const agents = new Map<string, Proc>();
let broker: Mosquitto | undefined;
let root: Proc | undefined;

interface Replica {
  id: string;
  node: string;
  state: string;
}

/** shop/web's containers, as Docker lists them (independent of the code under test). */
function replicas(): Replica[] {
  const out = execFileSync(
    'docker',
    [
      ...['ps', '-a', '--filter', `label=canopy.fleet=${fleet}`, '--filter', 'label=canopy.service=shop/web'],
      ...['--format', '{{.ID}}\t{{.Label "canopy.node"}}\t{{.State}}'],
    ],
    { encoding: 'utf8' },
  );
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [id, node, state] = l.split('\t');
      return { id, node, state };
    });
}

/** Running replicas per node. */
function perNode(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of replicas()) if (r.state === 'running') out[r.node] = (out[r.node] ?? 0) + 1;
  return out;
}

/** Where Docker published the container's 8080/tcp: `address:port`. */
function published(id: string): { host: string; port: number } {
  const line = execFileSync('docker', ['port', id, '8080/tcp'], { encoding: 'utf8' }).split('\n')[0].trim();
  const m = /^(.*):(\d+)$/.exec(line);
  assert.ok(m, `docker port ${id} 8080/tcp: ${line}`);
  return { host: m![1], port: Number(m![2]) };
}

/** GET `path` at host:port; the status and the body, or the error's code. */
function get(host: string, port: number, p: string): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: p, agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
  });
}

function agent(name: string): Proc {
  const p = start([
    'agent',
    ...['--cluster', 'munich', '--name', name, '--broker', broker!.url, '--runtime', 'docker'],
    ...['--state-dir', path.join(work, 'state', name), '--address', addr[name]],
  ]);
  procs.push(p);
  agents.set(name, p);
  return p;
}

const outputs = () => [['root', root], ...agents].map(([n, p]) => `--- ${n}:\n${(p as Proc | undefined)?.output().slice(-2000) ?? ''}`).join('\n');

test.before(async () => {
  requireDocker();
  broker = await startMosquitto();
  assert.is(canopy(['init', dir]).code, 0);
  // The template as a user has it: only munich, and shop/web scaled from 2 to 3 replicas.
  const fy = git(dir, 'show', 'HEAD:fleet.yaml').replace(/name: demo/, `name: ${fleet}`);
  const web = readFileSync(path.join(dir, 'services/shop/web.yaml'), 'utf8');
  assert.match(web, /replicas: 2/);
  assert.not.match(web, /spread:/, 'the template says nothing of spread: the default is what is tested');
  commitFiles(
    dir,
    {
      'fleet.yaml': fy + '\n',
      'clusters/paris.yaml': null,
      'services/traffic-cam/detector.yaml': null,
      'services/shop/worker.yaml': null,
      'services/shop/web.yaml': web.replace(/replicas: 2/, 'replicas: 3'),
    },
    'web: 3 replicas, in munich',
  );
  const cluster = start(['cluster', '--name', 'munich', '--broker', broker.url, '--repo', dir, '--state-dir', path.join(work, 'state', 'munich')]);
  procs.push(cluster);
  agents.set('cluster', cluster);
  await cluster.waitFor(/running/);
  for (const n of Object.keys(addr)) await agent(n).waitFor(/running/);
  root = start(['root', '--repo', dir, '--broker', broker.url]);
  procs.push(root);
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '120']);
  assert.is(w.code, 0, `${w.stdout}${w.stderr}\n${outputs()}`);
});

test.after(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  await broker?.stop();
});

test('three replicas of shop/web in a two-node cluster run on both nodes', async () => {
  await eventually('three shop/web containers running', () => Object.values(perNode()).reduce((a, b) => a + b, 0) === 3, 60_000, 250).catch((e: Error) =>
    assert.unreachable(`${e.message}: ${JSON.stringify(perNode())}\n${outputs()}`),
  );
  const on = perNode();
  assert.equal(Object.keys(on).sort(), ['munich-n1', 'munich-n2'], JSON.stringify(on));
  assert.equal(Object.values(on).sort(), [1, 2]);
  // Each answers at its published port on its own node's address.
  for (const r of replicas()) {
    const at = published(r.id);
    assert.is(at.host, addr[r.node], `${r.id} on ${r.node} published at ${at.host}`);
    const res = await eventually(`${r.id} answers`, async () => {
      const x = await get(at.host, at.port, '/etc/hostname');
      return 'status' in x && x.status === 200 ? x : undefined;
    });
    assert.ok(res, `${r.id} answered`);
  }
});

test('one node dies (agent killed, containers gone): the service still answers, then runs 3 on the other node', async () => {
  const on = perNode();
  // The node with two replicas dies: the one left on the other node serves.
  const dead = Object.keys(on).find((n) => on[n] === 2)!;
  const alive = Object.keys(addr).find((n) => n !== dead)!;
  const left = replicas().find((r) => r.node === alive && r.state === 'running')!;
  await agents.get(dead)!.kill('SIGKILL');
  const gone = replicas().filter((r) => r.node === dead);
  assert.is(gone.length, 2, `${dead} ran two replicas`);
  execFileSync('docker', ['rm', '-f', ...gone.map((r) => r.id)], { stdio: 'ignore' });
  assert.is(perNode()[dead], undefined, `nothing runs on ${dead}`);
  const at = published(left.id);
  assert.is(at.host, addr[alive]);
  const res = await get(at.host, at.port, '/etc/hostname');
  assert.ok('status' in res && res.status === 200, `shop/web at ${at.host}:${at.port} after ${dead} died: ${JSON.stringify(res)}`);
  assert.is((res as { body: string }).body.trim(), execFileSync('docker', ['inspect', '-f', '{{.Config.Hostname}}', left.id], { encoding: 'utf8' }).trim());
  // Once the node is unreachable, the cluster places its replicas on the node that is left.
  await eventually('three shop/web replicas running on the node left', () => perNode()[alive] === 3, 90_000, 500).catch((e: Error) =>
    assert.unreachable(`${e.message}: ${JSON.stringify(perNode())}\n${outputs()}`),
  );
  assert.equal(perNode(), { [alive]: 3 });
  assert.ok(
    replicas().some((r) => r.id === left.id && r.state === 'running'),
    'the replica that survived was not moved or restarted',
  );
});

test.run();
