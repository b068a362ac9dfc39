// Workload admission on the node (agents/admission.ts, agents/steps/admit.ts): image and command
// patterns, the decisions and their reasons, what the agent logs at start, the executable a
// command is judged by, and the agent's plan and pass never starting a refused replica.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  admissionLines,
  admitCommand,
  admitImage,
  compileAdmission,
  imageSpellings,
  type AdmissionPolicy,
  type AdmissionRules,
} from '../../agents/admission.js';
import { findExecutable } from '../../agents/executable.js';
import { planAgent, type AgentAction } from '../../agents/plan.js';
import { syncPass } from '../../agents/pass.js';
import { newAgentState } from '../../agents/state.js';
import { agentMetrics } from '../../agents/metrics.js';
import { createTelemetry } from '../../reconciler/core/telemetry.js';
import { parse } from '../../cli/args.js';
import agentCommand from '../../cli/commands/agent.js';
import { UsageError } from '../../reconciler/core/errors.js';
import { aReplica, aService, observed, SINCE } from '../helpers/builders.js';
import { anAssignment, fakeDriver, fakePorts, type FakeDriver } from '../helpers/agent-fakes.js';
import { tempDir } from '../helpers/cleanup.js';
import type { Workload } from '../../agents/runtimes/driver.js';

const policy = (rules: AdmissionRules) => compileAdmission(rules);
const images = (...patterns: string[]) => policy({ images: patterns });
const commands = (...patterns: string[]) => policy({ commands: patterns });
const admitted = (p: AdmissionPolicy, image: string) => admitImage(p, image).ok;

// --- images ------------------------------------------------------------------------------------

const Images = suite('image patterns');

Images('an image is spelled as written, short and in full; a reference without tag or digest is :latest', () => {
  assert.equal(imageSpellings('nginx'), {
    repositories: ['nginx', 'docker.io/library/nginx'],
    references: ['nginx', 'nginx:latest', 'docker.io/library/nginx:latest'],
  });
  assert.equal(imageSpellings('docker.io/library/nginx:1.25').repositories, ['docker.io/library/nginx', 'nginx']);
  assert.equal(imageSpellings('library/nginx@sha256:abc').references, ['library/nginx@sha256:abc', 'docker.io/library/nginx@sha256:abc', 'nginx@sha256:abc']);
  assert.equal(imageSpellings('localhost:5000/app:2').repositories, ['localhost:5000/app']);
  assert.equal(imageSpellings('registry.example.com/team/app').references, ['registry.example.com/team/app', 'registry.example.com/team/app:latest']);
});

const cases: Array<[string, string[], string[]]> = [
  // pattern, admitted, refused
  [
    'canopy-demo:*',
    ['canopy-demo:1', 'canopy-demo', 'docker.io/library/canopy-demo:2', 'library/canopy-demo:x'],
    ['evil:latest', 'canopy-demo-evil:1', 'canopy-demo@sha256:abc', 'other/canopy-demo:1', 'registry.example.com/canopy-demo:1'],
  ],
  [
    'registry.example.com/*',
    ['registry.example.com/app', 'registry.example.com/team/app:1.2', 'registry.example.com/app@sha256:abc'],
    ['registry.example.com.evil.org/app:1', 'registry.example.com:5000/app', 'evil/registry.example.com/app', 'app:1'],
  ],
  ['nginx:1.*', ['nginx:1.25', 'docker.io/library/nginx:1.2', 'library/nginx:1.3-alpine'], ['nginx:2', 'nginx', 'nginx:10.1', 'nginx-evil:1.0']],
  // A pattern without a tag: the repository, any tag or digest.
  ['nginx', ['nginx', 'nginx:1.25', 'nginx@sha256:abc', 'docker.io/library/nginx:stable'], ['nginx-evil', 'evilnginx:1', 'team/nginx:1', 'quay.io/nginx']],
  ['docker.io/library/*', ['nginx:1', 'busybox', 'library/redis:7'], ['team/app:1', 'quay.io/library/x:1']],
  ['canopy/busybox:?', ['canopy/busybox:1', 'docker.io/canopy/busybox:2'], ['canopy/busybox:12', 'canopy/busybox']],
  // Dots and other characters are literal.
  ['a.b/app', ['a.b/app:1'], ['aXb/app:1']],
  ['*', ['anything:at-all', 'quay.io/x/y@sha256:1'], []],
];
for (const [pattern, yes, no] of cases) {
  Images(`${pattern}: admits ${yes.join(', ')}${no.length ? `; refuses ${no.join(', ')}` : ''}`, () => {
    const p = images(pattern);
    for (const i of yes) assert.ok(admitted(p, i), `${pattern} should admit ${i}`);
    for (const i of no) assert.not.ok(admitted(p, i), `${pattern} should refuse ${i}`);
  });
}

Images('several patterns: any one admits; a refusal says the image and the patterns', () => {
  const p = images('canopy-demo:*', 'registry.example.com/*');
  assert.ok(admitted(p, 'registry.example.com/x:1'));
  assert.equal(admitImage(p, 'evil:latest'), {
    ok: false,
    reason: 'refused by node policy: image evil:latest is not in the allowed images (canopy-demo:*, registry.example.com/*)',
  });
});

Images('image rules leave commands alone, and no rules admit anything', () => {
  assert.ok(admitCommand(images('nginx'), ['sh', '-c', 'id'], '/bin/sh').ok);
  assert.ok(admitImage(policy({}), 'evil:latest').ok);
  assert.ok(admitImage(policy({ images: [], commands: [] }), 'evil:latest').ok);
});

Images('a refusal stays short, however many patterns and however long the image', () => {
  const many = Array.from({ length: 200 }, (_, i) => `registry-${i}.example.com/*`);
  const v = admitImage(images(...many), `evil/${'x'.repeat(500)}:1`);
  assert.ok(!v.ok && v.reason.length < 600, v.ok ? '' : String(v.reason.length));
});

Images('bad patterns are refused, naming the pattern', () => {
  assert.throws(() => images(''), /an empty image pattern/);
  assert.throws(() => images('nginx latest'), /image pattern "nginx latest": expected an image reference/);
  assert.throws(() => images('nginx', 'ev!l'), /"ev!l"/);
});

// --- commands ----------------------------------------------------------------------------------

const Commands = suite('command patterns');

Commands('a pattern without a space judges the executable alone, with any arguments', () => {
  const p = commands('/usr/bin/sleep', '/opt/app/*');
  assert.ok(admitCommand(p, ['sleep', '600'], '/usr/bin/sleep').ok);
  assert.ok(admitCommand(p, ['/opt/app/bin/worker', '--fast'], '/opt/app/bin/worker').ok);
  assert.not.ok(admitCommand(p, ['sh', '-c', 'sleep 1'], '/usr/bin/sh').ok);
  // The path it resolves to is judged, not the name as written.
  assert.not.ok(admitCommand(p, ['sleep', '600'], '/tmp/evil/sleep').ok);
  // Not found on the PATH: argv[0] as written, which an absolute pattern does not match.
  assert.not.ok(admitCommand(p, ['sleep', '600'], undefined).ok);
});

Commands('a pattern with a space judges the whole command line; the refusal quotes it', () => {
  const p = commands('/usr/bin/python3 /opt/app/main.py *', '/usr/bin/sleep 600');
  assert.ok(admitCommand(p, ['python3', '/opt/app/main.py', '--port', '80'], '/usr/bin/python3').ok);
  assert.ok(admitCommand(p, ['sleep', '600'], '/usr/bin/sleep').ok);
  assert.not.ok(admitCommand(p, ['sleep', '601'], '/usr/bin/sleep').ok);
  assert.not.ok(admitCommand(p, ['python3', '-c', 'import os'], '/usr/bin/python3').ok);
  assert.equal(admitCommand(p, ['sh', '-c', 'id > /tmp/x'], '/usr/bin/sh'), {
    ok: false,
    reason:
      'refused by node policy: command "/usr/bin/sh -c id > /tmp/x" is not in the allowed commands (/usr/bin/python3 /opt/app/main.py *, /usr/bin/sleep 600)',
  });
});

Commands('command rules leave images alone', () => {
  assert.ok(admitImage(commands('/usr/bin/sleep'), 'evil:latest').ok);
});

Commands('bad patterns are refused: empty, relative, or spaces at the ends', () => {
  assert.throws(() => commands(''), /an empty command pattern/);
  assert.throws(() => commands('sleep'), /command pattern "sleep": expected an absolute path/);
  assert.throws(() => commands('/usr/bin/sleep '), /has spaces at its ends/);
});

// --- the executable a command is judged by -----------------------------------------------------

const Exe = suite('findExecutable');

Exe('looks argv[0] up on the workload’s PATH, else the agent’s; a name with a slash from the agent’s directory', () => {
  const dir = tempDir('canopy-exe-');
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'tool'), '#!/bin/sh\n');
  chmodSync(path.join(bin, 'tool'), 0o755);
  writeFileSync(path.join(bin, 'data'), 'not executable');
  assert.is(findExecutable('tool', { PATH: `/nonexistent:${bin}` }), path.join(bin, 'tool'));
  assert.is(findExecutable('data', { PATH: bin }), undefined, 'not executable');
  assert.is(findExecutable('tool', { PATH: '/nonexistent' }), undefined);
  assert.ok(findExecutable('sh')?.startsWith('/'), 'sh on the agent’s PATH');
  assert.is(findExecutable('./bin/../bin/tool', undefined, dir), path.join(bin, 'tool'), 'normalised');
  assert.is(findExecutable('/opt/app/../../bin/sh'), '/bin/sh', 'no way out of a pattern’s directory through ..');
});

// --- what the agent says at start ----------------------------------------------------------------

const Lines = suite('admissionLines');

Lines('no rules: the runtime, and a warning for each kind that admits anything', () => {
  assert.equal(admissionLines(policy({}), { container: 'docker' }), [
    ['info', 'workloads: containers on (docker), processes off'],
    ['warn', 'admission: any container workload is admitted (no --allow-image): whoever can send this node an assignment chooses what it runs'],
  ]);
  const lines = admissionLines(policy({}), { process: 'process' });
  assert.equal(lines[0], ['info', 'workloads: containers off, processes on (process)']);
  assert.match(lines[1][1], /any process workload is admitted \(no --allow-command\)/);
});

Lines('rules: what they admit; a rule for a kind the node does not run is said to do nothing', () => {
  assert.equal(admissionLines(policy({ images: ['canopy-demo:*'], commands: ['/usr/bin/sleep'] }), { container: 'docker' }), [
    ['info', 'workloads: containers on (docker), processes off'],
    ['info', 'admission: container workloads only if they match canopy-demo:* (--allow-image)'],
    ['warn', '--allow-command has no effect: this node runs no process workloads'],
  ]);
});

// --- the plan ----------------------------------------------------------------------------------

const Plan = suite('planAgent with refusals');
const evil0 = aReplica(aService('shop/evil').image('evil:latest'), 0);
const web0 = aReplica(aService('shop/web').image('canopy-demo:1'), 0);
const T0 = Date.parse(SINCE);
const REASON = 'refused by node policy: image evil:latest is not in the allowed images (canopy-demo:*)';
const brief = (as: AgentAction[]) => as.map((a) => (a.kind === 'start' ? ['start', a.replica.id, a.why] : ['stop', a.id, a.why]));
const refusedEvil = (id: string) => (id === evil0.id ? REASON : undefined);

Plan('a refused replica is never started: not when missing, failed or of another spec', () => {
  assert.equal(brief(planAgent([evil0, web0], [], new Map(), T0, refusedEvil).actions), [['start', web0.id, 'missing']]);
  const failed = planAgent([evil0], [observed(evil0, 'failed', { message: 'exited' })], new Map(), T0, refusedEvil);
  assert.equal(brief(failed.actions), [['stop', evil0.id, REASON]]);
  assert.is(failed.nextCheckMs, undefined, 'no backoff to wait out: it is not restarted');
});

Plan('one the runtime shows (started before the rules) is stopped, with the reason', () => {
  const { actions } = planAgent([evil0, web0], [observed(evil0), observed(web0)], new Map(), T0, refusedEvil);
  assert.equal(brief(actions), [['stop', evil0.id, REASON]]);
});

// --- a whole pass ------------------------------------------------------------------------------

const Pass = suite('syncPass with admission rules');

function withRules(rules: AdmissionRules, d: FakeDriver = fakeDriver()) {
  const p = fakePorts(d);
  p.admission = compileAdmission(rules);
  p.findExecutable = (cmd) => (cmd.includes('/') ? cmd : `/usr/bin/${cmd}`);
  return p;
}

Pass('a refused replica is reported failed with the reason, never started, and not started again on later passes', async () => {
  const d = fakeDriver();
  const p = withRules({ images: ['canopy-demo:*'] }, d);
  const s = newAgentState(anAssignment([evil0, web0]), 2000);
  assert.is(await syncPass(s, p), undefined, 'nothing to wait for');
  assert.equal(d.calls, [`start ${web0.id}`]);
  const st = p.published.at(-1)!;
  assert.equal(
    st.replicas.map((r) => [r.id, r.state, r.message]),
    [
      [evil0.id, 'failed', REASON],
      [web0.id, 'running', undefined],
    ],
  );
  assert.is(st.replicas[0].since, new Date(T0).toISOString());
  assert.ok(p.log.lines.includes(`warn: ${evil0.id}: ${REASON}`), p.log.lines.join('\n'));
  for (let i = 0; i < 5; i++) {
    p.clock.ms += 60_000;
    assert.is(await syncPass(s, p), undefined);
  }
  assert.equal(d.calls, [`start ${web0.id}`], 'never started, never restarted');
  assert.is(p.published.length, 1, 'the refusal keeps its time: the status did not change');
  assert.is(s.restarts.size, 0);
});

Pass('a refused replica the runtime shows is stopped, and reported as refused', async () => {
  const d = fakeDriver();
  d.replicas.set(evil0.id, observed(evil0));
  const p = withRules({ images: ['canopy-demo:*'] }, d);
  const s = newAgentState(anAssignment([evil0]), 2000);
  await syncPass(s, p);
  assert.equal(d.calls, [`stop ${evil0.id}`]);
  assert.equal(
    p.published.at(-1)!.replicas.map((r) => [r.id, r.state, r.message]),
    [[evil0.id, 'failed', REASON]],
  );
});

Pass('a new spec is judged again: allowed now, it starts', async () => {
  const d = fakeDriver();
  const p = withRules({ images: ['canopy-demo:*'] }, d);
  const s = newAgentState(anAssignment([evil0]), 2000);
  await syncPass(s, p);
  const fixed = aReplica(aService('shop/evil').image('canopy-demo:2'), 0);
  s.inbox.push({ topic: 't', assignment: anAssignment([fixed], { seq: 2 }) });
  await syncPass(s, p);
  assert.equal(d.calls, [`start ${fixed.id}`]);
  assert.equal(
    p.published.at(-1)!.replicas.map((r) => [r.id, r.state]),
    [[fixed.id, 'running']],
  );
  assert.is(s.admission.get(fixed.id)?.refused, undefined);
});

Pass('an admitted process is started with the executable it was judged by; a refused one not at all', async () => {
  const d = fakeDriver();
  const started: Workload[] = [];
  const start = d.start;
  d.start = (w) => {
    started.push(w);
    return start(w);
  };
  const p = withRules({ commands: ['/usr/bin/sleep'] }, d);
  const sleeper = aReplica(aService('shop/sleeper').command('sleep', '600'), 0);
  const pwn = aReplica(aService('shop/pwn').command('sh', '-c', 'id > /tmp/pwned'), 0);
  const s = newAgentState(anAssignment([sleeper, pwn]), 2000);
  await syncPass(s, p);
  assert.equal(
    started.map((w) => [w.id, w.spec.command]),
    [[sleeper.id, ['/usr/bin/sleep', '600']]],
  );
  assert.is(started[0].specHash, sleeper.specHash, 'the replica keeps its spec hash');
  const pwnState = p.published.at(-1)!.replicas.find((r) => r.id === pwn.id)!;
  assert.equal(
    [pwnState.state, pwnState.message],
    ['failed', 'refused by node policy: command "/usr/bin/sh -c id > /tmp/pwned" is not in the allowed commands (/usr/bin/sleep)'],
  );
});

Pass('without rules nothing is judged: every replica starts as before', async () => {
  const d = fakeDriver();
  const p = fakePorts(d);
  const s = newAgentState(anAssignment([evil0, web0]), 2000);
  await syncPass(s, p);
  assert.equal(d.calls.sort(), [`start ${evil0.id}`, `start ${web0.id}`]);
  assert.is(s.admission.size, 0);
});

Pass('the refused replicas are counted in the metrics', async () => {
  const p = withRules({ images: ['canopy-demo:*'] });
  const s = newAgentState(anAssignment([evil0, web0]), 2000);
  const t = createTelemetry();
  agentMetrics(t, s);
  await syncPass(s, p);
  const family = t.collect().find((f) => f.name === 'canopy_agent_replicas_refused')!;
  assert.is(family.samples[0].value, 1);
});

// --- the command line --------------------------------------------------------------------------

const Cli = suite('canopy agent --allow-image, --allow-command, --runtime');
const base = ['--cluster', 'c', '--name', 'n', '--broker', 'mqtt://127.0.0.1:1883', '--state-dir', '/tmp/x'];

Cli('repeatable and comma-separated; --runtime docker,process names both kinds', () => {
  const { values } = parse(agentCommand, [
    ...base,
    '--runtime',
    'process,docker',
    '--allow-image',
    'canopy-demo:*,registry.example.com/*',
    '--allow-image',
    'nginx',
    '--allow-command',
    '/usr/bin/sleep',
  ]);
  assert.equal(values['allow-image'], ['canopy-demo:*', 'registry.example.com/*', 'nginx']);
  assert.equal(values['allow-command'], ['/usr/bin/sleep']);
  assert.is(values.runtime, 'docker,process');
  assert.is(parse(agentCommand, [...base, '--runtime', 'docker']).values['allow-image'], undefined);
});

Cli('a bad pattern or runtime is a usage error naming it', () => {
  const problem = (args: string[]): string => {
    try {
      parse(agentCommand, [...base, ...args]);
    } catch (e) {
      assert.instance(e, UsageError);
      return (e as Error).message;
    }
    throw new Error(`no usage error for ${args.join(' ')}`);
  };
  assert.match(problem(['--runtime', 'docker', '--allow-command', 'sleep']), /--allow-command sleep: command pattern "sleep": expected an absolute path/);
  assert.match(problem(['--runtime', 'docker', '--allow-image', 'a,,b']), /--allow-image a,,b: expected a comma-separated list without empty items/);
  assert.match(problem(['--runtime', 'docker', '--allow-image', 'bad pattern']), /--allow-image bad pattern: image pattern "bad pattern"/);
  assert.match(problem(['--runtime', 'dockr']), /--runtime dockr: expected docker, process or sim \(docker,process for both\)/);
});

Images.run();
Commands.run();
Exe.run();
Lines.run();
Plan.run();
Pass.run();
Cli.run();
