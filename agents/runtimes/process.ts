// Process runtime: each replica is a detached child process (its own process group), so it
// outlives an agent crash. Pid records in <stateDir>/processes.json let a restarted agent adopt
// the processes still running instead of starting them twice.
import { readRecordFile } from './record-file.js';
import { spawn } from 'node:child_process';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { nodeEnv, type DriverOptions, type ObservedReplica, type RuntimeDriver, type Workload } from './driver.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { processVolumes } from './process-volumes.js';
import { capLogs, logFileOf, processLogs } from './process-logs.js';

interface ProcessRecord {
  id: string;
  service: string;
  specHash: string;
  pid: number;
  startedAt: string;
  argv: string[];
  /** Start time in clock ticks since boot (/proc/<pid>/stat): tells our process from a reused pid. */
  procStart?: string;
}

interface Exit {
  code: number | null;
  signal: string | null;
  at: string;
}

const KILL_AFTER_MS = 2000;

export function processDriver(opts: DriverOptions): RuntimeDriver {
  const file = join(opts.stateDir, 'processes.json');
  const records = load(file);
  const exits = new Map<number, Exit>(); // by pid: seen by the child's 'exit' event, or first noticed dead
  const children = new Set<number>(); // pids we spawned whose 'exit' event has not come yet
  const volumes = processVolumes(opts);
  // Each replica's output file is capped (process-logs.ts): checked once a second.
  const capping = setInterval(() => capLogs(opts.stateDir, records.keys()), 1000);
  capping.unref();

  function save(): void {
    mkdirSync(opts.stateDir, { recursive: true });
    writeAtomic(file, JSON.stringify({ version: 1, processes: [...records.values()] }, null, 1));
  }

  async function start(w: Workload): Promise<void> {
    const argv = w.spec.command;
    if (!argv?.length) throw new Error(`service ${w.service} has runtime process but no command`);
    await stop(w.id);
    const vols = volumes.prepare(w); // CANOPY_VOLUME_<NAME>: its directories (process-volumes.ts)
    const pid = await spawnReplica(opts, { ...w, env: { ...w.env, ...vols } }, argv, (pid, code, signal) => {
      children.delete(pid);
      if (records.get(w.id)?.pid === pid) exits.set(pid, { code, signal, at: new Date().toISOString() });
    });
    children.add(pid);
    records.set(w.id, { id: w.id, service: w.service, specHash: w.specHash, pid, startedAt: new Date().toISOString(), argv, procStart: procStat(pid)?.start });
    save();
  }

  async function stop(id: string): Promise<void> {
    const r = records.get(id);
    if (!r) return;
    await stopGroup(r);
    records.delete(id);
    exits.delete(r.pid);
    save();
  }

  return {
    name: 'process',
    list: async () => [...records.values()].map((r) => observe(r, exits, children)),
    start,
    stop,
    volumes: volumes.api,
    logs: (id, o, onLine) => processLogs(opts.stateDir, id, o, onLine),
    close: async () => clearInterval(capping),
  };
}

/** A record as a replica: running while the process is ours, else failed since it was first seen gone. */
function observe(r: ProcessRecord, exits: Map<number, Exit>, children: Set<number>): ObservedReplica {
  const base = { id: r.id, service: r.service, specHash: r.specHash };
  let exit = exits.get(r.pid);
  // Our own children are running until their 'exit' event, which carries the exit code.
  if (!exit && (children.has(r.pid) || isOurs(r))) return { ...base, state: 'running', since: r.startedAt };
  if (!exit) exits.set(r.pid, (exit = { code: null, signal: null, at: new Date().toISOString() }));
  return { ...base, state: 'failed', message: describeExit(exit), since: exit.at };
}

/**
 * The ports a process listens on (it shares the node's network, so a published port is the host
 * port itself): CANOPY_PORT is the first port's (hostPort when given, else port), CANOPY_PORT_<i>
 * each port's by its index in spec.ports.
 */
export function portEnv(spec: ServiceSpec): Record<string, string> {
  const ports = (spec.ports ?? []).map((p) => String(p.hostPort ?? p.port));
  if (!ports.length) return {};
  return { CANOPY_PORT: ports[0], ...Object.fromEntries(ports.map((p, i) => [`CANOPY_PORT_${i}`, p])) };
}

/** Spawns the replica's command detached, its output appended to <stateDir>/logs/<replica>.log (capped: process-logs.ts); resolves to its pid. */
async function spawnReplica(
  opts: DriverOptions,
  w: Workload,
  argv: string[],
  onExit: (pid: number, code: number | null, signal: string | null) => void,
): Promise<number> {
  mkdirSync(join(opts.stateDir, 'logs'), { recursive: true });
  const log = openSync(logFileOf(opts.stateDir, w.id), 'a');
  let child: ReturnType<typeof spawn> | undefined;
  try {
    writeSync(log, `--- ${new Date().toISOString()} start ${w.id} (${w.specHash}): ${JSON.stringify(argv)}\n`);
    child = spawn(argv[0], argv.slice(1), {
      detached: true, // own process group: survives the agent, and stop() can signal the whole group
      stdio: ['ignore', log, log],
      ...(w.cwd ? { cwd: w.cwd } : {}), // its own working directory, when it has files there (its secrets)
      // Where it runs, as a container's labels say it: the workload can read it, and an
      // operator (or a test cleaning up) can find a fleet's processes by it.
      env: {
        ...process.env,
        ...w.spec.env,
        ...w.env,
        CANOPY_FLEET: opts.fleet,
        CANOPY_CLUSTER: opts.cluster,
        CANOPY_NODE: opts.node,
        CANOPY_REPLICA: w.id,
        ...portEnv(w.spec),
        ...nodeEnv(opts),
      },
    });
  } finally {
    closeSync(log); // the child holds its own copy
  }
  child.on('error', () => {}); // spawn errors are handled below; later ones (kill) do not matter
  const pid = child.pid;
  if (pid === undefined) {
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => child.once('error', resolve));
    const why = err.code === 'ENOENT' ? 'command not found' : err.message;
    throw new Error(`cannot start ${w.id}: ${argv[0]}: ${why}`);
  }
  child.once('exit', (code, signal) => onExit(pid, code, signal));
  child.unref();
  return pid;
}

/** SIGTERM to the replica's group, SIGKILL after KILL_AFTER_MS. */
async function stopGroup(r: ProcessRecord): Promise<void> {
  // Signal only a group we know is ours: a dead leader's pid may belong to someone else now.
  if (!isOurs(r)) return;
  signalGroup(r.pid, 'SIGTERM');
  await waitGone(r, KILL_AFTER_MS);
  signalGroup(r.pid, 'SIGKILL'); // also reaches children that outlived the leader
  await waitGone(r, 500);
}

async function waitGone(r: ProcessRecord, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (isOurs(r) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
}

/** Alive, not a zombie, and the same process we started (pids are reused). */
function isOurs(r: ProcessRecord): boolean {
  try {
    process.kill(r.pid, 0);
  } catch {
    return false; // ESRCH: gone; EPERM: another user's process holds the pid now
  }
  const stat = procStat(r.pid);
  if (!stat) return true; // no /proc (not Linux): the signal check is all we have
  if (stat.state === 'Z') return false;
  // Start time, not cmdline: a command that execs (`sh -c "exec x"`) or sets its title changes
  // its cmdline, and taking it for dead would start a duplicate beside it.
  if (r.procStart) return stat.start === r.procStart;
  return readProc(r.pid, 'cmdline') === r.argv.join('\0') + '\0';
}

function procStat(pid: number): { state: string; start: string } | undefined {
  const stat = readProc(pid, 'stat');
  if (stat === undefined) return undefined;
  // Fields after "(comm)", which may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], start: fields[19] };
}

function readProc(pid: number, name: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return undefined;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone
  }
}

function describeExit(e: Exit): string {
  if (e.signal) return `killed by signal ${e.signal}`;
  return e.code === null ? 'process exited' : `exited with code ${e.code}`;
}

function load(file: string): Map<string, ProcessRecord> {
  const text = readRecordFile(file);
  if (text === undefined) return new Map();
  try {
    const { processes } = JSON.parse(text) as { processes: ProcessRecord[] };
    return new Map(processes.map((p) => [p.id, p]));
  } catch (err) {
    // Forgetting the records would start every replica a second time: stop instead.
    throw new Error(`${file} is not a valid process record file (${(err as Error).message}); inspect it, or remove it after stopping the processes it names`);
  }
}

/** Temp file + fsync + rename: after a crash or power loss the file is the old or the new one. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
