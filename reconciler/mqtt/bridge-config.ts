// A site broker bridged to the central one (`canopy broker-config --bridge-to URL --cluster C`):
// cluster C and its agents talk to a Mosquitto at their site, and that Mosquitto carries C's
// traffic with the root over one bridge connection, logged in on the central broker as C.
// What crosses, and who the site broker admits, both come from the access table (access.ts):
// the bridge carries only C's own topics (never a node's), and the central broker's ACL for C's
// user already grants exactly that. Rendering is pure; broker-config.ts writes the files.
import { clientIdOf, clusterIdentity } from '../core/identity.js';
import type { IdentityRole } from '../core/identity.js';
import { bridgeTopics, siteRules, type AccessRule } from './access.js';
import { topics as topicsOf } from './topics.js';

/** What siteUsers reads of a broker user (broker-config.ts BrokerUser). */
interface SiteUser {
  role: IdentityRole;
  name: string;
  fleet: string;
  rules: AccessRule[];
}

export interface BridgeOptions {
  /** The central broker: mqtt://HOST[:PORT] or mqtts://HOST[:PORT]. */
  url: string;
  fleet: string;
  cluster: string;
  /** Cluster C's user on the central broker, from its identity file. */
  username: string;
  password: string;
  /** mqtts: the CA of the central broker's certificate (absolute path; else the system's CAs). */
  ca?: string;
  /** mqtts: a client certificate and key (absolute paths), for a central broker that requires one. */
  cert?: string;
  key?: string;
}

/**
 * How the bridge behaves on an uplink that fails for minutes or days: its session on the central
 * broker survives (cleansession false), so the central broker queues C's QoS 1 messages while the
 * link is down (up to its max_queued_messages, 1000 by default; beyond that they are dropped, and
 * the root brings the site up to date by version when it hears from it again); a dead link is
 * noticed within 1.5 keepalives and retried after 1 s, backing off with jitter to 10 s.
 */
export const BRIDGE_KEEPALIVE_S = 20;
export const BRIDGE_RESTART = { baseS: 1, capS: 10 } as const;

/** host, port and TLS of the central broker's URL; throws saying what is wrong. */
export function bridgeAddress(url: string): { host: string; port: number; tls: boolean } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]');
  }
  const tls = u.protocol === 'mqtts:';
  if ((u.protocol !== 'mqtt:' && !tls) || !u.hostname) throw new Error('expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]');
  if (u.username || u.password) throw new Error('no credentials in the URL: the bridge logs in as the cluster (its identity file)');
  if ((u.pathname && u.pathname !== '/') || u.search || u.hash) throw new Error('expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT], nothing after the port');
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port ? Number(u.port) : tls ? 8883 : 1883, tls };
}

/** The bridge's MQTT client id on the central broker: stable, so a reconnect finds its session and queue. */
export function bridgeClientId(fleet: string, cluster: string): string {
  return clientIdOf(clusterIdentity(fleet, cluster), 'bridge');
}

/** The `connection` section of the site broker's mosquitto.conf. */
export function renderBridge(o: BridgeOptions): string[] {
  const a = bridgeAddress(o.url);
  if (/\s/.test(o.password) || /\s/.test(o.username))
    throw new Error(`cluster ${o.cluster}'s credential has white space: Mosquitto's configuration cannot hold it`);
  const id = bridgeClientId(o.fleet, o.cluster);
  const host = a.host.includes(':') ? `[${a.host}]` : a.host;
  const topics = bridgeTopics(o.fleet, o.cluster);
  const lines = [
    '',
    `# The bridge to the central broker: cluster ${o.cluster}'s topics only, logged in as ${o.username}.`,
    `connection canopy-${o.fleet}-${o.cluster}`,
    `address ${host}:${a.port}`,
    `remote_clientid ${id}`,
    `local_clientid ${id}-local`,
    `remote_username ${o.username}`,
  ];
  if (!o.cert) lines.push(`remote_password ${o.password}`);
  if (a.tls) {
    lines.push(o.ca ? `bridge_cafile ${o.ca}` : 'bridge_capath /etc/ssl/certs');
    if (o.cert && o.key) lines.push(`bridge_certfile ${o.cert}`, `bridge_keyfile ${o.key}`);
  }
  lines.push(
    '# Its session outlives a dead uplink: the central broker queues what is sent to the site meanwhile.',
    'cleansession false',
    'local_cleansession false',
    'bridge_protocol_version mqttv311',
    'try_private true',
    '# The link state, on both brokers: `1` once connected, `0` (its last will on the central broker) when',
    '# the link drops, so the root learns the site is cut off (the cluster itself stays connected here).',
    'notifications true',
    `notification_topic ${topicsOf(o.fleet).clusterBridge(o.cluster)}`,
    'bridge_attempt_unsubscribe false',
    'start_type automatic',
    `keepalive_interval ${BRIDGE_KEEPALIVE_S}`,
    `restart_timeout ${BRIDGE_RESTART.baseS} ${BRIDGE_RESTART.capS}`,
    '# in: what the root and the operators send the cluster; out: what it sends them. Its nodes stay here.',
    ...topics.in.map((t) => `topic ${t} in 1`),
    ...topics.out.map((t) => `topic ${t} out 1`),
  );
  return lines;
}

/**
 * The site broker's users: cluster C, its nodes and the operators of C's fleet, each with the
 * table's rules narrowed to C (access.ts siteRules). Throws when no identity is cluster C's.
 */
export function siteUsers<U extends SiteUser>(users: readonly U[], cluster: string): { users: U[]; self: U } {
  const self = users.find((u) => u.role === 'cluster' && u.name === cluster);
  if (!self) throw new Error(`no identity for cluster ${cluster}`);
  const out: U[] = [];
  for (const u of users) {
    if (u.fleet !== self.fleet) continue;
    const rules = siteRules(u.fleet, u.role, u.name, cluster);
    if (rules?.length) out.push({ ...u, rules });
  }
  return { users: out, self };
}
