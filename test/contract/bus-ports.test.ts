// The bus's ports for identity, payload sealing and telemetry, against a real Mosquitto: a
// part's identity names its MQTT client; every payload goes through the codec both ways (one
// that does not open is dropped and counted, never handed on); the registry sees the counts
// and whether the bus is connected.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { eventually } from '../helpers/canopy.js';
import { connectBus, type Bus, type BusCodec } from '../../reconciler/mqtt/bus.js';
import { createLogger } from '../../reconciler/core/log.js';
import { clusterIdentity } from '../../reconciler/core/identity.js';
import { createTelemetry } from '../../reconciler/core/telemetry.js';

const t = suite('bus ports');
let broker: Mosquitto;
const open: Bus[] = [];
const log = createLogger('bus', 'silent');

t.before(async () => {
  broker = await startMosquitto();
});
t.after(async () => {
  for (const b of open.splice(0)) await b.close();
  await broker.stop();
});

/** Prefixes each payload with a tag; opens only payloads that carry it. */
const tagged = (tag: string): BusCodec => ({
  encode: (_topic, body) => `${tag}:${body}`,
  decode: (topic, payload) => {
    const s = payload.toString();
    return s.startsWith(`${tag}:`) ? { ok: true, payload: Buffer.from(s.slice(tag.length + 1)) } : { ok: false, error: `${topic}: not sealed with ${tag}` };
  },
});

t('an identity names the client; payloads are sealed and opened by the codec; one that does not open is dropped and counted', async () => {
  const telemetry = createTelemetry();
  const id = clusterIdentity(`ports${process.pid}`, 'munich');
  const sealed = await connectBus({ url: broker.url, identity: id, codec: tagged('k1'), log, telemetry });
  open.push(sealed);
  assert.is(sealed.clientId, `canopy-ports${process.pid}-cluster-munich`);
  assert.equal(sealed.identity, id);
  const plain = await connectBus({ url: broker.url, clientId: `plain-${process.pid}`, log });
  open.push(plain);
  const got: string[] = [];
  const raw: string[] = [];
  await sealed.subscribe('ports/in', (_t, p) => got.push(p.toString()));
  await plain.subscribe('ports/out', (_t, p) => raw.push(p.toString()));
  await sealed.publish('ports/out', { hello: 1 });
  await eventually('the sealed message', () => raw.length > 0);
  assert.equal(raw, ['k1:{"hello":1}']);
  await plain.publish('ports/in', 'k1:{"ok":true}');
  await plain.publish('ports/in', '{"forged":true}');
  await eventually('the bad message dropped', () => sealed.stats.dropped > 0);
  await eventually('the good message', () => got.length > 0);
  assert.equal(got, ['{"ok":true}']);
  const families = Object.fromEntries(telemetry.collect().map((f) => [f.name, f]));
  const dropped = families.canopy_messages_dropped_total.samples.filter((s) => s.value > 0);
  assert.equal(dropped, [{ labels: { reason: 'unopened' }, value: 1 }]);
  assert.ok(
    families.canopy_messages_dropped_total.samples.some((s) => s.labels.reason === 'unsigned' && s.value === 0),
    'the known reasons from zero',
  );
  assert.is(families.canopy_messages_received_total.samples[0].value, 2);
  assert.is(families.canopy_messages_published_total.samples[0].value, 1);
  assert.is(telemetry.checkHealth().ok, true);
  await broker.stop();
  await eventually('health to say the broker is gone', () => !telemetry.checkHealth().ok);
  assert.match(telemetry.checkHealth().checks.mqtt.detail ?? '', /not connected/);
  const reconnects = () => telemetry.collect().find((f) => f.name === 'canopy_broker_reconnects_total')?.samples[0]?.value;
  assert.is(reconnects(), 0, 'the first connection is no reconnect');
  await broker.restart();
  await eventually('the reconnect counted', () => reconnects() === 1);
  assert.is(telemetry.checkHealth().ok, true);
});

t('a bus needs an identity or a client id', async () => {
  const err = await connectBus({ url: broker.url, log }).catch((e: Error) => e);
  assert.instance(err, Error);
  assert.match((err as Error).message, /identity or a clientId/);
});

t.run();
