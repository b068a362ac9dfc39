// Signed delegation: the broker is not trusted. Every payload a part with a key publishes is
// wrapped in a signed envelope (schemas/messages.ts SignedEnvelope); every payload a part
// receives on a topic it verifies is opened only when it is signed by a key the part trusts
// for that topic, and is not older than the last one it took there. MQTT 3.1.1 has no headers,
// so the signature travels inside the JSON; it covers the topic too, so a message signed for
// one cluster's topic is worthless on another's.
import type { SignedEnvelope } from '../../schemas/messages.js';
import { checkValue } from '../../schemas/parse.js';
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
}

export interface SignedCodecOptions {
  /** Signs what this part publishes; without it, payloads go out plain. */
  signer?: Signer;
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

const PREFIX = '{"signed":';
const ENVELOPE_OVERHEAD = 300;

export function signedData(topic: string, at: number, body: string): string {
  return `canopy-signed/v1\n${topic}\n${at}\n${body}`;
}

export function signedCodec(o: SignedCodecOptions): BusCodec {
  const clock = o.clock ?? Date.now;
  const last = new Map<string, number>();
  let lastAt = 0;
  const open = (topic: string, payload: Buffer): Opened => {
    if (payload.length > o.maxBytes + ENVELOPE_OVERHEAD) return fail('oversized', `${topic}: ${payload.length} bytes, over the limit of ${o.maxBytes}`);
    if (payload.length === 0) return { ok: true, payload };
    const keys = o.trust.keysFor(topic);
    const env = envelopeOf(topic, payload);
    if (!keys) return env.ok ? { ok: true, payload: Buffer.from(env.value.body) } : { ok: true, payload };
    if (!env.ok) return fail(env.reason, env.error);
    const e = env.value;
    const key = keys.find((k) => k.id === e.by);
    if (!key) {
      const trusted = keys.length ? `trusted here: ${keys.map((k) => k.id).join(', ')}` : (o.trust.whyNone?.(topic) ?? 'no key is trusted here');
      return fail('untrusted-key', `${topic}: signed by ${e.by}, not a key trusted on this topic (${trusted})`);
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
    return { ok: true, payload: Buffer.from(e.body) };
  };
  return {
    encode(topic, body) {
      if (!o.signer) return body;
      // Strictly increasing within this process, so two messages in one millisecond keep their order.
      const at = Math.max(clock(), lastAt + 1);
      lastAt = at;
      const env: SignedEnvelope = { signed: 'canopy/v1', by: o.signer.id, at, sig: o.signer.sign(signedData(topic, at, body)), body };
      return JSON.stringify(env);
    },
    decode: open,
  };
}

function fail(reason: string, error: string): Opened {
  return { ok: false, reason, error };
}

function envelopeOf(topic: string, payload: Buffer): { ok: true; value: SignedEnvelope } | { ok: false; reason: string; error: string } {
  if (payload.subarray(0, PREFIX.length).toString() !== PREFIX)
    return { ok: false, reason: 'unsigned', error: `${topic}: unsigned payload, where a signed one is required` };
  let data: unknown;
  try {
    data = JSON.parse(payload.toString('utf8'));
  } catch (e) {
    return { ok: false, reason: 'invalid', error: `${topic}: signed envelope is not JSON (${(e as Error).message})` };
  }
  const checked = checkValue('SignedEnvelope', data, `${topic}: signed envelope`);
  return checked.ok ? { ok: true, value: checked.value } : { ok: false, reason: 'invalid', error: checked.error };
}
