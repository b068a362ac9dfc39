// `canopy up` shuts down cleanly however it is stopped: SIGINT to the whole process group with its
// output piped through tee (the terminal's Ctrl-C: tee ends first, so up writes to a closed pipe),
// SIGTERM after its reader has gone, SIGHUP twice in a row. Each time its workloads (processes,
// containers) are removed, nothing of its process group is left, and it exits 0. Real processes,
// real pipes (bash, tee, head), real Docker.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { groupMembers, killGroup, fleetProcesses } from '../helpers/process-group.js';
import { CLI, canopy, eventually } from '../helpers/canopy.js';
import { commitFiles, tempDir } from '../helpers/git.js';
import { containers, removeFleet, requireDocker } from '../helpers/docker.js';

const test = suite('canopy up: signals and closed pipes');
const work = tempDir('canopy-up-signals-');
const fleets: string[] = [];
const groups: number[] = [];

test.before(() => {
  requireDocker();
});

test.after(() => {
  for (const g of groups) killGroup(g);
  for (const f of fleets) removeFleet(f);
  rmSync(work, { recursive: true, force: true });
});

/** A fleet repository from the template with its own fleet name and only the given services. */
function fleetRepo(n: string, keep: string[]): { dir: string; fleet: string } {
  const fleet = `e2e-sig-${process.pid}-${n}`;
  fleets.push(fleet);
  const dir = path.join(work, n);
  const init = canopy(['init', dir]);
  assert.is(init.code, 0, init.stderr);
  const drop = ['services/shop/web.yaml', 'services/shop/worker.yaml', 'services/traffic-cam/detector.yaml'].filter((f) => !keep.includes(f));
  const fy = readFileSync(path.join(dir, 'fleet.yaml'), 'utf8').replace(/name: demo/, `name: ${fleet}`);
  commitFiles(dir, { 'fleet.yaml': fy, ...Object.fromEntries(drop.map((f) => [f, null])) }, 'name the fleet, keep few services');
  return { dir, fleet };
}

interface Pipeline {
  child: ChildProcess;
  pgid: number;
  codeFile: string;
  /** bash's exit, after which codeFile holds canopy up's own exit code. */
  exited: Promise<number | null>;
}

/**
 * bash -c 'canopy up … 2>&1 | READER; echo exit code', in a process group of its own (as a
 * terminal's job is). bash traps the signals, as an interactive shell survives Ctrl-C, so it
 * can report up's exit code; up and the reader get them with their default dispositions.
 */
function pipeline(args: string[], reader: string, name: string): Pipeline {
  const codeFile = path.join(work, `${name}.code`);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = `trap : INT TERM HUP; ${q(process.execPath)} ${q(CLI)} ${args.map(q).join(' ')} 2>&1 | ${reader}; echo "\${PIPESTATUS[0]}" > ${q(codeFile)}`;
  const child = spawn('bash', ['-c', script], { detached: true, stdio: 'ignore' });
  const pgid = child.pid!;
  groups.push(pgid);
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { child, pgid, codeFile, exited };
}

const upLog = (dir: string) => {
  const f = path.join(dir, '.git/canopy-up/canopy.log');
  return existsSync(f) ? readFileSync(f, 'utf8') : '(no log)';
};

/** Sends the signals to the whole group, then waits for everything in it to end; returns up's exit code. */
async function stopWith(p: Pipeline, dir: string, signals: NodeJS.Signals[], gapMs = 100): Promise<number> {
  const t0 = Date.now();
  for (const [i, s] of signals.entries()) {
    if (i) await new Promise((r) => setTimeout(r, gapMs));
    process.kill(-p.pgid, s);
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p.exited, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`bash did not end within 90 s:\n${upLog(dir)}`)), 90_000)))]);
  } finally {
    clearTimeout(timer);
  }
  await eventually('every process of the group to end', () => groupMembers(p.pgid).length === 0, 30_000);
  console.log(`  ${signals.join(', ')}: stopped in ${Date.now() - t0} ms`);
  return Number(readFileSync(p.codeFile, 'utf8').trim());
}

test('SIGINT to the group of `canopy up | tee` (process runtime): workloads removed, exit 0', async () => {
  const { dir, fleet } = fleetRepo('int-process', ['services/shop/worker.yaml']);
  const log = path.join(work, 'int-process.log');
  const p = pipeline(['up', '--repo', dir, '--runtime', 'process', '--clusters', '1', '--nodes', '1'], `tee ${log}`, 'int-process');
  try {
    await eventually('the worker process running', () => fleetProcesses(fleet).length > 0, 60_000).catch((e) => {
      throw new Error(`${e.message}\n${upLog(dir)}`);
    });
    const code = await stopWith(p, dir, ['SIGINT']);
    assert.is(code, 0, upLog(dir));
    assert.equal(fleetProcesses(fleet), [], upLog(dir));
    assert.match(upLog(dir), /SIGINT: stopping…/);
    assert.match(upLog(dir), /\] stopped\n/);
  } finally {
    killGroup(p.pgid);
  }
});

test('SIGINT to the group of `canopy up | tee` (docker runtime): containers and processes removed, exit 0', async () => {
  const { dir, fleet } = fleetRepo('int-docker', ['services/shop/web.yaml', 'services/shop/worker.yaml']);
  const log = path.join(work, 'int-docker.log');
  const p = pipeline(['up', '--repo', dir, '--runtime', 'docker', '--clusters', '1', '--nodes', '1'], `tee ${log}`, 'int-docker');
  try {
    await eventually(
      'web containers and the worker process running',
      () => containers(fleet).filter((c) => c.state === 'running').length >= 2 && fleetProcesses(fleet).length > 0,
      90_000,
    ).catch((e) => {
      throw new Error(`${e.message}\n${upLog(dir)}`);
    });
    const code = await stopWith(p, dir, ['SIGINT']);
    assert.is(code, 0, upLog(dir));
    assert.equal(containers(fleet), [], upLog(dir));
    assert.equal(fleetProcesses(fleet), [], upLog(dir));
  } finally {
    killGroup(p.pgid);
  }
});

test('SIGTERM after the reader of its output has gone (EPIPE): workloads removed, exit 0', async () => {
  const { dir, fleet } = fleetRepo('term', ['services/shop/worker.yaml']);
  // head takes one byte and ends: every later write of up's meets a closed pipe.
  const p = pipeline(['up', '--repo', dir, '--runtime', 'process', '--clusters', '1', '--nodes', '1'], 'head -c 1 >/dev/null', 'term');
  try {
    await eventually('the worker process running', () => fleetProcesses(fleet).length > 0, 60_000).catch((e) => {
      throw new Error(`${e.message}\n${upLog(dir)}`);
    });
    // It has written since head ended (the fleet line, the status table), and is still up.
    assert.match(upLog(dir), /start shop\/worker#0/);
    const code = await stopWith(p, dir, ['SIGTERM']);
    assert.is(code, 0, upLog(dir));
    assert.equal(fleetProcesses(fleet), [], upLog(dir));
    assert.match(upLog(dir), /SIGTERM: stopping…/);
  } finally {
    killGroup(p.pgid);
  }
});

test('SIGHUP twice (a closed terminal): the second does not cut the clean-up short', async () => {
  const { dir, fleet } = fleetRepo('hup', ['services/shop/worker.yaml']);
  // A worker that ignores SIGTERM: removing it takes the runtime's 2 s before SIGKILL, so the
  // second SIGHUP surely comes while the clean-up is under way.
  const worker = readFileSync(path.join(dir, 'services/shop/worker.yaml'), 'utf8').replace(
    /command: .*/,
    `command: [sh, -c, "trap '' TERM; while true; do sleep 1; done"]`,
  );
  commitFiles(dir, { 'services/shop/worker.yaml': worker }, 'a worker that ignores SIGTERM');
  const log = path.join(work, 'hup.log');
  const p = pipeline(['up', '--repo', dir, '--runtime', 'process', '--clusters', '1', '--nodes', '1'], `tee ${log}`, 'hup');
  try {
    await eventually('the worker process running', () => fleetProcesses(fleet).length > 0, 60_000).catch((e) => {
      throw new Error(`${e.message}\n${upLog(dir)}`);
    });
    process.kill(-p.pgid, 'SIGHUP');
    await eventually('shutdown under way', () => /SIGHUP: stopping…/.test(upLog(dir)), 10_000, 10);
    const code = await stopWith(p, dir, ['SIGHUP']);
    assert.is(code, 0, upLog(dir));
    assert.equal(fleetProcesses(fleet), [], upLog(dir));
    assert.match(upLog(dir), /SIGHUP again: still stopping/);
    assert.match(upLog(dir), /\] stopped\n/);
  } finally {
    killGroup(p.pgid);
  }
});

test('a start-up failure (no broker answers) stops what had started and exits 1, not 64', async () => {
  const { dir, fleet } = fleetRepo('startup', ['services/shop/worker.yaml']);
  const p = pipeline(['up', '--repo', dir, '--runtime', 'process', '--broker', 'mqtt://127.0.0.1:1'], 'cat >/dev/null', 'startup');
  try {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([p.exited, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`up did not end:\n${upLog(dir)}`)), 60_000)))]).finally(() =>
      clearTimeout(timer),
    );
    await eventually('every process of the group to end', () => groupMembers(p.pgid).length === 0, 30_000);
    assert.is(Number(readFileSync(p.codeFile, 'utf8').trim()), 1, upLog(dir));
    assert.match(upLog(dir), /could not reach the MQTT broker at mqtt:\/\/127\.0\.0\.1:1/);
    assert.match(upLog(dir), /start-up failed: stopping…/);
    assert.equal(fleetProcesses(fleet), []);
  } finally {
    killGroup(p.pgid);
  }
});

test.run();
