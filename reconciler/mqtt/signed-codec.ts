// Signed delegation: the broker is not trusted. Every payload a part with a key publishes is
// wrapped in a signed envelope (schemas/messages.ts SignedEnvelope); every payload a part
// receives on a topic it verifies is opened only when it is signed by a key the part trusts
// for that topic, and is not older than the last one it took there. MQTT 3.1.1 has no headers,
// so the signature travels inside the JSON; it covers the topic too, so a message signed for
// one cluster's topic is worthless on another's.
import { verifySignature, type PublicKey, type Signer } from '../core/keys.js';
import type { BusCodec, Opened } from './bus.js';

/** Which keys may sign what arrives on a topic. */
export interface TrustView {
  /**
   * The keys accepted on `topic`; undefined when this part runs unsigned (no keys declared):
   * then a payload is taken as it is (an envelope is opened without a check).
   */
  keysFor(topic: string): readonly PublicKey[] | undefined;
  /** Why no key is trusted on `topic`, when keysFor gave none ("cluster paris declares no key"). */
  whyNone?(topic: string): string;
  /** Keys for `topic` may still be on their way (a cluster learns its nodes' keys with a placement). */
  mayLearn?(topic: string): boolean;
}

export interface SignedCodecOptions {
  /** Signs what this part publishes (a function: chosen per topic); without it, payloads go out plain. */
  signer?: Signer | ((topic: string) => Signer | undefined);
  trust: TrustView;
  clock?: () => number;
  /** Larger payloads are dropped unread (the broker has the same limit). */
  maxBytes: number;
  /**
   * Topics where an older message may legitimately follow a newer one: an online topic's last
   * will was signed when the connection opened, before the "online" message that precedes it.
   */
  unordered?: (topic: string) => boolean;
}

/**
 * The envelope is JSON written in exactly one way, the message's own JSON last and unescaped:
 * `{"signed":"canopy/v1","by":"SHA256:…","at":1765000000000,"sig":"…","body":<message>}`. So the
 * receiver checks the header without parsing the message, verifies the signature over the
 * body's bytes as they came, and parses the message once (schemas/messages.ts SignedEnvelope).
 */
const HEADER = /^\{"signed":"canopy\/v1","by":"(SHA256:[A-Za-z0-9+/]{43})","at":([0-9]{1,16}),"sig":"([A-Za-z0-9+/]{86}==)","body":/;
const HEADER_MAX = 220;
const START = Buffer.from('{"signed":');

/** What the signature covers: the topic, the time and the message's bytes. */
export function signedData(topic: string, at: number, body: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from(`canopy-signed/v1\n${topic}\n${at}\n`), typeof body === 'string' ? Buffer.from(body) : body]);
}

export function signedCodec(o: SignedCodecOptions): BusCodec {
  const clock = o.clock ?? Date.now;
  const last = new Map<string, number>();
  let lastAt = 0;
  const open = (topic: string, payload: Buffer): Opened => {
    if (payload.length > o.maxBytes + HEADER_MAX) return fail('oversized', `${topic}: ${payload.length} bytes, over the limit of ${o.maxBytes}`);
    if (payload.length === 0) return { ok: true, payload };
    const keys = o.trust.keysFor(topic);
    const env = envelopeOf(topic, payload);
    if (!keys) return env.ok ? { ok: true, payload: env.value.body } : { ok: true, payload };
    if (!env.ok) return fail(env.reason, env.error);
    const e = env.value;
    const key = keys.find((k) => k.id === e.by);
    if (!key) {
      const trusted = keys.length ? `trusted here: ${keys.map((k) => k.id).join(', ')}` : (o.trust.whyNone?.(topic) ?? 'no key is trusted here');
      // Nothing trusted for the sender yet: its keys come with a message still on its way (a
      // placement names its nodes' keys); the part asks again once they come.
      return {
        ...fail('untrusted-key', `${topic}: signed by ${e.by}, not a key trusted on this topic (${trusted})`),
        expected: keys.length === 0 && !!o.trust.mayLearn?.(topic),
      };
    }
    if (!verifySignature(key, signedData(topic, e.at, e.body), e.sig))
      return fail('bad-signature', `${topic}: the signature by ${e.by} does not match the payload`);
    if (!o.unordered?.(topic)) {
      const prev = last.get(topic) ?? -1;
      // Equal is the same message again (a retained one redelivered on reconnect): harmless.
      if (e.at < prev)
        return fail(
          'replayed',
          `${topic}: signed at ${new Date(e.at).toISOString()}, older than the last message taken here (${new Date(prev).toISOString()}): a replay`,
        );
      last.set(topic, e.at);
    }
    return { ok: true, payload: e.body };
  };
  return {
    encode(topic, body) {
      const signer = typeof o.signer === 'function' ? o.signer(topic) : o.signer;
      if (!signer) return body;
      // Strictly increasing within this process, so two messages in one millisecond keep their order.
      const at = Math.max(clock(), lastAt + 1);
      lastAt = at;
      return `{"signed":"canopy/v1","by":"${signer.id}","at":${at},"sig":"${signer.sign(signedData(topic, at, body))}","body":${body}}`;
    },
    decode: open,
  };
}

function fail(reason: string, error: string): Extract<Opened, { ok: false }> {
  return { ok: false, reason, error };
}

interface Envelope {
  by: string;
  at: number;
  sig: string;
  body: Buffer;
}

function envelopeOf(topic: string, payload: Buffer): { ok: true; value: Envelope } | { ok: false; reason: string; error: string } {
  if (!payload.subarray(0, START.length).equals(START))
    return { ok: false, reason: 'unsigned', error: `${topic}: unsigned payload, where a signed one is required` };
  const m = HEADER.exec(payload.subarray(0, HEADER_MAX).toString('latin1'));
  if (!m || payload[payload.length - 1] !== 0x7d)
    return { ok: false, reason: 'invalid', error: `${topic}: not a canopy signed envelope ({"signed":"canopy/v1","by":…,"at":…,"sig":…,"body":…})` };
  return { ok: true, value: { by: m[1]!, at: Number(m[2]), sig: m[3]!, body: payload.subarray(m[0].length, payload.length - 1) } };
}
