// The port every runtime implements. An agent holds one driver per workload kind it can run
// (`container`, `process`); `sim` serves both. Drivers are dumb: they start, stop and list;
// the agent's pure plan decides what to do.
import type { ServiceSpec } from '../../schemas/model.js';
import type { RegistryAuth } from './image-ref.js';

/** One replica to run on this node. */
export interface Workload {
  id: string; // replica id, `app/name#index`
  service: string; // `app/name`
  index: number;
  specHash: string; // a running replica with another hash is replaced
  spec: ServiceSpec;
  /** Variables for the services it may call (CANOPY_ADDR_…, CANOPY_CLOSEST_…: agents/network). */
  env?: Record<string, string>;
  /** Host name → address, for a container's /etc/hosts (`web.shop.canopy`). */
  hosts?: Record<string, string>;
  /** Resolvers for a container (the node's DNS answer for service names). */
  dns?: string[];
  /** Read-only binds for a container, `host-file:path:ro` (its secret files: agents/secrets.ts). */
  binds?: string[];
  /** A process's working directory, when the agent gives it one (its secret files are there). */
  cwd?: string;
}

export type ReplicaPhase = 'starting' | 'running' | 'failed' | 'stopped';

/** What a driver sees of a replica it owns. */
export interface ObservedReplica {
  id: string;
  service: string;
  specHash: string;
  state: ReplicaPhase;
  message?: string; // why it failed, for status ("exited with code 1", "image not found …")
  since: string; // ISO time the state began
  /** Where the runtime published its ports (`8080/tcp` → host port), when it chose them (Docker's ephemeral ports). */
  published?: Record<string, number>;
  /** The image it runs, as a repository digest (`name@sha256:…`), else the image ID (`sha256:…`). */
  image?: string;
}

export interface DriverOptions {
  fleet: string;
  cluster: string;
  node: string;
  stateDir: string; // durable per-node directory (process driver keeps its pid records here)
  /** The node's address (agents/node-address.ts): its workloads get it as CANOPY_NODE_ADDRESS, and host ports are published there (default 0.0.0.0, every address). */
  nodeAddress?: string;
  /** Credentials for a private registry host (the fleet's registries, opened from the node's sealed assignment: agents/secrets.ts); default none. Used by the docker runtime's pulls. */
  registryAuth?: RegistryAuth;
  /** A pull's deadline and how long it may go without progress, ms (default 10 min and 60 s). */
  pull?: { timeoutMs?: number; stallMs?: number };
}

/** The environment canopy gives every workload on the node, whatever its runtime. */
export function nodeEnv(opts: DriverOptions): Record<string, string> {
  return opts.nodeAddress ? { CANOPY_NODE_ADDRESS: opts.nodeAddress } : {};
}

/** A replica's volume as its runtime keeps it: a Docker named volume, a process's directory. */
export interface StoredVolume {
  /** The runtime's name for it (the Docker volume, the directory's name). */
  name: string;
  service: string;
  replica: string;
  volume: string;
  /** `retain: true` when the replica last started: canopy never removes it. */
  retain: boolean;
}

/** A replica's output being read: stop() ends it; `done` settles once it ended (a tail read, or its source closed). */
export interface LogSource {
  done: Promise<void>;
  stop(): void;
}

export interface RuntimeDriver {
  readonly name: 'docker' | 'process' | 'sim';
  /** Every replica this node owns in this runtime, including ones started before a restart. */
  list(): Promise<ObservedReplica[]>;
  /** Start a replica; if one with the same id exists it is removed first. Idempotent. */
  start(w: Workload): Promise<void>;
  /** Stop and remove a replica; no error when it is already gone. */
  stop(id: string): Promise<void>;
  /** Run argv in a running replica (a health probe); resolves to its exit code, rejects past the deadline. Containers only. */
  exec?(id: string, command: string[], timeoutMs: number): Promise<number>;
  /** Call `fn` when what list() shows changes off a start (a pull progressed, ended, or its replica started). */
  onChange?(fn: () => void): void;
  /** The volumes of this node's replicas (agents/steps/volumes.ts removes those of deleted services). */
  volumes?: { list(): Promise<StoredVolume[]>; remove(name: string): Promise<void> };
  /** The last `tail` lines of a replica's output, then (`follow`) each line it prints next (agents/logs.ts bounds them). */
  logs?(id: string, o: { tail: number; follow: boolean }, onLine: (line: string) => void): LogSource;
  /** Release clients; leaves workloads running (a restarted agent adopts them). */
  close(): Promise<void>;
}
