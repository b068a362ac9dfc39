// What users read about rollouts, from Git alone, with the real CLI on a real repository: the
// root's placements and notes written as the root writes them (RootRecorder, writeNotes), the
// clusters' status refs as clusters write them, then notes carrying `rollouts` in each state.
// `canopy status --json` says paused / rolled-back / progressing with the reason and a
// `rollout` object; `canopy wait` exits 3 for a failed rollout (its own note, or a later
// accepted commit's carrying it), 0 / 1 / 2 as before; `canopy history` tells the rollout wave by
// wave; `canopy plan` shows the waves a workload change would roll through. A note whose
// `rollouts` is malformed is ignored with a warning naming it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import type { Placement } from '../../schemas/messages.js';
import { MARK, renderNote, type CommitNote, type NoteRollout } from '../../reconciler/core/note.js';
import { writeNotes } from '../../reconciler/git/notes.js';
import { openRepo, type Identity, type Repo } from '../../reconciler/git/repo.js';
import { RootRecorder, writeStatus } from '../helpers/root-record.js';
import { aClusterStatus } from '../helpers/root-fakes.js';
import { commitFiles, git, serviceYaml, tempDir } from '../helpers/git.js';
import { canopy } from '../helpers/canopy.js';
import { readPlanInputs } from '../../reconciler/report/plan-inputs.js';
import { addWaves } from '../../reconciler/report/plan-waves.js';
import type { ServicePlan } from '../../reconciler/report/plan-types.js';

const ROOT: Identity = { name: 'canopy root', email: 'root@canopy.invalid' };
const dir = path.join(tempDir('canopy-rollout-reports-'), 'fleet');
const FLEET = 'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: demo}\nspec:\n  timings: {statusRefreshSeconds: 600, unreachableAfterSeconds: 600}\n';
const clusterYaml = (name: string, labels: Record<string, string>) =>
  `apiVersion: canopy/v1\nkind: Cluster\nmetadata: {name: ${name}, labels: ${JSON.stringify(labels)}}\n`;
const LABELS: Record<string, Record<string, string>> = { munich: { tier: 'canary' }, paris: { tier: 'edge' }, rome: {} };
const ROLLOUT = { waves: [{ names: ['munich'] }, { matchLabels: { tier: 'edge' } }], bakeSeconds: 30, progressDeadlineSeconds: 60, autoRollback: true };
const web = (image: string, replicas = 3) =>
  serviceYaml('shop', 'web', { runtime: 'container', image, replicas, spread: 'clusters', resources: { cpu: 0.1 }, rollout: ROLLOUT });
const db = (replicas: number) => serviceYaml('shop', 'db', { runtime: 'container', image: 'canopy/db:1', replicas, resources: { cpu: 0.1 } });

let repo: Repo;
const revs = { a: '', b: '', c: '', bad: '', added: '', scaled: '' };
const T = (s: number) => new Date(Date.parse('2026-12-06T10:00:00Z') + s * 1000).toISOString();

const setup = (async () => {
  git(path.dirname(dir), 'init', '-q', '-b', 'main', dir);
  revs.a = commitFiles(
    dir,
    {
      'fleet.yaml': FLEET,
      ...Object.fromEntries(Object.entries(LABELS).map(([c, l]) => [`clusters/${c}.yaml`, clusterYaml(c, l)])),
      'services/shop/web.yaml': web('canopy/web:1'),
      'services/shop/db.yaml': db(1),
    },
    'web v1, db',
  );
  repo = await openRepo(dir);
  const root = new RootRecorder(repo, 'demo');
  await root.report(Object.keys(LABELS).map((c) => aClusterStatus(c, { labels: LABELS[c] })));
  assert.ok(await root.record(revs.a));
  revs.b = commitFiles(dir, { 'services/shop/web.yaml': web('canopy/web:2') }, 'web v2');
  assert.ok(await root.record(revs.b));
  revs.c = commitFiles(dir, { 'services/shop/db.yaml': db(2) }, 'db: 2 replicas');
  assert.ok(await root.record(revs.c));
  await reportReady();
  // Branches the plan and wait look at: a new service, a replicas-only change, a rejected commit.
  git(dir, 'checkout', '-q', '-b', 'added');
  revs.added = commitFiles(
    dir,
    { 'services/shop/cart.yaml': serviceYaml('shop', 'cart', { runtime: 'container', image: 'canopy/cart:1', replicas: 1 }) },
    'cart',
  );
  git(dir, 'checkout', '-q', '-b', 'scaled', 'main');
  revs.scaled = commitFiles(dir, { 'services/shop/web.yaml': web('canopy/web:2', 6) }, 'web: 6');
  git(dir, 'checkout', '-q', '-b', 'dbimage', 'main');
  commitFiles(dir, { 'services/shop/db.yaml': db(2).replace('canopy/db:1', 'canopy/db:2') }, 'db: a new image, no rollout block');
  git(dir, 'checkout', '-q', '-b', 'bad', 'main');
  revs.bad = commitFiles(dir, { 'services/shop/web.yaml': 'spec: [' }, 'broken');
  await note(revs.bad, {
    outcome: 'rejected',
    commit: revs.bad,
    at: T(1),
    problems: [{ file: 'services/shop/web.yaml', line: 1, column: 7, message: 'bad YAML' }],
  });
  git(dir, 'checkout', '-q', 'main');
})();
setup.catch(() => undefined); // reported by the suites that await it

/** Every cluster reports what it was placed, applied, running and ready (now: online). */
async function reportReady(): Promise<void> {
  for (const c of Object.keys(LABELS)) {
    const p = JSON.parse(git(dir, 'show', `refs/canopy/placements/${c}:placement.json`)) as Placement;
    const services: Record<string, { desired: number; running: number; ready: number; failed: number }> = {};
    for (const f of git(dir, 'ls-tree', '-r', '--name-only', `refs/canopy/placements/${c}`, 'services').split('\n').filter(Boolean)) {
      const a = JSON.parse(git(dir, 'show', `refs/canopy/placements/${c}:${f}`)) as { replicas: number };
      const id = f.slice('services/'.length, -'.json'.length);
      services[id] = { desired: a.replicas, running: a.replicas, ready: a.replicas, failed: 0 };
    }
    await writeStatus(repo, aClusterStatus(c, { labels: LABELS[c], applied: p.version, at: new Date().toISOString(), services }), new Date());
  }
}

async function note(commit: string, n: CommitNote): Promise<void> {
  await writeNotes(repo, new Map([[commit, renderNote(n)]]), ROOT, `canopy: ${commit.slice(0, 12)}`);
}

/** A note whose JSON is written as given (renderNote cannot render a malformed rollout). */
async function rawNote(commit: string, json: Record<string, unknown>): Promise<void> {
  await writeNotes(repo, new Map([[commit, `canopy: accepted.\n\n${MARK}\n${JSON.stringify(json)}\n`]]), ROOT, 'raw note');
}

const WAVES = [['munich'], ['paris'], ['rome']];
function rollout(state: NoteRollout['state'], o: Partial<NoteRollout> = {}): NoteRollout {
  return {
    state,
    commit: revs.b,
    from: { commit: revs.a, specHash: 'a1b2c3d4e5f60718' },
    to: 'f0e1d2c3b4a59687',
    startedAt: T(10),
    waves: WAVES.map((clusters) => ({ clusters })),
    ...o,
  };
}
const FAILED_WAVE = `wave 1 (munich): 0/1 ready on the new spec after 60 s (progressDeadlineSeconds 60): shop/web#0: GET /health: 503`;
const rolledBack = () =>
  rollout('rolled-back', {
    endedAt: T(75),
    reason: FAILED_WAVE,
    waves: [{ clusters: ['munich'], startedAt: T(10) }, { clusters: ['paris'] }, { clusters: ['rome'] }],
  });
const paused = () => ({ ...rolledBack(), state: 'paused' as const });
const progressing = () =>
  rollout('progressing', {
    waves: [
      { clusters: ['munich'], startedAt: T(10), readyAt: T(20), bakedAt: T(50) },
      { clusters: ['paris'], startedAt: T(50), readyAt: T(55) },
      { clusters: ['rome'] },
    ],
  });
const done = () =>
  rollout('done', {
    endedAt: T(200),
    waves: [
      { clusters: ['munich'], startedAt: T(10), readyAt: T(20), bakedAt: T(50) },
      { clusters: ['paris'], startedAt: T(50), readyAt: T(55), bakedAt: T(85) },
      { clusters: ['rome'], startedAt: T(85), readyAt: T(90), bakedAt: T(120), skipped: [] },
    ],
  });

/** B's note (it started the rollout) and C's (the head: carries it while not done). */
async function notesWith(b: NoteRollout | undefined, c: NoteRollout | undefined = b, o: { convergedAt?: string } = {}): Promise<void> {
  const changed = (id: string) => ({ [id]: { desired: 3, placed: 3, clusters: { munich: 1, paris: 1, rome: 1 }, reason: 'spread over clusters' } });
  await note(revs.b, { outcome: 'accepted', commit: revs.b, at: T(5), changed: changed('shop/web'), ...(b ? { rollouts: { 'shop/web': b } } : {}), ...o });
  await note(revs.c, {
    outcome: 'accepted',
    commit: revs.c,
    at: T(6),
    changed: changed('shop/db'),
    ...(c && c.state !== 'done' ? { rollouts: { 'shop/web': c } } : {}),
    ...o,
  });
}

const run = (...args: string[]) => canopy([...args, '--repo', dir], { timeoutMs: 60_000 });
const statusJson = () => {
  const r = run('status', '--json');
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
};

// --- status ------------------------------------------------------------------------------------
const status = suite('canopy status: a service’s rollout from the notes');
status.before(() => setup);

status('no rollout in the notes: converged as today, no rollout object', async () => {
  await notesWith(undefined);
  const s = statusJson();
  assert.is(s.services['shop/web'].state, 'converged', JSON.stringify(s.services['shop/web']));
  assert.is(s.services['shop/web'].reason, '3/3 ready');
  assert.not.ok('rollout' in s.services['shop/web']);
  assert.is(s.warnings, undefined);
});

status('rolled back: state rolled-back, "rolled back at T: <reason>", the rollout object', async () => {
  await notesWith(rolledBack());
  const s = statusJson();
  const w = s.services['shop/web'];
  assert.is(w.state, 'rolled-back');
  assert.is(w.reason, `rolled back at ${T(75)}: ${FAILED_WAVE}`);
  assert.equal(w.rollout, {
    state: 'rolled-back',
    commit: revs.b,
    wave: 1,
    waves: 3,
    clusters: ['munich'],
    startedAt: T(10),
    endedAt: T(75),
    reason: FAILED_WAVE,
  });
  assert.is(w.ready, 3, 'the counts stay beside it');
  assert.is(s.services['shop/db'].state, 'converged');
  const text = run('status').stdout;
  assert.match(text, /^SERVICE +READY +STATE +ROLLOUT +CLUSTERS/m);
  assert.match(text, /^shop\/web +3\/3 +rolled-back +rolled back at wave 1\/3 +munich:1 paris:1 rome:1 +rolled back at /m);
  assert.match(text, /^shop\/db +2\/2 +converged +- /m);
});

status('paused: state paused, "paused at T: <reason>; push a new commit to go on"', async () => {
  await notesWith(paused());
  const w = statusJson().services['shop/web'];
  assert.is(w.state, 'paused');
  assert.is(w.reason, `paused at ${T(75)}: ${FAILED_WAVE}; push a new commit to go on`);
  assert.is(w.rollout.state, 'paused');
});

status('progressing: wave 2/3 (paris), ready, baking; the head carries it, the start commit’s note has got further', async () => {
  // The head's copy is a step behind the note of B, which the root updates as it goes.
  const behind = progressing();
  behind.waves[1] = { clusters: ['paris'], startedAt: T(50) };
  await notesWith(progressing(), behind);
  const w = statusJson().services['shop/web'];
  assert.is(w.state, 'progressing');
  assert.is(w.reason, `rollout wave 2/3 (paris): ready at ${T(55)}, baking 30 s`);
  assert.equal([w.rollout.state, w.rollout.wave, w.rollout.waves, w.rollout.clusters], ['progressing', 2, 3, ['paris']]);
});

status('progressing, the wave not ready yet: started at T, waiting (deadline); a baked wave: the next one waits to start', async () => {
  await notesWith(
    rollout('progressing', { waves: [{ clusters: ['munich'], startedAt: T(10), skipped: ['x'] }, { clusters: ['paris'] }, { clusters: ['rome'] }] }),
  );
  let w = statusJson().services['shop/web'];
  assert.is(
    w.reason,
    `rollout wave 1/3 (munich): started at ${T(10)}, waiting for its replicas on the new spec to be ready (progressDeadlineSeconds 60); skipped (unreachable): x`,
  );
  await notesWith(
    rollout('progressing', {
      waves: [{ clusters: ['munich'], startedAt: T(10), readyAt: T(20), bakedAt: T(50) }, { clusters: ['paris'] }, { clusters: ['rome'] }],
    }),
  );
  w = statusJson().services['shop/web'];
  assert.is(w.reason, 'rollout wave 2/3 (paris): waiting to start (wave 1 baked)');
});

status('done: converged again (the head no longer carries it; the start commit’s note says done)', async () => {
  await notesWith(done());
  const w = statusJson().services['shop/web'];
  assert.is(w.state, 'converged');
  assert.not.ok('rollout' in w, 'the head does not carry a finished rollout');
});

status('a malformed rollouts field: ignored with a warning naming the note, never a crash', async () => {
  const base = { outcome: 'accepted', commit: revs.c, at: T(6), changed: {} };
  await notesWith(undefined);
  await rawNote(revs.c, { ...base, rollouts: { 'shop/web': { ...rolledBack(), state: 'exploded' }, 'shop/db': 'nope' } });
  let s = statusJson();
  assert.is(s.services['shop/web'].state, 'converged');
  assert.ok(
    s.warnings.includes(
      `refs/notes/canopy: the note on ${revs.c.slice(0, 12)}: rollouts.shop/web: state "exploded" is not progressing, done, paused or rolled-back: ignored`,
    ),
    s.warnings.join('\n'),
  );
  assert.ok(s.warnings.some((w: string) => w.includes('rollouts.shop/db: not an object')));
  await rawNote(revs.c, { ...base, rollouts: [1, 2] });
  s = statusJson();
  assert.ok(s.warnings.includes(`refs/notes/canopy: the note on ${revs.c.slice(0, 12)}: rollouts is not an object: ignored`), s.warnings.join('\n'));
  await rawNote(revs.c, { ...base, rollouts: { 'shop/web': { ...progressing(), waves: [{ clusters: 'munich' }] } } });
  s = statusJson();
  assert.ok(s.warnings.some((w: string) => w.endsWith('rollouts.shop/web: waves[0].clusters is not a list of cluster names: ignored')));
  const text = run('status');
  assert.is(text.code, 0);
  assert.match(text.stdout, /Records ignored \(they do not validate\):\n {2}refs\/notes\/canopy: the note on [0-9a-f]{12}: rollouts.shop\/web: waves\[0\]/);
});

// --- wait --------------------------------------------------------------------------------------
const wait = suite('canopy wait: exit 3 for a failed rollout; 0, 1, 2 as before');
wait.before(() => setup);

wait('rolled back in the commit’s own note: exit 3, which service, why, what to do', async () => {
  await notesWith(rolledBack());
  const r = run('wait', '--rev', revs.b, '--timeout', '10');
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`^${revs.b.slice(0, 12)}: rollout failed for 1 service\\(s\\); the fleet will not converge on it:$`, 'm'));
  assert.match(r.stderr, new RegExp(`^ {2}shop/web: rolled back at ${T(75)}: wave 1 \\(munich\\): 0/1 ready`, 'm'));
  assert.match(r.stderr, /its replicas went back to the last ready spec/);
  assert.match(r.stderr, /push a new commit that fixes shop\/web \(or reverts the change\)/);
});

wait('paused, told only by a later accepted commit carrying the rollout: exit 3', async () => {
  // B's own note still says progressing; C (the head) carries B's rollout, paused.
  await notesWith(progressing(), paused());
  const r = run('wait', '--rev', revs.b, '--timeout', '10');
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, /shop\/web: paused at .*; push a new commit to go on/);
  assert.match(r.stderr, /its clusters keep what they run/);
});

wait('waiting for the head, which carries a failed rollout started before it: exit 3, naming the commit that started it', async () => {
  await notesWith(rolledBack());
  const r = run('wait', '--rev', 'main', '--timeout', '10');
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`\\(rollout started by ${revs.b.slice(0, 12)}\\)`));
});

wait('a rollout in progress keeps it waiting: a timeout (1) that names the wave', async () => {
  await notesWith(progressing());
  const r = run('wait', '--rev', revs.b, '--timeout', '1');
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /timed out after 1 s/);
  assert.match(r.stderr, /shop\/web: progressing, 3\/3 ready, 3 running: rollout wave 2\/3 \(paris\): ready at/);
});

wait('converged (rollout done): 0; rejected: 2', async () => {
  await notesWith(done(), done(), { convergedAt: T(201) });
  const ok = run('wait', '--rev', revs.b, '--timeout', '10');
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /converged at/);
  const bad = run('wait', '--rev', revs.bad, '--timeout', '10');
  assert.is(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /was rejected/);
});

wait('a malformed rollouts field: warned of, ignored; the wait goes on (here: times out)', async () => {
  await notesWith(undefined);
  await rawNote(revs.b, { outcome: 'accepted', commit: revs.b, at: T(5), rollouts: { 'shop/web': { state: 'rolled-back' } } });
  const r = run('wait', '--rev', revs.b, '--timeout', '1');
  assert.is(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`warning: refs/notes/canopy: the note on ${revs.b.slice(0, 12)}: rollouts.shop/web: commit missing is not a commit id: ignored`),
  );
});

wait('--help tells exit 3', () => {
  const r = canopy(['wait', '--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout + r.stderr, /3 if a rollout\s+failed for it \(paused or rolled back/);
});

// --- history -----------------------------------------------------------------------------------
const history = suite('canopy history: the rollout wave by wave');
history.before(() => setup);

history('a rollout that went through: each wave started, ready, baked, then done', async () => {
  await notesWith(done(), progressing());
  const r = run('history', 'shop/web');
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.includes('rollout'));
  const b = revs.b.slice(0, 12);
  assert.equal(
    lines.map((l) => l.slice(21)),
    [
      `rollout: wave 1/3 started: munich (commit ${b})`,
      'rollout: wave 1/3 ready: munich',
      'rollout: wave 1/3 baked: munich',
      `rollout: wave 2/3 started: paris (commit ${b})`,
      'rollout: wave 2/3 ready: paris',
      'rollout: wave 2/3 baked: paris',
      `rollout: wave 3/3 started: rome (commit ${b})`,
      'rollout: wave 3/3 ready: rome',
      'rollout: wave 3/3 baked: rome',
      `rollout: done (commit ${b})`,
    ],
  );
  assert.match(lines[0], /^2026-12-06 10:00:10 {2}rollout/);
});

history('a rollout rolled back: the wave started (a cluster skipped), then ROLLED BACK with the reason; --json has the events', async () => {
  const rb = rolledBack();
  rb.waves[0].skipped = ['rome'];
  await notesWith(rb);
  const r = run('history', 'shop/web');
  assert.match(r.stdout, /rollout: wave 1\/3 started: munich; skipped \(unreachable\): rome/);
  assert.match(r.stdout, /2026-12-06 10:01:15 {2}rollout: ROLLED BACK: wave 1 \(munich\): 0\/1 ready/);
  const fleet = run('history');
  assert.match(fleet.stdout, /rollout of shop\/web: ROLLED BACK/);
  const j = JSON.parse(run('history', 'shop/web', '--json').stdout);
  const ev = j.events.filter((e: { kind: string }) => e.kind === 'rollout');
  assert.equal(
    ev.map((e: { step: string; wave?: number }) => [e.step, e.wave]),
    [
      ['started', 1],
      ['rolled-back', undefined],
    ],
  );
  assert.is(ev[1].reason, FAILED_WAVE);
  const paused = rolledBack();
  paused.state = 'paused';
  await notesWith(paused);
  assert.match(run('history', 'shop/web').stdout, /rollout: PAUSED: wave 1 \(munich\).*; push a new commit to go on/);
});

history('a malformed rollouts field: the other events stay, a warning names the note', async () => {
  await notesWith(undefined);
  await rawNote(revs.c, { outcome: 'accepted', commit: revs.c, at: T(6), changed: {}, rollouts: { 'shop/web': { ...done(), waves: 'all' } } });
  const r = run('history', 'shop/web');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /accepted [0-9a-f]{12} "web v2"/);
  assert.match(
    r.stdout,
    new RegExp(
      `Notes ignored in part \\(they do not have their shape\\):\\n {2}refs/notes/canopy: the note on ${revs.c.slice(0, 12)}: rollouts.shop/web: waves is not a list: ignored`,
    ),
  );
  assert.not.match(r.stdout, /rollout: wave/);
});

// --- plan --------------------------------------------------------------------------------------
const plan = suite('canopy plan: the waves a workload change rolls through');
plan.before(() => setup);

plan('a new image: the waves in order (canary, edge, the rest) with bake, deadline, autoRollback; text, markdown, json', async () => {
  const j = JSON.parse(run('plan', '--base', revs.a, '--head', revs.b, '--format', 'json').stdout);
  const w = j.services.find((s: { id: string }) => s.id === 'shop/web');
  assert.equal(w.waves, WAVES);
  assert.equal(w.rollout, {
    selectors: ROLLOUT.waves,
    selectedBy: ['rollout.waves[0]: names munich', 'rollout.waves[1]: labels tier=edge', 'clusters no wave names'],
    maxUnavailable: 1,
    maxSurge: 1,
    bakeSeconds: 30,
    progressDeadlineSeconds: 60,
    autoRollback: true,
  });
  const text = run('plan', '--base', revs.a, '--head', revs.b).stdout;
  assert.match(
    text,
    /Rollouts \(the workload changes: wave by wave, each ready and baked before the next starts\):\n {2}shop\/web: 3 waves; bakeSeconds 30, progressDeadlineSeconds 60, autoRollback on; in each cluster maxUnavailable 1, maxSurge 1\n {4}wave 1: munich {2}\(rollout.waves\[0\]: names munich\)\n {4}wave 2: paris {2}\(rollout.waves\[1\]: labels tier=edge\)\n {4}wave 3: rome {2}\(clusters no wave names\)\n/,
  );
  const mdText = run('plan', '--base', revs.a, '--head', revs.b, '--format', 'markdown').stdout;
  assert.match(mdText, /\*\*Rollouts\*\*.*\n\n- `shop\/web`: 3 waves; .*\n {2}1\. munich \(rollout.waves\[0\]: names munich\)\n {2}2\. paris/);
});

plan('a new service, a replicas-only change, a change of another service, a new image without a rollout block: no waves', async () => {
  for (const [base, head] of [
    ['main', 'added'],
    ['main', 'scaled'],
    ['main', 'dbimage'],
    [revs.b, revs.c],
  ]) {
    const j = JSON.parse(run('plan', '--base', base, '--head', head, '--format', 'json').stdout);
    assert.ok(j.services.length > 0, `${head} changes something`);
    for (const s of j.services) {
      assert.not.ok('waves' in s, `${head}: ${s.id} has no waves`);
      assert.not.ok('rollout' in s);
    }
    assert.not.match(run('plan', '--base', base, '--head', head).stdout, /Rollouts/);
  }
});

plan('a cluster without a status: its labels from clusters/<name>.yaml at head', async () => {
  const inputs = await readPlanInputs(repo, { cache: false });
  inputs.statuses = inputs.statuses.filter((x) => x.name !== 'paris');
  const s: ServicePlan = {
    id: 'shop/web',
    change: 'changed',
    fields: ['image'],
    replicas: { before: 3, after: 3 },
    before: {},
    after: { munich: 1, paris: 1, rome: 1 },
    delta: {},
    reason: '',
    rollout: { selectors: ROLLOUT.waves, maxUnavailable: 1, maxSurge: 1, bakeSeconds: 0, progressDeadlineSeconds: 600, autoRollback: false },
  };
  await addWaves(repo, revs.b, [s], inputs);
  assert.equal(s.waves, WAVES, 'paris is tier=edge in clusters/paris.yaml');
  git(dir, 'checkout', '-q', '-b', 'relabel', 'main');
  const head = commitFiles(dir, { 'clusters/paris.yaml': clusterYaml('paris', {}) }, 'paris: no tier');
  git(dir, 'checkout', '-q', 'main');
  await addWaves(repo, head, [s], inputs);
  assert.equal(s.waves, [['munich'], ['paris', 'rome']]);
});

status.run();
wait.run();
history.run();
plan.run();
