// canopy plan computed from the change equals the plan computed in full, on generated fleet
// repositories (real Git, written by fast-import) whose placement refs and notes are written as
// the root writes them (helpers/root-record.ts): spec and replica changes, new and deleted
// services, a change that fills a cluster, invalid files, fleet.yaml changes, bases the root has
// not placed (or rejected), capacities and labels that moved since the placement, a first
// deployment, and random changes. Each case also says which way it was computed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { ClusterStatus } from '../../schemas/messages.js';
import { openRepo, type Repo } from '../../reconciler/git/repo.js';
import { planChange, type ChangePlan } from '../../reconciler/report/plan.js';
import { renderPlanMarkdown } from '../../reconciler/report/render-plan.js';
import { readPlanInputs, type StatusInput } from '../../reconciler/report/plan-inputs.js';
import { placementIndexes, type PlacementIndex } from '../../reconciler/report/plan-index.js';
import { request } from '../../reconciler/root/place.js';
import { createBigRepo, type BigRepo } from '../helpers/big-repo.js';
import { RootRecorder, writeStatus } from '../helpers/root-record.js';
import { serviceYaml } from '../helpers/git.js';
import { aService, prng, MUNICH, type Rng } from '../helpers/builders.js';

const NOW = new Date();
const CLUSTERS = ['c00', 'c01', 'c02', 'c03', 'c04'];
const LOC = [MUNICH, { lat: 48.2, lon: 16.37 }, { lat: 50.11, lon: 8.68 }, { lat: 52.52, lon: 13.4 }, { lat: 45.46, lon: 9.19 }];

function status(i: number, o: { cpu?: number; labels?: Record<string, string> } = {}): ClusterStatus {
  const cpu = o.cpu ?? [60, 48, 36, 30, 24][i];
  const cap = { cpu, memoryMi: cpu * 2048, gpu: 0 },
    node = { cpu: 4, memoryMi: 8192, gpu: 0 };
  return {
    kind: 'cluster-status',
    cluster: CLUSTERS[i],
    at: NOW.toISOString(),
    applied: null,
    capacity: cap,
    free: cap,
    maxNodeFree: node,
    maxNode: node,
    arch: ['amd64'],
    runtimes: i === 4 ? ['container'] : ['container', 'process'],
    labels: o.labels ?? { tier: i < 2 ? 'core' : 'edge' },
    location: LOC[i],
    nodes: { total: 8, online: 8 },
    services: {},
  };
}

/** A varied service (seeded): sizes, runtimes, labels, geo, latency targets, spread. */
function spec(rng: Rng, gen = 0): Record<string, unknown> {
  const s = aService('x/y')
    .replicas(rng.int(1, 3))
    .cpu(rng.pick([0.05, 0.1, 0.25, 0.5]))
    .memory(rng.pick(['64Mi', '128Mi', '256Mi']));
  if (rng.chance(0.15)) s.runtime('process');
  if (rng.chance(0.1)) s.spread('clusters');
  if (rng.chance(0.15)) s.onClustersLabelled({ tier: rng.pick(['edge', 'core']) });
  if (rng.chance(0.1)) s.within(400, MUNICH);
  if (gen) s.env({ GEN: String(gen) });
  const out = s.spec() as Record<string, unknown>;
  if (rng.chance(0.05)) out.constraints = { ...(out.constraints as object), latency: { to: { target: 'hq' }, maxMs: 20 } };
  return out;
}

const svcYaml = (rng: Rng) => (_i: number, app: string, name: string) => serviceYaml(app, name, spec(rng));
const yamlOf = (path: string, s: Record<string, unknown>) => {
  const [, app, f] = path.split('/');
  return serviceYaml(app, f.replace(/\.yaml$/, ''), s);
};
const strip = (p: ChangePlan) => ({ ...p, method: undefined });
const capOf = (statuses: StatusInput[], c: string) => statuses.find((s) => s.name === c)!.view!.capacity.cpu;

interface Fleet {
  big: BigRepo;
  repo: Repo;
  root: RootRecorder;
  rng: Rng;
}

async function fleet(seed: number, o: { services?: number; layout?: 'nested' | 'flat'; record?: boolean } = {}): Promise<Fleet> {
  const rng = prng(seed);
  const big = createBigRepo({ services: o.services ?? 240, apps: 12, clusters: 5, layout: o.layout, serviceYaml: svcYaml(rng) });
  const repo = await openRepo(big.dir);
  const root = new RootRecorder(repo);
  await root.report(
    CLUSTERS.map((_, i) => status(i)),
    NOW,
  );
  if (o.record !== false) assert.ok(await root.record(big.head), 'the generated fleet validates');
  return { big, repo, root, rng };
}

/**
 * How the plan was computed: judged and placed from the change (partial); judged from the change
 * but every service placed (all placed); or all in full.
 */
type Way = 'partial' | 'all placed' | 'full';
const wayOf = (p: ChangePlan): Way => (p.method.kind === 'full' ? 'full' : p.method.why ? 'all placed' : 'partial');

/** Drops what earlier plans kept: the settled basis, and (unless `index` is false) the placement indexes. */
function forget(f: Fleet, index = true): void {
  rmSync(path.join(f.big.dir, '.git', 'canopy', 'plan-cache.json'), { force: true });
  if (index) rmSync(path.join(f.big.dir, '.git', 'canopy', 'plan-index.json'), { force: true });
}

/** Both ways (from the change with nothing kept from earlier plans, then with what they kept); they must agree. Returns the plan. */
async function both(f: Fleet, base: string, head: string, way?: Way): Promise<ChangePlan> {
  forget(f);
  const cold = await planChange(f.repo, { base, head, now: NOW });
  const fast = await planChange(f.repo, { base, head, now: NOW });
  const full = await planChange(f.repo, { base, head, now: NOW, full: true });
  assert.equal(strip(cold), strip(full), `from the change, cold (${wayOf(cold)}${cold.method.why ? `: ${cold.method.why}` : ''}) vs in full`);
  assert.equal(strip(fast), strip(full), `from the change, kept (${wayOf(fast)}${fast.method.why ? `: ${fast.method.why}` : ''}) vs in full`);
  if (way) assert.is(wayOf(fast), way, fast.method.why);
  if (way === 'partial' && fast.method.services >= 200) assert.ok(fast.method.kept && !cold.method.kept, 'the second plan keeps what the first found');
  return fast;
}

const one = (f: Fleet, k: number) => f.big.paths[k % f.big.paths.length];
const show = (f: Fleet, rev: string, path: string) => execFileSync('git', ['-C', f.big.dir, 'show', `${rev}:${path}`], { encoding: 'utf8' });
/** The service as on main, with an env var added: a change that asks for no more room. */
const retag = (f: Fleet, path: string, tag = 'x') => show(f, 'main', path).replace('spec:\n', `spec:\n  env: {"TAG": "${tag}"}\n`);
const idOf = (path: string) => path.replace(/^services\//, '').replace(/\.yaml$/, '');

// --- one change at a time --------------------------------------------------------------------
const change = suite('plan from the change equals the full plan');
let F: Fleet;
change.before(async () => {
  F = await fleet(11);
});

change('spec change (image): listed as changed, no cluster gains or loses', async () => {
  const p = one(F, 7);
  const head = F.big.commitOn('pr', F.big.head, { [p]: yamlOf(p, { ...spec(prng(1)), image: 'canopy/busybox:2', replicas: 1 }) });
  const plan = await both(F, 'main', head, 'partial');
  const s = plan.services.find((x) => x.id === idOf(p))!;
  assert.is(s.change, 'changed');
  assert.ok(plan.method.placed <= 10, JSON.stringify(plan.method));
});

change('replicas change: the cluster that gains is named, with why', async () => {
  const p = one(F, 21);
  const head = F.big.commitOn('pr', F.big.head, {
    [p]: yamlOf(p, { runtime: 'container', image: 'canopy/busybox:1', replicas: 6, resources: { cpu: 0.1, memory: '64Mi' } }),
  });
  const plan = await both(F, 'main', head, 'partial');
  const s = plan.services.find((x) => x.id === idOf(p))!;
  assert.is(
    Object.values(s.after).reduce((a, b) => a + b, 0),
    6,
  );
  assert.match(renderPlanMarkdown(plan), new RegExp(`\`${idOf(p)}\``));
  assert.match(s.reason, /^placed on c0\d×/);
});

change('new service and deleted service', async () => {
  const gone = one(F, 33);
  const head = F.big.commitOn('pr', F.big.head, {
    'services/new-app/web.yaml': serviceYaml('new-app', 'web', { runtime: 'container', image: 'canopy/busybox:1', replicas: 2 }),
    [gone]: null,
  });
  const plan = await both(F, 'main', head, 'partial');
  assert.is(plan.services.find((x) => x.id === 'new-app/web')?.change, 'added');
  assert.is(plan.services.find((x) => x.id === idOf(gone))?.change, 'removed');
});

change('a new service that fills the clusters: unschedulable replicas, with why', async () => {
  const head = F.big.commitOn('pr', F.big.head, {
    'services/big/batch.yaml': serviceYaml('big', 'batch', { runtime: 'container', image: 'i', replicas: 90, resources: { cpu: 2, memory: '64Mi' } }),
  });
  const plan = await both(F, 'main', head, 'partial');
  assert.match(plan.services.find((x) => x.id === 'big/batch')?.unschedulable ?? '', /only \d+ of 90 replicas fit.*full: a replica needs cpu 2/);
  assert.match(plan.verdict, /unschedulable/);
});

change('a service that grows on a full cluster: every service placed (the sticky pass may push others out)', async () => {
  const inputs = await readPlanInputs(F.repo, { cache: false });
  const placements = await inputs.placements(),
    statuses = inputs.statuses;
  const used = (c: string) => Object.values(placements.get(c)!.services).reduce((t, a) => t + request(a.spec).cpu * a.replicas, 0);
  const fullest = [...placements.keys()].sort((x, y) => used(y) / capOf(statuses, y) - used(x) / capOf(statuses, x))[0];
  assert.ok(capOf(statuses, fullest) - used(fullest) < 3, `${fullest}: ${used(fullest)} of ${capOf(statuses, fullest)}`);
  const p = `services/${Object.keys(placements.get(fullest)!.services)[0]}.yaml`;
  const grown = show(F, 'main', p).replace(/"cpu":[0-9.]+/, '"cpu":4');
  await both(F, 'main', F.big.commitOn('pr', F.big.head, { [p]: grown }), 'all placed');
});

change('a service using a secret goes only where the secret is sealed; resealing it elsewhere moves it', async () => {
  const armored = '-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n-----END AGE ENCRYPTED FILE-----\n';
  const sealed = (c: string) => `apiVersion: canopy/v1\nkind: Secret\nmetadata:\n  name: vault\nspec:\n  clusters: [${c}]\n  keys: [password]\n`;
  const db = serviceYaml('vault-app', 'db', {
    runtime: 'container',
    image: 'canopy/busybox:1',
    replicas: 2,
    resources: { cpu: 0.1, memory: '64Mi' },
    secrets: [{ secret: 'vault', key: 'password', env: 'PASSWORD' }],
  });
  // The two clusters with the most room left: the secret alone decides between them.
  const inputs = await readPlanInputs(F.repo, { cache: false });
  const placements = await inputs.placements();
  const free = (c: string) =>
    capOf(inputs.statuses, c) - Object.values(placements.get(c)?.services ?? {}).reduce((t, a) => t + request(a.spec).cpu * a.replicas, 0);
  const [roomy, next] = [...CLUSTERS].sort((x, y) => free(y) - free(x));
  assert.ok(free(next!) >= 1, `${next}: ${free(next!)} cpu free`);
  const head = F.big.commitOn('pr', F.big.head, { 'secrets/vault.yaml': sealed(next!), 'secrets/vault.age': armored, 'services/vault-app/db.yaml': db });
  const plan = await both(F, 'main', head);
  const s = plan.services.find((x) => x.id === 'vault-app/db')!;
  assert.equal(s.after, { [next!]: 2 }, JSON.stringify(s));
  // On top of it, the secret sealed to the other one instead: the service follows it.
  const moved = F.big.commitOn('pr2', head, { 'secrets/vault.yaml': sealed(roomy!) });
  const again = await both(F, head, moved, 'full');
  assert.equal(again.services.find((x) => x.id === 'vault-app/db')?.after, { [roomy!]: 2 });
});

change('invalid YAML in head: rejected, file:line', async () => {
  const p = one(F, 50);
  const head = F.big.commitOn('pr', F.big.head, { [p]: 'apiVersion: canopy/v1\nkind: Service\nmetadata: {name: x\nspec: [\n' });
  const plan = await both(F, 'main', head, 'partial');
  assert.is(plan.accepted, false);
  assert.is(plan.problems[0].file, p);
  assert.ok(plan.problems[0].line > 1, JSON.stringify(plan.problems));
});

change('files over 1 MiB: named, and judged as the root judges them', async () => {
  const big = 'x'.repeat(1024 * 1024 + 10);
  const fy = show(F, 'main', 'fleet.yaml');
  const head = F.big.commitOn('pr', F.big.head, { 'fleet.yaml': `${fy}# ${big}\n`, [one(F, 80)]: `# ${big}\n` });
  const plan = await both(F, 'main', head, 'partial');
  assert.equal(plan.problems.map((x) => x.file).sort(), ['fleet.yaml', one(F, 80)].sort());
  assert.ok(
    plan.problems.every((x) => /a descriptor may be at most 1 MiB/.test(x.message)),
    JSON.stringify(plan.problems),
  );
});

change('a duplicate name, a schema violation and an unknown target, across files', async () => {
  const [a, b, c] = [one(F, 60), one(F, 61), one(F, 62)];
  const [, app, file] = a.split('/');
  const head = F.big.commitOn('pr', F.big.head, {
    [`services/${app}/copy.yaml`]: serviceYaml(app, file.replace('.yaml', ''), { runtime: 'container', image: 'i', replicas: 1 }),
    [b]: yamlOf(b, { runtime: 'container', image: 'i', replicas: -1 }),
    [c]: yamlOf(c, { runtime: 'container', image: 'i', replicas: 1, constraints: { latency: { to: { target: 'nowhere' }, maxMs: 5 } } }),
    'services/oops.yml': 'x: 1\n',
  });
  const plan = await both(F, 'main', head, 'partial');
  const text = plan.problems.map((x) => `${x.file}:${x.line}: ${x.message}`).join('\n');
  assert.match(text, /copy\.yaml:\d+: metadata\.name/);
  assert.match(text, new RegExp(`copy\\.yaml:\\d+: duplicate service ${app}/svc-\\d+: also defined in ${a}`));
  assert.match(text, /spec\.replicas/);
  assert.match(text, /"nowhere" is not a target of fleet\.yaml/);
  assert.match(text, /services\/oops\.yml:1: unknown file/);
});

change('fleet.yaml: another policy, a target moved (from the change); a target dropped (judged in full)', async () => {
  const fy = show(F, 'main', 'fleet.yaml');
  const uses = F.big.paths.filter((x) => show(F, 'main', x).includes('"hq"'));
  assert.ok(uses.length > 0, 'some services have a latency target');
  const p = one(F, 70);
  const policy = F.big.commitOn('pr', F.big.head, {
    'fleet.yaml': fy.replace('spec:\n', 'spec:\n  scheduler: {root: spread}\n'),
    [p]: yamlOf(p, { runtime: 'container', image: 'i', replicas: 3 }),
  });
  await both(F, 'main', policy, 'partial');
  // hq moves to Lisbon: what must be within 20 ms of it has nowhere to go.
  const far = await both(
    F,
    'main',
    F.big.commitOn('pr', F.big.head, { 'fleet.yaml': fy.replace(/hq: \{lat: [^}]*\}/, 'hq: {lat: 38.7, lon: -9.1}') }),
    'partial',
  );
  assert.ok(
    far.services.some((s) => uses.includes(`services/${s.id}.yaml`) && /target hq/.test(s.unschedulable ?? '')),
    JSON.stringify(far.services),
  );
  const plan = await both(F, 'main', F.big.commitOn('pr', F.big.head, { 'fleet.yaml': fy.replace(/ {2}targets: .*\n/, '') }), 'full');
  assert.is(plan.accepted, false);
  assert.ok(
    plan.problems.some((x) => uses.includes(x.file)),
    JSON.stringify(plan.problems),
  );
});

change('config files: a service naming a new one (from the change); that file changed or deleted (in full)', async () => {
  const p = one(F, 80);
  const uses = (from: string) => yamlOf(p, { runtime: 'container', image: 'i', replicas: 1, files: [{ path: '/etc/app.conf', from }] });
  const added = F.big.commitOn('pr', F.big.head, { 'config/app.conf': 'one\n', [p]: uses('config/app.conf') });
  const plan = await both(F, 'main', added, 'partial');
  assert.is(plan.accepted, true, JSON.stringify(plan.problems));
  const missing = await both(F, 'main', F.big.commitOn('pr', F.big.head, { [p]: uses('config/nope.conf') }), 'partial');
  assert.ok(
    missing.problems.some((x) => x.file === p && /spec\.files\[0\]\.from: config\/nope\.conf is not a file of this commit/.test(x.message)),
    JSON.stringify(missing.problems),
  );
  const changed = await both(F, added, F.big.commitOn('pr', added, { 'config/app.conf': 'two\n' }), 'full');
  assert.equal(
    changed.services.map((x) => `${x.id} ${x.change} ${x.fields.join(',')}`),
    [`${idOf(p)} changed files`],
  );
  const deleted = await both(F, added, F.big.commitOn('pr', added, { 'config/app.conf': null }), 'full');
  assert.ok(
    deleted.problems.some((x) => x.file === p && /config\/app\.conf is not a file of this commit/.test(x.message)),
    JSON.stringify(deleted.problems),
  );
});

change('a large change costs more, and still agrees', async () => {
  const files: Record<string, string> = {};
  for (const p of F.big.paths.slice(0, 170)) files[p] = yamlOf(p, { ...spec(F.rng, 2) });
  const head = F.big.commitOn('pr', F.big.head, files);
  const plan = await both(F, 'main', head, 'full');
  assert.match(plan.method.why ?? '', /most services can move/);
});

change('random changes of one to eight files', async () => {
  const rng = prng(99);
  const ways = new Set<Way>();
  for (let n = 0; n < 16; n++) {
    const files: Record<string, string | null> = {};
    for (let k = 0; k < rng.int(1, 8); k++) {
      const p = rng.pick(F.big.paths);
      files[p] = rng.chance(0.15) ? null : yamlOf(p, spec(rng, n + 1));
    }
    if (rng.chance(0.3)) files[`services/extra/s${n}.yaml`] = serviceYaml('extra', `s${n}`, spec(rng));
    const plan = await both(F, 'main', F.big.commitOn('pr', F.big.head, files));
    ways.add(wayOf(plan));
  }
  assert.ok(ways.has('partial') && !ways.has('full'), [...ways].join(', '));
});

// --- bases and records that are not the root's latest ------------------------------------------
const bases = suite('plan from the change: bases and records');

bases('base the root has not placed yet, an invalid base (noted or not), placement refs without notes', async () => {
  const f = await fleet(12);
  const [a, b, c] = [one(f, 3), one(f, 4), one(f, 5)];
  // Main moves on without the root: a retagged, b gone, c asking for more than there is.
  const m1 = f.big.change({ [a]: retag(f, a), [b]: null, [c]: show(f, 'main', c).replace(/replicas: \d+/, 'replicas: 500') }, 'not reconciled yet');
  const pr = f.big.commitOn('pr', m1, { [one(f, 9)]: retag(f, one(f, 9)) });
  const plan = await both(f, 'main', pr, 'partial');
  assert.ok(
    plan.basis.caveats.some((x) => /the root last placed .*not base/.test(x)),
    JSON.stringify(plan.basis),
  );
  assert.match(plan.services.find((s) => s.id === idOf(c))?.unschedulable ?? '', /only \d+ of 500 replicas fit/);
  const bad = f.big.change({ [a]: 'kind: Service\n' }, 'broken, not noted');
  const fix = f.big.commitOn('fix', bad, { [a]: retag(f, a, 'y') });
  const p2 = await both(f, 'main', fix, 'partial');
  assert.is(p2.base.inForce, m1);
  assert.ok(!(await f.root.record(bad)), 'the root rejects it');
  await both(f, 'main', fix, 'partial');
  execFileSync('git', ['-C', f.big.dir, 'update-ref', '-d', 'refs/notes/canopy']);
  await both(f, 'main', fix, 'partial');
});

bases('a kept basis carried to a base the root has not seen (main moved on without it)', async () => {
  const f = await fleet(19);
  forget(f);
  await planChange(f.repo, { base: 'main', head: 'main', now: NOW });
  for (let k = 0; k < 4; k++) {
    const [a, b] = [one(f, 13 * k + 1), one(f, 13 * k + 2)];
    f.big.change(
      {
        [a]: show(f, 'main', a).replace(/replicas: \d+/, `replicas: ${k + 2}`),
        [b]: null,
        [`services/new/s${k}.yaml`]: serviceYaml('new', `s${k}`, spec(f.rng)),
      },
      `main ${k}`,
    );
    const pr = f.big.commitOn('pr', f.big.head, { [one(f, 13 * k + 5)]: retag(f, one(f, 13 * k + 5)), [`services/new/s${k}.yaml`]: null });
    const kept = await planChange(f.repo, { base: 'main', head: pr, now: NOW });
    assert.ok(kept.method.kept, `step ${k}: ${JSON.stringify(kept.method)}`);
    assert.equal(strip(kept), strip(await planChange(f.repo, { base: 'main', head: pr, now: NOW, full: true })), `step ${k}`);
  }
});

bases('several placement records from different commits, a placement-only change the records did not rewrite', async () => {
  const f = await fleet(13);
  for (let k = 0; k < 4; k++) {
    const p = one(f, 17 * k + 5);
    const c = f.big.change({ [p]: yamlOf(p, { ...spec(f.rng, 10 + k), replicas: 2 }) }, `step ${k}`);
    assert.ok(await f.root.record(c));
    // The placement indexes kept from the last plan are brought up to date by what the root rewrote.
    forget(f, false);
    const pr = f.big.commitOn('pr', f.big.head, { [one(f, 40 + k)]: retag(f, one(f, 40 + k)) });
    const kept = await planChange(f.repo, { base: 'main', head: pr, now: NOW });
    assert.equal(strip(kept), strip(await planChange(f.repo, { base: 'main', head: pr, now: NOW, full: true })), `after root step ${k}`);
  }
  // spread: none is the default: the root re-places it to the same clusters and rewrites no record.
  const q = one(f, 8);
  const text = execFileSync('git', ['-C', f.big.dir, 'show', `main:${q}`], { encoding: 'utf8' });
  const c = f.big.change({ [q]: text.replace('spec:\n', 'spec:\n  spread: "none"\n') }, 'placement-only change');
  assert.ok(await f.root.record(c));
  const sources = new Set(
    execFileSync('git', ['-C', f.big.dir, 'for-each-ref', '--format=%(objectname)', 'refs/canopy/placements/'], { encoding: 'utf8' }).trim().split('\n'),
  );
  assert.ok(sources.size > 1);
  const pr = f.big.commitOn('pr', f.big.head, { [one(f, 30)]: yamlOf(one(f, 30), spec(f.rng, 20)), [q]: text });
  await both(f, 'main', pr, 'partial');
});

bases('placement indexes kept between plans follow what the root rewrote', async () => {
  const f = await fleet(18);
  const semantic = (m: Map<string, PlacementIndex>) =>
    Object.fromEntries(
      [...m].map(([c, x]) => [
        c,
        {
          source: x.source,
          seq: x.seq,
          from: x.from,
          entries: Object.fromEntries(
            Object.entries(x.entries)
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([id, [n, want, a]]) => [id, [n, want, JSON.stringify(x.asks[a])]]),
          ),
        },
      ]),
    );
  const fresh = async () => {
    forget(f);
    return semantic(await placementIndexes(f.repo, (await readPlanInputs(f.repo, { cache: false })).records));
  };
  await fresh();
  for (let k = 0; k < 3; k++) {
    const [p, q] = [one(f, 11 * k + 1), one(f, 11 * k + 2)];
    const c = f.big.change(
      { [p]: yamlOf(p, { ...spec(f.rng, 30 + k), replicas: 3 }), [q]: null, [`services/added/s${k}.yaml`]: serviceYaml('added', `s${k}`, spec(f.rng)) },
      `root step ${k}`,
    );
    assert.ok(await f.root.record(c));
    const kept = semantic(await placementIndexes(f.repo, (await readPlanInputs(f.repo, { cache: false })).records));
    assert.equal(kept, await fresh(), `after root step ${k}`);
  }
});

bases('capacity and labels that moved since the placement', async () => {
  const f = await fleet(14);
  const pr = f.big.commitOn('pr', f.big.head, { [one(f, 2)]: retag(f, one(f, 2)) });
  // The core clusters turn edge: what asked for core there loses its replicas.
  await writeStatus(f.repo, status(0, { labels: { tier: 'edge' } }), NOW);
  await writeStatus(f.repo, status(1, { labels: { tier: 'edge' } }), NOW);
  const moved = await both(f, 'main', pr, 'partial');
  assert.ok(
    moved.services.some((s) => s.unschedulable && /label tier=core not matched/.test(s.unschedulable)),
    JSON.stringify(moved.services.map((s) => [s.id, s.change])),
  );
  // A cluster shrinks below what it was given: every service is placed.
  const placements = await (await readPlanInputs(f.repo, { cache: false })).placements();
  const busiest = [...placements.values()].sort((a, b) => Object.keys(b.services).length - Object.keys(a.services).length)[0].cluster;
  await writeStatus(f.repo, status(CLUSTERS.indexOf(busiest), { cpu: 2 }), NOW);
  const shrunk = await both(f, 'main', pr, 'all placed');
  assert.match(shrunk.method.why ?? '', /cannot hold every recorded replica/);
});

bases('a cluster that reported it could not place a service the change touches: said as a caveat', async () => {
  const f = await fleet(17);
  const p = one(f, 6);
  const st = status(2);
  st.services[idOf(p)] = { desired: 2, running: 1, failed: 0, refused: { count: 1, reason: 'no node has 512Mi left' } };
  await writeStatus(f.repo, st, NOW);
  const plan = await both(f, 'main', f.big.commitOn('pr', f.big.head, { [p]: retag(f, p) }), 'partial');
  assert.ok(
    plan.basis.caveats.some((c) => c.includes(`c02 could not place 1 replica(s) of ${idOf(p)} (no node has 512Mi left)`)),
    JSON.stringify(plan.basis.caveats),
  );
});

bases('a first deployment: no placement refs, no notes', async () => {
  const f = await fleet(15, { services: 60, record: false });
  const pr = f.big.commitOn('pr', f.big.head, { [one(f, 1)]: yamlOf(one(f, 1), spec(f.rng, 2)) });
  const plan = await both(f, 'main', pr, 'full');
  assert.ok(plan.basis.caveats.some((c) => /nothing is placed yet/.test(c)));
});

bases('flat layout (one directory of services)', async () => {
  const f = await fleet(16, { layout: 'flat' });
  const p = one(f, 100);
  await both(f, 'main', f.big.commitOn('pr', f.big.head, { [p]: yamlOf(p, { ...spec(f.rng, 4), replicas: 3 }) }), 'partial');
});

change.run();
bases.run();
