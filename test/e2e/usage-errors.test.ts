// Usage errors stop before anything starts: every command checks all its arguments first and
// exits 64 (EX_USAGE) with a message naming the option and the usage line; no broker, no child
// process, no repository created or read. Nothing else exits 64.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { groupMembers, fleetProcesses } from '../helpers/process-group.js';
import { CLI, canopy } from '../helpers/canopy.js';
import { commitFiles, tempDir } from '../helpers/git.js';
import { containers, removeFleet } from '../helpers/docker.js';

const test = suite('usage errors exit 64 before anything starts');
const work = tempDir('canopy-usage-');
const repo = path.join(work, 'fleet');
const fleet = `e2e-usage-${process.pid}`;
const groups: number[] = [];

test.before(() => {
  const init = canopy(['init', repo]);
  assert.is(init.code, 0, init.stderr);
  const fy = readFileSync(path.join(repo, 'fleet.yaml'), 'utf8').replace(/name: demo/, `name: ${fleet}`);
  commitFiles(repo, { 'fleet.yaml': fy }, 'name the fleet');
});

test.after(() => {
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      /* none left */
    }
  }
  removeFleet(fleet);
  rmSync(work, { recursive: true, force: true });
});

/** canopy in a process group of its own; after it exits, what is left of the group. */
function inGroup(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number; left: number[] }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  groups.push(child.pid!);
  let stdout = '',
    stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => {
    // A command that does not end is killed, and fails the test by its exit code.
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr, ms: Date.now() - t0, left: groupMembers(child.pid!) });
    });
  });
}

const USAGE_LINE = {
  up: /\n\nUsage: canopy up --repo DIR .*\n\(canopy up --help describes every option\)\n$/,
};

for (const [flag, value, message] of [
  ['--clusters', 'x', /^canopy up: --clusters x: expected a whole number >= 1$/m],
  ['--nodes', '0', /^canopy up: --nodes 0: expected a whole number >= 1$/m],
  ['--runtime', 'dockr', /^canopy up: --runtime dockr: expected docker, process or sim$/m],
] as const) {
  test(`up ${flag} ${value}: 64 at once, no repository created, no broker, nothing left running`, async () => {
    const fresh = path.join(work, `new-${flag.slice(2)}`);
    const r = await inGroup(['up', '--repo', fresh, flag, value]);
    console.log(`  up ${flag} ${value}: exit ${r.code} after ${r.ms} ms`);
    assert.is(r.code, 64, r.stderr);
    assert.match(r.stderr, message);
    assert.match(r.stderr, USAGE_LINE.up);
    assert.is(r.stdout, '');
    assert.not.match(r.stderr + r.stdout, /Broker|Created fleet repository/);
    assert.equal(r.left, []);
    assert.is(existsSync(fresh), false);
    // With an existing repository: nothing of it is started either.
    const again = await inGroup(['up', '--repo', repo, flag, value]);
    assert.is(again.code, 64, again.stderr);
    assert.equal(again.left, []);
    assert.is(existsSync(path.join(repo, '.git/canopy-up')), false);
    assert.equal(fleetProcesses(fleet), []);
    assert.equal(containers(fleet), []);
  });
}

test('up: every bad option is named at once; unknown and value-less options too', async () => {
  const r = await inGroup(['up', '--repo', repo, '--clusters', '1.5', '--nodes=-1', '--runtime', 'dockr', '--broker', 'http://x:1']);
  assert.is(r.code, 64);
  assert.match(r.stderr, /--clusters 1\.5: expected a whole number >= 1/);
  assert.match(r.stderr, /--nodes -1: expected a whole number >= 1/);
  assert.match(r.stderr, /--runtime dockr/);
  assert.match(r.stderr, /--broker http:\/\/x:1: expected mqtt:\/\/HOST:PORT/);
  assert.equal(r.left, []);
  const unknown = await inGroup(['up', '--repo', repo, '--cluster', '2']);
  assert.is(unknown.code, 64);
  assert.match(unknown.stderr, /canopy up: Unknown option '--cluster'/);
  const noValue = await inGroup(['up', '--repo', repo, '--nodes']);
  assert.is(noValue.code, 64);
  assert.match(noValue.stderr, /--nodes/);
  assert.is(existsSync(path.join(repo, '.git/canopy-up')), false);
});

test('wait: an unknown revision, a --repo that is no repository: 64; timeout stays 1', () => {
  const r = canopy(['wait', '--repo', repo, '--rev', 'nosuchrev']);
  assert.is(r.code, 64, r.stderr);
  assert.match(r.stderr, /^canopy wait: --rev nosuchrev: unknown revision nosuchrev/m);
  assert.match(r.stderr, /Usage: canopy wait /);
  const noRepo = canopy(['wait', '--repo', path.join(work, 'none'), '--rev', 'HEAD']);
  assert.is(noRepo.code, 64, noRepo.stderr);
  assert.match(noRepo.stderr, /--repo .*none: .*is not a Git repository/);
  for (const args of [
    ['--rev', 'HEAD', '--timeout', 'soon'],
    ['--rev', 'HEAD', '--timeout', '-1'],
    ['--rev', 'HEAD', 'extra'],
    ['--timeout', '1'],
    ['--rev'],
  ]) {
    const bad = canopy(['wait', '--repo', repo, ...args]);
    assert.is(bad.code, 64, `${args.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, /Usage: canopy wait /);
  }
  const timeout = canopy(['wait', '--repo', repo, '--rev', 'HEAD', '--timeout', '0.1']);
  assert.is(timeout.code, 1, timeout.stderr);
  assert.match(timeout.stderr, /timed out/);
});

test('plan: an unknown --base or --head revision is 64; 0 when it validates', () => {
  const base = canopy(['plan', '--repo', repo, '--base', 'nosuchrev', '--head', 'HEAD']);
  assert.is(base.code, 64, base.stderr);
  assert.match(base.stderr, /^canopy plan: --base nosuchrev: unknown revision nosuchrev/m);
  const head = canopy(['plan', '--repo', repo, '--base', 'HEAD', '--head', 'HEAD~5']);
  assert.is(head.code, 64, head.stderr);
  assert.match(head.stderr, /--head HEAD~5: unknown revision HEAD~5/);
  assert.is(canopy(['plan', '--repo', repo, '--base', 'HEAD', '--head', 'HEAD', '--format', 'yaml']).code, 64);
  assert.is(canopy(['plan', '--repo', repo, '--base', 'HEAD']).code, 64);
  assert.is(canopy(['plan', '--repo', path.join(work, 'none'), '--base', 'HEAD', '--head', 'HEAD']).code, 64);
  const ok = canopy(['plan', '--repo', repo, '--base', 'HEAD~1', '--head', 'HEAD']);
  assert.is(ok.code, 0, ok.stderr);
});

test('each command: unknown options, bad values, missing options and arguments exit 64 naming them', () => {
  const broker = 'mqtt://127.0.0.1:1';
  const state = path.join(work, 'state');
  const cases: Array<[string[], RegExp]> = [
    [[], /Usage: canopy <command>/],
    [['nope'], /unknown command "nope"/],
    [['init'], /canopy init: expected one directory, got none/],
    [['init', 'a', 'b'], /canopy init: expected one directory, got a b/],
    [['init', path.join(work, 'x'), '--bare'], /canopy init: Unknown option '--bare'/],
    [['validate', repo, '--strict'], /canopy validate: Unknown option '--strict'/],
    [['validate', repo, repo], /canopy validate: expected at most one directory/],
    [['status', '--repo', repo, '--nope'], /canopy status: Unknown option '--nope'/],
    [['status', '--repo', repo, 'extra'], /canopy status: unexpected argument extra/],
    [['history', '--repo', repo, '--limit', '0'], /canopy history: --limit 0: expected a whole number >= 1/],
    [['history', '--repo', repo, '--since', 'last tuesday'], /canopy history: --since last tuesday: expected a date/],
    [['history', 'a', 'b', '--repo', repo], /canopy history: expected at most one service/],
    [['import'], /canopy import: expected one SLA file, got none/],
    [['import', 'sla.json', '--repo', path.join(work, 'none')], /canopy import: --repo .*none: not a directory/],
    [['root', '--repo', repo], /canopy root: missing --broker/],
    [['root', '--repo', repo, '--broker', broker, '--poll-seconds', '0'], /--poll-seconds 0: expected a duration/],
    [['root', '--repo', repo, '--broker', broker, '--webhook', '99999'], /--webhook 99999: expected HOST:PORT or PORT/],
    [['root', '--repo', repo, '--broker', broker, '--webhook', '8090'], /--webhook needs a remote --repo URL/],
    [['cluster', '--name', 'c', '--broker', 'nope', '--state-dir', state], /canopy cluster: --broker nope: expected mqtt:\/\/HOST:PORT/],
    [['cluster', '--name', 'c', '--broker', broker, '--state-dir', state, '--location', '100,0'], /--location 100,0: expected LAT,LON/],
    [['cluster', '--name', 'c', '--broker', broker], /canopy cluster: missing --state-dir/],
    [
      ['agent', '--cluster', 'c', '--name', 'n', '--broker', broker, '--runtime', 'dockr', '--state-dir', state],
      /--runtime dockr: expected docker, process or sim/,
    ],
    [['agent', '--cluster', 'c', '--name', 'n', '--broker', broker, '--runtime', 'sim', '--state-dir', state, '--cpu=-1'], /--cpu -1: expected a number >= 0/],
    [
      ['agent', '--cluster', 'c', '--name', 'n', '--broker', broker, '--runtime', 'sim', '--state-dir', state, '--gpu', '1.5'],
      /--gpu 1\.5: expected a whole number/,
    ],
    [
      ['agent', '--cluster', 'c', '--name', 'n', '--broker', broker, '--runtime', 'sim', '--state-dir', state, '--memory', 'lots'],
      /--memory lots: expected a quantity/,
    ],
    [
      ['agent', '--cluster', 'c', '--name', 'n', '--broker', broker, '--runtime', 'sim', '--state-dir', state, '--labels', 'x'],
      /--labels x: expected key=value/,
    ],
    [['agent', '--cluster', 'c'], /canopy agent: missing --name, --broker, --runtime, --state-dir/],
  ];
  for (const [args, message] of cases) {
    const r = canopy(args, { cwd: work, timeoutMs: 20_000 });
    assert.is(r.code, 64, `canopy ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, message, `canopy ${args.join(' ')}`);
  }
  // Nothing was created or started by any of them.
  assert.is(existsSync(state), false);
  assert.is(existsSync(path.join(work, 'x')), false);
  assert.equal(fleetProcesses(fleet), []);
  // Help is not an error.
  assert.is(canopy(['up', '--help']).code, 0);
  assert.is(canopy(['--help']).code, 0);
});

test.run();
