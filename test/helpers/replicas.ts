// What really runs, seen from outside canopy: a fleet's containers as `docker ps` lists them (with
// canopy's labels and the port Docker published), their environment, and plain HTTP GETs of a
// container's published port. For tests that sample a rollout while it goes.
import http from 'node:http';
import { execFile, execFileSync } from 'node:child_process';

export interface Box {
  id: string;
  cluster: string;
  node: string;
  service: string;
  replica: string;
  /** canopy.spec-hash: the spec the agent started it with. */
  hash: string;
  state: string;
  /** Where Docker published its 8080/tcp, when it did. */
  at?: { host: string; port: number };
}

const FORMAT = ['{{.ID}}', ...['cluster', 'node', 'service', 'replica', 'spec-hash'].map((l) => `{{.Label "canopy.${l}"}}`), '{{.State}}', '{{.Ports}}'].join(
  '\t',
);

/** The fleet's containers (every state), optionally of one service; `docker ps` without blocking this process. */
export function boxes(fleet: string, service?: string): Promise<Box[]> {
  const args = ['ps', '-a', '--no-trunc', '--filter', `label=canopy.fleet=${fleet}`];
  if (service) args.push('--filter', `label=canopy.service=${service}`);
  return new Promise((resolve, reject) =>
    execFile('docker', [...args, '--format', FORMAT], { encoding: 'utf8', timeout: 20_000 }, (e, out) => {
      if (e) return reject(e);
      resolve(
        out
          .split('\n')
          .filter(Boolean)
          .map((l) => {
            const [id, cluster, node, svc, replica, hash, state, ports] = l.split('\t');
            const m = /([\d.]+):(\d+)->8080\/tcp/.exec(ports ?? '');
            return { id, cluster, node, service: svc, replica, hash, state, ...(m ? { at: { host: m[1], port: Number(m[2]) } } : {}) };
          }),
      );
    }),
  );
}

/** Containers that hold a replica's place: running, or created / restarting on the way to it. */
export const live = (b: Box) => b.state === 'running' || b.state === 'created' || b.state === 'restarting';

/** The container's environment as NAME=value lines. */
export function envOf(id: string): string[] {
  return JSON.parse(execFileSync('docker', ['inspect', '-f', '{{json .Config.Env}}', id], { encoding: 'utf8' })) as string[];
}

/** GET host:port/path: the status code, or 0 when it did not answer within 3 s. */
export function status(host: string, port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path, agent: false, timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/**
 * What the box answers at `path` through its published port (the status code; 0: no answer within
 * 3 s, or not running): a second try after no answer, so that a slow moment of a loaded machine is
 * not taken for an unready replica.
 */
export async function answer(b: Box, path: string): Promise<number> {
  if (b.state !== 'running' || !b.at) return 0;
  let s = 0;
  for (let i = 0; i < 2 && s === 0; i++) s = await status(b.at.host, b.at.port, path);
  return s;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
