// `canopy status --watch`, as a user runs it against a fleet repository that changes under it (a
// real root over a real Mosquitto judges each commit and writes its note): a new table (and, with
// --json, a new document a line) when main moves or the root's note does, whether the refs are
// loose files or only in packed-refs, nothing new while nothing changes, and exit 0 on Ctrl-C.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { start, eventually, type Proc } from '../helpers/canopy.js';
import { commitFiles, git, serviceYaml, tempDir } from '../helpers/git.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';

const test = suite('canopy status --watch');
let broker: Mosquitto;
const roots: Proc[] = [];
test.before(async () => {
  broker = await startMosquitto();
});
test.after(async () => {
  for (const r of roots) await r.kill();
  await broker?.stop();
});

const FLEET = 'apiVersion: canopy/v1\nkind: Fleet\nmetadata:\n  name: watchers\n';
const svc = (name: string) => serviceYaml('shop', name, { runtime: 'process', command: ['sleep', '600'], replicas: 1 });

function repo(): string {
  const dir = tempDir('canopy-watch-');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  commitFiles(dir, { 'fleet.yaml': FLEET, 'services/shop/web.yaml': svc('web') }, 'first');
  roots.push(start(['root', '--repo', dir, '--broker', broker.url]));
  return dir;
}

interface Doc {
  head?: { commit: string; outcome: string };
  services: Record<string, unknown>;
}

test('--json: one document per change of main, loose or packed; none while nothing changes', async () => {
  const dir = repo();
  const w = start(['status', '--watch', '--json', '--repo', dir]);
  try {
    const docs = () =>
      w
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Doc);
    const judged = (commit: string) => (d: Doc) => d.head?.commit === commit && d.head.outcome === 'accepted';
    const first = git(dir, 'rev-parse', 'main');
    const d1 = await eventually('a document once the root accepted the first commit', () => docs().find(judged(first)));
    assert.equal(Object.keys(d1!.services), ['shop/web']);
    const second = commitFiles(dir, { 'services/shop/api.yaml': svc('api') }, 'add api');
    const d2 = await eventually('a document once the root accepted the new head', () => docs().find(judged(second)));
    assert.equal(Object.keys(d2!.services).sort(), ['shop/api', 'shop/web']);
    // Main only in packed-refs, then moved there: still seen.
    git(dir, 'pack-refs', '--all');
    const third = commitFiles(dir, { 'services/shop/api.yaml': null }, 'drop api');
    git(dir, 'pack-refs', '--all');
    const d3 = await eventually('a document for the packed head, accepted', () => docs().find(judged(third)));
    assert.equal(Object.keys(d3!.services), ['shop/web']);
    // Nothing changes: no new document past the periodic redraws (the same status is not printed twice).
    const n = docs().length;
    await new Promise((r) => setTimeout(r, 4500));
    assert.is(docs().length, n, w.output());
    assert.is(await w.kill('SIGINT'), 0);
  } finally {
    await w.kill('SIGKILL');
  }
});

test('the table, printed again when it changes, each after a time stamp', async () => {
  const dir = repo();
  const w = start(['status', '--watch', '--repo', dir]);
  try {
    await w.waitFor(/--- \d{4}-\d\d-\d\dT[\d:.]+Z\n[\s\S]*shop\/web/);
    commitFiles(dir, { 'services/shop/db.yaml': svc('db') }, 'add db');
    await w.waitFor(/shop\/db/);
    // Each table printed once: pending, then accepted, then the next commit (its pending may be skipped).
    const tables = w
      .output()
      .split(/^--- .*\n/m)
      .slice(1);
    assert.ok(tables.length >= 3, w.output());
    for (let i = 1; i < tables.length; i++) assert.is.not(tables[i], tables[i - 1], w.output());
    assert.is(await w.kill('SIGTERM'), 0);
  } finally {
    await w.kill('SIGKILL');
  }
});

test('not a repository: a clear error, not a watch', async () => {
  const w = start(['status', '--watch', '--repo', tempDir('canopy-watch-none-')]);
  const code = await new Promise<number | null>((r) => w.child.once('exit', (c) => r(c)));
  assert.is.not(code, 0);
  assert.match(w.output(), /not a git repository|no such|cannot/i);
});

test.run();
