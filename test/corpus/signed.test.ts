// The signed-payload corpus (signed-cases.ts): each forged, replayed or malformed payload goes
// through the receiver's own codec (reconciler/mqtt/signed-codec.ts, with its level's trust
// view and the real payload limit) and, if it opens, to the handler of its topic with fake
// ports (payload-feed.ts), as the bus does. It must be refused for its own reason, with an
// error naming the topic; the receiver's state is deep-equal before and after, nothing is
// acted on; and the codec still takes the next genuine message (what it refused did not move
// its memory of the topic: a forgery dated in the future must not make later messages replays).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { signedCodec } from '../../reconciler/mqtt/signed-codec.js';
import { MAX_PAYLOAD_BYTES } from '../../reconciler/mqtt/limits.js';
import { agentTrustView, clusterTrustView, isOnlineTopic, rootTrustView, TrustStore, type KeyOwner } from '../../reconciler/mqtt/trust.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import type { BusCodec } from '../../reconciler/mqtt/bus.js';
import { printCount } from '../helpers/corpus.js';
import { TOPIC } from './payload-cases.js';
import { feed } from './payload-feed.js';
import { GENUINE, NOW, TRUSTED, levelOf, signed, signedCases, type SignedCase } from './signed-cases.js';

const test = suite('corpus: forged, replayed and malformed signed payloads are refused, and change nothing');
const CASES = signedCases();
const t = topics('demo');

/** The receiver's codec, trusting what its level trusts (or the case's rotation). */
function codecFor(c: SignedCase): BusCodec {
  const level = levelOf(c.to);
  const store = new TrustStore(!c.unsignedFleet);
  for (const [owner, keys] of Object.entries({ ...TRUSTED[level], ...c.trust })) store.set(owner as KeyOwner, keys);
  const view =
    level === 'root' ? rootTrustView(store, t) : level === 'cluster' ? clusterTrustView(store, t, 'munich') : agentTrustView(store, t, 'munich', 'n1');
  return signedCodec({ trust: view, maxBytes: MAX_PAYLOAD_BYTES, unordered: isOnlineTopic, clock: () => NOW });
}

/** The genuine message on the receiver's own topic at `at`: opens, or says why not. */
function genuine(codec: BusCodec, c: SignedCase, at: number): string {
  const signer = c.signer === undefined ? GENUINE[c.to].signer : c.signer;
  if (!signer) return 'ok';
  const r = codec.decode(TOPIC[c.to], Buffer.from(signed(signer, TOPIC[c.to], GENUINE[c.to].body(), at)));
  return r.ok ? 'ok' : r.error;
}

for (const c of CASES) {
  test(c.name, async () => {
    const codec = codecFor(c);
    assert.is(genuine(codec, c, NOW), 'ok', 'the genuine message before it opens');
    const r = await feed({ name: c.name, to: c.to, topic: c.topic, payload: c.payload, want: c.want }, codec);
    if (c.reason === 'handler') assert.is(r.unopened, undefined, `${c.name}: a good signature must open (${r.reasons[0]})`);
    else assert.is(r.unopened, c.reason, `${c.name}: refused as ${r.unopened ?? 'nothing'}, not ${c.reason}: ${r.reasons[0]?.slice(0, 300)}`);
    assert.ok(
      r.reasons.some((x) => x.includes(c.want) && x.includes(r.topic)),
      `${c.name}: no reason with "${c.want}" naming ${r.topic}; got\n  ${r.reasons.map((x) => x.slice(0, 300)).join('\n  ')}`,
    );
    assert.equal(r.after, r.before, `${c.name}: the state changed`);
    assert.equal(r.did, [], `${c.name}: acted on`);
    assert.is(genuine(codec, c, NOW + 10), 'ok', 'the next genuine message still opens');
  });
}

test('the control: the genuine messages open and are acted on, in the same worlds', async () => {
  for (const to of Object.keys(TOPIC) as Array<keyof typeof TOPIC>) {
    const c: SignedCase = { name: `genuine ${to}`, to, payload: '', reason: 'handler', want: '' };
    const r = await feed({ ...c, payload: Buffer.from(signed(GENUINE[to].signer, TOPIC[to], GENUINE[to].body(), NOW + 1)), want: '' }, codecFor(c));
    assert.is(r.unopened, undefined, `${to}: ${r.reasons[0]}`);
    assert.ok(r.did.length > 0, `${to}: a genuine message is acted on`);
  }
});

test('every refusal reason of the codec is exercised on every topic kind', () => {
  const seen = new Map<string, Set<string>>();
  for (const c of CASES) {
    if (!seen.has(c.reason)) seen.set(c.reason, new Set());
    seen.get(c.reason)!.add(c.to);
  }
  for (const reason of ['unsigned', 'untrusted-key', 'bad-signature', 'invalid', 'oversized', 'handler'])
    assert.is(seen.get(reason)?.size, Object.keys(TOPIC).length, `${reason}: ${[...(seen.get(reason) ?? [])].join(', ')}`);
  assert.ok((seen.get('replayed')?.size ?? 0) >= 4, 'replays on every ordered topic kind');
});

test.after(() => {
  const counts: Record<string, number> = {};
  for (const c of CASES) counts[c.reason] = (counts[c.reason] ?? 0) + 1;
  printCount('signed', counts);
});

test.run();
