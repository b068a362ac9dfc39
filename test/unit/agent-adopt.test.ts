// The agent's adopt step and the handlers that feed it: assignments are recorded as they arrive
// and adopted, in order, by the next pass; an older epoch never replaces the one in force.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { adoptAssignments } from '../../agents/steps/adopt.js';
import { newAgentState, type AgentState } from '../../agents/state.js';
import { assignmentReceived, latencyChanged, reconnected, SYNC } from '../../agents/events.js';
import type { NodeDesired } from '../../schemas/messages.js';
import { aReplica, aService } from '../helpers/builders.js';
import { anAssignment, fakePorts } from '../helpers/agent-fakes.js';

const TOPIC = 'canopy/v1/demo/clusters/c1/nodes/n1/desired';
const web0 = aReplica(aService('shop/web'), 0);
const receive = (s: AgentState, ...as: NodeDesired[]) => s.inbox.push(...as.map((assignment) => ({ topic: TOPIC, assignment })));

// --- adoptAssignments ------------------------------------------------------------------------

const Adopt = suite('adoptAssignments');

Adopt('nothing received: nothing adopted, no port called', () => {
  const s = newAgentState(anAssignment([web0]), 2000);
  const p = fakePorts();
  assert.is(adoptAssignments(s, p), false);
  assert.equal([p.saved, p.probed, p.heartbeats, p.dropped], [[], [], [], []]);
});

// name, in force, received (seq/epoch), adopted seq, dropped
const cases: Array<[string, [number, number] | undefined, Array<[number, number]>, number | undefined, number]> = [
  ['the first assignment', undefined, [[1, 0]], 1, 0],
  ['a newer seq, same epoch', [1, 0], [[2, 0]], 2, 0],
  ['a lower seq of the same epoch (the cluster starting over)', [5, 0], [[1, 0]], 1, 0],
  ['a newer epoch', [5, 0], [[1, 1]], 1, 0],
  ['an older epoch is dropped', [5, 2], [[9, 1]], 5, 1],
  [
    'several, in order: the older epoch between them is dropped',
    [1, 1],
    [
      [2, 1],
      [3, 0],
      [4, 1],
    ],
    4,
    1,
  ],
  [
    'several: one of a newer epoch makes the one after it old',
    [1, 0],
    [
      [2, 1],
      [3, 0],
    ],
    2,
    1,
  ],
];
for (const [name, inForce, received, seq, dropped] of cases) {
  Adopt(name, () => {
    const s = newAgentState(inForce ? anAssignment([web0], { seq: inForce[0], epoch: inForce[1] }) : undefined, 2000);
    const p = fakePorts();
    receive(s, ...received.map(([seq, epoch]) => anAssignment([web0], { seq, epoch })));
    const adopted = adoptAssignments(s, p);
    assert.is(s.assignment?.seq, seq);
    assert.is(p.dropped.length, dropped);
    assert.is(adopted, p.saved.length === 1);
    assert.is(s.inbox.length, 0, 'the inbox is emptied');
  });
}

Adopt('a dropped assignment says why', () => {
  const s = newAgentState(anAssignment([], { epoch: 3 }), 2000);
  const p = fakePorts();
  receive(s, anAssignment([], { epoch: 2 }));
  adoptAssignments(s, p);
  assert.equal(p.dropped, [`${TOPIC}: epoch 2 is older than 3`]);
  assert.equal([p.saved, p.probed], [[], []]);
});

Adopt('the adopted assignment is saved and its targets probed, once however many arrived', () => {
  const s = newAgentState(undefined, 2000);
  const p = fakePorts();
  const targets = { edge: { lat: 48, lon: 11, probe: 'edge:80' } };
  receive(s, anAssignment([web0], { seq: 1 }), anAssignment([web0], { seq: 2, targets }));
  adoptAssignments(s, p);
  assert.equal(
    p.saved.map((a) => a.seq),
    [2],
  );
  assert.equal(p.probed, [targets]);
});

Adopt('the heartbeat follows the assignment, and is reset only when it changes', () => {
  const s = newAgentState(undefined, 2000);
  const p = fakePorts();
  receive(s, anAssignment([], { heartbeatSeconds: 2 }));
  adoptAssignments(s, p);
  assert.equal(p.heartbeats, []);
  receive(s, anAssignment([], { heartbeatSeconds: 0.5 }), anAssignment([], { seq: 2 }));
  adoptAssignments(s, p);
  assert.equal(p.heartbeats, [500]);
  assert.is(s.heartbeatMs, 500, 'an assignment without a period keeps the one in force');
});

// --- event handlers ----------------------------------------------------------------------------

const Events = suite('agent events');

const handler = () => {
  const s = newAgentState(undefined, 2000);
  const keys: string[] = [];
  const dropped: string[] = [];
  const h = assignmentReceived(
    s,
    (k) => keys.push(k),
    (_t, e) => dropped.push(e),
  );
  return { s, keys, dropped, h };
};

Events('an assignment is recorded, not adopted, and a pass enqueued', () => {
  const { s, keys, h } = handler();
  h(TOPIC, Buffer.from(JSON.stringify(anAssignment([web0], { seq: 7 }))));
  assert.is(s.assignment, undefined);
  assert.equal(
    s.inbox.map((r) => [r.topic, r.assignment.seq]),
    [[TOPIC, 7]],
  );
  assert.equal(keys, [SYNC]);
});

Events('a cleared retained assignment is ignored: the node keeps running what it was given', () => {
  const { s, keys, dropped, h } = handler();
  h(TOPIC, Buffer.alloc(0));
  assert.equal([s.inbox, keys, dropped], [[], [], []]);
});

const bad: Array<[string, string]> = [
  ['not JSON', '{"kind": "node-desired", "seq": '],
  ['not an assignment', JSON.stringify({ kind: 'node-status' })],
  ['a negative seq', JSON.stringify({ ...anAssignment([]), seq: -1 })],
];
for (const [name, payload] of bad) {
  Events(`${name}: dropped at the boundary, nothing enqueued`, () => {
    const { s, keys, dropped, h } = handler();
    h(TOPIC, Buffer.from(payload));
    assert.is(dropped.length, 1);
    assert.ok(dropped[0].startsWith(TOPIC), dropped[0]);
    assert.equal([s.inbox, keys], [[], []]);
  });
}

Events('a reconnect forgets what was reported, so the next status goes out', () => {
  const s = newAgentState(undefined, 2000);
  s.reportedKey = 'something';
  const keys: string[] = [];
  reconnected(s, (k) => keys.push(k));
  assert.is(s.reportedKey, '');
  assert.equal(keys, [SYNC]);
});

Events('new round trips are kept for the next status', () => {
  const s = newAgentState(undefined, 2000);
  const keys: string[] = [];
  latencyChanged(s, { edge: 4.2 }, (k) => keys.push(k));
  assert.equal(s.latency, { edge: 4.2 });
  assert.equal(keys, [SYNC]);
});

Adopt.run();
Events.run();
