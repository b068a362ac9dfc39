// The dashboard at scale (issue 18): a fleet repository of 10,000 services on 100 clusters
// (--quick: 2,000), with the records the root and the clusters write (test/helpers/big-repo.ts,
// root-record.ts: placement refs, notes, status refs with every service observed), served by
// `canopy ui --repo DIR` (Git alone) and loaded in headless Chromium (test/helpers/browser.ts):
//
// - first meaningful paint: the `canopy:first-render` performance mark the page sets when its
//   services table and map are drawn, ms after navigation start (goal < 1 s), fresh page each time;
// - the first load's bytes over the wire (page, script, styles, the event stream's snapshot);
// - a change: one service's status in its cluster's status ref, and a new commit of main with its
//   note and placement (the root's records) → the bytes of the event-stream update (goal < 50 KB)
//   and the time until the page shows it (the ref poll is 250 ms).
//
// /metrics at this size is measured by bench/footprint.bench.ts (the root's scrape at 10,000 services).
import path from 'node:path';
import type { CDPSession, Page } from 'puppeteer-core';
import type { Bench, Figure } from './types.js';
import { median, minMax, round, nowMs } from './lib/stats.js';
import { Scope } from './lib/cleanup.js';
import { spawnPart } from './lib/proc.js';
import type { ClusterStatus, ServiceStatus } from '../schemas/messages.js';
import { createBigRepo, bigServiceYaml, clusterYaml as bigClusterYaml } from '../test/helpers/big-repo.js';
import { RootRecorder, writeStatus } from '../test/helpers/root-record.js';
import { launchChromium } from '../test/helpers/browser.js';
import { openRepo, type Repo } from '../reconciler/git/repo.js';
import { fleetStatus } from '../reconciler/report/fleet-status.js';
import { benchClusterStatus } from './lib/statuses.js';

const FLEET_YAML = [
  'apiVersion: canopy/v1',
  'kind: Fleet',
  'metadata: {name: big}',
  'spec:',
  // The records stay fresh for the whole run: no cluster goes stale while it is measured.
  '  timings: {heartbeatSeconds: 2, unreachableAfterSeconds: 10, statusRefreshSeconds: 86400}',
  '  targets: {hq: {lat: 48.1, lon: 11.5}}',
  '',
].join('\n');

/** A 10 × 10 grid over Europe (big-repo's own positions run past the pole beyond 90 clusters). */
const where = (i: number) => ({ lat: 38 + Math.floor(i / 10) * 2, lon: -5 + (i % 10) * 3 });

const clusterYaml = (name: string, i: number): string => bigClusterYaml(name, i, { location: where(i), nodes: 5 });

function statusOf(cluster: string, i: number, services: Record<string, ServiceStatus>): ClusterStatus {
  return benchClusterStatus(cluster, {
    free: { cpu: 300 - (i % 7) * 20, memoryMi: 700_000, gpu: 0 },
    labels: { region: `r${i % 3}` },
    location: where(i),
    nodes: { total: 5, online: 5 },
    services,
  });
}

interface Setup {
  repo: Repo;
  dir: string;
  root: RootRecorder;
  big: ReturnType<typeof createBigRepo>;
  /** What each cluster reports, to change one service and write it again. */
  observed: Map<string, Record<string, ServiceStatus>>;
  index: Map<string, number>;
}

async function setup(services: number, clusters: number, log: (l: string) => void): Promise<Setup> {
  const t = nowMs();
  const big = createBigRepo({ services, clusters });
  big.change({ 'fleet.yaml': FLEET_YAML, ...Object.fromEntries(big.clusters.map((c, i) => [`clusters/${c}.yaml`, clusterYaml(c, i)])) }, 'the bench fleet');
  const repo = await openRepo(big.dir);
  const root = new RootRecorder(repo);
  const index = new Map(big.clusters.map((c, i) => [c, i]));
  await root.report(big.clusters.map((c, i) => statusOf(c, i, {})));
  if (!(await root.record(big.head))) throw new Error('the generated fleet does not validate');
  // Every service observed where it was placed: ready and running as desired.
  const s = await fleetStatus(repo);
  const observed = new Map<string, Record<string, ServiceStatus>>(big.clusters.map((c) => [c, {}]));
  for (const [id, v] of Object.entries(s.services))
    for (const [c, n] of Object.entries(v.clusters)) observed.get(c)![id] = { desired: n, running: n, ready: n, failed: 0 };
  await root.report(big.clusters.map((c, i) => statusOf(c, i, observed.get(c)!)));
  log(`fleet: ${services.toLocaleString('en-US')} services on ${clusters} clusters, placed and observed, in ${round((nowMs() - t) / 1000)} s`);
  return { repo, dir: big.dir, root, big, observed, index };
}

/** Bytes over the wire for this page (all its requests, the event stream included) and the event-stream messages. */
async function watchWire(
  page: Page,
): Promise<{ bytes(): number; per: Map<string, number>; messages: Array<{ event: string; bytes: number; at: number }>; cdp: CDPSession }> {
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable');
  let bytes = 0;
  const per = new Map<string, number>();
  const urls = new Map<string, string>();
  const messages: Array<{ event: string; bytes: number; at: number }> = [];
  cdp.on('Network.requestWillBeSent', (e) => void urls.set(e.requestId, new URL(e.request.url).pathname));
  // A finished response counts what it took on the wire (headers and body, compressed or not);
  // the event stream never finishes: its bodies as they come (gzip-compressed: what was encoded).
  const count = (id: string, n: number) => {
    bytes += n;
    const u = urls.get(id) ?? '?';
    per.set(u, (per.get(u) ?? 0) + n);
  };
  cdp.on('Network.loadingFinished', (e) => count(e.requestId, e.encodedDataLength));
  cdp.on('Network.dataReceived', (e) => void (urls.get(e.requestId) === '/api/events' && count(e.requestId, e.encodedDataLength)));
  cdp.on('Network.eventSourceMessageReceived', (e) => void messages.push({ event: e.eventName, bytes: Buffer.byteLength(e.data), at: nowMs() }));
  return { bytes: () => bytes, per, messages, cdp };
}

const firstRender = (page: Page) =>
  page
    .waitForFunction(() => performance.getEntriesByName('canopy:first-render')[0]?.startTime, { timeout: 60_000, polling: 20 })
    .then((h) => h.jsonValue() as Promise<number>);

async function firstLoads(
  url: string,
  browser: Awaited<ReturnType<typeof launchChromium>>,
  n: number,
): Promise<{ fmp: number[]; snap: number[]; bytes: number; snapshot: number; per: string }> {
  const fmp: number[] = [];
  const snap: number[] = [];
  let per = '';
  let bytes = 0;
  let snapshot = 0;
  for (let i = 0; i < n; i++) {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    const wire = await watchWire(page);
    await page.goto(url);
    fmp.push(await firstRender(page));
    snap.push(await page.evaluate(() => performance.getEntriesByName('canopy:snapshot')[0].startTime));
    per = [...wire.per].map(([u, b]) => `${u} ${round(b / 1024, 1)} KB`).join(', ');
    bytes = wire.bytes();
    snapshot = wire.messages.find((m) => m.event === 'snapshot')?.bytes ?? NaN;
    await page.close();
  }
  return { fmp, snap, bytes, snapshot, per };
}

interface Change {
  bytes: number;
  ms: number;
  /** From the change made (written to Git) to its patch arriving in the page. */
  patchMs: number;
  /** Writing the change to Git (the bench's own part). */
  writeMs: number;
  /** In the page: applying the patch, redrawing, until the next frame is painted (its `canopy:patch` measure). */
  drawMs: number;
}

/** Makes a change, then waits until the page shows `want` in `sel` (watched inside the page, on DOM mutations): the bytes of the event-stream messages it brought and the times. */
async function change(page: Page, wire: Awaited<ReturnType<typeof watchWire>>, make: () => Promise<void>, sel: string, want: string): Promise<Change> {
  const before = wire.messages.length;
  const t = nowMs();
  await make();
  const written = nowMs();
  await page.waitForFunction((s: string, w: string) => document.querySelector(s)?.textContent === w, { polling: 'mutation', timeout: 30_000 }, sel, want);
  const ms = nowMs() - t;
  // Whatever else this change brings (the patch after the refs event) arrives with it.
  await new Promise((r) => setTimeout(r, 300));
  const got = wire.messages.slice(before).filter((m) => m.event !== 'snapshot');
  const bytes = got.reduce((a, m) => a + m.bytes, 0);
  const patchAt = got.find((m) => m.event === 'patch')?.at ?? NaN;
  const drawMs = await page.evaluate(() => {
    const ms = performance.getEntriesByName('canopy:patch');
    return ms.length ? ms[ms.length - 1].duration : NaN;
  });
  return { bytes, ms, patchMs: patchAt - written, writeMs: written - t, drawMs };
}

const run: Bench = async ({ quick, log }) => {
  const services = quick ? 2000 : 10_000;
  const clusters = 100;
  const scope = new Scope();
  try {
    const f = await setup(services, clusters, log);
    const ui = spawnPart(['ui', '--repo', f.dir, '--listen', '127.0.0.1:0'], { name: 'ui', logFile: path.join(f.dir, '..', 'ui.log'), scope });
    await ui.waitForLog(/UI: http:\/\/\S+\//, 60_000);
    const url = /UI: (http:\/\/\S+\/)/.exec(ui.log())![1];
    const browser = await launchChromium();
    scope.add(() => browser.close());
    // The server reads the documents when the first page listens: that page waits for it (cold).
    const cold = await firstLoads(url, browser, 1);
    log(`first render on a cold server (it reads the fleet for that first page): ${round(cold.fmp[0])} ms (snapshot in ${round(cold.snap[0])} ms)`);
    const loads = await firstLoads(url, browser, quick ? 3 : 5);
    log(`first render: ${loads.fmp.map((x) => round(x)).join(', ')} ms (snapshot in: ${loads.snap.map((x) => round(x)).join(', ')} ms)`);
    log(`first load ${round(loads.bytes / 1024)} KB (${loads.per}; the snapshot message ${round(loads.snapshot / 1024)} KB)`);

    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    const wire = await watchWire(page);
    await page.goto(url);
    await firstRender(page);
    const ids = Object.keys((await fleetStatus(f.repo)).services).sort();
    const statusChanges: Change[] = [];
    const commitChanges: Change[] = [];
    const rounds = quick ? 3 : 5;
    for (let r = 0; r < rounds; r++) {
      // A cluster reports one of its services with one replica fewer ready.
      const id = ids[(r * 2477) % ids.length];
      const c = [...f.observed].find(([, s]) => s[id])?.[0];
      if (!c) throw new Error(`${id} is observed nowhere`);
      const obs = f.observed.get(c)!;
      const ready = obs[id].ready === 0 ? 1 : 0;
      obs[id] = { ...obs[id], ready };
      const sel = `#services tr[data-service="${id}"] [data-field="ready"]`;
      statusChanges.push(await change(page, wire, () => writeStatus(f.repo, statusOf(c, f.index.get(c)!, obs), new Date()), sel, String(ready)));
      // A commit of main changes one service's replicas; the root places it and notes it.
      const p = f.big.paths[(r * 7919) % f.big.paths.length];
      const [, app, file] = p.split('/');
      const name = file.replace(/\.yaml$/, '');
      const replicas = 2 + (r % 3);
      commitChanges.push(
        await change(
          page,
          wire,
          async () => {
            await f.root.record(f.big.change({ [p]: bigServiceYaml(app, name, { replicas }) }, `${app}/${name}: ${replicas} replicas`));
          },
          `#services tr[data-service="${app}/${name}"] [data-field="desired"]`,
          String(replicas),
        ),
      );
    }
    const sKB = statusChanges.map((x) => x.bytes / 1024);
    const cKB = commitChanges.map((x) => x.bytes / 1024);
    const kb = (xs: number[]) => [round(Math.min(...xs), 2), round(Math.max(...xs), 2)] as [number, number];
    const split = (xs: Change[]) =>
      `shown after ${xs.map((x) => round(x.ms)).join(', ')} ms (writing it to Git ${xs.map((x) => round(x.writeMs)).join(', ')} ms; written → patch in the page ${xs.map((x) => round(x.patchMs)).join(', ')} ms; the page applying and drawing it ${xs.map((x) => round(x.drawMs)).join(', ')} ms)`;
    log(`a status change: ${sKB.map((x) => round(x, 2)).join(', ')} KB; ${split(statusChanges)}`);
    log(`a commit of main: ${cKB.map((x) => round(x, 2)).join(', ')} KB; ${split(commitChanges)}`);
    const what = `${services.toLocaleString('en-US')} services, ${clusters} clusters`;
    const figures: Figure[] = [
      {
        label: `${what}: first meaningful paint`,
        value: round(median(loads.fmp)),
        unit: 'ms',
        spread: minMax(loads.fmp).map((x) => round(x)) as [number, number],
        goal: { op: '<=', value: 1000 },
      },
      { label: `${what}: first load over the wire`, value: round(loads.bytes / 1024), unit: 'KB' },
      { label: `${what}: update for a service's status`, value: round(Math.max(...sKB), 2), unit: 'KB', spread: kb(sKB), goal: { op: '<=', value: 50 } },
      { label: `${what}: update for a commit of main`, value: round(Math.max(...cKB), 2), unit: 'KB', spread: kb(cKB), goal: { op: '<=', value: 50 } },
      {
        label: `${what}: status change → shown`,
        value: round(median(statusChanges.map((x) => x.ms))),
        unit: 'ms',
        spread: minMax(statusChanges.map((x) => x.ms)).map((x) => round(x)) as [number, number],
        goal: { op: '<=', value: 1000 },
      },
      {
        label: `${what}: commit → shown`,
        value: round(median(commitChanges.map((x) => x.ms))),
        unit: 'ms',
        spread: minMax(commitChanges.map((x) => x.ms)).map((x) => round(x)) as [number, number],
      },
    ];
    return {
      name: 'dashboard',
      figures,
      notes: [
        `canopy ui --repo on a generated fleet of ${what} (placement refs, notes, status refs with every service observed, as the root and clusters write them); headless Chromium 1400×1000`,
        `first meaningful paint: the page's performance mark canopy:first-render (services table and map drawn from the event stream's snapshot), ms after navigation start, median of ${loads.fmp.length} fresh pages (${loads.fmp.map((x) => round(x)).join(', ')})`,
        `first load: ${round(loads.bytes / 1024)} KB over the wire (uncompressed: ${loads.per}), of which the snapshot (status, clusters, timeline) ${round(loads.snapshot / 1024)} KB`,
        `the first page of a server that had not read the fleet yet: first render ${round(cold.fmp[0])} ms, snapshot in ${round(cold.snap[0])} ms (the server reads the fleet when a page first listens); the figure is of later pages`,
        `the snapshot had arrived ${loads.snap.map((x) => round(x)).join(', ')} ms after navigation start (the rest of first paint is the page drawing it)`,
        `an update is the event-stream messages a change brings (refs + JSON Patch), max of ${rounds}: status ${sKB.map((x) => round(x, 2)).join(', ')} KB; commit of main (note, placement, main) ${cKB.map((x) => round(x, 2)).join(', ')} KB`,
        `a status change: ${split(statusChanges)}; a commit: ${split(commitChanges)}`,
        'change → shown includes the server reading Git again (every 250 ms the ref files are looked at; a moved ref reads the documents and diffs them once for all pages)',
        "/metrics at 10,000 services: measured by bench/footprint.bench.ts (the root's scrape)",
      ],
    };
  } finally {
    await scope.close();
  }
};
export default run;
