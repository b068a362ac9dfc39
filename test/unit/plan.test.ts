// canopy plan against a real Git repository: descriptors committed with native git, status and
// placement refs written with canopy's own Git code (data setup), then the plan read back, also
// from a fresh clone with the canopy refs fetched.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import type { ClusterStatus, Placement } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { openRepo, resolveRef, readCommit, writeCommit, updateRef, type Repo } from '../../reconciler/git/repo.js';
import { writeFiles } from '../../reconciler/git/tree.js';
import { specHash } from '../../reconciler/core/ids.js';
import { planChange, resolveRev, specFields, compareServices, type ChangePlan } from '../../reconciler/report/plan.js';
import { renderPlanMarkdown, renderPlanText } from '../../reconciler/report/render-plan.js';
import type { DesiredState } from '../../reconciler/root/desired.js';
import type { ServiceDecision } from '../../reconciler/root/place.js';
import { git, tempDir, commitFiles, serviceYaml } from '../helpers/git.js';
import { canopy } from '../helpers/canopy.js';
import { MUNICH, PARIS } from '../helpers/builders.js';

const NOW = new Date('2026-01-10T12:00:00Z');
const dir = path.join(tempDir('canopy-plan-'), 'fleet');
const revs: Record<'base' | 'pr' | 'bad', string> = { base: '', pr: '', bad: '' };
let repo: Repo;

const FLEET = 'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: demo}\nspec:\n  timings: {statusRefreshSeconds: 60, unreachableAfterSeconds: 10}\n';
const cluster = (name: string, at: { lat: number; lon: number }) =>
  `apiVersion: canopy/v1\nkind: Cluster\nmetadata: {name: ${name}}\nspec:\n  location: {lat: ${at.lat}, lon: ${at.lon}}\n`;
const WEB: ServiceSpec = { runtime: 'container', image: 'canopy/busybox:1', replicas: 2, resources: { cpu: 0.5, memory: '64Mi' } };

function status(name: string, location: { lat: number; lon: number }, at: Date): ClusterStatus {
  const cap = { cpu: 4, memoryMi: 8192, gpu: 0 },
    node = { cpu: 2, memoryMi: 4096, gpu: 0 };
  return {
    kind: 'cluster-status',
    cluster: name,
    at: at.toISOString(),
    applied: null,
    capacity: cap,
    free: cap,
    maxNodeFree: node,
    maxNode: node,
    arch: ['amd64'],
    runtimes: ['container', 'process'],
    labels: {},
    location,
    nodes: { total: 2, online: 2 },
    services: {},
  };
}

/** One commit on a system ref holding `file`, dated `time`: how the root and clusters record. */
async function record(ref: string, file: string, value: unknown, time: Date): Promise<void> {
  const parent = await resolveRef(repo, ref);
  const tree = await writeFiles(repo, parent ? (await readCommit(repo, parent)).tree : undefined, new Map([[file, JSON.stringify(value, null, 1)]]));
  const oid = await writeCommit(repo, {
    tree,
    parents: parent ? [parent] : [],
    message: `test ${file}`,
    author: { name: 'test', email: 't@example.com' },
    time,
  });
  await updateRef(repo, ref, oid, parent);
}

const setup = (async () => {
  git(path.dirname(dir), 'init', '-q', '-b', 'main', dir);
  revs.base = commitFiles(
    dir,
    {
      'fleet.yaml': FLEET,
      'clusters/munich.yaml': cluster('munich', MUNICH),
      'clusters/paris.yaml': cluster('paris', PARIS),
      'clusters/tokyo.yaml': cluster('tokyo', { lat: 35.68, lon: 139.69 }),
      'services/shop/web.yaml': serviceYaml('shop', 'web', WEB as never),
    },
    'base',
  );
  repo = await openRepo(dir);
  await record('refs/canopy/status/munich', 'status.json', status('munich', MUNICH, new Date(NOW.getTime() - 5000)), new Date(NOW.getTime() - 5000));
  await record(
    'refs/canopy/status/paris',
    'status.json',
    status('paris', PARIS, new Date(NOW.getTime() - 2 * 86400_000)),
    new Date(NOW.getTime() - 2 * 86400_000),
  );
  const placement: Placement = {
    fleet: 'demo',
    cluster: 'munich',
    version: { commit: revs.base, seq: 1, epoch: 0 },
    services: { 'shop/web': { replicas: 2, specHash: specHash(WEB), spec: WEB, reason: 'placed on munich×2' } },
  };
  await record('refs/canopy/placements/munich', 'placement.json', placement, new Date(NOW.getTime() - 60_000));
  git(dir, 'checkout', '-q', '-b', 'pr');
  revs.pr = commitFiles(
    dir,
    {
      'services/shop/web.yaml': serviceYaml('shop', 'web', { ...WEB, replicas: 3 } as never),
      'services/traffic-cam/detector.yaml': serviceYaml('traffic-cam', 'detector', {
        runtime: 'container',
        image: 'canopy/busybox:1',
        replicas: 1,
        constraints: { geo: { ...MUNICH, withinKm: 50 } },
      }),
      'services/ml/trainer.yaml': serviceYaml('ml', 'trainer', { runtime: 'container', image: 'canopy/busybox:1', replicas: 1, resources: { gpu: 1 } }),
    },
    'web: 3, a detector near Munich, a GPU trainer',
  );
  git(dir, 'checkout', '-q', '-b', 'bad');
  revs.bad = commitFiles(dir, { 'services/shop/web.yaml': serviceYaml('shop', 'web', { ...WEB, replicas: 'many' } as never) }, 'web: many');
  git(dir, 'checkout', '-q', 'pr');
})();
setup.catch(() => undefined); // reported by the suites that await it

const plan = (base: string, head: string, r = repo) => planChange(r, { base, head, now: NOW });
const svc = (p: ChangePlan, id: string) => p.services.find((s) => s.id === id)!;

// --- planChange ------------------------------------------------------------------------------
const change = suite('planChange');
change.before(() => setup);

change('a replicas change shows the cluster that gains', async () => {
  const p = await plan('main', 'pr');
  assert.ok(p.accepted);
  const web = svc(p, 'shop/web');
  assert.is(web.change, 'changed');
  assert.equal(web.fields, ['replicas']);
  assert.equal(web.replicas, { before: 2, after: 3 });
  assert.equal(web.before, { munich: 2 });
  assert.equal(web.after, { munich: 3 });
  assert.equal(web.delta, { munich: 1 });
  assert.match(p.verdict, /would be accepted: 2 added, 1 changed; 1 unschedulable/);
});

change('a service within 50 km of Munich goes to munich; paris is passed over for its distance', async () => {
  const d = svc(await plan('main', 'pr'), 'traffic-cam/detector');
  assert.is(d.change, 'added');
  assert.equal(d.after, { munich: 1 });
  assert.equal(d.delta, { munich: 1 });
  assert.match(d.reason, /^placed on munich×1/);
  assert.match(d.reason, /paris: 68\d km from \(48\.137, 11\.575\), limit 50 km/);
  assert.is(d.unschedulable, undefined);
});

change('what cannot be placed is reported with why, and does not reject the change', async () => {
  const p = await plan('main', 'pr');
  const t = svc(p, 'ml/trainer');
  assert.is(t.change, 'added');
  assert.equal(t.after, {});
  assert.match(t.unschedulable ?? '', /no cluster can run it: munich: no node large enough for one replica \(needs .*gpu 1/);
  assert.match(t.unschedulable ?? '', /paris: no node large enough/);
  assert.ok(p.accepted);
});

change('clusters: stale ones are planned as available and marked; declared ones that never reported are not considered', async () => {
  const p = await plan('main', 'pr');
  const by = Object.fromEntries(p.clusters.map((c) => [c.name, c]));
  assert.is(p.staleAfterSeconds, 70);
  assert.is(by.munich.stale, false);
  assert.ok(by.paris.reported && by.paris.stale, JSON.stringify(by.paris));
  assert.match(by.paris.note, /stale: silent for longer than 70 s .*; planned as if available/);
  assert.equal({ reported: by.tokyo.reported, note: by.tokyo.note }, { reported: false, note: 'never reported: not considered' });
});

change('an invalid head: the merge would be rejected, with file:line:column problems', async () => {
  const p = await plan('pr', 'bad');
  assert.is(p.accepted, false);
  assert.match(p.verdict, /would be rejected: 1 problem\(s\).*stay in force/);
  assert.is(p.problems[0].file, 'services/shop/web.yaml');
  assert.ok(p.problems[0].line > 1 && p.problems[0].column > 1, JSON.stringify(p.problems));
  assert.match(p.problems[0].message, /spec\.replicas/);
  assert.equal(p.services, []);
  assert.match(renderPlanText(p), /\n {2}services\/shop\/web\.yaml:\d+:\d+: spec\.replicas/);
});

change('an invalid base is compared through the last good state before it', async () => {
  const fix = await plan('bad', 'pr');
  assert.is(fix.base.inForce, revs.pr);
  assert.is(fix.services.filter((s) => s.change !== 'unchanged').length, 0);
});

change('the same plan from a fresh clone with the canopy refs fetched', async () => {
  const clone = path.join(tempDir('canopy-plan-clone-'), 'c');
  git(path.dirname(clone), 'clone', '-q', dir, clone);
  git(clone, 'fetch', '-q', 'origin', 'refs/canopy/*:refs/canopy/*', 'refs/notes/*:refs/notes/*');
  const there = await plan('origin/main', 'HEAD', await openRepo(clone));
  const here = await plan('main', 'pr');
  const strip = (p: ChangePlan) => ({ ...p, base: { ...p.base, rev: '' }, head: { ...p.head, rev: '' } });
  assert.equal(strip(there), strip(here));
});

change('an unknown revision is named', async () => {
  try {
    await plan('main', 'no-such-branch');
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /unknown revision no-such-branch/);
  }
});
change.run();

// --- resolveRev ------------------------------------------------------------------------------
const rev = suite('resolveRev');
rev.before(() => setup);
rev('REV~N and REV^ walk parents; a missing one is an error naming the revision', async () => {
  assert.is(await resolveRev(repo, 'bad~1'), revs.pr);
  assert.is(await resolveRev(repo, 'bad^'), revs.pr);
  assert.is(await resolveRev(repo, 'bad~2'), revs.base);
  assert.is(await resolveRev(repo, revs.pr.slice(0, 10)), revs.pr);
  try {
    await resolveRev(repo, 'main~1');
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /unknown revision main~1: .* has no such parent/);
  }
});
rev.run();

// --- specFields and compareServices (pure) ----------------------------------------------------
const fields = suite('specFields');
fields('names changed fields, one level into objects', () => {
  const a: ServiceSpec = { runtime: 'container', image: 'a:1', replicas: 1, resources: { cpu: 1, memory: '1Gi' }, env: { A: '1' } };
  const cases: Array<[Partial<ServiceSpec>, string[]]> = [
    [{}, []],
    [{ replicas: 2 }, ['replicas']],
    [{ image: 'a:2', replicas: 3 }, ['image', 'replicas']],
    [{ resources: { cpu: 2, memory: '1Gi' } }, ['resources.cpu']],
    [{ constraints: { geo: { lat: 1, lon: 2, withinKm: 3 } } }, ['constraints']],
    [{ env: { A: '1', B: '2' } }, ['env.B']],
  ];
  for (const [patch, want] of cases) assert.equal(specFields(a, { ...a, ...patch }), want, JSON.stringify(patch));
});
fields.run();

const compare = suite('compareServices');
compare('a service whose spec is unchanged but whose clusters differ has moved', () => {
  const spec: ServiceSpec = { runtime: 'process', command: ['sleep', '1'], replicas: 1 };
  const state = (ids: string[]): DesiredState => ({
    commit: 'c',
    tree: 't',
    files: new Map(),
    fleet: { apiVersion: 'canopy/v1', kind: 'Fleet', metadata: { name: 'demo' } },
    services: new Map(ids.map((id) => [id, { id, spec, specHash: specHash(spec), file: '' }])),
  });
  const on = (c: string): ServiceDecision => ({ clusters: new Map([[c, 1]]), placed: 1, desired: 1, reason: `placed on ${c}×1`, excluded: {} });
  const out = compareServices(
    state(['a/x', 'a/y']),
    state(['a/x', 'a/z']),
    new Map([
      ['a/x', on('munich')],
      ['a/y', on('paris')],
    ]),
    new Map([
      ['a/x', on('paris')],
      ['a/z', on('paris')],
    ]),
  );
  assert.equal(
    out.map((s) => [s.id, s.change, s.delta]),
    [
      ['a/x', 'moved', { munich: -1, paris: 1 }],
      ['a/y', 'removed', { paris: -1 }],
      ['a/z', 'added', { paris: 1 }],
    ],
  );
});
compare.run();

// --- renderers and the command -----------------------------------------------------------------
const render = suite('render-plan and canopy plan');
render.before(() => setup);

render('markdown for a PR comment: verdict heading, table of services and clusters, reasons', async () => {
  const m = renderPlanMarkdown(await plan('main', 'pr'));
  assert.match(m, /^<!-- canopy-plan -->\n### canopy plan: ⚠️ would be accepted/);
  assert.match(m, /\| `shop\/web` \| changed: replicas \| munich×2 \| munich×3 \| munich \+1 \|/);
  assert.match(m, /\| `traffic-cam\/detector` \| added \(1 replica\) \| - \| munich×1 \| munich \+1 \|/);
  assert.match(m, /- `ml\/trainer`: no cluster can run it/);
  assert.match(m, /<details><summary>Why there<\/summary>[\s\S]*paris: 68\d km/);
  assert.match(m, /\*\*tokyo\*\*: never reported: not considered/);
  assert.match(m, /\*\*paris\*\*: ⚠️ last status/);
  const bad = renderPlanMarkdown(await plan('pr', 'bad'));
  assert.match(bad, /### canopy plan: ❌ would be rejected/);
  assert.match(bad, /- `services\/shop\/web\.yaml:\d+:\d+`: spec\.replicas/);
});

render('exit 0 when head validates, 1 when it would be rejected, 64 for usage errors', () => {
  const ok = canopy(['plan', '--repo', dir, '--base', 'main', '--head', 'pr', '--format', 'json']);
  assert.is(ok.code, 0, ok.stderr);
  assert.is(JSON.parse(ok.stdout).services.length, 3);
  const bad = canopy(['plan', '--repo', dir, '--base', 'pr', '--head', 'bad']);
  assert.is(bad.code, 1, bad.stderr);
  assert.match(bad.stdout, /would be rejected/);
  const unknown = canopy(['plan', '--repo', dir, '--base', 'origin/nope', '--head', 'HEAD']);
  assert.is(unknown.code, 64);
  assert.match(unknown.stderr, /unknown revision origin\/nope/);
  assert.is(canopy(['plan', '--repo', dir, '--base', 'main', '--head', 'pr', '--format', 'html']).code, 64);
  assert.is(canopy(['plan', '--repo', dir, '--base', 'main']).code, 64);
});
render.run();
