// Secrets at the node: the agent opens its assignment's sealed part (NodeDesired.sealed, sealed
// by its cluster to this node's age recipient) with its own age identity, and gives each replica
// the keys it names: as environment variables, and as files (a container: a read-only bind of a
// file the agent writes under its state directory, mode 0600). Registry credentials are kept for
// the docker driver's pulls (registryAuth). Errors name secrets and keys, never values.
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { NodeDesired, ReplicaSpec } from '../schemas/messages.js';
import { nodeSecretsOf, open, type NodeSecrets } from '../reconciler/core/secrets.js';

export interface WorkloadSecrets {
  env: Record<string, string>;
  /** Docker binds, `host-file:path:ro`. */
  binds: string[];
  /** A process's working directory, which holds its secret files (relative paths). */
  cwd?: string;
}

export interface AgentSecrets {
  /** What replica `r` is given under assignment `a` (undefined: it uses none); throws naming what is missing. */
  forReplica(a: NodeDesired | undefined, r: ReplicaSpec): Promise<WorkloadSecrets | undefined>;
  /** Open the assignment's sealed part ahead of the starts (registry credentials for pulls). */
  open(a: NodeDesired | undefined): Promise<void>;
  /** The credentials for a registry host, from the last opened assignment. */
  registryAuth(host: string): { username: string; password: string } | undefined;
  /** Remove a stopped replica's secret files. */
  forget(replicaId: string): void;
}

/** `identity`: this node's age identity (AGE-SECRET-KEY-1…, from --identity); none: it cannot open secrets. */
/** Write a secret's file, readable by its owner only; returns its path. */
function writeSecret(file: string, value: string): string {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, value, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

export function agentSecrets(identity: string | undefined, stateDir: string): AgentSecrets {
  let last: { sealed: string; value?: NodeSecrets; error?: string } | undefined;
  const dirOf = (id: string) => path.join(stateDir, 'secrets', id.replace(/[^A-Za-z0-9.-]/g, '_'));
  const workDirOf = (id: string) => path.join(stateDir, 'work', id.replace(/[^A-Za-z0-9.-]/g, '_'));
  const written = new Map<string, Set<string>>(); // a process's secret files, removed when it stops
  async function opened(a: NodeDesired | undefined): Promise<NodeSecrets | string> {
    if (!a?.sealed)
      return a?.sealedError ?? 'the cluster handed this node no secrets (it could not open them, or could not seal them to this node: see its log)';
    if (!identity) return 'this node has no age identity (--identity FILE) to open them';
    if (last?.sealed !== a.sealed) {
      last = { sealed: a.sealed };
      try {
        last.value = nodeSecretsOf(await open(a.sealed, identity));
      } catch (e) {
        last.error = `the sealed part: ${(e as Error).message}`;
      }
    }
    return last.value ?? last.error!;
  }
  return {
    async open(a) {
      await opened(a);
    },
    registryAuth: (host) => {
      const r = last?.value?.registries;
      return r && Object.hasOwn(r, host) ? r[host] : undefined;
    },
    forget: (id) => {
      rmSync(dirOf(id), { recursive: true, force: true });
      for (const f of written.get(id) ?? []) rmSync(f, { force: true });
      written.delete(id);
    },
    async forReplica(a, r) {
      const refs = r.spec.secrets ?? [];
      if (!refs.length) return undefined;
      const ns = await opened(a);
      const out: WorkloadSecrets = { env: {}, binds: [] };
      const dir = dirOf(r.id);
      for (const [i, ref] of refs.entries()) {
        if (typeof ns === 'string') throw new Error(`secret ${ref.secret}: ${ns}`);
        const value = ns.secrets[ref.secret]?.[ref.key];
        if (value === undefined)
          throw new Error(`secret ${ref.secret}: key ${ref.key} was not handed to this node (its cluster could not open the secret: see its log)`);
        if (ref.env !== undefined) out.env[ref.env] = value;
        else if (ref.file !== undefined && r.spec.runtime === 'container') {
          mkdirSync(dir, { recursive: true, mode: 0o700 });
          out.binds.push(`${writeSecret(path.join(dir, String(i)), value)}:${ref.file}:ro`);
        } else if (ref.file !== undefined) {
          // A process: relative to its working directory (validation refuses absolute paths and ..).
          out.cwd = workDirOf(r.id);
          writeSecret(path.join(out.cwd, ref.file), value);
          (written.get(r.id) ?? written.set(r.id, new Set()).get(r.id)!).add(path.join(out.cwd, ref.file));
        }
      }
      return out;
    },
  };
}
