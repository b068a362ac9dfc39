// Run the real `canopy` CLI (compiled) as a child process, as users and scripts do.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../cli/canopy.js');
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function canopy(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd, encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The same, without blocking this process: needed whenever the test itself serves something
 * the command depends on (a TCP proxy, a Git server), which a blocked event loop cannot serve.
 */
export function canopyAsync(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '',
      stderr = '';
    child.stdout!.on('data', (d) => {
      stdout += d;
    });
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export interface Proc {
  child: ChildProcess;
  output(): string;
  waitFor(re: RegExp, ms?: number): Promise<void>;
  kill(sig?: NodeJS.Signals): Promise<number | null>;
}

/** Start a long-running canopy command; output is collected for assertions and failures. */
export function start(args: string[], opts: { env?: Record<string, string> } = {}): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  return {
    child,
    output: () => out,
    async waitFor(re, ms = 30_000) {
      const end = Date.now() + ms;
      while (!re.test(out)) {
        if (child.exitCode !== null) throw new Error(`canopy ${args[0]} exited (${child.exitCode}) before ${re}:\n${out}`);
        if (Date.now() > end) throw new Error(`timed out waiting for ${re} from canopy ${args[0]}:\n${out.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill(sig = 'SIGTERM') {
      // Killed by a signal before: exitCode stays null and 'exit' will not come again.
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const done = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      child.kill(sig);
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const c = await done;
      clearTimeout(t);
      return c;
    },
  };
}

/** Poll until fn returns a truthy value, or fail with what it last saw. */
export async function eventually<T>(what: string, fn: () => T | Promise<T>, ms = 30_000, every = 100): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
