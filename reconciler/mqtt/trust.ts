// The keys a part trusts, by whom they belong to, and which of them may sign each topic it
// reads. A part starts from its identity file (or, for the root, the accepted commit) and learns
// later keys from signed messages (a placement carries the root's, the cluster's and its nodes'
// keys; a node's assignment its cluster's), so a key is rotated by a commit, with no restart.
import { parsePublicKey, type PublicKey } from '../core/keys.js';
import type { Logger } from '../core/log.js';
import type { TrustView } from './signed-codec.js';
import type { Topics } from './topics.js';

/** Whose keys: `root`, `cluster:<c>`, `node:<c>/<n>`, `operator:<name>`. */
export type KeyOwner = 'root' | `cluster:${string}` | `node:${string}/${string}` | `operator:${string}`;

export class TrustStore {
  private readonly keys = new Map<KeyOwner, PublicKey[]>();
  private readonly texts = new Map<KeyOwner, string>();
  private readonly listeners: Array<(owner: KeyOwner) => void> = [];
  /** What each peer below says it trusts from us (the fingerprints in its status). */
  private readonly peers = new Map<KeyOwner, readonly string[]>();
  /** Verify what arrives (keys are declared); false: run unsigned, as a fleet without keys does. */
  signed: boolean;

  constructor(
    signed: boolean,
    private readonly log?: Logger,
  ) {
    this.signed = signed;
  }

  get(owner: KeyOwner): readonly PublicKey[] {
    return this.keys.get(owner) ?? [];
  }

  /**
   * Trust exactly `texts` for `owner` from now on (an empty list or none: no key). A key that
   * does not parse is left out with a warning. Returns whether anything changed.
   */
  set(owner: KeyOwner, texts: readonly string[] | undefined): boolean {
    const list = texts ?? [];
    const sig = list.join('\n');
    if ((this.texts.get(owner) ?? '') === sig) return false;
    const parsed: PublicKey[] = [];
    for (const t of list) {
      try {
        parsed.push(parsePublicKey(t));
      } catch (e) {
        this.log?.warn(`key of ${owner} ignored: ${(e as Error).message}`);
      }
    }
    if (parsed.length) {
      this.keys.set(owner, parsed);
      this.texts.set(owner, sig);
    } else {
      this.keys.delete(owner);
      this.texts.delete(owner);
    }
    this.log?.debug(`trust ${owner}: ${parsed.map((k) => k.id).join(', ') || 'no key'}`);
    for (const l of this.listeners) l(owner);
    return true;
  }

  /** The fingerprints of the keys trusted for `owner` (what this part reports it trusts). */
  ids(owner: KeyOwner): string[] {
    return this.get(owner).map((k) => k.id);
  }

  /** A peer's status named the keys it trusts from this part. */
  heard(peer: KeyOwner, trusts: readonly string[] | undefined): void {
    if (trusts) this.peers.set(peer, trusts);
  }

  /** The fingerprints `peer` last said it trusts from this part (unknown: undefined). */
  trustedBy(peer: KeyOwner): readonly string[] | undefined {
    return this.peers.get(peer);
  }

  /** Called with each owner whose keys changed (to ask the broker for what was dropped before). */
  onChange(listener: (owner: KeyOwner) => void): void {
    this.listeners.push(listener);
  }

  /** Forget every owner `keep` does not name (a node or cluster no longer declared). */
  retain(prefix: string, keep: ReadonlySet<KeyOwner>): void {
    for (const owner of [...this.keys.keys()]) {
      if (owner.startsWith(prefix) && !keep.has(owner)) {
        this.keys.delete(owner);
        this.texts.delete(owner);
      }
    }
  }
}

/** What the root verifies: each cluster's status and online topics, by that cluster's keys. */
export function rootTrustView(store: TrustStore, t: Topics): TrustView {
  // The root knows every key the accepted commit declares before it subscribes: a cluster with none is not declared.
  const inner = view(store, false, (topic) => {
    const p = t.parse(topic);
    return p?.level === 'cluster' && p.leaf !== 'desired' ? `cluster:${p.cluster}` : undefined;
  });
  // A bridge's notification is Mosquitto's own `0`/`1`, unsigned: only cluster C's broker user may
  // write C's (the ACL), and all it can say is whether the site's link is up.
  return { ...inner, keysFor: (topic) => (t.parse(topic)?.leaf === 'bridge' ? undefined : inner.keysFor(topic)) };
}

/** What cluster `name` verifies: its desired topic by the root's keys, its nodes' topics by each node's. */
export function clusterTrustView(store: TrustStore, t: Topics, name: string): TrustView {
  return view(store, true, (topic) => {
    const p = t.parse(topic);
    if (!p || p.cluster !== name) return undefined;
    if (p.level === 'cluster') return p.leaf === 'desired' ? 'root' : undefined;
    // An operator's log request, by that operator's keys (the placement hands them down).
    if (p.level === 'logs') return p.leaf === 'logs-request' ? `operator:${p.operator}` : undefined;
    return p.leaf === 'desired' || p.leaf === 'logs-request' ? undefined : `node:${name}/${p.node}`;
  });
}

/** What operator `name` verifies: each cluster's status and the answers to its log requests, by that cluster's keys. */
export function operatorTrustView(store: TrustStore, t: Topics, name: string): TrustView {
  return view(store, false, (topic) => {
    const p = t.parse(topic);
    if (p?.level === 'cluster' && p.leaf !== 'desired') return `cluster:${p.cluster}`;
    return p?.level === 'logs' && p.leaf === 'logs-answer' && p.operator === name ? `cluster:${p.cluster}` : undefined;
  });
}

/** What node `node` of `cluster` verifies: its desired topic, by its cluster's keys. */
export function agentTrustView(store: TrustStore, t: Topics, cluster: string, node: string): TrustView {
  return view(store, true, (topic) =>
    topic === t.nodeDesired(cluster, node) || topic === t.nodeLogsRequest(cluster, node) ? `cluster:${cluster}` : undefined,
  );
}

function view(store: TrustStore, learns: boolean, ownerOf: (topic: string) => KeyOwner | undefined): TrustView {
  return {
    mayLearn: (topic) => learns && !!ownerOf(topic),
    keysFor(topic) {
      if (!store.signed) return undefined;
      const owner = ownerOf(topic);
      // A topic no owner signs (not ours to read): nothing on it can be verified, so nothing is taken.
      return owner ? store.get(owner) : [];
    },
    whyNone(topic) {
      const owner = ownerOf(topic);
      if (!owner) return 'no part of this fleet signs this topic for us';
      const [kind, name] = owner.split(':');
      if (kind === 'root') return 'no root key is trusted: fleet.yaml spec.trust.root (canopy identity create --root)';
      if (kind === 'operator') return `operator ${name} is not in fleet.yaml spec.trust.operators as the accepted commit declares them`;
      return `${kind} ${name} declares no key (canopy identity create --${kind} ${name})`;
    },
  };
}

/** Online topics carry a last will signed when the connection opened: their order is not checked. */
export const isOnlineTopic = (topic: string): boolean => topic.endsWith('/online');

/**
 * Log requests and answers: their order is not checked either (two `canopy logs` of one operator
 * share a topic); a request carries its signed time, checked against the clock (reconciler/core/logs.ts).
 */
export const isLogsTopic = (topic: string): boolean => /\/logs\/(request|answer)(\/[^/]+)?$/.test(topic);

/** Topics whose messages may arrive out of order (the signed codec's `unordered`). */
export const isUnorderedTopic = (topic: string): boolean => isOnlineTopic(topic) || isLogsTopic(topic);

/**
 * When keys for some owner change, subscribe again to the patterns `patternsOf` names for it
 * (once per pattern, after `delayMs`): the broker sends the retained messages again, and those
 * dropped before the keys were known are opened now.
 */
export function refreshOnTrust(
  store: TrustStore,
  bus: { refresh(pattern: string): Promise<void> },
  patternsOf: (owner: KeyOwner) => string[],
  log?: Logger,
  delayMs = 50,
): void {
  const due = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  store.onChange((owner) => {
    for (const p of patternsOf(owner)) due.add(p);
    if (timer || !due.size) return;
    timer = setTimeout(() => {
      timer = undefined;
      const list = [...due];
      due.clear();
      for (const p of list) bus.refresh(p).catch((e) => log?.debug(`refreshing ${p}: ${(e as Error).message}`));
    }, delayMs);
    timer.unref?.();
  });
}
