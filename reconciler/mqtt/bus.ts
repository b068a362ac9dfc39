// A narrow port over MQTT.js: JSON publish/subscribe at QoS 1 with an online/last-will topic.
// Every socket is TCP_NODELAY (a QoS 1 round trip is 88 ms with Nagle, 0.14 ms without).
// Speaks MQTT 3.1.1 so the embedded broker (aedes) and Mosquitto both serve it.
import net from 'node:net';
import { MqttClient, type IClientOptions } from 'mqtt';
import type { Logger } from '../core/log.js';
import { withTimeout } from '../core/timeout.js';

export type Handler = (topic: string, payload: Buffer) => void;

export interface BusStats {
  received: number;
  published: number;
  bytesIn: number;
  bytesOut: number;
  dropped: number;
}

export interface Bus {
  readonly clientId: string;
  isConnected(): boolean;
  publish(topic: string, message: unknown, opts?: { retain?: boolean }): Promise<void>;
  /** Clear a retained message. */
  clear(topic: string): Promise<void>;
  subscribe(pattern: string, handler: Handler): Promise<void>;
  /** Called on every (re)connect, after the online message: the place to send full state. */
  onConnect(cb: () => void): void;
  /** Count a message dropped at the boundary (bad payload), and log it once per topic. */
  drop(topic: string, error: string): void;
  readonly stats: BusStats;
  close(): Promise<void>;
}

export interface BusOptions {
  url: string;
  clientId: string;
  /** Retained topic set to {online:true} on connect and {online:false} by the last will and on close. */
  onlineTopic?: string;
  log: Logger;
  keepaliveSeconds?: number;
}

export async function connectBus(opts: BusOptions): Promise<Bus> {
  const u = new URL(opts.url);
  if (u.protocol !== 'mqtt:' && u.protocol !== 'tcp:') throw new Error(`broker URL ${opts.url}: only mqtt://host:port is supported`);
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || 1883);
  const onlinePayload = (online: boolean) => JSON.stringify({ kind: 'online', online, at: new Date().toISOString() });
  const options: IClientOptions = {
    clientId: opts.clientId,
    protocolVersion: 4,
    clean: true,
    keepalive: opts.keepaliveSeconds ?? 10,
    reconnectPeriod: 500,
    connectTimeout: 5000,
    resubscribe: true,
    // No table of 65,536 pre-built message-id buffers (mqtt-packet builds it on the first packet
    // otherwise): 6 MB of heap in every process for a few bytes saved per publish.
    writeCache: false,
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    will: opts.onlineTopic ? { topic: opts.onlineTopic, payload: Buffer.from(onlinePayload(false)), qos: 1, retain: true } : undefined,
  };
  const client = new MqttClient(() => net.createConnection({ host, port, noDelay: true }) as never, options);
  const handlers: Array<{ pattern: string; re: RegExp; handler: Handler }> = [];
  const connectCbs: Array<() => void> = [];
  const stats: BusStats = { received: 0, published: 0, bytesIn: 0, bytesOut: 0, dropped: 0 };
  const droppedTopics = new Set<string>();
  let closing = false;

  client.on('message', (topic, payload) => {
    stats.received++;
    stats.bytesIn += payload.length + topic.length;
    for (const h of handlers) if (h.re.test(topic)) safely(opts.log, () => h.handler(topic, payload));
  });
  client.on('connect', () => {
    opts.log.debug(`mqtt connected to ${host}:${port} as ${opts.clientId}`);
    if (opts.onlineTopic) client.publish(opts.onlineTopic, onlinePayload(true), { qos: 1, retain: true });
    for (const cb of connectCbs) safely(opts.log, cb);
  });
  let lastErr = '';
  client.on('error', (e) => {
    if (e.message !== lastErr) opts.log.warn(`mqtt ${host}:${port}: ${e.message}`);
    lastErr = e.message;
  });
  client.on('offline', () => {
    if (!closing) opts.log.debug(`mqtt offline (${host}:${port}), reconnecting`);
  });

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.removeListener('connect', ok);
      reject(new Error(`could not reach the MQTT broker at ${opts.url} within 5 s: is it running? (canopy up embeds one when --broker is not given)`));
      client.end(true);
    }, 5000);
    const ok = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('connect', ok);
  });

  const publish = (topic: string, message: unknown, o: { retain?: boolean } = {}) => {
    const body = typeof message === 'string' ? message : JSON.stringify(message);
    stats.published++;
    stats.bytesOut += body.length + topic.length;
    return new Promise<void>((resolve, reject) => {
      client.publish(topic, body, { qos: 1, retain: o.retain ?? false }, (err) => (err ? reject(err) : resolve()));
    });
  };

  return {
    clientId: opts.clientId,
    isConnected: () => client.connected,
    publish,
    clear: (topic) => new Promise((resolve, reject) => client.publish(topic, '', { qos: 1, retain: true }, (e) => (e ? reject(e) : resolve()))),
    async subscribe(pattern, handler) {
      handlers.push({ pattern, re: patternToRegExp(pattern), handler });
      await client.subscribeAsync(pattern, { qos: 1 });
    },
    onConnect(cb) {
      connectCbs.push(cb);
    },
    drop(topic, error) {
      stats.dropped++;
      if (!droppedTopics.has(topic)) {
        droppedTopics.add(topic);
        opts.log.warn(`dropped bad message: ${error}`);
      } else opts.log.debug(`dropped bad message: ${error}`);
    },
    stats,
    async close() {
      closing = true;
      // Bounded: over a link that died without a FIN (a cut uplink) the acknowledgement of the
      // goodbye and the graceful end would wait forever; the last will says offline anyway.
      if (opts.onlineTopic && client.connected) {
        await withTimeout(publish(opts.onlineTopic, onlinePayload(false), { retain: true }), CLOSE_MS, 'goodbye').catch(() => undefined);
      }
      const ended = await withTimeout(
        client.endAsync(false).then(() => true),
        CLOSE_MS,
        'graceful end',
      ).catch(() => false);
      if (!ended) await new Promise<void>((r) => client.end(true, {}, () => r()));
    },
  };
}

/** How long close() waits for the broker before it drops the connection. */
const CLOSE_MS = 2000;

function safely(log: Logger, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    log.error(`handler failed: ${(e as Error).stack ?? e}`);
  }
}

/** MQTT wildcard pattern → RegExp (+ one level, # the rest). */
export function patternToRegExp(pattern: string): RegExp {
  const levels = pattern.split('/');
  let re = '';
  levels.forEach((p, i) => {
    const sep = i === 0 ? '' : '/';
    // "#" also matches its parent level ("a/#" matches "a"); "+" matches one level, even empty.
    if (p === '#') re += i === 0 ? '.*' : '(?:/.*)?';
    else re += sep + (p === '+' ? '[^/]*' : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  });
  return new RegExp(`^${re}$`);
}
