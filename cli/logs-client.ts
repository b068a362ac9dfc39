// `canopy logs`' side of logs on demand: who it is (an operator identity), where the broker is,
// which clusters' answers it trusts, and where a service runs (the clusters' retained status).
// With --repo DIR alone it speaks as `canopy up`'s operator (DIR/.git/canopy-up/identities/
// operator.json) to the broker up wrote in DIR/.git/canopy-up/broker.url, and verifies answers
// by the cluster keys DIR's main declares (clusters/<c>.yaml spec.identity). With --broker URL
// --identity FILE it speaks as that operator; an answer is verified when --repo names the keys,
// else it is taken on the broker's word (only cluster C's user may write C's answer topics).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { connectBus, type Bus } from '../reconciler/mqtt/bus.js';
import { topics, type Topics } from '../reconciler/mqtt/topics.js';
import { operatorTrustView, isUnorderedTopic, TrustStore } from '../reconciler/mqtt/trust.js';
import { signedCodec } from '../reconciler/mqtt/signed-codec.js';
import { MAX_PAYLOAD_BYTES } from '../reconciler/mqtt/limits.js';
import { loadIdentity, type LoadedIdentity } from '../reconciler/core/identity-file.js';
import { openRepo, readCommit, readFileAt } from '../reconciler/git/repo.js';
import { listFiles } from '../reconciler/git/tree.js';
import { declaredKeys } from '../reconciler/core/declare-keys.js';
import { fleetAtMain } from './fleet-repo.js';
import type { Logger } from '../reconciler/core/log.js';
import { parsePayload } from '../schemas/parse.js';
import type { ClusterStatus } from '../schemas/messages.js';

export interface LogsTarget {
  repo?: string;
  broker?: string;
  identity?: string;
}

export interface OperatorSession {
  bus: Bus;
  t: Topics;
  /** The operator's name (its answers' topic), and how to name it in errors. */
  operator: string;
  who: string;
  /** Clusters whose answers are verified by declared keys (undefined: not verified). */
  verified?: Set<string>;
}

/** Connect as the operator `target` names. Throws with what to do when it cannot. */
export async function operatorSession(target: LogsTarget, log: Logger): Promise<OperatorSession> {
  let broker = target.broker;
  let idFile = target.identity;
  let fleet: string | undefined;
  const store = new TrustStore(false, log);
  let verified: Set<string> | undefined;
  if (target.repo) {
    const repo = await openRepo(target.repo);
    const up = path.join(repo.gitdir, 'canopy-up');
    if (!broker) {
      const urlFile = path.join(up, 'broker.url');
      if (!existsSync(urlFile))
        throw new Error(
          `no canopy up has run for ${target.repo} (${urlFile} is missing): start canopy up --repo ${target.repo}, or give --broker URL --identity FILE`,
        );
      broker = readFileSync(urlFile, 'utf8').trim();
      idFile ??= path.join(up, 'identities', 'operator.json');
    }
    const main = await fleetAtMain(repo);
    fleet = main.fleet.metadata.name;
    verified = new Set();
    const files = await listFiles(repo, (await readCommit(repo, main.commit)).tree);
    for (const f of files.keys()) {
      const m = /^clusters\/([a-z0-9-]+)\.yaml$/.exec(f);
      if (!m) continue;
      const keys = declaredKeys(f, await readFileAt(repo, main.commit, f), 'cluster', m[1]!);
      if (keys.length) {
        store.set(`cluster:${m[1]}`, keys);
        verified.add(m[1]!);
      }
    }
    store.signed = verified.size > 0;
    if (!store.signed) verified = undefined;
  }
  if (!broker) throw new Error('give --repo DIR (a running canopy up) or --broker URL --identity FILE');
  const id: LoadedIdentity | undefined = idFile ? loadIdentity(idFile) : undefined;
  if (id && id.identity.role !== 'operator')
    throw new Error(`identity ${idFile} is ${id.identity.role} ${id.identity.name}'s, not an operator's (canopy identity create --operator NAME)`);
  fleet ??= id?.identity.fleet;
  if (!fleet) throw new Error('give --repo DIR or --identity FILE: the fleet’s name comes from one of them');
  const operator = id?.identity.name ?? 'anonymous';
  const t = topics(fleet);
  const codec = signedCodec({ signer: id?.signer, trust: operatorTrustView(store, t, operator), maxBytes: MAX_PAYLOAD_BYTES, unordered: isUnorderedTopic });
  const u = new URL(broker);
  const cred = id && !u.username ? { username: id.identity.mqtt.username, password: id.identity.mqtt.password } : {};
  const tls = id?.identity.tls && broker.startsWith('mqtts:') ? { tls: id.identity.tls } : {};
  const bus = await connectBus({ url: broker, ...cred, ...tls, clientId: `canopy-${fleet}-logs-${operator}-${randomBytes(4).toString('hex')}`, codec, log });
  const who = id ? `operator ${operator} (identity ${idFile})` : 'an anonymous client (no --identity)';
  return { bus, t, operator, who, ...(verified ? { verified } : {}) };
}

/**
 * The clusters' retained statuses, collected until none has come for `quietMs` (at most `maxMs`),
 * or at once when every cluster of `expect` (the declared ones, or the one asked for) has answered.
 */
export async function clusterStatuses(s: OperatorSession, quietMs = 400, maxMs = 3000, expect?: ReadonlySet<string>): Promise<Map<string, ClusterStatus>> {
  const out = new Map<string, ClusterStatus>();
  let last = Date.now();
  await s.bus.subscribe(s.t.allClusterStatus, (topic, payload) => {
    const parts = s.t.parse(topic);
    if (parts?.level !== 'cluster' || !payload.length) return;
    const p = parsePayload('ClusterStatus', payload, topic);
    if (!p.ok) return s.bus.drop(topic, p.error);
    out.set(parts.cluster, p.value);
    last = Date.now();
  });
  const t0 = Date.now();
  last = t0;
  const all = () => !!expect?.size && [...expect].every((c) => out.has(c));
  while (!all() && Date.now() - t0 < maxMs && (Date.now() - last < quietMs || (out.size === 0 && Date.now() - t0 < 1500))) await sleep(10);
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fresh stream id. */
export const streamId = (): string => randomBytes(12).toString('base64url');
