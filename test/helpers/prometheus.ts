// A real Prometheus (Debian's prometheus package, installed by scripts/setup.sh) on a free
// loopback port, scraping the given targets every second, queried through its HTTP API; and
// promtool's check of an exposition. Fails loudly when either is missing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './cleanup.js';
import { freePort } from './mosquitto.js';

export interface Prometheus {
  url: string;
  /** The instant vector of a PromQL query: each series' labels and value. */
  query(q: string): Promise<Array<{ labels: Record<string, string>; value: number }>>;
  /** Every target's scrape health (up, down, unknown) by job. */
  targets(): Promise<Record<string, string>>;
  log(): string;
  stop(): Promise<void>;
}

function need(bin: string): string {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`${bin} is not installed: run scripts/setup.sh (apt-get install prometheus)`);
  return bin;
}

/** `jobs`: job name → HOST:PORT of its /metrics. */
export async function startPrometheus(jobs: Record<string, string>): Promise<Prometheus> {
  const bin = need('prometheus');
  const dir = tempDir('canopy-prometheus-');
  const port = await freePort();
  const conf = path.join(dir, 'prometheus.yml');
  const scrape = Object.entries(jobs).map(([job, target]) => `  - job_name: ${job}\n    static_configs:\n      - targets: ['${target}']`);
  writeFileSync(conf, ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', 'scrape_configs:', ...scrape, ''].join('\n'));
  const args = [`--config.file=${conf}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`];
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}):\n${err.slice(-3000)}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (i > 300) throw new Error(`prometheus did not get ready in 30 s:\n${err.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const api = async (p: string) => {
    const body = (await (await fetch(`${url}${p}`)).json()) as { status: string; data: unknown; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${p}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    async query(q) {
      const data = (await api(`/api/v1/query?query=${encodeURIComponent(q)}`)) as {
        result: Array<{ metric: Record<string, string>; value: [number, string] }>;
      };
      return data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
    },
    async targets() {
      const data = (await api('/api/v1/targets')) as { activeTargets: Array<{ labels: { job: string }; health: string; lastError: string }> };
      return Object.fromEntries(data.activeTargets.map((t) => [t.labels.job, t.health === 'up' ? 'up' : `${t.health} ${t.lastError}`]));
    },
    log: () => err,
    async stop() {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}

/** promtool check metrics on an exposition: its exit code and what it said (lint problems, parse errors). */
export function promtoolCheck(exposition: string): { code: number; output: string } {
  const r = spawnSync(need('promtool'), ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}
