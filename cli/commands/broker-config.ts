import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { ArgProblem, command, custom, Failure, flag, hostPort, text, usageError } from '../args.js';
import { bridgeAddress, bridgeClientId, siteUsers } from '../../reconciler/mqtt/bridge-config.js';
import { bridgeTopics } from '../../reconciler/mqtt/access.js';
import {
  describeUser,
  loadIdentities,
  mosquittoOwner,
  renderAclFile,
  renderMosquittoConf,
  renderPasswordFile,
  usersOf,
  writeBrokerFiles,
  type ListenerOptions,
} from '../../reconciler/mqtt/broker-config.js';

const cmd = command({
  name: 'broker-config',
  summary: 'write Mosquitto’s password file, ACL file and configuration from identity files',
  usage: [
    'Usage: canopy broker-config --identities DIR --out DIR [--listen HOST:PORT] [--tls-ca F --tls-cert F --tls-key F] [--require-certificate]',
    '       canopy broker-config --identities DIR --out DIR --bridge-to URL --cluster C [--bridge-ca F] [--bridge-cert F --bridge-key F] [--listen …]',
    '',
    'Reads every identity file (*.json, kind Identity) under --identities, at any depth, and writes',
    'into --out: password_file (Mosquitto 2 format), acl_file (who may read and write which topic)',
    'and mosquitto.conf (allow_anonymous false, both files, the payload limit), for `mosquitto -c`',
    'or `include_dir`. Of two files with the same MQTT user, the newer (createdAt) is used.',
    '',
    '  --identities DIR        the identity files (canopy identity create)',
    '  --out DIR               where to write the three files (created if missing)',
    '  --listen HOST:PORT      also write a listener (e.g. 0.0.0.0:8883)',
    '  --tls-cert F --tls-key F  the broker’s certificate and key: a TLS listener (needs --listen)',
    '  --tls-ca F              the CA that signs client certificates (and, for clients, the broker’s)',
    '  --require-certificate   clients log in with a certificate signed by --tls-ca instead of a password;',
    '                          its CN is the MQTT user name (e.g. demo.cluster.munich)',
    '',
    'A site broker, bridged to the central one (run it again without --bridge-to for the central broker):',
    '  --bridge-to URL         the central broker, mqtt://HOST[:PORT] or mqtts://HOST[:PORT]; --out then gets the',
    '                          files of cluster C’s own broker: users C, C’s nodes and the operators, with the',
    '                          access rules narrowed to C, and a bridge that logs in centrally as C (its identity',
    '                          file’s credential) and carries only C’s topics, QoS 1: in its desired state and',
    '                          the log requests to it, out its status, online flag and log answers. Node topics',
    '                          stay at the site. The bridge keeps its session (cleansession false), so the central',
    '                          broker queues for the site while the uplink is down (up to its max_queued_messages,',
    '                          1000 by default; the root brings the site up to date by version after that).',
    '                          Run cluster C and its agents with --broker set to this site broker.',
    '  --cluster C             the site’s cluster (needs an identity file in --identities)',
    '  --bridge-ca F           mqtts: the CA of the central broker’s certificate (default: the system’s CAs)',
    '  --bridge-cert F --bridge-key F  mqtts: a client certificate for a central broker that requires one',
    '',
    'mosquitto.conf then holds the cluster’s password (remote_password): it is written readable by its owner only.',
  ].join('\n'),
  options: {
    identities: text({ required: true }),
    out: text({ required: true }),
    listen: hostPort(),
    'tls-ca': text(),
    'tls-cert': text(),
    'tls-key': text(),
    'require-certificate': flag(),
    'bridge-to': custom((t) => {
      try {
        bridgeAddress(t);
      } catch (e) {
        throw new ArgProblem((e as Error).message);
      }
      return t;
    }),
    cluster: text(),
    'bridge-ca': text(),
    'bridge-cert': text(),
    'bridge-key': text(),
  },
  check(v) {
    const problems: string[] = [];
    const tls = v['tls-ca'] !== undefined || v['tls-cert'] !== undefined || v['tls-key'] !== undefined;
    if ((v['tls-cert'] === undefined) !== (v['tls-key'] === undefined))
      problems.push('--tls-cert and --tls-key go together (the broker’s certificate and its key)');
    else if (tls && v['tls-cert'] === undefined) problems.push('--tls-ca needs --tls-cert and --tls-key (the broker’s certificate and its key)');
    if (tls && !v.listen) problems.push('--tls-* configure a listener: give --listen HOST:PORT too');
    if (v['require-certificate'] && v['tls-ca'] === undefined) problems.push('--require-certificate needs --tls-ca (the CA that signs client certificates)');
    return [...problems, ...bridgeProblems(v)];
  },
  async run(v) {
    const out = path.resolve(v.out);
    const idDir = path.resolve(v.identities);
    const read = readUsers(idDir);
    const site = v['bridge-to'] && v.cluster ? siteOf(read.users, v.cluster) : undefined;
    if (site === null)
      throw usageError(this, `--cluster ${v.cluster}: no identity for cluster ${v.cluster} under ${idDir} (canopy identity create --cluster ${v.cluster})`);
    if (!read.users.length) throw new Failure(`canopy broker-config: no identity files under ${idDir}: make them with canopy identity create`);
    const listener = v.listen ? listenerOf(v.listen, v['tls-ca'], v['tls-cert'], v['tls-key'], v['require-certificate']) : undefined;
    for (const n of read.notes) process.stderr.write(`canopy broker-config: ${n}\n`);
    for (const f of read.skipped) process.stderr.write(`canopy broker-config: skipped ${f}: not an identity file (kind is not Identity)\n`);
    const users = site ? site.users : read.users;
    const bridge = site
      ? {
          url: v['bridge-to']!,
          fleet: site.self.fleet,
          cluster: site.self.name,
          username: site.self.username,
          password: site.self.password,
          ...(v['bridge-ca'] ? { ca: readable('bridge-ca', v['bridge-ca']) } : {}),
          ...(v['bridge-cert'] && v['bridge-key'] ? { cert: readable('bridge-cert', v['bridge-cert']), key: readable('bridge-key', v['bridge-key']) } : {}),
        }
      : undefined;
    const passwordFile = path.join(out, 'password_file');
    const aclFile = path.join(out, 'acl_file');
    const owner = mosquittoOwner();
    try {
      const files = {
        password_file: renderPasswordFile(users),
        acl_file: renderAclFile(users),
        'mosquitto.conf': renderMosquittoConf({ passwordFile, aclFile, listener, bridge }),
      };
      writeBrokerFiles(out, files, owner, { secretConf: !!bridge });
    } catch (e) {
      throw new Failure(`canopy broker-config: cannot write into ${out}: ${(e as Error).message}`);
    }
    process.stdout.write(
      summary(out, users, listener, Boolean(owner)) + (bridge ? bridgeSummary(bridge.url, bridge.fleet, bridge.cluster, bridge.username) : ''),
    );
    return 0;
  },
});
export default cmd;

function readUsers(dir: string) {
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    throw new Failure(`canopy broker-config: --identities ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const { loaded, skipped } = loadIdentities(dir);
    return { ...usersOf(loaded), skipped };
  } catch (e) {
    throw new Failure(`canopy broker-config: ${(e as Error).message}`);
  }
}

/** The bridge flags that go together: --bridge-to and --cluster; --bridge-* with an mqtts:// --bridge-to. */
function bridgeProblems(v: { 'bridge-to'?: string; cluster?: string; 'bridge-ca'?: string; 'bridge-cert'?: string; 'bridge-key'?: string }): string[] {
  const problems: string[] = [];
  const to = v['bridge-to'];
  if (to !== undefined && v.cluster === undefined) problems.push('--bridge-to needs --cluster C (the site’s cluster, whose identity logs the bridge in)');
  if (v.cluster !== undefined && to === undefined) problems.push('--cluster is for a site broker: give --bridge-to URL (the central broker) too');
  const tlsFlags = (['bridge-ca', 'bridge-cert', 'bridge-key'] as const).filter((f) => v[f] !== undefined);
  if ((v['bridge-cert'] === undefined) !== (v['bridge-key'] === undefined))
    problems.push('--bridge-cert and --bridge-key go together (the bridge’s client certificate and its key)');
  if (tlsFlags.length && !to?.startsWith('mqtts://')) problems.push(`--${tlsFlags[0]} is for a TLS bridge: give --bridge-to mqtts://HOST:PORT`);
  return problems;
}

/** Cluster C's site: its users (C, its nodes, the operators, rules narrowed to C) and C's own; null when no identity is C's. */
function siteOf(users: ReturnType<typeof usersOf>['users'], cluster: string) {
  return users.some((u) => u.role === 'cluster' && u.name === cluster) ? siteUsers(users, cluster) : null;
}

function bridgeSummary(url: string, fleet: string, cluster: string, username: string): string {
  const t = bridgeTopics(fleet, cluster);
  return [
    '',
    `The site broker of cluster ${cluster} bridges to ${url} as ${username} (client id ${bridgeClientId(fleet, cluster)}):`,
    ...t.in.map((x) => `  in   ${x}`),
    ...t.out.map((x) => `  out  ${x}`),
    `  run cluster ${cluster} and its agents with --broker set to this broker; the central broker's files come from`,
    '  canopy broker-config without --bridge-to (its ACL lets the cluster’s user do what the bridge does).',
    '',
  ].join('\n');
}

/** An absolute path, checked readable now rather than when Mosquitto starts. */
function readable(flagName: string, f: string): string {
  const abs = path.resolve(f);
  try {
    accessSync(abs, constants.R_OK);
  } catch (e) {
    throw new Failure(`canopy broker-config: --${flagName} ${abs}: cannot read it (${(e as NodeJS.ErrnoException).code})`);
  }
  return abs;
}

/** The listener, with the TLS files as absolute paths, each checked readable now rather than when Mosquitto starts. */
function listenerOf(
  listen: { host: string; port: number },
  ca: string | undefined,
  cert: string | undefined,
  key: string | undefined,
  requireCertificate: boolean,
): ListenerOptions {
  const tls = cert && key ? { ...(ca ? { ca: readable('tls-ca', ca) } : {}), cert: readable('tls-cert', cert), key: readable('tls-key', key) } : undefined;
  return { ...listen, ...(tls ? { tls } : {}), ...(requireCertificate ? { requireCertificate } : {}) };
}

function summary(out: string, users: ReturnType<typeof usersOf>['users'], listener: ListenerOptions | undefined, chowned: boolean): string {
  const conf = path.join(out, 'mosquitto.conf');
  const lines = [
    `Wrote ${path.join(out, 'password_file')}, ${path.join(out, 'acl_file')} and ${conf} for ${users.length} user(s):`,
    ...users.map((u) => `  ${u.username.padEnd(Math.max(...users.map((x) => x.username.length)))}  ${describeUser(u)}`),
    '',
    'Next:',
    listener
      ? `  start Mosquitto with: mosquitto -c ${conf}   (listens on ${listener.host}:${listener.port}${listener.tls ? ', TLS' : ''}${listener.requireCertificate ? ', client certificates' : ''})`
      : `  add "include_dir ${out}" to your mosquitto.conf (it has the listener), or give --listen and use mosquitto -c ${conf}`,
    '  after a change (a new or rotated identity), run this again and reload a running Mosquitto: kill -HUP <its pid>',
    '  (it re-reads the password and ACL files).',
    chowned
      ? '  password_file and acl_file belong to user mosquitto: Mosquitto started as root reads them as that user.'
      : '  Mosquitto must be able to read password_file and acl_file as the user it runs as.',
  ];
  if (listener?.requireCertificate) lines.push('  each client certificate must have the part’s MQTT user name as its CN.');
  return lines.join('\n') + '\n';
}
