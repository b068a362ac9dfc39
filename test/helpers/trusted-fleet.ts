// A fleet set up as a site would set it up with identities, for the end-to-end trust tests: a
// fleet repository, `canopy identity create` for the root, clusters munich and paris, node n1 of
// each and an operator (the real CLI), the declarations committed, `canopy broker-config` for a
// real Mosquitto (password file and ACL), and root, clusters and agents as separate processes,
// each started with `--identity FILE`. munich's agent runs containers (real Docker) and
// processes; paris's processes only.
//
// Beside it, what an outsider holds: bus clients with some part's credential (spies and
// publishers), signing with whatever key it has, or none.
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { canopy, canopyAsync, eventually, start, type Proc } from './canopy.js';
import { commitFiles, serviceYaml, tempDir } from './git.js';
import { ownFleet, requireDocker } from './docker.js';
import { freePort, startMosquitto, type Mosquitto } from './mosquitto.js';
import type { IdentityFile } from '../../reconciler/core/identity-file.js';
import { signerFrom } from '../../reconciler/core/keys.js';
import { createLogger } from '../../reconciler/core/log.js';
import { connectBus, type Bus } from '../../reconciler/mqtt/bus.js';
import { MAX_PAYLOAD_BYTES } from '../../reconciler/mqtt/limits.js';
import { signedCodec } from '../../reconciler/mqtt/signed-codec.js';
import { topics, type Topics } from '../../reconciler/mqtt/topics.js';
import { openRepo } from '../../reconciler/git/repo.js';
import { placementInGit } from '../../reconciler/cluster/placement-source.js';
import type { Placement, Version } from '../../schemas/messages.js';

export const IMAGE = 'canopy/busybox:1';
const BUILD_SCRIPT = fileURLToPath(new URL('../../../scripts/build-test-image.sh', import.meta.url));

/** The parts' identity files, relative to the identities directory (canopy up's layout). */
export const ID_FILES = {
  root: 'root.json',
  operator: 'operator.json',
  munich: 'clusters/munich.json',
  paris: 'clusters/paris.json',
  'munich/n1': 'nodes/munich/n1.json',
  'paris/n1': 'nodes/paris/n1.json',
} as const;
export type Part = keyof typeof ID_FILES;

const CREATE: Record<Part, string[]> = {
  root: ['--root'],
  munich: ['--cluster', 'munich'],
  paris: ['--cluster', 'paris'],
  'munich/n1': ['--node', 'munich/n1'],
  'paris/n1': ['--node', 'paris/n1'],
  operator: ['--operator', 'ops'],
};

/** What a message looked like on the wire: its topic, its raw text, and its envelope if signed. */
export interface Seen {
  topic: string;
  text: string;
  by?: string;
  body?: Record<string, unknown>;
}
export interface Spy {
  got: Seen[];
  /** Filters the broker refused (SUBACK failure). */
  refused: string[];
}
export type Credential = { username?: string; password?: string } | IdentityFile;

export interface TrustedFleet {
  fleet: string;
  work: string;
  dir: string;
  idDir: string;
  t: Topics;
  broker: Mosquitto;
  procs: Map<string, Proc>;
  /** An identity file, as the parts read it. */
  id(file: string): IdentityFile;
  startRoot(idFile?: string): Proc;
  startCluster(name: 'munich' | 'paris', idFile?: string): Proc;
  startAgent(cluster: 'munich' | 'paris', idFile?: string): Proc;
  /** `canopy identity create --repo DIR ARGS --out FILE`, the real CLI; returns the public key it prints. */
  identity(args: string[], out: string, extra?: string[]): string;
  commit(files: Record<string, string | null>, message: string): string;
  wait(rev: string, timeoutS?: number): Promise<{ code: number; stdout: string; stderr: string }>;
  /** `canopy status --json`. */
  status(): Promise<{ clusters: Record<string, { applied: Version | null; state: string }>; services: Record<string, { running: number; desired: number }> }>;
  /** The cluster's placement as the root committed it to refs/canopy/placements/<c>. */
  placement(cluster: string): Promise<Placement>;
  /** The version the cluster reports (its status ref) if it is the one its placement ref holds. */
  inStep(cluster: string): Promise<Version | undefined>;
  /** Wait until the cluster reports (status ref) the version its placement ref holds; returns it. */
  settled(cluster: string, ms?: number): Promise<Version>;
  /** A bus client with `cred`, watching `filters`. */
  spy(cred: Credential, ...filters: string[]): Promise<Spy>;
  /** The same on another broker. */
  spyAt(url: string, cred: Credential, ...filters: string[]): Promise<Spy>;
  /** A bus client with `cred`: publishes as the outsider chooses (plain, or signed with `key`). */
  client(cred: Credential, o?: { key?: string; clock?: () => number; url?: string }): Promise<Bus>;
  /** The last recent lines of every part, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

let n = 0;
const quiet = createLogger('outsider', 'silent');

export async function startTrustedFleet(name: string): Promise<TrustedFleet> {
  requireDocker();
  try {
    execFileSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' });
  } catch {
    execFileSync(BUILD_SCRIPT, { stdio: 'inherit' });
  }
  const fleet = ownFleet(name);
  const work = tempDir('canopy-trust-');
  const dir = path.join(work, 'fleet');
  const idDir = path.join(work, 'identities');
  const t = topics(fleet);
  const procs = new Map<string, Proc>();
  const open: Bus[] = [];

  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  commitFiles(dir, fleetFiles(fleet), 'the fleet');
  const identity = (args: string[], out: string, extra: string[] = []) => {
    const r = canopy(['identity', 'create', '--repo', dir, ...args, '--out', out, ...extra]);
    assert.is(r.code, 0, `canopy identity create ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /^ssh-ed25519 AAAA\S+ /);
    return r.stdout.trim();
  };
  // Root first, then clusters, then nodes: each trusts the one above it from the start.
  for (const part of ['root', 'munich', 'paris', 'munich/n1', 'paris/n1', 'operator'] as Part[]) identity(CREATE[part], path.join(idDir, ID_FILES[part]));
  commitFiles(dir, {}, "Declare the parts' keys");
  const brokerDir = path.join(work, 'broker');
  const bc = canopy(['broker-config', '--identities', idDir, '--out', brokerDir]);
  assert.is(bc.code, 0, bc.stderr);
  const port = await freePort();
  const broker = await startMosquitto(port, { conf: [`listener ${port} 127.0.0.1`, `include_dir ${brokerDir}`] });

  const idFile = (p: Part) => path.join(idDir, ID_FILES[p]);
  const client = async (cred: Credential, o: { key?: string; clock?: () => number; url?: string } = {}) => {
    const c = 'mqtt' in cred ? cred.mqtt : cred;
    const codec = o.key
      ? signedCodec({ signer: signerFrom(o.key), trust: { keysFor: () => undefined }, maxBytes: MAX_PAYLOAD_BYTES, clock: o.clock })
      : undefined;
    const b = await connectBus({ url: o.url ?? broker.url, clientId: `outsider-${process.pid}-${++n}`, log: quiet, ...c, ...(codec ? { codec } : {}) });
    open.push(b);
    return b;
  };
  const f: TrustedFleet = {
    fleet,
    work,
    dir,
    idDir,
    t,
    broker,
    procs,
    id: (file) => JSON.parse(readFileSync(file, 'utf8')),
    startRoot(file = idFile('root')) {
      const p = start(['root', '--repo', dir, '--broker', broker.url, '--identity', file]);
      procs.set('root', p);
      return p;
    },
    startCluster(c, file = idFile(c)) {
      const p = start(['cluster', '--name', c, '--broker', broker.url, '--repo', dir, '--state-dir', path.join(work, 'state', c), '--identity', file]);
      procs.set(c, p);
      return p;
    },
    startAgent(c, file = idFile(`${c}/n1`)) {
      const runtime = c === 'munich' ? 'docker,process' : 'process';
      const state = path.join(work, 'state', `${c}-n1`);
      const p = start(['agent', '--cluster', c, '--name', 'n1', '--broker', broker.url, '--runtime', runtime, '--state-dir', state, '--identity', file]);
      procs.set(`${c}/n1`, p);
      return p;
    },
    identity,
    commit: (files, message) => commitFiles(dir, files, message),
    wait: (rev, timeoutS = 60) => canopyAsync(['wait', '--repo', dir, '--rev', rev, '--timeout', String(timeoutS), '--quiet']),
    async status() {
      const r = await canopyAsync(['status', '--repo', dir, '--json']);
      assert.is(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    },
    async placement(cluster) {
      const p = await placementInGit(await openRepo(dir), cluster);
      if (!p) throw new Error(`no placement ref for ${cluster}`);
      return structuredClone(p);
    },
    async inStep(cluster) {
      const want = (await f.placement(cluster)).version;
      const have = (await f.status()).clusters[cluster]?.applied;
      return have && have.seq === want.seq && have.epoch === want.epoch && have.commit === want.commit ? want : undefined;
    },
    async settled(cluster, ms = 30_000) {
      const v = await eventually(`cluster ${cluster} to report the version of its placement ref`, () => f.inStep(cluster), ms, 200).catch((e: Error) => {
        throw new Error(`${e.message}\n${f.logs()}`);
      });
      return v!;
    },
    spy: (cred, ...filters) => f.spyAt(broker.url, cred, ...filters),
    async spyAt(url, cred, ...filters) {
      const b = await client(cred, { url });
      const s: Spy = { got: [], refused: [] };
      for (const filter of filters) {
        await b.subscribe(filter, (topic, payload) => s.got.push(seen(topic, payload))).catch(() => s.refused.push(filter));
      }
      return s;
    },
    client,
    logs: () => [...procs].map(([k, p]) => `--- ${k}\n${p.output().slice(-3000)}`).join('\n'),
    async stop() {
      await Promise.all(open.map((b) => b.close().catch(() => undefined)));
      for (const p of procs.values()) await p.kill('SIGTERM');
      await broker.stop();
    },
  };
  for (const c of ['munich', 'paris'] as const) {
    await f.startCluster(c).waitFor(/running/);
    await f.startAgent(c).waitFor(/running/);
  }
  await f.startRoot().waitFor(/running/);
  return f;
}

function seen(topic: string, payload: Buffer): Seen {
  const text = payload.toString();
  try {
    const v = JSON.parse(text);
    return v && v.signed === 'canopy/v1' ? { topic, text, by: v.by, body: v.body } : { topic, text };
  } catch {
    return { topic, text };
  }
}

function fleetFiles(fleet: string): Record<string, string> {
  const cluster = (c: string, lat: number, lon: number) =>
    `apiVersion: canopy/v1\nkind: Cluster\nmetadata:\n  name: ${c}\nspec:\n  location: { lat: ${lat}, lon: ${lon} }\n`;
  return {
    'fleet.yaml': `apiVersion: canopy/v1\nkind: Fleet\nmetadata:\n  name: ${fleet}\nspec:\n  timings: { heartbeatSeconds: 0.5, unreachableAfterSeconds: 3, statusRefreshSeconds: 5 }\n`,
    'clusters/munich.yaml': cluster('munich', 48.137, 11.575),
    'clusters/paris.yaml': cluster('paris', 48.857, 2.352),
  };
}

/** A container service placed on munich only. */
export function webOnMunich(replicas: number): Record<string, string> {
  return {
    'services/shop/web.yaml': serviceYaml('shop', 'web', {
      runtime: 'container',
      image: IMAGE,
      command: ['sleep', '600'],
      replicas,
      resources: { cpu: 0.1, memory: '16Mi' },
      constraints: { clusters: { names: ['munich'] } },
    }),
  };
}

/** A process service placed on paris only, carrying `marker` in its argv (pgrep finds it). */
export function apiOnParis(replicas: number, marker: string): Record<string, string> {
  return {
    'services/shop/api.yaml': serviceYaml('shop', 'api', {
      runtime: 'process',
      command: ['sh', '-c', 'while :; do sleep 1; done', marker],
      replicas,
      resources: { cpu: 0.1 },
      constraints: { clusters: { names: ['paris'] } },
    }),
  };
}

/** Processes on this machine whose command line contains `marker`. */
export function processes(marker: string): number {
  try {
    return execFileSync('pgrep', ['-f', marker], { encoding: 'utf8' }).split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

/** Running containers of one of the fleet's services, as the Docker CLI lists them. */
export function containersRunning(fleet: string, service: string): number {
  return execFileSync('docker', ['ps', '--filter', `label=canopy.fleet=${fleet}`, '--filter', `label=canopy.service=${service}`, '-q'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean).length;
}

export const literally = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
