// A narrow port over MQTT.js: JSON publish/subscribe at QoS 1 with an online/last-will topic.
// Every socket is TCP_NODELAY (a QoS 1 round trip is 88 ms with Nagle, 0.14 ms without).
// Speaks MQTT 3.1.1 so the embedded broker (aedes) and Mosquitto both serve it; mqtt:// or
// mqtts:// (TLS, connection.ts).
import { MqttClient, type IClientOptions } from 'mqtt';
import type { Logger } from '../core/log.js';
import { withTimeout } from '../core/timeout.js';
import { clientIdOf, type PartIdentity } from '../core/identity.js';
import type { Telemetry } from '../core/telemetry.js';
import { endpointOf, explainConnectError, firstConnection, type BusTls } from './connection.js';

export type { BusTls };

export type Handler = (topic: string, payload: Buffer) => void;

export interface BusStats {
  received: number;
  published: number;
  bytesIn: number;
  bytesOut: number;
  dropped: number;
}

/**
 * What a payload is on the wire: the one place where a part's messages are sealed on the way out
 * and opened on the way in (signatures attach here). A payload that does not open is dropped.
 */
export interface BusCodec {
  encode(topic: string, body: string): string | Buffer;
  decode(topic: string, payload: Buffer): Opened;
}

/** A payload opened, or why not (`reason` labels the drop count: unsigned, untrusted-key, replayed, …). */
export type Opened = { ok: true; payload: Buffer } | { ok: false; error: string; reason?: string; expected?: boolean };

/** Payloads as they are: plain JSON. */
export const plainCodec: BusCodec = { encode: (_topic, body) => body, decode: (_topic, payload) => ({ ok: true, payload }) };

export interface Bus {
  readonly clientId: string;
  /** The part this connection speaks for, when it was given one. */
  readonly identity?: PartIdentity;
  isConnected(): boolean;
  /** This end's address on the current connection to the broker (undefined while disconnected). */
  localAddress?(): string | undefined;
  publish(topic: string, message: unknown, opts?: { retain?: boolean }): Promise<void>;
  /** Clear a retained message. */
  clear(topic: string): Promise<void>;
  subscribe(pattern: string, handler: Handler): Promise<void>;
  /**
   * Subscribe to `pattern` again, so the broker sends its retained messages once more: after
   * this part learned keys that open messages it dropped before it could verify them.
   */
  refresh(pattern: string): Promise<void>;
  /** Called on every (re)connect, after the online message: the place to send full state. */
  onConnect(cb: () => void): void;
  /** Count a message dropped at the boundary (bad payload), and log it once per topic and reason (unsigned, replayed, …). */
  drop(topic: string, error: string): void;
  readonly stats: BusStats;
  close(): Promise<void>;
}

export interface BusOptions {
  /** mqtt://[USER:PASSWORD@]HOST[:PORT] (1883), or mqtts://… (8883) for TLS. */
  url: string;
  /** CA, client certificate and key files for mqtts:// (read once, here). */
  tls?: BusTls;
  /** The broker credential; these take precedence over a user and password in the URL. */
  username?: string;
  password?: string;
  /** Who connects: names the MQTT client (clientIdOf) unless clientId is given. */
  identity?: PartIdentity;
  /** Required without an identity; with one, a suffix distinguishes a second connection. */
  clientId?: string;
  /** Seals and opens payloads (default: plain JSON). */
  codec?: BusCodec;
  /** Where the bus counts messages and reports whether it is connected. */
  telemetry?: Telemetry;
  /** Retained topic set to {online:true} on connect and {online:false} by the last will and on close. */
  onlineTopic?: string;
  log: Logger;
  keepaliveSeconds?: number;
}

export async function connectBus(opts: BusOptions): Promise<Bus> {
  const clientId = opts.clientId ?? (opts.identity ? clientIdOf(opts.identity) : undefined);
  if (!clientId) throw new Error('connectBus: give an identity or a clientId');
  const codec = opts.codec ?? plainCodec;
  const ep = endpointOf(opts);
  const { host, port } = ep;
  const onlinePayload = (online: boolean) => JSON.stringify({ kind: 'online', online, at: new Date().toISOString() });
  const options: IClientOptions = {
    clientId,
    protocolVersion: 4,
    clean: true,
    keepalive: opts.keepaliveSeconds ?? 10,
    reconnectPeriod: 500,
    connectTimeout: 5000,
    resubscribe: true,
    // A running part keeps trying after a refusal (its password may be on its way to the broker
    // during a rotation); connectBus fails fast on one before the first connection instead.
    reconnectOnConnackError: true,
    // No table of 65,536 pre-built message-id buffers (mqtt-packet builds it on the first packet
    // otherwise): 6 MB of heap in every process for a few bytes saved per publish.
    writeCache: false,
    username: ep.username,
    password: ep.password,
    will: opts.onlineTopic
      ? { topic: opts.onlineTopic, payload: Buffer.from(codec.encode(opts.onlineTopic, onlinePayload(false))), qos: 1, retain: true }
      : undefined,
  };
  const client = new MqttClient(ep.connect as never, options);
  const handlers: Array<{ pattern: string; re: RegExp; handler: Handler }> = [];
  const connectCbs: Array<() => void> = [];
  const stats: BusStats = { received: 0, published: 0, bytesIn: 0, bytesOut: 0, dropped: 0 };
  const droppedTopics = new Set<string>();
  const metrics = busMetrics(opts.telemetry, () => client.connected);
  let closing = false;

  client.on('message', (topic, raw) => {
    stats.received++;
    stats.bytesIn += raw.length + topic.length;
    metrics?.received.inc();
    const opened = codec.decode(topic, raw);
    if (!opened.ok) return drop(topic, opened.error, opened.reason ?? 'unopened', opened.expected);
    for (const h of handlers) if (h.re.test(topic)) safely(opts.log, () => h.handler(topic, opened.payload));
  });
  client.on('connect', () => {
    if (connectedOnce) metrics?.reconnects.inc();
    opts.log.debug(`mqtt connected to ${ep.shown} as ${clientId}`);
    if (opts.onlineTopic) client.publish(opts.onlineTopic, codec.encode(opts.onlineTopic, onlinePayload(true)), { qos: 1, retain: true });
    for (const cb of connectCbs) safely(opts.log, cb);
  });
  let lastErr = '';
  let connectedOnce = false;
  client.once('connect', () => {
    connectedOnce = true;
  });
  client.on('error', (e) => {
    const why = explainConnectError(e, ep);
    if (why?.fatal && !connectedOnce) return; // connectBus fails with it (firstConnection)
    const text = why?.fatal ? why.message : `mqtt ${host}:${port}: ${why?.message ?? e.message}`;
    if (text !== lastErr) opts.log.warn(text);
    lastErr = text;
  });
  client.on('offline', () => {
    if (!closing) opts.log.debug(`mqtt offline (${host}:${port}), reconnecting`);
  });

  await firstConnection(client, ep);

  const publish = (topic: string, message: unknown, o: { retain?: boolean } = {}) => {
    const body = codec.encode(topic, typeof message === 'string' ? message : JSON.stringify(message));
    stats.published++;
    stats.bytesOut += body.length + topic.length;
    metrics?.published.inc();
    return new Promise<void>((resolve, reject) => {
      client.publish(topic, body, { qos: 1, retain: o.retain ?? false }, (err) => (err ? reject(err) : resolve()));
    });
  };

  /** `expected`: a drop that is part of normal operation (said at info, not as a warning). */
  const drop = (topic: string, error: string, reason = 'invalid', expected = false) => {
    stats.dropped++;
    metrics?.dropped.inc({ reason });
    // Once per topic and reason, not per topic: a forgery logged on a topic must not hide a
    // replay (or an unsigned payload) there later; a flood of one kind still logs one line. An
    // expected drop (keys still on their way) does not hide a real one of the same reason.
    const seen = `${expected ? 'expected ' : ''}${reason} ${topic}`;
    if (!droppedTopics.has(seen)) {
      droppedTopics.add(seen);
      opts.log[expected ? 'info' : 'warn'](`dropped ${expected ? 'a message not verifiable yet' : 'bad message'}: ${error}`);
    } else opts.log.debug(`dropped bad message: ${error}`);
  };

  return {
    clientId,
    ...(opts.identity ? { identity: opts.identity } : {}),
    isConnected: () => client.connected,
    localAddress: () => (client.connected ? (client.stream as { localAddress?: string } | undefined)?.localAddress : undefined),
    publish,
    clear: (topic) => new Promise((resolve, reject) => client.publish(topic, '', { qos: 1, retain: true }, (e) => (e ? reject(e) : resolve()))),
    async subscribe(pattern, handler) {
      handlers.push({ pattern, re: patternToRegExp(pattern), handler });
      await client.subscribeAsync(pattern, { qos: 1 });
    },
    async refresh(pattern) {
      // MQTT.js skips a filter it is subscribed to unless told `resubscribe`; the broker then
      // replaces the subscription and sends the retained messages again (MQTT 3.1.1, 3.8.4).
      if (client.connected) await client.subscribeAsync({ [pattern]: { qos: 1 }, resubscribe: true } as never);
    },
    onConnect(cb) {
      connectCbs.push(cb);
    },
    drop: (topic, error) => drop(topic, error),
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

function busMetrics(t: Telemetry | undefined, connected: () => boolean) {
  if (!t) return undefined;
  t.health('mqtt', () => (connected() ? { ok: true } : { ok: false, detail: 'not connected to the broker' }));
  const m = {
    received: t.counter('canopy_messages_received_total', 'MQTT messages received (dropped ones included)'),
    published: t.counter('canopy_messages_published_total', 'MQTT messages published'),
    dropped: t.counter('canopy_messages_dropped_total', 'MQTT messages dropped at the boundary, by reason (unsigned, untrusted-key, replayed, invalid, …)'),
    reconnects: t.counter('canopy_broker_reconnects_total', 'Connections to the broker made again after the first one'),
  };
  for (const c of [m.received, m.published, m.reconnects]) c.inc(undefined, 0);
  // The reasons every part can meet, from zero (others, such as the codec's, appear when they happen).
  for (const reason of ['invalid', 'unsigned', 'untrusted-key', 'bad-signature', 'replayed', 'oversized']) m.dropped.inc({ reason }, 0);
  return m;
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
