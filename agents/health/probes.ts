// One health probe of a replica, with a deadline: an HTTP GET, a TCP connect, or a command run
// in the workload. Each resolves to undefined (passed) or why it failed, as status shows it
// ("GET /health: 503", "connect ECONNREFUSED 127.0.0.2:31000", "exec exited 1"). A probe opens
// one connection and closes it (no keep-alive agent, nothing pooled), and spawns nothing for
// http or tcp.
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';

export type ProbeResult = string | undefined;

const seconds = (ms: number) => `${Math.round(ms) / 1000} s`;

/**
 * One probe settled once: by the first `finish` it is handed, or with `timedOut` after
 * `timeoutMs`; what `start` returns (closing its socket, killing its child) runs either way.
 */
function settleOnce(timeoutMs: number, timedOut: string, start: (finish: (r: ProbeResult) => void) => () => void): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    let cleanup: (() => void) | undefined;
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      cleanup?.();
      resolve(r);
    };
    const timer = setTimeout(() => finish(timedOut), timeoutMs);
    cleanup = start(finish);
    if (done) cleanup();
  });
}

/** GET `path`: passes on `status` when given, else on any 2xx or 3xx. */
export function probeHttp(host: string, port: number, path: string, status: number | undefined, timeoutMs: number): Promise<ProbeResult> {
  const what = `GET ${path}`;
  return settleOnce(timeoutMs, `${what}: no answer within ${seconds(timeoutMs)}`, (finish) => {
    const req = http.request({ host, port, path, method: 'GET', agent: false, headers: { 'User-Agent': 'canopy-agent', Connection: 'close' } }, (res) => {
      const code = res.statusCode ?? 0;
      res.resume();
      const ok = status !== undefined ? code === status : code >= 200 && code < 400;
      finish(ok ? undefined : `${what}: ${code}${status !== undefined ? ` (expected ${status})` : ''}`);
    });
    req.on('error', (e) => finish(`${what}: ${e.message}`));
    req.end();
    return () => req.destroy();
  });
}

/** Opens a TCP connection and closes it. */
export function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return settleOnce(timeoutMs, `connect ${host}:${port}: no answer within ${seconds(timeoutMs)}`, (finish) => {
    const sock = net.connect({ host, port });
    sock.once('connect', () => finish(undefined));
    sock.once('error', (e) => finish(e.message.startsWith('connect') ? e.message : `connect ${host}:${port}: ${e.message}`));
    return () => sock.destroy();
  });
}

/** What an exec probe reports for an exit code (or a run that could not finish). */
export function execOutcome(code: number | undefined, error?: string): ProbeResult {
  if (error !== undefined) return `exec: ${error}`;
  return code === 0 ? undefined : `exec exited ${code}`;
}

/** Runs argv on the host (a process workload's probe) with `env`; killed at the deadline. */
export function execOnHost(argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ProbeResult> {
  return settleOnce(timeoutMs, execOutcome(undefined, `no exit within ${seconds(timeoutMs)}`)!, (finish) => {
    const child = spawn(argv[0], argv.slice(1), { env, stdio: 'ignore' });
    child.once('error', (e) => finish(execOutcome(undefined, e.message)));
    child.once('exit', (code, signal) => finish(signal ? execOutcome(undefined, `killed by ${signal}`) : execOutcome(code ?? -1)));
    // At the deadline the child is killed; after its exit, kill() is a no-op.
    return () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
  });
}
