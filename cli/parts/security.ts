// What a part needs to speak on the bus as itself: its identity file (broker credential and
// signing key), the keys it trusts (a store the level keeps current from signed messages), and
// the codec that signs what it sends and verifies what it reads. A part started without an
// identity runs unsigned, as every part did before keys existed, and says so once.
import type { BusCodec, BusOptions } from '../../reconciler/mqtt/bus.js';
import type { IdentityRole } from '../../reconciler/core/identity.js';
import { loadIdentity, type LoadedIdentity } from '../../reconciler/core/identity-file.js';
import type { Logger } from '../../reconciler/core/log.js';
import { MAX_PAYLOAD_BYTES } from '../../reconciler/mqtt/limits.js';
import { signedCodec, type TrustView } from '../../reconciler/mqtt/signed-codec.js';
import { isUnorderedTopic, type KeyOwner, TrustStore } from '../../reconciler/mqtt/trust.js';
import type { Signer } from '../../reconciler/core/keys.js';

export interface PartSecurity {
  identity?: LoadedIdentity;
  trust: TrustStore;
  codec: BusCodec;
  /** What connectBus needs to reach `url` as this part: its credential, and TLS files for mqtts://. */
  connection(url: string): Pick<BusOptions, 'url' | 'username' | 'password' | 'tls'>;
}

/** --tls-ca, --tls-cert, --tls-key: they win over the identity file's `tls`. */
export interface TlsFlags {
  ca?: string;
  cert?: string;
  key?: string;
}

export interface SecurityOptions {
  /** --identity FILE */
  file?: string;
  /** What this part is: the identity must be this part's. */
  role: IdentityRole;
  name: string;
  fleet?: string;
  log: Logger;
  view(store: TrustStore): TrustView;
  tls?: TlsFlags;
  /** The peer below that reads what this part sends on a topic (root: a cluster; cluster: a node). */
  peerOf?(topic: string): KeyOwner | undefined;
}

export function partSecurity(o: SecurityOptions): PartSecurity {
  const identity = o.file ? loadIdentity(o.file) : undefined;
  if (identity) checkIsMine(identity, o);
  const start = identity?.identity.trust;
  // A cluster trusts the root's keys from the start, a node its cluster's: then it verifies
  // from the first message. The root learns what it verifies from the accepted commit.
  const trust = new TrustStore(!!(start?.root?.length || start?.cluster?.length), o.log);
  if (start?.root) trust.set('root', start.root);
  if (start?.cluster && o.role === 'node') trust.set(`cluster:${o.name.split('/')[0]}`, start.cluster);
  const codec = signedCodec({
    signer: identity && signerChooser(identity, trust, o.peerOf),
    trust: o.view(trust),
    maxBytes: MAX_PAYLOAD_BYTES,
    unordered: isUnorderedTopic,
  });
  return {
    identity,
    trust,
    codec,
    connection(url) {
      const tls = { ...identity?.identity.tls, ...definedOf(o.tls) };
      // The identity file's TLS files serve mqtts:// brokers; flags are taken as given (a flag
      // with mqtt:// is an error the bus explains).
      const useTls = url.startsWith('mqtts:') || Object.keys(definedOf(o.tls)).length > 0;
      const u = new URL(url);
      const cred = identity && !u.username ? { username: identity.identity.mqtt.username, password: identity.identity.mqtt.password } : {};
      return { url, ...cred, ...(useTls && Object.keys(tls).length ? { tls } : {}) };
    },
  };
}

/**
 * The key to sign with on a topic: the current one, unless the peer reading it said (in its
 * status) that it trusts only an older key of ours: a peer that was away while the new key was
 * declared learns it from a message signed by the key it knows, then reports the new one.
 */
function signerChooser(id: LoadedIdentity, store: TrustStore, peerOf?: (topic: string) => KeyOwner | undefined): Signer | ((topic: string) => Signer) {
  if (!id.previous.length || !peerOf) return id.signer;
  return (topic) => {
    const peer = peerOf(topic);
    const trusts = peer && store.trustedBy(peer);
    if (!trusts || trusts.includes(id.signer.id)) return id.signer;
    return id.previous.find((p) => trusts.includes(p.id)) ?? id.signer;
  };
}

function checkIsMine(id: LoadedIdentity, o: SecurityOptions): void {
  const { role, name, fleet } = id.identity;
  const want = o.role === 'root' ? 'the root' : `${o.role} ${o.name}`;
  const have = role === 'root' ? 'the root' : `${role} ${name}`;
  if (role !== o.role || (o.role !== 'root' && name !== o.name)) throw new Error(`identity ${id.file} is ${have}'s, not ${want}'s`);
  if (o.fleet && fleet !== o.fleet) throw new Error(`identity ${id.file} is for fleet ${fleet}, not ${o.fleet}`);
}

/**
 * Said once at start by a part that verifies nothing. (Not "running …": scripts and tests wait
 * for a part's "running" line, which must come when it has started.)
 */
export function warnUnsigned(log: Logger, why: string): void {
  log.warn(`unsigned (${why}): anyone who reaches the broker can command this fleet; give every part an identity (canopy identity create)`);
}

function definedOf(t: TlsFlags | undefined): TlsFlags {
  return Object.fromEntries(Object.entries(t ?? {}).filter(([, v]) => v !== undefined));
}
