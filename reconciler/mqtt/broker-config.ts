// What Mosquitto needs to enforce canopy's access table (access.ts), made from the parts'
// identity files: a password file in Mosquitto 2's own format, an ACL file, and a configuration
// snippet (`mosquitto -c` or `include_dir`). Rendering is pure; reading identities and writing
// the three files are the only I/O (`canopy broker-config` is the command).
import { pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { chownSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadIdentity, type LoadedIdentity } from '../core/identity-file.js';
import type { IdentityRole } from '../core/identity.js';
import { accessRules, type AccessRule } from './access.js';
import { renderBridge, type BridgeOptions } from './bridge-config.js';

import { MAX_PACKET_BYTES, MAX_PAYLOAD_BYTES } from './limits.js';

export { MAX_PACKET_BYTES, MAX_PAYLOAD_BYTES };

/**
 * PBKDF2 rounds, as mosquitto_passwd writes by default. Mosquitto recomputes the hash on every
 * connect, and canopy's passwords are 192 random bits (identity-file.ts), so more rounds would
 * cost every reconnect of a fleet and buy nothing against guessing.
 */
export const PASSWORD_ITERATIONS = 101;
const SALT_BYTES = 12;
const HASH_BYTES = 64;

/** One user of the broker: its credential and what it may read and write. */
export interface BrokerUser {
  username: string;
  password: string;
  role: IdentityRole;
  fleet: string;
  name: string;
  rules: AccessRule[];
  /** The identity file it came from. */
  file: string;
  createdAt: string;
}

/** `$7$<iterations>$<salt>$<hash>`: PBKDF2-HMAC-SHA512, base64, as mosquitto_passwd writes it. */
export function hashPassword(password: string, salt: Buffer = randomBytes(SALT_BYTES), iterations = PASSWORD_ITERATIONS): string {
  const hash = pbkdf2Sync(password, salt, iterations, HASH_BYTES, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Does a `$7$…` hash (as in a Mosquitto password file) match this password? */
export function passwordMatches(hashed: string, password: string): boolean {
  const m = /^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(hashed);
  if (!m) return false;
  const want = Buffer.from(m[3]!, 'base64');
  const got = pbkdf2Sync(password, Buffer.from(m[2]!, 'base64'), Number(m[1]), want.length, 'sha512');
  return want.length > 0 && timingSafeEqual(want, got);
}

/**
 * A user name both files can hold unquoted and a certificate's CN can carry: the password file
 * splits at the first colon, and both files are line-based.
 */
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

/**
 * The broker's users, one per MQTT user name. Two files with the same user name are one part's
 * identity before and after a rotation: the newer (createdAt) wins, and a note says so. Two
 * different parts claiming one user name is an error.
 */
export function usersOf(loaded: readonly LoadedIdentity[]): { users: BrokerUser[]; notes: string[] } {
  const byName = new Map<string, BrokerUser>();
  const notes: string[] = [];
  for (const { file, identity: id } of loaded) {
    const username = id.mqtt.username;
    if (!USERNAME.test(username)) {
      throw new Error(`identity ${file}: /mqtt/username "${username}": a broker user name is letters, digits and . _ @ - (no spaces or colons)`);
    }
    const user: BrokerUser = {
      username,
      password: id.mqtt.password,
      role: id.role,
      fleet: id.fleet,
      name: id.name,
      rules: accessRules(id.fleet, id.role, id.name),
      file,
      createdAt: id.createdAt,
    };
    const had = byName.get(username);
    if (!had) {
      byName.set(username, user);
      continue;
    }
    if (had.fleet !== user.fleet || had.role !== user.role || had.name !== user.name) {
      throw new Error(
        `identities ${had.file} (${describeUser(had)}) and ${file} (${describeUser(user)}) both have MQTT user ${username}: give each part its own (canopy identity create)`,
      );
    }
    const [newer, older] = Date.parse(user.createdAt) > Date.parse(had.createdAt) ? [user, had] : [had, user];
    byName.set(username, newer);
    notes.push(`user ${username}: using ${newer.file} (created ${newer.createdAt}), not the older ${older.file} (created ${older.createdAt})`);
  }
  const users = [...byName.values()].sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
  return { users, notes };
}

/** "cluster munich of fleet demo" */
export function describeUser(u: Pick<BrokerUser, 'role' | 'name' | 'fleet'>): string {
  return `${u.role === 'root' ? 'root' : `${u.role} ${u.name}`} of fleet ${u.fleet}`;
}

/** Mosquitto's password_file: `user:$7$…` per line. `salt` is for tests (a fixed salt gives a fixed file). */
export function renderPasswordFile(users: readonly Pick<BrokerUser, 'username' | 'password'>[], salt?: (i: number) => Buffer): string {
  return users.map((u, i) => `${u.username}:${hashPassword(u.password, salt?.(i))}\n`).join('');
}

/** Mosquitto's acl_file: `user NAME`, then `topic read|write PATTERN`, per user. */
export function renderAclFile(users: readonly Pick<BrokerUser, 'username' | 'rules' | 'role' | 'name' | 'fleet'>[]): string {
  const head = "# Written by canopy broker-config from the fleet's identity files (reconciler/mqtt/access.ts): run it again, do not edit.\n";
  const blocks = users.map((u) => [`# ${describeUser(u)}`, `user ${u.username}`, ...u.rules.map((r) => `topic ${r.access} ${r.pattern}`)].join('\n'));
  return `${head}\n${blocks.join('\n\n')}\n`;
}

export interface ListenerOptions {
  host: string;
  port: number;
  /** Absolute paths. A TLS listener needs cert and key; ca verifies client certificates. */
  tls?: { ca?: string; cert: string; key: string };
  /** Client certificates instead of passwords: the certificate's CN is the MQTT user name. */
  requireCertificate?: boolean;
}

/**
 * The configuration snippet: no anonymous clients, the two files, the payload limit, a listener
 * when asked, and a bridge to the central broker for a site broker (bridge-config.ts).
 */
export function renderMosquittoConf(o: { passwordFile: string; aclFile: string; listener?: ListenerOptions; bridge?: BridgeOptions }): string {
  const lines = [
    '# Written by canopy broker-config: run it again, do not edit. Use it with `mosquitto -c FILE`',
    '# or `include_dir DIR` in your own configuration; `kill -HUP` a running Mosquitto to reload it.',
    'allow_anonymous false',
    `password_file ${o.passwordFile}`,
    `acl_file ${o.aclFile}`,
    // max_packet_size, not message_size_limit: Mosquitto 2 recommends it (and notes the other at start).
    `# canopy never sends a payload over ${MAX_PAYLOAD_BYTES} bytes (MAX_PAYLOAD_BYTES in reconciler/mqtt/limits.ts).`,
    `max_packet_size ${MAX_PACKET_BYTES}`,
    "# A QoS 1 round trip takes milliseconds with Nagle's algorithm on, a fraction of one without.",
    'set_tcp_nodelay true',
  ];
  const l = o.listener;
  if (l) {
    lines.push('', `listener ${l.port} ${l.host.replace(/^\[(.*)\]$/, '$1')}`);
    if (l.tls) {
      if (l.tls.ca) lines.push(`cafile ${l.tls.ca}`);
      lines.push(`certfile ${l.tls.cert}`, `keyfile ${l.tls.key}`);
    }
    if (l.requireCertificate) {
      lines.push('# Clients prove who they are with a certificate this CA signed; its CN is their MQTT user name.');
      lines.push('require_certificate true', 'use_identity_as_username true');
    }
  }
  if (o.bridge) lines.push(...renderBridge(o.bridge));
  return lines.join('\n') + '\n';
}

/** Every `*.json` file under dir, at any depth, in a stable order. */
export function findJsonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...findJsonFiles(p));
    else if (e.isFile() && e.name.endsWith('.json')) out.push(p);
  }
  return out.sort();
}

/**
 * The identity files under dir: every `*.json` whose kind is Identity, loaded and checked
 * (loadIdentity throws naming the file). Other JSON files are skipped and named.
 */
export function loadIdentities(dir: string): { loaded: LoadedIdentity[]; skipped: string[] } {
  const loaded: LoadedIdentity[] = [];
  const skipped: string[] = [];
  for (const file of findJsonFiles(dir)) {
    let kind: unknown;
    try {
      kind = (JSON.parse(readFileSync(file, 'utf8')) as { kind?: unknown } | null)?.kind;
    } catch (e) {
      throw new Error(`${file}: not JSON (${(e as Error).message}): remove it from the identities folder or fix it`);
    }
    if (kind === 'Identity') loaded.push(loadIdentity(file));
    else skipped.push(file);
  }
  return { loaded, skipped };
}

/** The three files, by name, as written into the output folder. */
export interface BrokerFiles {
  password_file: string;
  acl_file: string;
  'mosquitto.conf': string;
}

/**
 * Who must read the password and ACL files: Mosquitto started as root reads them after it drops
 * to the user `mosquitto` (its default `user`), also on every reload. Undefined when this process
 * is not root (its files are then the user's to share) or there is no such user.
 */
export function mosquittoOwner(passwd = '/etc/passwd'): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let text: string;
  try {
    text = readFileSync(passwd, 'utf8');
  } catch {
    return undefined;
  }
  const f = text
    .split('\n')
    .find((l) => l.startsWith('mosquitto:'))
    ?.split(':');
  return f && f.length >= 4 ? { uid: Number(f[2]), gid: Number(f[3]) } : undefined;
}

/**
 * Write the files into outDir, each replaced whole (a Mosquitto reloading on SIGHUP never reads
 * half a file). The password file holds hashes: readable by its owner only, and that owner is
 * `owner` (Mosquitto's user) when given, as is the ACL file's. A configuration with a bridge holds
 * the cluster's password in clear (Mosquitto's remote_password): it is kept like the password file.
 */
export function writeBrokerFiles(outDir: string, files: BrokerFiles, owner?: { uid: number; gid: number }, o: { secretConf?: boolean } = {}): string[] {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const [name, text] of Object.entries(files) as Array<[keyof BrokerFiles, string]>) {
    const file = path.join(outDir, name);
    const tmp = `${file}.tmp-${process.pid}`;
    const secret = name === 'password_file' || (name === 'mosquitto.conf' && o.secretConf);
    writeFileSync(tmp, text, { mode: secret ? 0o600 : 0o644 });
    if (owner && (name !== 'mosquitto.conf' || secret)) chownSync(tmp, owner.uid, owner.gid);
    renameSync(tmp, file);
    written.push(file);
  }
  return written;
}
