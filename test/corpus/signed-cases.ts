// Forged, replayed and malformed signed payloads, one row each, for every topic a part verifies
// (reconciler/mqtt/signed-codec.ts with the trust views of reconciler/mqtt/trust.ts): the bytes
// that arrive, why the codec refuses them (its reason: unsigned, untrusted-key, bad-signature,
// replayed, invalid, oversized) and what its error must say. Rows whose signature is good and
// whose message is not are the handler's to drop ('handler'): the codec opens them, as it must.
import { generateSigningKey, signerFrom, type Signer } from '../../reconciler/core/keys.js';
import { signedData } from '../../reconciler/mqtt/signed-codec.js';
import { MAX_PAYLOAD_BYTES } from '../../reconciler/mqtt/limits.js';
import type { KeyOwner } from '../../reconciler/mqtt/trust.js';
import { CLUSTER_STATUS, NODE_STATUS, TOPIC, assignment, nextPlacement, set, type Receiver } from './payload-cases.js';

const key = (comment: string) => {
  const k = generateSigningKey(comment);
  return { ...k, signer: signerFrom(k.privateKey) };
};
export const K = {
  root: key('demo/root'),
  root2: key('demo/root (rotated)'),
  munich: key('demo/cluster/munich'),
  munich2: key('demo/cluster/munich (rotated)'),
  paris: key('demo/cluster/paris'),
  n1: key('demo/node/munich/n1'),
  n2: key('demo/node/munich/n2'),
  stranger: key('someone'),
};

/** The keys each receiver trusts, as its level learns them (identity file, placements, fleet.yaml). */
export const TRUSTED: Record<'root' | 'cluster' | 'agent', Partial<Record<KeyOwner, string[]>>> = {
  root: { 'cluster:munich': [K.munich.publicKey], 'cluster:paris': [K.paris.publicKey] },
  cluster: { root: [K.root.publicKey], 'node:munich/n1': [K.n1.publicKey], 'node:munich/n2': [K.n2.publicKey] },
  agent: { 'cluster:munich': [K.munich.publicKey] },
};
export const levelOf = (r: Receiver): keyof typeof TRUSTED => (r.startsWith('root') ? 'root' : r.startsWith('cluster') ? 'cluster' : 'agent');

/** The time a receiver last took a message on the topic (each world opens a genuine one first). */
export const NOW = 1_765_000_000_000;
/** When a forgery claims to be from: far ahead, so a codec that remembered it would refuse every genuine message after. */
const FUTURE = NOW + 10 ** 9;

/** Who rightly signs each topic, and a message they would send on it. */
export const GENUINE: Record<Receiver, { signer: Signer; body: () => unknown }> = {
  'root status': { signer: K.munich.signer, body: CLUSTER_STATUS },
  'root online': { signer: K.munich.signer, body: () => ({ kind: 'online', online: false, at: '2025-01-01T00:00:00Z' }) },
  'cluster desired': { signer: K.root.signer, body: () => ({ kind: 'snapshot', placement: nextPlacement() }) },
  'cluster node status': { signer: K.n1.signer, body: NODE_STATUS },
  'cluster node online': { signer: K.n1.signer, body: () => ({ kind: 'online', online: false, at: '2025-01-01T00:00:00Z' }) },
  'agent desired': { signer: K.munich.signer, body: () => ({ ...assignment(), seq: 11 }) },
};

/** Another part's key, one the receiver trusts for some other topic or not at all. */
const OTHER_PART: Record<Receiver, [Signer, string]> = {
  'root status': [K.paris.signer, 'cluster paris'],
  'root online': [K.paris.signer, 'cluster paris'],
  'cluster desired': [K.munich.signer, 'the cluster itself'],
  'cluster node status': [K.n2.signer, 'node n2'],
  'cluster node online': [K.n2.signer, 'node n2'],
  'agent desired': [K.root.signer, 'the root'],
};
/** A topic the genuine signer also signs, whose signature must not open this one. */
const OTHER_TOPIC: Record<Receiver, string> = {
  'root status': TOPIC['root online'],
  'root online': TOPIC['root status'],
  'cluster desired': 'canopy/v1/demo/clusters/paris/desired',
  'cluster node status': TOPIC['cluster node online'],
  'cluster node online': TOPIC['cluster node status'],
  'agent desired': 'canopy/v1/demo/clusters/munich/nodes/n2/desired',
};

/** The envelope as the codec writes it, from its parts (any of them may be forged). */
export function envelope(e: { by: string; at: number | string; sig: string; body: string; signed?: string }): string {
  return `{"signed":"${e.signed ?? 'canopy/v1'}","by":"${e.by}","at":${e.at},"sig":"${e.sig}","body":${e.body}}`;
}
/** `body` signed by `signer` for `topic` at `at`. */
export function signed(signer: Signer, topic: string, body: unknown, at = NOW + 1): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return envelope({ by: signer.id, at, sig: signer.sign(signedData(topic, at, text)), body: text });
}

export type Reason = 'unsigned' | 'untrusted-key' | 'bad-signature' | 'replayed' | 'invalid' | 'oversized' | 'handler';

export interface SignedCase {
  name: string;
  to: Receiver;
  topic?: string;
  payload: string | Buffer;
  reason: Reason;
  /** In the error (the codec's, or the handler's drop). */
  want: string;
  /** Keys the receiver trusts instead, for this case (a rotation). */
  trust?: Partial<Record<KeyOwner, string[]>>;
  /** Who rightly signs the receiver's topic in this case's world (default GENUINE's; null: nobody can). */
  signer?: Signer | null;
  /** The fleet declares no keys: the receiver verifies nothing (and still has a payload limit). */
  unsignedFleet?: boolean;
}

let oversized: Buffer | undefined;
/** One payload over the limit, shared by the rows that need it (32 MiB is not made six times). */
export function bigPayload(): Buffer {
  oversized ??= Buffer.alloc(MAX_PAYLOAD_BYTES + 1024, 0x20);
  return oversized;
}

export function signedCases(): SignedCase[] {
  const rows: SignedCase[] = [];
  for (const to of Object.keys(TOPIC) as Receiver[]) {
    const topic = TOPIC[to];
    const { signer, body } = GENUINE[to];
    const text = JSON.stringify(body());
    const good = signed(signer, topic, text, FUTURE);
    const row = (name: string, payload: string | Buffer, reason: Reason, want: string, more: Partial<SignedCase> = {}) =>
      rows.push({ name: `${to}: ${name}`, to, payload, reason, want, ...more });
    const [other, whose] = OTHER_PART[to];

    row('unsigned: the message as it is', text, 'unsigned', 'unsigned payload, where a signed one is required');
    row(
      'signed by a key nobody declared',
      signed(K.stranger.signer, topic, text, FUTURE),
      'untrusted-key',
      `signed by ${K.stranger.signer.id}, not a key trusted on this topic`,
    );
    row(`signed by ${whose}`, signed(other, topic, text, FUTURE), 'untrusted-key', `signed by ${other.id}, not a key trusted on this topic`);
    row('signed for another topic', signed(signer, OTHER_TOPIC[to], text, FUTURE), 'bad-signature', `the signature by ${signer.id} does not match the payload`);
    row(
      'the body changed after signing',
      good.replace(/"at":"2025/, '"at":"2024').replace(/"kind":"/, '"kind":"x'),
      'bad-signature',
      'does not match the payload',
    );
    row('a space added to the body', `${good.slice(0, -2)} }}`, 'bad-signature', 'does not match the payload');
    row('its time changed after signing', good.replace(`"at":${FUTURE}`, `"at":${FUTURE + 1}`), 'bad-signature', 'does not match the payload');
    row(
      'naming the trusted key, signed by another',
      envelope({ by: signer.id, at: FUTURE, sig: K.stranger.signer.sign(signedData(topic, FUTURE, text)), body: text }),
      'bad-signature',
      `the signature by ${signer.id} does not match the payload`,
    );
    row(
      'a signature of zero bytes in the right form',
      envelope({ by: signer.id, at: FUTURE, sig: `${'A'.repeat(86)}==`, body: text }),
      'bad-signature',
      'does not match the payload',
    );
    row(
      'a signature cut short',
      envelope({ by: signer.id, at: FUTURE, sig: `${signer.sign('x').slice(0, 40)}==`, body: text }),
      'invalid',
      'not a canopy signed envelope',
    );
    row(
      'a signature without its padding',
      envelope({ by: signer.id, at: FUTURE, sig: signer.sign(signedData(topic, FUTURE, text)).slice(0, 86), body: text }),
      'invalid',
      'not a canopy signed envelope',
    );
    row('over the payload limit', bigPayload(), 'oversized', `${bigPayload().length} bytes, over the limit of ${MAX_PAYLOAD_BYTES}`);
    row(
      'the fields in another order',
      good.replace(/^\{"signed":"canopy\/v1","by":("[^"]*"),/, '{"by":$1,"signed":"canopy/v1",'),
      'unsigned',
      'unsigned payload',
    );
    row('the envelope pretty-printed', JSON.stringify(JSON.parse(good.replace(/"body":.*\}$/, '"body":0}')), null, 2), 'unsigned', 'unsigned payload');
    row('signed canopy/v2', good.replace('"signed":"canopy/v1"', '"signed":"canopy/v2"'), 'invalid', 'not a canopy signed envelope');
    row(
      'at negative',
      envelope({ by: signer.id, at: -1, sig: signer.sign(signedData(topic, -1, text)), body: text }),
      'invalid',
      'not a canopy signed envelope',
    );
    row('at a string', envelope({ by: signer.id, at: `"${FUTURE}"`, sig: signer.sign('x'), body: text }), 'invalid', 'not a canopy signed envelope');
    row(
      'at of 17 digits',
      envelope({ by: signer.id, at: 10 ** 16, sig: signer.sign(signedData(topic, 10 ** 16, text)), body: text }),
      'invalid',
      'not a canopy signed envelope',
    );
    row('by not a fingerprint', good.replace(signer.id, 'the root'), 'invalid', 'not a canopy signed envelope');
    row('by an MD5 fingerprint', good.replace(signer.id, `MD5:${'ab:'.repeat(15)}ab`), 'invalid', 'not a canopy signed envelope');
    row('the body missing', good.replace(/,"body":.*\}$/, '}'), 'invalid', 'not a canopy signed envelope');
    // The message's own closing brace is then taken for the envelope's: what is signed is not what is left.
    row('the closing brace missing', good.slice(0, -1), 'bad-signature', 'does not match the payload');
    row('the closing brace missing, the message a string', signed(signer, topic, '"x"', FUTURE).slice(0, -1), 'invalid', 'not a canopy signed envelope');
    row('the header alone', '{"signed":"canopy/v1"}', 'invalid', 'not a canopy signed envelope');
    row('an envelope as a JSON list', `[${good}]`, 'unsigned', 'unsigned payload');

    // A good signature over a bad message: the codec opens it, the handler drops it.
    const handler = (name: string, b: unknown, want: string) => row(name, signed(signer, topic, b, NOW + 5), 'handler', want);
    handler('a good signature over text that is not JSON', 'not json', 'not JSON (');
    handler(
      'a good signature over an envelope',
      JSON.parse(signed(signer, topic, text)),
      to === 'cluster desired' ? '/kind: must be one of snapshot, patch' : '/kind: is required',
    );
  }
  return [...rows, ...special()];
}

/** Rows for one topic kind each: replays, rotations, forgeries across levels, and bad messages under good signatures. */
function special(): SignedCase[] {
  const rows: SignedCase[] = [];
  const T = TOPIC;
  const row = (to: Receiver, name: string, payload: string, reason: Reason, want: string, more: Partial<SignedCase> = {}) =>
    rows.push({ name: `${to}: ${name}`, to, payload, reason, want, ...more });
  const replay = (to: Receiver) => {
    const g = GENUINE[to];
    row(
      to,
      'replayed: signed before the last one taken here',
      signed(g.signer, T[to], g.body(), NOW - 60_000),
      'replayed',
      'older than the last message taken here',
    );
  };
  replay('root status');
  replay('cluster desired');
  replay('cluster node status');
  replay('agent desired');
  row(
    'root online',
    'an old last will is still taken (online topics are unordered) — but one signed by paris is not',
    signed(K.paris.signer, T['root online'], GENUINE['root online'].body(), NOW - 60_000),
    'untrusted-key',
    'not a key trusted on this topic',
  );

  // Rotations: the old key is no longer trusted once the new one is.
  row(
    'cluster desired',
    'signed by the root key rotated out',
    signed(K.root.signer, T['cluster desired'], GENUINE['cluster desired'].body(), NOW + 1),
    'untrusted-key',
    `signed by ${K.root.signer.id}`,
    {
      trust: { root: [K.root2.publicKey] },
      signer: K.root2.signer,
    },
  );
  row(
    'agent desired',
    'signed by the cluster key rotated out',
    signed(K.munich.signer, T['agent desired'], GENUINE['agent desired'].body(), NOW + 1),
    'untrusted-key',
    `trusted here: ${K.munich2.signer.id}`,
    {
      trust: { 'cluster:munich': [K.munich2.publicKey] },
      signer: K.munich2.signer,
    },
  );
  row(
    'root status',
    'signed by munich’s key rotated out',
    signed(K.munich.signer, T['root status'], GENUINE['root status'].body(), NOW + 1),
    'untrusted-key',
    `trusted here: ${K.munich2.signer.id}`,
    {
      trust: { 'cluster:munich': [K.munich2.publicKey] },
      signer: K.munich2.signer,
    },
  );
  row(
    'cluster desired',
    'no root key trusted at all',
    signed(K.root.signer, T['cluster desired'], GENUINE['cluster desired'].body(), NOW + 1),
    'untrusted-key',
    'no root key is trusted',
    {
      trust: { root: [] },
      signer: null,
    },
  );

  // Across levels and sites: a part's own key on a topic that is not its own.
  const paris = 'canopy/v1/demo/clusters/paris/status';
  row(
    'root status',
    'munich signing paris’s status',
    signed(K.munich.signer, paris, set(CLUSTER_STATUS(), 'cluster', 'paris'), NOW + 1),
    'untrusted-key',
    `signed by ${K.munich.signer.id}`,
    { topic: paris },
  );
  const n2 = 'canopy/v1/demo/clusters/munich/nodes/n2/status';
  row(
    'cluster node status',
    'n1 signing n2’s status',
    signed(K.n1.signer, n2, set(NODE_STATUS(), 'node', 'n2'), NOW + 1),
    'untrusted-key',
    `signed by ${K.n1.signer.id}`,
    { topic: n2 },
  );
  row(
    'cluster node status',
    'a node nobody declared',
    signed(K.stranger.signer, 'canopy/v1/demo/clusters/munich/nodes/n9/status', set(NODE_STATUS(), 'node', 'n9'), NOW + 1),
    'untrusted-key',
    'node munich/n9 declares no key',
    {
      topic: 'canopy/v1/demo/clusters/munich/nodes/n9/status',
    },
  );
  const n2desired = 'canopy/v1/demo/clusters/munich/nodes/n2/desired';
  row(
    'agent desired',
    'its cluster’s signature on another node’s topic',
    signed(K.munich.signer, n2desired, GENUINE['agent desired'].body(), NOW + 1),
    'untrusted-key',
    'no part of this fleet signs this topic for us',
    { topic: n2desired },
  );
  row(
    'cluster desired',
    'a node signing the cluster’s placement',
    signed(K.n1.signer, T['cluster desired'], GENUINE['cluster desired'].body(), NOW + 1),
    'untrusted-key',
    `signed by ${K.n1.signer.id}`,
  );

  // A fleet that declares no keys verifies nothing, but the payload limit holds there too.
  for (const to of Object.keys(T) as Receiver[])
    rows.push({
      name: `${to}: over the payload limit, in a fleet that runs unsigned`,
      to,
      payload: bigPayload(),
      reason: 'oversized',
      want: 'over the limit of',
      unsignedFleet: true,
    });

  // Good signatures over messages the handler refuses: the signature is the sender's word, not a licence.
  const g = (to: Receiver, name: string, b: unknown, want: string) =>
    row(to, `signed, but ${name}`, signed(GENUINE[to].signer, T[to], b, NOW + 5), 'handler', want);
  g('cluster desired', 'for paris', { kind: 'snapshot', placement: set(nextPlacement(), 'cluster', 'paris') }, 'placement is for demo/paris');
  g('cluster desired', 'of an older epoch', { kind: 'snapshot', placement: set(nextPlacement(), 'version.epoch', 1) }, 'ignoring stale placement #6');
  g(
    'cluster desired',
    'with seq 2^53',
    { kind: 'snapshot', placement: set(nextPlacement(), 'version.seq', 2 ** 53) },
    '/placement/version/seq: must be <= 9007199254740991',
  );
  g('root status', 'naming paris', set(CLUSTER_STATUS(), 'cluster', 'paris'), 'names cluster paris');
  g('cluster node status', 'naming n2', set(NODE_STATUS(), 'node', 'n2'), 'names node n2');
  g('agent desired', 'of an older epoch', { ...assignment(), epoch: 2 }, 'epoch 2 is older than 3');
  g('agent desired', 'with a negative seq', { ...assignment(), seq: -1 }, '/seq: must be >= 0');
  g('root online', 'online "yes"', { kind: 'online', online: 'yes', at: '2025-01-01T00:00:00Z' }, '/online: must be boolean');
  return rows;
}
