// A fleet for benchmarks: a fleet repository made with native git, a real Mosquitto (TCP_NODELAY),
// and canopy's parts as separate processes (`canopy root|cluster|agent`), or many simulated
// agents in one helper process (sim-nodes.js). Optional counting proxies sit between each role
// and the broker. Everything started is registered in the benchmark's Scope.
import path from 'node:path';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { startMosquitto, type Mosquitto } from '../../test/helpers/mosquitto.js';
import { startProxy, type TcpProxy } from '../../test/helpers/proxy.js';
import { tempDir } from '../../test/helpers/git.js';
import { openRepo, resolveRef, type Repo } from '../../reconciler/git/repo.js';
import { readNote, NOTES_REF } from '../../reconciler/git/notes.js';
import { parseNote, type CommitNote } from '../../reconciler/core/note.js';
import { spawnPart, DIST, type Part } from './proc.js';
import type { Scope } from './cleanup.js';
import { nowMs, sleep } from './stats.js';
import { rmSync } from 'node:fs';

export const GIT_ENV = {
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@canopy.invalid',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@canopy.invalid',
};

export function git(dir: string, ...args: string[]): string {
  const r = spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, ...GIT_ENV }, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trimEnd();
}

export function fleetYaml(name: string, timings?: Record<string, number>): string {
  return ['apiVersion: canopy/v1', 'kind: Fleet', `metadata: {name: ${name}}`, ...(timings ? ['spec:', `  timings: ${JSON.stringify(timings)}`] : []), ''].join(
    '\n',
  );
}

export function clusterYaml(name: string, lat: number, lon: number): string {
  return `apiVersion: canopy/v1\nkind: Cluster\nmetadata: {name: ${name}}\nspec: {location: {lat: ${lat}, lon: ${lon}}}\n`;
}

export function serviceYaml(app: string, name: string, spec: Record<string, unknown>): string {
  const lines = ['apiVersion: canopy/v1', 'kind: Service', `metadata: {name: ${name}, app: ${app}}`, 'spec:'];
  for (const [k, v] of Object.entries(spec)) lines.push(`  ${k}: ${JSON.stringify(v)}`);
  return lines.join('\n') + '\n';
}

export function writeFiles(dir: string, files: Record<string, string | null>): void {
  for (const [f, text] of Object.entries(files)) {
    const p = path.join(dir, f);
    if (text === null) {
      rmSync(p, { force: true });
      continue;
    }
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
}

export interface Timed {
  commit: string;
  startedAt: number;
  gitMs: number;
}

export class BenchFleet {
  readonly work: string;
  readonly dir: string;
  readonly parts = new Map<string, Part>();
  broker!: Mosquitto;
  repo!: Repo;
  private proxies = new Map<string, TcpProxy>();
  private ids?: string;
  /** The age recipient of each secured part (`cluster:c1`, `node:c1/n1`). */
  readonly ages = new Map<string, string>();

  constructor(
    readonly fleet: string,
    readonly scope: Scope,
    private readonly env: Record<string, string> = {},
    prefix = 'canopy-bench-',
  ) {
    this.work = tempDir(prefix);
    this.dir = path.join(this.work, 'repo');
    // BENCH_KEEP=1 keeps the repository, state and logs (for timestamps and profiles).
    scope.add(() => {
      if (!process.env.BENCH_KEEP) rmSync(this.work, { recursive: true, force: true });
    });
  }

  /**
   * git init + one commit of `files` on main, written with `git fast-import` (10,000 files in a
   * second, where add + commit take tens), then checked out so later commits start from it.
   */
  async init(files: Record<string, string>): Promise<string> {
    spawnSync('git', ['init', '-q', '-b', 'main', this.dir]);
    // No automatic gc in the middle of a timed commit (it would also pack refs/heads/main).
    git(this.dir, 'config', 'gc.auto', '0');
    const chunks: Buffer[] = [
      Buffer.from(`commit refs/heads/main\ncommitter bench <bench@canopy.invalid> ${Math.floor(Date.now() / 1000)} +0000\ndata 5\nfleet\n`),
    ];
    for (const [f, text] of Object.entries(files)) {
      const b = Buffer.from(text);
      chunks.push(Buffer.from(`M 100644 inline ${f}\ndata ${b.length}\n`), b, Buffer.from('\n'));
    }
    const r = spawnSync('git', ['-C', this.dir, 'fast-import', '--quiet'], { input: Buffer.concat(chunks), maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`git fast-import: ${r.stderr}`);
    git(this.dir, 'reset', '-q', '--hard', 'main');
    this.repo = await openRepo(this.dir);
    return git(this.dir, 'rev-parse', 'HEAD');
  }

  /**
   * Identities for the root, `clusters` and their `nodes` (as `canopy identity create` makes
   * them), declared in `files`; the parts then start with --identity, and startBroker runs
   * Mosquitto with the password file and ACL `canopy broker-config` writes. Call before init.
   */
  async secure(files: Record<string, string>, clusters: Record<string, string[]>, o: { operator?: string } = {}): Promise<void> {
    const { createIdentity, writeIdentity } = await import('../../reconciler/core/identity-file.js');
    const { declareKey, declarationFile, sealsSecrets } = await import('../../reconciler/core/declare-keys.js');
    this.ids = path.join(this.work, 'identities');
    const add = async (role: 'root' | 'operator' | 'cluster' | 'node', name: string, trust?: { root?: string[]; cluster?: string[] }) => {
      const id = await createIdentity({ fleet: this.fleet, role, name, trust });
      writeIdentity(path.join(this.ids!, `${role}-${name.replace('/', '-')}.json`), id);
      const rel = declarationFile(role, name);
      // Clusters and nodes declare their age recipient too, so secrets can be sealed to them.
      const age = sealsSecrets(role) ? id.age.recipient : undefined;
      files[rel] = declareKey(rel, files[rel]!, role, name, id.mqtt.username, id.ed25519.publicKey, age).text;
      this.ages.set(`${role}:${name}`, id.age.recipient);
      return id.ed25519.publicKey;
    };
    const root = await add('root', 'root');
    if (o.operator) await add('operator', o.operator);
    for (const [c, nodes] of Object.entries(clusters)) {
      const ck = await add('cluster', c, { root: [root] });
      for (const n of nodes) await add('node', `${c}/${n}`, { cluster: [ck] });
    }
  }

  /** The identity file of a part, when the fleet is secured. */
  identity(role: 'root' | 'operator' | 'cluster' | 'node', name: string): string[] {
    return this.ids ? ['--identity', path.join(this.ids, `${role}-${name.replace('/', '-')}.json`)] : [];
  }

  async startBroker(): Promise<Mosquitto> {
    if (this.ids) {
      const { freePort } = await import('../../test/helpers/mosquitto.js');
      const out = path.join(this.work, 'broker');
      const r = spawnSync(process.execPath, [path.join(DIST, 'cli/canopy.js'), 'broker-config', '--identities', this.ids, '--out', out], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`broker-config: ${r.stderr}`);
      const port = await freePort();
      this.broker = await startMosquitto(port, { conf: [`listener ${port} 127.0.0.1`, `include_dir ${out}`], quiet: true });
      this.scope.add(() => this.broker.stop());
      return this.broker;
    }
    this.broker = await startMosquitto();
    this.scope.add(() => this.broker.stop());
    return this.broker;
  }

  /** A counting proxy for one role ('root', a cluster, 'agents'…) in front of the broker. */
  async proxy(role: string): Promise<TcpProxy> {
    let p = this.proxies.get(role);
    if (!p) {
      p = await startProxy(this.broker.port);
      this.proxies.set(role, p);
      const pp = p;
      this.scope.add(() => pp.close());
    }
    return p;
  }

  links(): Map<string, TcpProxy> {
    return this.proxies;
  }

  private log(name: string): string {
    return path.join(this.work, `${name.replace(/[^a-zA-Z0-9.-]/g, '_')}.log`);
  }

  private spawn(name: string, args: string[], o: { nodeArgs?: string[]; script?: string; env?: Record<string, string> } = {}): Part {
    // BENCH_PROFILE=root,cluster-c1 writes a V8 CPU profile of those parts into the work directory
    // (with BENCH_KEEP=1 to keep it; summarise with dist/bench/lib/cpuprofile.js).
    const profile = (process.env.BENCH_PROFILE ?? '').split(',').includes(name) ? ['--cpu-prof', `--cpu-prof-dir=${path.join(this.work, 'prof', name)}`] : [];
    const p = spawnPart(args, {
      name,
      logFile: this.log(name),
      env: { ...this.env, ...o.env },
      nodeArgs: [...profile, ...(o.nodeArgs ?? [])],
      script: o.script,
      scope: this.scope,
    });
    this.parts.set(name, p);
    return p;
  }

  startRoot(broker = this.broker.url, o: { nodeArgs?: string[]; env?: Record<string, string>; args?: string[] } = {}): Part {
    return this.spawn('root', ['root', '--repo', this.dir, '--broker', broker, ...this.identity('root', 'root'), ...(o.args ?? [])], o);
  }

  startCluster(name: string, broker = this.broker.url, o: { nodeArgs?: string[]; env?: Record<string, string> } = {}): Part {
    return this.spawn(
      `cluster-${name}`,
      [
        'cluster',
        '--name',
        name,
        '--broker',
        broker,
        '--repo',
        this.dir,
        '--state-dir',
        path.join(this.work, 'state', name),
        ...this.identity('cluster', name),
      ],
      o,
    );
  }

  startAgent(
    cluster: string,
    node: string,
    o: {
      broker?: string;
      runtime?: 'sim' | 'docker' | 'process';
      cpu?: number;
      memory?: string;
      nodeArgs?: string[];
      env?: Record<string, string>;
      args?: string[];
    } = {},
  ): Part {
    return this.spawn(
      `agent-${node}`,
      [
        'agent',
        '--cluster',
        cluster,
        '--name',
        node,
        '--broker',
        o.broker ?? this.broker.url,
        '--runtime',
        o.runtime ?? 'sim',
        '--fleet',
        this.fleet,
        '--state-dir',
        path.join(this.work, 'state', cluster, node),
        '--cpu',
        String(o.cpu ?? 8),
        '--memory',
        o.memory ?? '16Gi',
        ...this.identity('node', `${cluster}/${node}`),
        ...(o.args ?? []),
      ],
      o,
    );
  }

  /** `count` simulated agents of one cluster in one helper process (nodes `<prefix><first…>`). */
  startSimNodes(cluster: string, count: number, o: { broker?: string; prefix?: string; first?: number; cpu?: number; memoryMi?: number } = {}): Part {
    return this.spawn(
      `sim-nodes-${cluster}-${o.first ?? 1}`,
      [
        '--broker',
        o.broker ?? this.broker.url,
        '--fleet',
        this.fleet,
        '--cluster',
        cluster,
        '--nodes',
        String(count),
        '--prefix',
        o.prefix ?? `${cluster}-n`,
        '--first',
        String(o.first ?? 1),
        '--state-dir',
        path.join(this.work, 'state', cluster),
        '--cpu',
        String(o.cpu ?? 8),
        '--memory-mi',
        String(o.memoryMi ?? 16384),
      ],
      { script: path.join(DIST, 'bench/lib/sim-nodes.js') },
    );
  }

  /** Write `files`, stage them, then time `git commit` alone: the commit exists from startedAt + gitMs. */
  commit(files: Record<string, string | null>, message = 'change'): Timed {
    writeFiles(this.dir, files);
    git(this.dir, 'add', '-A');
    const startedAt = nowMs();
    git(this.dir, 'commit', '-q', '-m', message);
    const gitMs = nowMs() - startedAt;
    const commit = git(this.dir, 'rev-parse', 'HEAD');
    return { commit, startedAt, gitMs };
  }

  /**
   * Poll the notes ref (every `everyMs`) until the note on `commit` says converged, as `canopy
   * wait` does (it polls every 50 ms). Returns when this poller saw it, and the note.
   */
  async waitConverged(commit: string, timeoutMs = 30_000, everyMs = 5): Promise<{ seenAt: number; note: CommitNote }> {
    const end = nowMs() + timeoutMs;
    const refFile = path.join(this.repo.gitdir, NOTES_REF);
    let last: string | undefined;
    let target = commit;
    for (;;) {
      let head: string | undefined;
      try {
        head = readFileSync(refFile, 'utf8').trim();
      } catch {
        head = await resolveRef(this.repo, NOTES_REF);
      }
      if (head && head !== last) {
        last = head;
        const text = await readNote(this.repo, target);
        const n = text ? parseNote(text) : undefined;
        if (n?.outcome === 'rejected') throw new Error(`${target.slice(0, 12)} was rejected: ${JSON.stringify(n.problems)}`);
        if (n?.outcome === 'superseded' && n.supersededBy) {
          target = n.supersededBy;
          last = undefined;
          continue;
        }
        if (n?.convergedAt) return { seenAt: nowMs(), note: n };
      }
      if (nowMs() > end) throw new Error(`${commit.slice(0, 12)} did not converge within ${timeoutMs} ms`);
      await sleep(everyMs);
    }
  }

  async stop(): Promise<void> {
    for (const p of [...this.parts.values()].reverse()) await p.stop();
  }

  /** The last lines of every part's log, for a failure message. */
  tails(lines = 15): string {
    return [...this.parts.values()].map((p) => `--- ${p.name}\n${p.log().split('\n').slice(-lines).join('\n')}`).join('\n');
  }
}
