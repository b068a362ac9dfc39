// A cluster cut from the fleet turns unreachable on the dashboard's map (issue 18's "cut a
// cluster and see it turn unreachable"): real Mosquitto, `canopy root --ui 127.0.0.1:0`, two
// `canopy cluster` processes with a sim agent each, as separate processes (test/helpers/fleet.ts
// starts them;
// heartbeat 0.5 s, unreachable after 3 s). In headless Chromium the page shows both online;
// munich's cluster process is killed with SIGKILL, and its marker's data-state becomes
// `unreachable` (from the live updates: JSON Patches over /api/events) while paris stays online.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Browser, Page } from 'puppeteer-core';
import { eventually, type Proc } from '../helpers/canopy.js';
import { startFleet, type TestFleet } from '../helpers/fleet.js';
import { launchChromium, screenshot } from '../helpers/browser.js';

const test = suite('dashboard: a killed cluster turns unreachable on the map (chromium, separate processes)');
let f: TestFleet;
let root: Proc;
let browser: Browser;
let page: Page;
let url = '';

const marker = (c: string) => page.$eval(`#map g.cluster[data-cluster="${c}"]`, (g) => g.getAttribute('data-state')).catch(() => null);

test.before(async () => {
  try {
    f = await startFleet({
      name: `dashu-${process.pid}`,
      runtime: 'sim',
      clusters: { munich: { lat: 48.1, lon: 11.6, nodes: 1 }, paris: { lat: 48.9, lon: 2.35, nodes: 1 } },
      services: { 'shop/web': { replicas: 2 } },
      timings: { heartbeatSeconds: 0.5, unreachableAfterSeconds: 3, statusRefreshSeconds: 5 },
      rootArgs: ['--ui', '127.0.0.1:0'],
    });
    root = f.procs.get('root')!;
    await root.waitFor(/UI: http:\/\/\S+\//, 30_000);
    url = /UI: (http:\/\/\S+\/)/.exec(root.output())![1];
    const w = await f.wait(undefined, 60);
    assert.is(w.code, 0, `${w.stderr}\n${f.logs()}`);
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
  } catch (e) {
    // uvu neither prints a failing hook's error nor runs `after` then: stop the processes here.
    process.stderr.write(`before: ${(e as Error).stack}\n`);
    await browser?.close();
    await f?.stop();
    throw e;
  }
});

test.after(async () => {
  await browser?.close();
  await f?.stop();
});

test('both clusters are online on the map', async () => {
  assert.is((await page.goto(url))?.status(), 200);
  await eventually('munich and paris online on the map', async () => (await marker('munich')) === 'online' && (await marker('paris')) === 'online', 30_000);
  await screenshot(page, 'dashboard-both-online');
});

test('a cluster killed with SIGKILL turns unreachable on the map; the other stays online', async () => {
  const version = await page.$eval('body', (b) => Number(b.getAttribute('data-version')));
  await f.procs.get('munich')!.kill('SIGKILL');
  await eventually('munich unreachable on the map', async () => (await marker('munich')) === 'unreachable', 30_000);
  assert.is(await marker('paris'), 'online');
  assert.is(await page.$eval('#clusters tr[data-cluster="munich"]', (r) => r.getAttribute('data-state')), 'unreachable');
  // Without reloading: the page applied the server's patches.
  assert.ok((await page.$eval('body', (b) => Number(b.getAttribute('data-version')))) > version);
  assert.is(await page.$eval('body', (b) => b.getAttribute('data-snapshots')), '1', 'one snapshot, then patches');
  const status = await (await fetch(`${url}api/status`)).json();
  assert.is(status.clusters.munich.state, 'unreachable');
  assert.is(status.clusters.paris.state, 'online');
  await screenshot(page, 'dashboard-munich-unreachable');
});

test.run();
