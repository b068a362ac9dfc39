// A whole fleet as separate processes over a real Mosquitto, with a TCP proxy on each link a
// test may cut: root ↔ broker, each cluster ↔ broker (wide area), each agent ↔ broker (site).
// Workloads are real child processes (runtime process) carrying a marker in their argv, so a
// test counts what really runs with pgrep.
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { canopyAsync, start, type Proc } from './canopy.js';
import { tempDir, commitFiles, gitAsync } from './git.js';
import { startGitServer, type GitServer } from './git-server.js';
import { startMosquitto, type Mosquitto } from './mosquitto.js';
import { startProxy, type TcpProxy } from './proxy.js';

export interface FleetSpec {
  name: string;
  clusters: Record<string, { lat: number; lon: number; labels?: Record<string, string>; nodes: number }>;
  services: Record<string, Record<string, unknown>>; // "app/name" → spec fields (runtime process added)
  timings?: { heartbeatSeconds: number; unreachableAfterSeconds: number; statusRefreshSeconds: number };
  /** process (default: real child processes) or sim (nothing runs; for many services). */
  runtime?: 'process' | 'sim';
  /**
   * local (default): every part uses the repository's directory. remote: it is served over
   * smart HTTP; the root mirrors it (webhook + poll) and each cluster reaches it through a link
   * of its own ('git-<cluster>'), so a site can be cut from Git as well as from the broker.
   */
  git?: 'local' | 'remote';
  /** Extra arguments of `canopy root` (e.g. ['--ui', '127.0.0.1:0']). */
  rootArgs?: string[];
}

export interface TestFleet {
  dir: string;
  /** Where the system's refs are read: dir (local) or the server's bare repository (remote). */
  recordDir: string;
  broker: Mosquitto;
  links: Map<string, TcpProxy>; // 'root', '<cluster>', '<node>'
  procs: Map<string, Proc>;
  startRoot(): Proc;
  startCluster(name: string): Proc;
  startAgent(cluster: string, node: string): Proc;
  marker(service: string): string;
  /** Processes of a service really running on this machine. */
  count(service: string): number;
  /** Commit on main (and in remote mode push it and send the webhook). */
  commit(files: Record<string, string | null>, message?: string): Promise<string>;
  /** Cut (or heal) every link of a cluster's site: broker and, in remote mode, Git. */
  cutSite(cluster: string, mode?: 'reset' | 'blackhole'): void;
  /** A part's state directory (a remote-mode cluster keeps its repository mirror in <it>/repo). */
  stateDir(part: string): string;
  healSite(cluster: string): void;
  service(id: string, spec: Record<string, unknown>): Record<string, string>;
  wait(rev?: string, timeoutS?: number): Promise<{ code: number; stdout: string; stderr: string }>;
  status(): Promise<{
    services: Record<string, { desired: number; running: number; state: string; clusters: Record<string, number> }>;
    clusters: Record<string, { state: string }>;
  }>;
  logs(): string;
  stop(): Promise<void>;
}

export async function startFleet(spec: FleetSpec): Promise<TestFleet> {
  const work = tempDir('canopy-fleet-');
  const dir = path.join(work, 'repo');
  const broker = await startMosquitto();
  const links = new Map<string, TcpProxy>();
  const procs = new Map<string, Proc>();
  const link = async (name: string) => {
    const p = await startProxy(broker.port);
    links.set(name, p);
    return p;
  };
  const marker = (svc: string) => `cmk-${spec.name}-${svc.replace('/', '-')}`;
  const t = spec.timings ?? { heartbeatSeconds: 0.5, unreachableAfterSeconds: 3, statusRefreshSeconds: 5 };

  const serviceFiles = (id: string, s: Record<string, unknown>) => {
    const [app, name] = id.split('/');
    const body = { runtime: 'process', command: ['sh', '-c', 'while :; do sleep 1; done', marker(id)], ...s };
    const lines = [
      'apiVersion: canopy/v1',
      'kind: Service',
      `metadata: {name: ${name}, app: ${app}}`,
      'spec:',
      ...Object.entries(body).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
    ];
    return { [`services/${app}/${name}.yaml`]: lines.join('\n') + '\n' };
  };

  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  const files: Record<string, string> = {
    'fleet.yaml': `apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: ${spec.name}}\nspec:\n  timings: ${JSON.stringify(t)}\n`,
  };
  for (const [c, cs] of Object.entries(spec.clusters)) {
    files[`clusters/${c}.yaml`] =
      `apiVersion: canopy/v1\nkind: Cluster\nmetadata: {name: ${c}, labels: ${JSON.stringify(cs.labels ?? {})}}\nspec: {location: {lat: ${cs.lat}, lon: ${cs.lon}}, nodes: ${cs.nodes}}\n`;
  }
  for (const [id, s] of Object.entries(spec.services)) Object.assign(files, serviceFiles(id, s));
  commitFiles(dir, files, 'fleet');
  let server: GitServer | undefined;
  let url = '';
  let recordDir = dir;
  let hookPort = 0;
  if (spec.git === 'remote') {
    server = await startGitServer();
    recordDir = server.publish('fleet', dir);
    url = server.url('fleet');
    execFileSync('git', ['-C', dir, 'remote', 'add', 'origin', url]);
  }
  const siteUrl = (cluster: string) => url.replace(`:${server!.port}/`, `:${links.get(`git-${cluster}`)!.port}/`);

  const f: TestFleet = {
    dir,
    recordDir,
    broker,
    links,
    procs,
    startRoot() {
      const p = server
        ? start([
            'root',
            '--repo',
            url,
            '--cache-dir',
            path.join(work, 'root-cache'),
            '--webhook',
            '127.0.0.1:0',
            '--poll-seconds',
            '2',
            '--broker',
            links.get('root')!.url(),
          ])
        : start(['root', '--repo', dir, '--broker', links.get('root')!.url(), ...(spec.rootArgs ?? [])]);
      procs.set('root', p);
      if (server)
        void p.waitFor(/webhook listening on http:\/\/127\.0\.0\.1:(\d+)/).then(
          () => {
            hookPort = Number(/webhook listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(p.output())![1]);
          },
          () => undefined,
        );
      return p;
    },
    startCluster(name) {
      const p = start([
        'cluster',
        '--name',
        name,
        '--broker',
        links.get(name)!.url(),
        '--node-broker',
        broker.url,
        '--repo',
        server ? siteUrl(name) : dir,
        '--state-dir',
        path.join(work, 'state', name),
      ]);
      procs.set(name, p);
      return p;
    },
    startAgent(cluster, node) {
      const p = start([
        'agent',
        '--cluster',
        cluster,
        '--name',
        node,
        '--broker',
        links.get(node)!.url(),
        '--runtime',
        spec.runtime ?? 'process',
        '--fleet',
        spec.name,
        '--state-dir',
        path.join(work, 'state', cluster, node),
        '--cpu',
        '4',
        '--memory',
        '4Gi',
      ]);
      procs.set(node, p);
      return p;
    },
    marker,
    count(service) {
      try {
        return execFileSync('pgrep', ['-f', marker(service)], { encoding: 'utf8' })
          .split('\n')
          .filter(Boolean).length;
      } catch {
        return 0;
      }
    },
    async commit(fs, m) {
      const oid = commitFiles(dir, fs, m);
      if (server) {
        await gitAsync(dir, 'push', '-q', 'origin', 'main');
        if (hookPort)
          await fetch(`http://127.0.0.1:${hookPort}/`, {
            method: 'POST',
            body: JSON.stringify({ ref: 'refs/heads/main', after: oid }),
            headers: { 'x-github-event': 'push' },
          }).catch(() => undefined);
      }
      return oid;
    },
    stateDir: (part) => path.join(work, 'state', part),
    cutSite(cluster, mode = 'reset') {
      links.get(cluster)!.cut(mode);
      links.get(`git-${cluster}`)?.cut(mode);
    },
    healSite(cluster) {
      links.get(cluster)!.restore();
      links.get(`git-${cluster}`)?.restore();
    },
    service: serviceFiles,
    wait: (rev = 'HEAD', timeoutS = 60) => canopyAsync(['wait', '--repo', recordDir, '--rev', rev, '--timeout', String(timeoutS), '--quiet']),
    status: async () => JSON.parse((await canopyAsync(['status', '--repo', recordDir, '--json'])).stdout),
    logs: () => [...procs].map(([n, p]) => `--- ${n}\n${p.output().slice(-4000)}`).join('\n'),
    async stop() {
      for (const p of procs.values()) await p.kill('SIGTERM');
      for (const l of links.values()) await l.close();
      await broker.stop();
      await server?.close();
      try {
        execFileSync('pkill', ['-f', `cmk-${spec.name}-`]);
      } catch {
        /* none left */
      }
    },
  };
  await link('root');
  for (const [c, cs] of Object.entries(spec.clusters)) {
    await link(c);
    if (server) links.set(`git-${c}`, await startProxy(server.port));
    f.startCluster(c);
    for (let i = 1; i <= cs.nodes; i++) {
      await link(`${c}-${i}`);
      f.startAgent(c, `${c}-${i}`);
    }
  }
  for (const [c] of Object.entries(spec.clusters)) await procs.get(c)!.waitFor(/running/);
  f.startRoot();
  return f;
}
