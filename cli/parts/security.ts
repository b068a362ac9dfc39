// What a part needs to speak on the bus as itself: its identity file (broker credential and
// signing key), the keys it trusts (a store the level keeps current from signed messages), and
// the codec that signs what it sends and verifies what it reads. A part started without an
// identity runs unsigned, as every part did before keys existed, and says so once.
import type { BusCodec } from '../../reconciler/mqtt/bus.js';
import type { IdentityRole } from '../../reconciler/core/identity.js';
import { loadIdentity, type LoadedIdentity } from '../../reconciler/core/identity-file.js';
import type { Logger } from '../../reconciler/core/log.js';
import { MAX_PAYLOAD_BYTES } from '../../reconciler/mqtt/limits.js';
import { signedCodec, type TrustView } from '../../reconciler/mqtt/signed-codec.js';
import { isOnlineTopic, TrustStore } from '../../reconciler/mqtt/trust.js';

export interface PartSecurity {
  identity?: LoadedIdentity;
  trust: TrustStore;
  codec: BusCodec;
  /** The broker URL with the identity's credential in it (unless the URL has one). */
  brokerUrl(url: string): string;
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
  const codec = signedCodec({ signer: identity?.signer, trust: o.view(trust), maxBytes: MAX_PAYLOAD_BYTES, unordered: isOnlineTopic });
  return {
    identity,
    trust,
    codec,
    brokerUrl(url) {
      if (!identity) return url;
      const u = new URL(url);
      if (u.username) return url;
      u.username = identity.identity.mqtt.username;
      u.password = identity.identity.mqtt.password;
      return u.toString();
    },
  };
}

function checkIsMine(id: LoadedIdentity, o: SecurityOptions): void {
  const { role, name, fleet } = id.identity;
  const want = o.role === 'root' ? 'the root' : `${o.role} ${o.name}`;
  const have = role === 'root' ? 'the root' : `${role} ${name}`;
  if (role !== o.role || (o.role !== 'root' && name !== o.name)) throw new Error(`identity ${id.file} is ${have}'s, not ${want}'s`);
  if (o.fleet && fleet !== o.fleet) throw new Error(`identity ${id.file} is for fleet ${fleet}, not ${o.fleet}`);
}

/** Said once at start by a part that verifies nothing. */
export function warnUnsigned(log: Logger, why: string): void {
  log.warn(`running unsigned (${why}): anyone who reaches the broker can command this fleet; give every part an identity (canopy identity create)`);
}
