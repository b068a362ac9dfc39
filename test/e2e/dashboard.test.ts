// The web dashboard in real headless Chromium, against one running fleet (`canopy up --runtime
// sim`: embedded broker, root, clusters and agents, the template's munich and paris), with a
// token: the map shows each cluster, the tables show what `canopy status --json` says, a commit
// appears in the timeline (and a rejected one with its file:line), a service's history opens on
// click; the API answers 401 without the token; /api/events announces a moved ref; and
// `canopy ui --repo CLONE` serves the same from a clone, Git alone. Screenshots go to
// test-results/screenshots/.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'puppeteer-core';
import { canopy, eventually, start, type Proc } from '../helpers/canopy.js';
import { commitFiles, git, tempDir } from '../helpers/git.js';
import { launchChromium, screenshot } from '../helpers/browser.js';

const test = suite('dashboard (chromium, canopy up --runtime sim, canopy ui)');
const work = tempDir();
const dir = path.join(work, 'fleet');
const TOKEN = 'dashboard-test-token';
const auth = { Authorization: `Bearer ${TOKEN}` };
let up: Proc;
let ui: Proc | undefined;
let url = '';
let browser: Browser;
let page: Page;

const status = (repo = dir) => JSON.parse(canopy(['status', '--repo', repo, '--json']).stdout);
const webYaml = () => readFileSync(path.join(dir, 'services/shop/web.yaml'), 'utf8');

async function urlOf(p: Proc): Promise<string> {
  await p.waitFor(/UI: http:\/\/\S+\//, 60_000);
  return /UI: (http:\/\/\S+\/)/.exec(p.output())![1];
}

/** A server-sent event stream: `until(re)` waits (with a deadline) for text matching re after what was read so far. */
async function events(at: string): Promise<{ until(re: RegExp, ms?: number): Promise<string>; close(): void }> {
  const ac = new AbortController();
  const res = await fetch(`${at}api/events`, { headers: auth, signal: ac.signal });
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  return {
    async until(re, ms = 15_000) {
      const end = Date.now() + ms;
      while (!re.test(buf)) {
        const left = end - Date.now();
        if (left <= 0) throw new Error(`no event matching ${re} within ${ms} ms; got:\n${buf}`);
        let timer: NodeJS.Timeout | undefined;
        const r = await Promise.race([reader.read(), new Promise<null>((ok) => (timer = setTimeout(() => ok(null), left)))]);
        clearTimeout(timer);
        if (r?.done) throw new Error(`the event stream ended before ${re}:\n${buf}`);
        if (r?.value) buf += dec.decode(r.value, { stream: true });
      }
      const m = re.exec(buf)!;
      buf = buf.slice(m.index + m[0].length);
      return m[0];
    },
    close: () => ac.abort(),
  };
}

test.before(async () => {
  try {
    await startAll();
  } catch (e) {
    // uvu does not print a failing hook's error.
    process.stderr.write(`before: ${(e as Error).stack}\n`);
    throw e;
  }
});

async function startAll(): Promise<void> {
  up = start(['up', '--repo', dir, '--runtime', 'sim'], { env: { CANOPY_UI_TOKEN: TOKEN } });
  url = await urlOf(up);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'loopback by default');
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '60']);
  assert.is(w.code, 0, `${w.stderr}\n--- up:\n${up.output()}`);
  browser = await launchChromium();
  page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 1000 });
}

test.after(async () => {
  await browser?.close();
  await ui?.kill();
  await up?.kill();
});

test('without the token the API and the page answer 401 with a clear message; with it, /api/status is status --json', async () => {
  const bare = await fetch(`${url}api/status`);
  assert.is(bare.status, 401);
  assert.match(await bare.text(), /needs its token.*\n.*\?token=TOKEN.*Authorization: Bearer/);
  assert.is((await fetch(url)).status, 401);
  assert.is((await fetch(`${url}api/status`, { headers: { Authorization: 'Bearer wrong' } })).status, 401);
  assert.is((await fetch(`${url}api/status`, { method: 'POST', headers: auth })).status, 405, 'read-only');
  await eventually('/api/status equals canopy status --json', async () => {
    const r = await fetch(`${url}api/status`, { headers: auth });
    return r.status === 200 && JSON.stringify(await r.json()) === JSON.stringify(status());
  });
});

test('the page shows munich and paris on the map and the numbers of status --json', async () => {
  const res = await page.goto(`${url}?token=${TOKEN}`);
  assert.is(res?.status(), 200);
  await page.waitForSelector('#map g.cluster[data-cluster="paris"]', { timeout: 15_000 });
  const markers = await page.$$eval('#map g.cluster', (gs) => gs.map((g) => [g.getAttribute('data-cluster'), g.getAttribute('data-state')]));
  assert.equal(markers.sort(), [
    ['munich', 'online'],
    ['paris', 'online'],
  ]);
  await eventually('the tables match canopy status --json', async () => {
    const s = status();
    const want = Object.keys(s.services)
      .sort()
      .map((id) => [id, s.services[id].state, String(s.services[id].desired), String(s.services[id].ready), String(s.services[id].running)]);
    const shown = await page.$$eval('#services tbody tr', (rows) =>
      rows.map((r) => [
        r.getAttribute('data-service'),
        ...['state', 'desired', 'ready', 'running'].map((f) => r.querySelector(`[data-field="${f}"]`)!.textContent),
      ]),
    );
    const nodes = await page.$$eval('#clusters tbody tr', (rows) =>
      rows.map((r) => [r.getAttribute('data-cluster'), r.querySelector('[data-field="nodes"]')!.textContent]),
    );
    const wantNodes = Object.keys(s.clusters)
      .sort()
      .map((c) => [c, `${s.clusters[c].nodes.online}/${s.clusters[c].nodes.total}`]);
    return want.length === 3 && JSON.stringify(shown) === JSON.stringify(want) && JSON.stringify(nodes) === JSON.stringify(wantNodes);
  });
  await screenshot(page, 'dashboard-converged');
});

test('a commit appears in the timeline, then converges; a rejected one shows its problem at file:line', async () => {
  const t0 = Date.now();
  const sha = commitFiles(dir, { 'services/shop/web.yaml': webYaml().replace(/replicas: 2/, 'replicas: 3') }, 'web: 3 replicas');
  await eventually('the commit in the timeline', () => page.$(`#timeline li[data-commit="${sha}"][data-outcome="accepted"]`), 30_000);
  process.stdout.write(`  (the accepted commit showed in the timeline ${Date.now() - t0} ms after it was made)\n`);
  await eventually('its convergence in the timeline', () => page.$(`#timeline li[data-converged="${sha}"]`), 60_000);
  await eventually('shop/web shows 3 desired', () => page.$eval('#services tr[data-service="shop/web"] [data-field="desired"]', (e) => e.textContent === '3'));
  const bad = commitFiles(dir, { 'services/shop/web.yaml': webYaml().replace(/replicas: 3/, 'replicas: many') }, 'web: bad replicas');
  const problem = await eventually(
    'the rejected commit with its problem',
    () => page.$eval(`#timeline li[data-commit="${bad}"][data-outcome="rejected"] .problem`, (e) => e.textContent).catch(() => null),
    30_000,
  );
  assert.match(problem!, /^services\/shop\/web\.yaml:\d+:\d+: /);
  await screenshot(page, 'dashboard-timeline');
});

test('clicking a service shows its placement history from Git', async () => {
  // A live update may redraw the table between finding the row and clicking it: click again then.
  await eventually(
    'the history of shop/web after a click on its row',
    async () => {
      try {
        await page.click('#services tr[data-service="shop/web"]');
        await page.waitForSelector('#history[data-service="shop/web"]:not([hidden]) li[data-kind="placement"]', { timeout: 3000 });
        return true;
      } catch {
        return false;
      }
    },
    20_000,
  );
  const lines = await page.$$eval('#history li', (ls) => ls.map((l) => l.textContent ?? ''));
  assert.ok(
    lines.some((l) => /placement of (munich|paris) .*shop\/web \d → 3/.test(l)),
    lines.join('\n'),
  );
  await screenshot(page, 'dashboard-history');
});

test('/api/events sends an event when a ref moves', async () => {
  const es = await events(url);
  await es.until(/event: hello/);
  commitFiles(dir, { 'services/shop/web.yaml': webYaml().replace(/replicas: many/, 'replicas: 2') }, 'web: 2 replicas again');
  const ev = await es.until(/event: refs\ndata: .*\n\n/);
  assert.match(ev, /refs\/heads\/main|refs\/notes\/canopy|refs\/canopy\//);
  es.close();
});

test('canopy ui --repo CLONE serves the same from a clone, Git alone, and follows its fetches', async () => {
  const clone = path.join(work, 'clone');
  git(work, 'clone', '-q', dir, clone);
  const fetchRefs = () => git(clone, 'fetch', '-q', 'origin', '+refs/canopy/*:refs/canopy/*', '+refs/notes/*:refs/notes/*');
  fetchRefs();
  ui = start(['ui', '--repo', clone, '--listen', '127.0.0.1:0'], { env: { CANOPY_UI_TOKEN: TOKEN } });
  const at = await urlOf(ui);
  assert.is((await fetch(`${at}api/status`)).status, 401);
  await eventually('the clone’s /api/status equals canopy status --json there', async () => {
    const r = await fetch(`${at}api/status`, { headers: auth });
    return JSON.stringify(await r.json()) === JSON.stringify(status(clone));
  });
  const es = await events(at);
  await es.until(/event: hello/);
  const sha = commitFiles(
    dir,
    { 'services/shop/worker.yaml': readFileSync(path.join(dir, 'services/shop/worker.yaml'), 'utf8') + '# touched\n' },
    'touch worker',
  );
  git(clone, 'pull', '-q', '--ff-only', 'origin', 'main');
  await es.until(/event: refs\ndata: .*refs\/heads\/main.*\n\n/);
  es.close();
  const p = await browser.newPage();
  await p.setViewport({ width: 1400, height: 1000 });
  await p.goto(`${at}?token=${TOKEN}`);
  await p.waitForSelector('#map g.cluster[data-cluster="munich"]', { timeout: 15_000 });
  await eventually('the clone’s page shows the pulled commit as main', () => p.$(`body[data-head="${sha}"]`));
  await screenshot(p, 'dashboard-clone');
  await p.close();
});

test('an air-gapped cluster shows as air-gapped, not online; retired, it shows as retired', async () => {
  const ship = (extra: string) =>
    `apiVersion: canopy/v1\nkind: Cluster\nmetadata: {name: ship}\nspec:\n  connectivity: air-gapped\n  location: {lat: 53.5, lon: 9.9}\n  capacity: {cpu: 1, memory: 1Gi}\n${extra}`;
  commitFiles(dir, { 'clusters/ship.yaml': ship('') }, 'ship: an air-gapped site');
  await page.goto(`${url}?token=${TOKEN}`);
  const shown = () =>
    page.evaluate(() => [
      document.querySelector('#map g.cluster[data-cluster="ship"]')?.getAttribute('data-state'),
      document.querySelector('#clusters tr[data-cluster="ship"]')?.getAttribute('data-state'),
    ]);
  await eventually('ship on the map and in the table as air-gapped', async () => (await shown()).every((st) => st === 'air-gapped'), 30_000, 200).catch(
    async (e: Error) => assert.unreachable(`${e.message}: ${JSON.stringify(await shown())}`),
  );
  assert.is(status().clusters.ship.state, 'air-gapped');
  await screenshot(page, 'dashboard-air-gapped');
  commitFiles(dir, { 'clusters/ship.yaml': ship('  retired: true\n') }, 'ship: retired');
  await eventually('ship shown as retired', async () => (await shown()).every((st) => st === 'retired'), 30_000, 200).catch(async (e: Error) =>
    assert.unreachable(`${e.message}: ${JSON.stringify(await shown())}`),
  );
});

test.run();
