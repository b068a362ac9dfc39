// startAgent as a whole on an in-memory bus and a fake driver: the handlers feed the pass, the
// status goes to the node's retained status topic, the assignment survives a restart of the
// agent (state directory), and the metrics land in the registry it was given.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent } from '../../agents/agent.js';
import type { Bus, Handler } from '../../reconciler/mqtt/bus.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { createTelemetry } from '../../reconciler/core/telemetry.js';
import type { NodeStatus } from '../../schemas/messages.js';
import { aReplica, aService, SINCE } from '../helpers/builders.js';
import { anAssignment, fakeDriver, memoryLog } from '../helpers/agent-fakes.js';

const t = topics('demo');
const web0 = aReplica(aService('shop/web'), 0);

/** A bus that keeps what is published and hands subscribed topics what a test sends. */
function memoryBus() {
  const handlers = new Map<string, Handler>();
  const connects: Array<() => void> = [];
  const published: Array<{ topic: string; message: unknown; retain?: boolean }> = [];
  const dropped: string[] = [];
  const bus: Bus = {
    clientId: 'test',
    isConnected: () => true,
    publish: async (topic, message, opts) => void published.push({ topic, message, retain: opts?.retain }),
    clear: async () => undefined,
    subscribe: async (pattern, h) => void handlers.set(pattern, h),
    refresh: async () => undefined,
    onConnect: (cb) => void connects.push(cb),
    drop: (_topic, error) => void dropped.push(error),
    stats: { received: 0, published: 0, bytesIn: 0, bytesOut: 0, dropped: 0 },
    close: async () => undefined,
  };
  const send = (topic: string, message: unknown) => handlers.get(topic)?.(topic, Buffer.from(JSON.stringify(message)));
  const statuses = () => published.map((p) => p.message as NodeStatus);
  return {
    bus,
    published,
    dropped,
    send,
    statuses,
    reconnect: () => {
      for (const c of connects) c();
    },
  };
}

const Root = suite('startAgent');
let dir = '';
Root.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'canopy-agent-unit-'));
});
Root.after.each(() => rmSync(dir, { recursive: true, force: true }));

const options = (bus: Bus, driver = fakeDriver(), extra = {}) => ({
  fleet: 'demo',
  cluster: 'c1',
  node: 'n1',
  bus,
  drivers: { container: driver, process: driver },
  stateDir: dir,
  capacity: { cpu: 2, memoryMi: 2048, gpu: 0 },
  heartbeatMs: 60_000,
  log: memoryLog(),
  ...extra,
});

Root('runs what it is assigned and reports it, retained, on its status topic', async () => {
  const m = memoryBus();
  const d = fakeDriver();
  const telemetry = createTelemetry();
  const now = Date.parse(SINCE);
  const agent = await startAgent(options(m.bus, d, { telemetry, now: () => now }));
  try {
    await agent.idle();
    assert.is(m.statuses()[0].appliedSeq, null, 'an agent with no assignment reports at once');
    m.send(t.nodeDesired('c1', 'n1'), anAssignment([web0], { seq: 2 }));
    await agent.idle();
    assert.equal(d.calls, [`start ${web0.id}`]);
    const last = m.published.at(-1)!;
    assert.equal([last.topic, last.retain], [t.nodeStatus('c1', 'n1'), true]);
    assert.equal([m.statuses().at(-1)!.appliedSeq, m.statuses().at(-1)!.at], [2, SINCE.replace('Z', '.000Z')]);
    const replicas = telemetry.collect().find((f) => f.name === 'canopy_agent_replicas')!;
    assert.is(replicas.samples.find((s) => s.labels.state === 'running')?.value, 1);
    assert.is(telemetry.checkHealth().ok, true);
  } finally {
    await agent.stop();
  }
});

Root('a malformed or older assignment is dropped; the one in force stays', async () => {
  const m = memoryBus();
  const d = fakeDriver();
  const agent = await startAgent(options(m.bus, d));
  try {
    m.send(t.nodeDesired('c1', 'n1'), anAssignment([web0], { seq: 5, epoch: 2 }));
    await agent.idle();
    m.send(t.nodeDesired('c1', 'n1'), { kind: 'node-desired' });
    m.send(t.nodeDesired('c1', 'n1'), anAssignment([], { seq: 9, epoch: 1 }));
    await agent.idle();
    assert.is(m.dropped.length, 2);
    assert.equal(d.calls, [`start ${web0.id}`]);
    assert.is(m.statuses().at(-1)!.appliedSeq, 5);
  } finally {
    await agent.stop();
  }
});

Root('a restarted agent goes on with the assignment it saved, and reports again after a reconnect', async () => {
  const m = memoryBus();
  const d = fakeDriver();
  const first = await startAgent(options(m.bus, d));
  m.send(t.nodeDesired('c1', 'n1'), anAssignment([web0], { seq: 7 }));
  await first.idle();
  await first.stop(); // waits for the assignment to be saved
  const again = memoryBus();
  const second = await startAgent(options(again.bus, d));
  try {
    await second.idle();
    assert.is(again.statuses()[0].appliedSeq, 7);
    assert.equal(d.calls, [`start ${web0.id}`], 'the running replica is adopted, not started again');
    again.reconnect();
    await second.idle();
    assert.is(again.published.length, 2);
  } finally {
    await second.stop();
  }
});

Root.run();
