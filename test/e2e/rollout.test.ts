// Rollouts as a user meets them (issue 16's Done-when): a root, three clusters (canary labelled
// tier=canary, b, c) and four Docker agents as separate processes over a real Mosquitto, busybox
// httpd in real containers with real HTTP probes. The test watches from outside canopy: `docker
// ps` with canopy's labels, and its own GETs through each container's published port.
// 1. shop/api (one replica per cluster, waves canary → b → c, bakeSeconds 3): a good commit goes
//    wave by wave, each wave starting after the previous baked; the note has each wave's times,
//    and the containers of later waves keep the old spec until their wave starts.
// 2. c stopped (SIGSTOP) and seen unreachable before a rollout of shop/api: its wave is skipped,
//    the rollout is done without it, and when c returns its replica takes the new spec.
// 3. shop/web (3 replicas on c's two nodes, maxUnavailable 1, maxSurge 0, autoRollback) gets a
//    commit whose httpd serves no /health: at most one replica leaves v1 at a time, never fewer
//    than two serve, the rollout fails at its deadline and every replica is back on v1; `canopy
//    wait` exits 3 and says why; status, the note and history say rolled back and why. Last: main
//    then holds a commit that never converges (a new commit is the way forward).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { canopy, start, eventually, type Proc } from '../helpers/canopy.js';
import { git, tempDir, commitFiles, serviceYaml } from '../helpers/git.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { ownFleet, requireDocker } from '../helpers/docker.js';
import { answer, boxes, envOf, live, sleep, type Box } from '../helpers/replicas.js';
import { MARK, type CommitNote, type NoteRollout } from '../../reconciler/core/note.js';

const test = suite('rollouts');
const fleet = ownFleet(`e2e-rollout-${process.pid}`);
const work = tempDir('canopy-rollout-');
const dir = path.join(work, 'fleet');
// Loopback addresses of this run's nodes: apart from other test files' (127.0.0.x is up's).
const net = `127.${20 + ((process.pid + 53) % 200)}.${(process.pid >> 8) % 250}`;
const nodes: Record<string, [string, string]> = {
  'canary-n1': ['canary', `${net}.21`],
  'b-n1': ['b', `${net}.22`],
  'c-n1': ['c', `${net}.23`],
  'c-n2': ['c', `${net}.24`],
};
const procs = new Map<string, Proc>();
let broker: Mosquitto | undefined;

const BAKE = 3;
const httpd = (health: boolean) => [
  'sh',
  '-c',
  `mkdir -p /www && echo ok > /www/index.html${health ? ' && echo ok > /www/health' : ''} && exec httpd -f -p 8080 -h /www`,
];
// A long grace: a failing replica stays unready (not restarted) while the rollout decides.
const health = { http: { path: '/health', port: 8080 }, intervalSeconds: 1, failureThreshold: 2, startSeconds: 300 };
const base = { runtime: 'container', image: 'canopy/busybox:1', resources: { cpu: 0.05, memory: '16Mi' }, ports: [{ port: 8080 }], health };

const web = (version: number, good: boolean) =>
  serviceYaml('shop', 'web', {
    ...base,
    command: httpd(good),
    env: { VERSION: String(version) },
    replicas: 3,
    constraints: { clusters: { names: ['c'] } },
    rollout: { maxUnavailable: 1, maxSurge: 0, progressDeadlineSeconds: 20, autoRollback: true },
  });
const api = (round: number) =>
  serviceYaml('shop', 'api', {
    ...base,
    command: httpd(true),
    env: { ROUND: String(round) },
    replicas: 3,
    spread: 'clusters',
    rollout: { waves: [{ matchLabels: { tier: 'canary' } }, { names: ['b'] }], bakeSeconds: BAKE, progressDeadlineSeconds: 60, autoRollback: true },
  });
const clusterYaml = (name: string, labels: Record<string, string>, n: number) =>
  `apiVersion: canopy/v1\nkind: Cluster\nmetadata: {name: ${name}, labels: ${JSON.stringify(labels)}}\nspec: {location: {lat: 48.1, lon: 11.5}, nodes: ${n}}\n`;

const outputs = () => [...procs].map(([n, p]) => `--- ${n}:\n${p.output().slice(-2500)}`).join('\n');
const statusJson = () => JSON.parse(canopy(['status', '--repo', dir, '--json']).stdout);

interface Waited {
  code: number | null;
  out: string;
}
/** `canopy wait --rev REV` in the background (killed in after() if still running): its exit code and output, once it ends. */
function waitFor(rev: string, timeoutS: number): { done: () => Waited | undefined } {
  const p = start(['wait', '--repo', dir, '--rev', rev, '--timeout', String(timeoutS)]);
  procs.set(`wait ${rev.slice(0, 8)}`, p);
  let w: Waited | undefined;
  p.child.on('exit', (code) => {
    w = { code, out: p.output() };
  });
  return { done: () => w };
}

/** The note on `rev`: its text, and the JSON after the mark. */
function note(rev: string): { text: string; json: CommitNote } | undefined {
  let text: string;
  try {
    text = execFileSync('git', ['-C', dir, 'notes', '--ref', 'canopy', 'show', rev], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
  const i = text.indexOf(MARK);
  return { text: text.slice(0, i < 0 ? undefined : i), json: JSON.parse(text.slice(i + MARK.length)) as CommitNote };
}
const rolloutOf = (rev: string, id: string): NoteRollout | undefined => note(rev)?.json.rollouts?.[id];

/** Spec hash per cluster of a service's running containers: `{canary: [h], b: [h], …}`. */
function hashesByCluster(bs: Box[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const b of bs.filter(live)) out[b.cluster] = [...new Set([...(out[b.cluster] ?? []), b.hash])].sort();
  return out;
}

test.before(async () => {
  requireDocker();
  broker = await startMosquitto();
  assert.is(canopy(['init', dir]).code, 0);
  const fy = git(dir, 'show', 'HEAD:fleet.yaml')
    .replace(/name: demo/, `name: ${fleet}`)
    .replace(/heartbeatSeconds: \d+/, 'heartbeatSeconds: 1')
    .replace(/unreachableAfterSeconds: \d+/, 'unreachableAfterSeconds: 6');
  assert.match(fy, /unreachableAfterSeconds: 6/);
  commitFiles(
    dir,
    {
      'fleet.yaml': fy + '\n',
      'clusters/munich.yaml': null,
      'clusters/paris.yaml': null,
      'clusters/canary.yaml': clusterYaml('canary', { tier: 'canary' }, 1),
      'clusters/b.yaml': clusterYaml('b', {}, 1),
      'clusters/c.yaml': clusterYaml('c', {}, 2),
      'services/traffic-cam/detector.yaml': null,
      'services/shop/worker.yaml': null,
      'services/shop/web.yaml': web(1, true),
      'services/shop/api.yaml': api(1),
    },
    'web v1 in c; api in every cluster',
  );
  for (const c of ['canary', 'b', 'c']) {
    const p = start(['cluster', '--name', c, '--broker', broker.url, '--repo', dir, '--state-dir', path.join(work, 'state', c)]);
    procs.set(c, p);
    await p.waitFor(/running/);
  }
  for (const [n, [c, address]] of Object.entries(nodes)) {
    const p = start([
      'agent',
      ...['--cluster', c, '--name', n, '--broker', broker.url, '--runtime', 'docker'],
      ...['--state-dir', path.join(work, 'state', n), '--address', address],
    ]);
    procs.set(n, p);
    await p.waitFor(/running/);
  }
  procs.set('root', start(['root', '--repo', dir, '--broker', broker.url]));
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '120']);
  assert.is(w.code, 0, `${w.stdout}${w.stderr}\n${outputs()}`);
  assert.equal(statusJson().services['shop/api'].clusters, { canary: 1, b: 1, c: 1 }, 'shop/api: one replica per cluster');
});

test.after(async () => {
  for (const p of procs.values()) await p.kill('SIGKILL');
  await broker?.stop();
});

test('a good commit goes wave by wave (canary, b, c), each wave after the previous baked', async () => {
  const before = hashesByCluster(await boxes(fleet, 'shop/api'));
  assert.equal(Object.keys(before).sort(), ['b', 'c', 'canary']);
  const rev = commitFiles(dir, { 'services/shop/api.yaml': api(2) }, 'api round 2');
  const waiting = waitFor(rev, 120);
  const samples: Array<{ t: number; on: Record<string, string[]> }> = [];
  let waited: Waited | undefined;
  while (!(waited = waiting.done())) {
    const on = hashesByCluster(await boxes(fleet, 'shop/api'));
    samples.push({ t: Date.now(), on }); // after docker answered: what it listed was so at t
    await sleep(250);
  }
  assert.is(waited.code, 0, `${JSON.stringify(waited)}\n${outputs()}`);
  const r = rolloutOf(rev, 'shop/api');
  assert.ok(r, JSON.stringify(note(rev)?.json));
  assert.is(r!.state, 'done');
  assert.equal(
    r!.waves.map((w) => w.clusters),
    [['canary'], ['b'], ['c']],
  );
  const at = (iso: string | undefined, what: string) => {
    assert.ok(iso, `${what} in ${JSON.stringify(r)}`);
    return Date.parse(iso!);
  };
  const waves = r!.waves.map((w, i) => ({
    started: at(w.startedAt, `wave ${i + 1} startedAt`),
    ready: at(w.readyAt, `wave ${i + 1} readyAt`),
    baked: at(w.bakedAt, `wave ${i + 1} bakedAt`),
  }));
  waves.forEach((w, i) => {
    assert.ok(w.ready >= w.started, `wave ${i + 1} ready after it started`);
    assert.ok(w.baked - w.ready >= BAKE * 1000, `wave ${i + 1} baked ${w.baked - w.ready} ms after ready (bakeSeconds ${BAKE})`);
    if (i) assert.ok(w.started >= waves[i - 1].baked, `wave ${i + 1} started before wave ${i} baked: ${JSON.stringify(r)}`);
  });
  // What Docker ran: a later wave's cluster kept the old spec until its wave started…
  ['b', 'c'].forEach((c, k) => {
    const early = samples.filter((s) => s.t < waves[k + 1].started);
    assert.ok(early.length > 0);
    for (const s of early) assert.equal(s.on[c] ?? before[c], before[c], `${c} before its wave (${new Date(s.t).toISOString()}): ${JSON.stringify(s)}`);
  });
  // …while the canary ran the new one during its bake.
  const baking = samples.filter((s) => s.t > waves[0].ready + 500 && s.t < waves[0].baked);
  assert.ok(baking.length > 0, 'sampled during the canary’s bake');
  assert.ok(
    baking.some((s) => s.on.canary?.length === 1 && s.on.canary[0] !== before.canary[0]),
    `canary on the new spec while it baked: ${JSON.stringify(baking)}`,
  );
  const after = hashesByCluster(await boxes(fleet, 'shop/api'));
  for (const c of ['canary', 'b', 'c']) assert.not.equal(after[c], before[c], `${c} on the new spec`);
});

test('a cluster cut before its wave is skipped, and takes the new spec when it returns', async () => {
  const c = procs.get('c')!;
  const [box] = (await boxes(fleet, 'shop/api')).filter((b) => live(b) && b.cluster === 'c');
  assert.ok(envOf(box.id).includes('ROUND=2'), 'c runs round 2');
  process.kill(c.child.pid!, 'SIGSTOP');
  try {
    await eventually('c unreachable', () => statusJson().clusters.c?.state === 'unreachable', 30_000, 500);
    const rev = commitFiles(dir, { 'services/shop/api.yaml': api(3) }, 'api round 3');
    const r = await eventually(
      'the rollout done',
      () => (rolloutOf(rev, 'shop/api')?.state === 'done' ? rolloutOf(rev, 'shop/api') : undefined),
      90_000,
      500,
    ).catch((e: Error) => assert.unreachable(`${e.message}: ${JSON.stringify(note(rev)?.json)}\n${outputs()}`));
    assert.equal(
      r!.waves.map((w) => w.clusters),
      [['canary'], ['b'], ['c']],
    );
    assert.equal(r!.waves[2].skipped, ['c'], JSON.stringify(r));
    assert.equal(r!.waves[0].skipped ?? [], []);
    const still = (await boxes(fleet, 'shop/api')).filter((b) => live(b) && b.cluster === 'c');
    assert.equal(
      still.map((b) => b.id),
      [box.id],
      'c’s replica untouched while its cluster is away',
    );
    assert.ok(envOf(box.id).includes('ROUND=2'));
    for (const x of (await boxes(fleet, 'shop/api')).filter((b) => live(b) && b.cluster !== 'c'))
      assert.ok(envOf(x.id).includes('ROUND=3'), `${x.cluster} on round 3`);
  } finally {
    process.kill(c.child.pid!, 'SIGCONT');
  }
  await eventually(
    'c’s replica on round 3',
    async () => {
      const bs = (await boxes(fleet, 'shop/api')).filter((b) => b.state === 'running' && b.cluster === 'c');
      return bs.length === 1 && envOf(bs[0].id).includes('ROUND=3');
    },
    60_000,
    500,
  ).catch((e: Error) => assert.unreachable(`${e.message}\n${outputs()}`));
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '60']);
  assert.is(w.code, 0, `${w.stdout}${w.stderr}\n${outputs()}`);
});

test('a commit whose probe fails: one replica at a time, never fewer than two ready, rolled back; wait exits 3 and says why', async () => {
  const v1 = (await boxes(fleet, 'shop/web')).filter(live);
  assert.is(v1.length, 3, JSON.stringify(v1));
  const old = v1[0].hash;
  assert.ok(v1.every((b) => b.hash === old) && old, 'every replica on one spec');
  const rev = commitFiles(dir, { 'services/shop/web.yaml': web(2, false) }, 'web v2: serves no /health');
  const waiting = waitFor(rev, 120);
  let waited: Waited | undefined;
  // Sample until wait has answered and every replica serves on v1 again.
  const seen = { mostNew: 0, mostLive: 0, fewestReady: 3, samples: 0, lost: 0 };
  const end = Date.now() + 120_000;
  for (;;) {
    if (Date.now() > end) assert.unreachable(`not back on v1: ${JSON.stringify({ seen, waited })}\n${outputs()}`);
    // A docker ps that does not answer within 20 s (a daemon busy removing containers) is no sample.
    const listed = await boxes(fleet, 'shop/web').catch((e: Error) => {
      seen.lost++;
      console.error(`docker ps: ${e.message}`);
      return undefined;
    });
    if (!listed) continue;
    const bs = listed.filter(live);
    const codes = await Promise.all(bs.map((b) => answer(b, '/health')));
    const ready = codes.filter((c) => c === 200).length;
    const fresh = bs.filter((b) => b.hash !== old).length;
    seen.samples++;
    seen.mostNew = Math.max(seen.mostNew, fresh);
    seen.mostLive = Math.max(seen.mostLive, bs.length);
    seen.fewestReady = Math.min(seen.fewestReady, ready);
    assert.ok(fresh <= 1, `${fresh} replicas off v1 at once (maxUnavailable 1, maxSurge 0): ${JSON.stringify(bs)}`);
    assert.ok(ready >= 2, `${ready} replicas served /health (replicas 3 - maxUnavailable 1 = 2): ${JSON.stringify({ codes, bs })}`);
    waited ??= waiting.done();
    if (waited && fresh === 0 && bs.length === 3 && ready === 3 && seen.mostNew > 0) break;
    if (Date.now() > end) assert.unreachable(`not back on v1: ${JSON.stringify({ seen, waited, bs })}\n${outputs()}`);
    await sleep(200);
  }
  assert.is(seen.mostNew, 1, 'the new spec reached a replica');
  assert.ok(seen.mostLive <= 3, `${seen.mostLive} containers at once with maxSurge 0`);
  assert.is(waited!.code, 3, `canopy wait --rev v2: ${JSON.stringify(waited)}`);
  assert.match(waited!.out, /shop\/web/);
  assert.match(waited!.out, /rolled[ -]back/i);
  assert.match(waited!.out, /GET \/health: 404/, 'wait says why');

  const s = statusJson().services['shop/web'];
  assert.is(s.state, 'rolled-back', JSON.stringify(s));
  assert.match(s.reason, /GET \/health: 404/);
  const n = note(rev)!;
  assert.match(n.text, /ROLLED BACK/);
  assert.match(n.text, /GET \/health: 404/);
  const r = n.json.rollouts?.['shop/web'];
  assert.ok(r, JSON.stringify(n.json));
  assert.is(r!.state, 'rolled-back');
  assert.ok(r!.from?.specHash && r!.to, JSON.stringify(r));
  assert.match(r!.reason ?? '', /progressDeadlineSeconds 20/);
  assert.is(n.json.convergedAt, undefined, 'a rolled-back commit never converges');
  const h = canopy(['history', '--repo', dir, 'shop/web']);
  assert.is(h.code, 0, h.stderr);
  assert.match(h.stdout, /rolled[ -]back/i);
  assert.match(h.stdout, /GET \/health: 404/);
});

test.run();
