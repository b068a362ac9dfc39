// The MQTT payload corpus (payload-cases.ts): each bad payload, fed to the handler of the topic
// it arrives on with the level's fake ports (payload-feed.ts), is dropped with its own reason
// naming the topic, and changes nothing: the receiver's state (placement, versions, assignment,
// what it knows of clusters and nodes) is deep-equal before and after, and it was asked to do
// nothing about it (no key queued but a report, nothing journaled, sent or adopted).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { printCount } from '../helpers/corpus.js';
import { PAYLOAD_CASES, TOPIC, type Receiver } from './payload-cases.js';
import { bytesOf, feed } from './payload-feed.js';

const test = suite('corpus: bad MQTT payloads are dropped with a reason, and change nothing');

for (const c of PAYLOAD_CASES) {
  test(c.name, async () => {
    assert.ok(c.want.length > 0, 'the row says what the reason must be');
    const r = await feed(c);
    assert.ok(
      r.reasons.some((x) => x.includes(c.want) && x.includes(r.topic)),
      `${c.name}: no reason with "${c.want}" naming ${r.topic}; got\n  ${r.reasons.map((x) => x.slice(0, 300)).join('\n  ')}`,
    );
    assert.equal(r.after, r.before, `${c.name}: the state changed`);
    assert.equal(r.did, [], `${c.name}: acted on`);
  });
}

test('every receiver has its cases, and the same valid messages are taken (the worlds are not broken)', async () => {
  const by = new Map<Receiver, number>();
  for (const c of PAYLOAD_CASES) by.set(c.to, (by.get(c.to) ?? 0) + 1);
  assert.equal([...by.keys()].sort(), (Object.keys(TOPIC) as Receiver[]).sort());
  for (const [to, n] of by) assert.ok(n >= 10, `${to}: ${n} cases`);
  // The control: in the same world, a good message of each kind is acted on.
  const { CLUSTER_STATUS, NODE_STATUS, assignment, nextPlacement } = await import('./payload-cases.js');
  const good: Array<[Receiver, unknown, string]> = [
    ['root status', { ...CLUSTER_STATUS(), capacity: { cpu: 64, memoryMi: 1, gpu: 0 } }, 'place'],
    ['root online', { kind: 'online', online: false, at: '2025-01-01T00:00:00Z' }, 'place'],
    ['cluster desired', { kind: 'snapshot', placement: nextPlacement() }, 'journal placement'],
    ['cluster node status', { ...NODE_STATUS(), capacity: { cpu: 64, memoryMi: 1, gpu: 0 } }, 'place'],
    ['cluster node online', { kind: 'online', online: false, at: '2025-01-01T00:00:00Z' }, 'later report'],
    ['agent desired', { ...assignment(), seq: 11 }, 'adopted'],
  ];
  for (const [to, payload, did] of good) {
    const r = await feed({ name: `good ${to}`, to, payload: bytesOf(payload), want: '' });
    assert.ok(r.did.includes(did), `${to}: a good message did ${JSON.stringify(r.did)}`);
    assert.not.equal(r.after, r.before, `${to}: a good message changed nothing`);
  }
});

test.after(() => {
  const counts: Record<string, number> = {};
  for (const c of PAYLOAD_CASES) counts[c.to] = (counts[c.to] ?? 0) + 1;
  printCount('payloads', counts);
});

test.run();
