// A floor measured in the same run as the figure it sits beside: what the work costs without
// canopy. Here, an MQTT QoS 1 request/response round trip through the same broker (MQTT.js,
// two clients, TCP_NODELAY).
import net from 'node:net';
import { MqttClient } from 'mqtt';
import { nowMs } from './stats.js';

async function client(url: string, id: string): Promise<MqttClient> {
  const u = new URL(url);
  const c = new MqttClient(() => net.createConnection({ host: u.hostname, port: Number(u.port), noDelay: true }) as never, {
    clientId: id,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
  });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

/**
 * Round trips of a QoS 1 message through the broker: A publishes a ping, B (subscribed) publishes
 * a pong, A receives it. Returns each round trip in ms.
 */
export async function mqttRoundTrips(url: string, n: number): Promise<number[]> {
  const tag = `${process.pid}-${Date.now()}`;
  const a = await client(url, `bench-ping-${tag}`);
  const b = await client(url, `bench-pong-${tag}`);
  try {
    await b.subscribeAsync(`bench/${tag}/ping`, { qos: 1 });
    b.on('message', (_t, p) => {
      b.publish(`bench/${tag}/pong`, p, { qos: 1 });
    });
    await a.subscribeAsync(`bench/${tag}/pong`, { qos: 1 });
    const out: number[] = [];
    for (let i = 0; i < n + 5; i++) {
      const t0 = nowMs();
      await new Promise<void>((resolve) => {
        a.once('message', () => resolve());
        a.publish(`bench/${tag}/ping`, JSON.stringify({ i, pad: 'x'.repeat(200) }), { qos: 1 });
      });
      if (i >= 5) out.push(nowMs() - t0); // the first few warm up the connection
    }
    return out;
  } finally {
    await a.endAsync(true);
    await b.endAsync(true);
  }
}
