// Floors measured in the same run as the figure they sit beside: what the work costs without
// canopy. An MQTT QoS 1 request/response round trip through the same broker (MQTT.js, two
// clients, TCP_NODELAY), and the start of a bare Node.js process.
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { MqttClient } from 'mqtt';
import { nowMs } from './stats.js';

async function client(url: string, id: string): Promise<MqttClient> {
  const u = new URL(url);
  const c = new MqttClient(() => net.createConnection({ host: u.hostname, port: Number(u.port), noDelay: true }) as never, { clientId: id, protocolVersion: 4, clean: true, reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => { c.once('connect', () => resolve()); c.once('error', reject); });
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
    b.on('message', (_t, p) => { b.publish(`bench/${tag}/pong`, p, { qos: 1 }); });
    await a.subscribeAsync(`bench/${tag}/pong`, { qos: 1 });
    const out: number[] = [];
    for (let i = 0; i < n + 5; i++) {
      const t0 = nowMs();
      await new Promise<void>((resolve) => {
        a.once('message', () => resolve());
        a.publish(`bench/${tag}/ping`, JSON.stringify({ i, pad: 'x'.repeat(200) }), { qos: 1 });
      });
      if (i >= 5) out.push(nowMs() - t0);   // the first few warm up the connection
    }
    return out;
  } finally {
    await a.endAsync(true);
    await b.endAsync(true);
  }
}

/** Wall time of `cmd args` run to completion, n times after `warmup` untimed runs (hyperfine-style). */
export function timeCommand(cmd: string, args: string[], n: number, o: { warmup?: number; cwd?: string; env?: NodeJS.ProcessEnv; expect?: number[] } = {}): number[] {
  const out: number[] = [];
  for (let i = 0; i < n + (o.warmup ?? 1); i++) {
    const t0 = nowMs();
    const r = spawnSync(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    const ms = nowMs() - t0;
    const ok = o.expect ?? [0];
    if (r.status === null || !ok.includes(r.status)) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr}`);
    if (i >= (o.warmup ?? 1)) out.push(ms);
  }
  return out;
}
