import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { command, Failure, flag, hostPort, text } from '../args.js';
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
  ].join('\n'),
  options: {
    identities: text({ required: true }),
    out: text({ required: true }),
    listen: hostPort(),
    'tls-ca': text(),
    'tls-cert': text(),
    'tls-key': text(),
    'require-certificate': flag(),
  },
  check(v) {
    const problems: string[] = [];
    const tls = v['tls-ca'] !== undefined || v['tls-cert'] !== undefined || v['tls-key'] !== undefined;
    if ((v['tls-cert'] === undefined) !== (v['tls-key'] === undefined))
      problems.push('--tls-cert and --tls-key go together (the broker’s certificate and its key)');
    else if (tls && v['tls-cert'] === undefined) problems.push('--tls-ca needs --tls-cert and --tls-key (the broker’s certificate and its key)');
    if (tls && !v.listen) problems.push('--tls-* configure a listener: give --listen HOST:PORT too');
    if (v['require-certificate'] && v['tls-ca'] === undefined) problems.push('--require-certificate needs --tls-ca (the CA that signs client certificates)');
    return problems;
  },
  async run(v) {
    const out = path.resolve(v.out);
    const listener = v.listen ? listenerOf(v.listen, v['tls-ca'], v['tls-cert'], v['tls-key'], v['require-certificate']) : undefined;
    const { users, notes, skipped } = readUsers(path.resolve(v.identities));
    for (const n of notes) process.stderr.write(`canopy broker-config: ${n}\n`);
    for (const f of skipped) process.stderr.write(`canopy broker-config: skipped ${f}: not an identity file (kind is not Identity)\n`);
    const passwordFile = path.join(out, 'password_file');
    const aclFile = path.join(out, 'acl_file');
    const owner = mosquittoOwner();
    try {
      const files = {
        password_file: renderPasswordFile(users),
        acl_file: renderAclFile(users),
        'mosquitto.conf': renderMosquittoConf({ passwordFile, aclFile, listener }),
      };
      writeBrokerFiles(out, files, owner);
    } catch (e) {
      throw new Failure(`canopy broker-config: cannot write into ${out}: ${(e as Error).message}`);
    }
    process.stdout.write(summary(out, users, listener, Boolean(owner)));
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
    if (!loaded.length) throw new Error(`no identity files under ${dir}: make them with canopy identity create`);
    return { ...usersOf(loaded), skipped };
  } catch (e) {
    throw new Failure(`canopy broker-config: ${(e as Error).message}`);
  }
}

/** The listener, with the TLS files as absolute paths, each checked readable now rather than when Mosquitto starts. */
function listenerOf(
  listen: { host: string; port: number },
  ca: string | undefined,
  cert: string | undefined,
  key: string | undefined,
  requireCertificate: boolean,
): ListenerOptions {
  const readable = (flagName: string, f: string) => {
    const abs = path.resolve(f);
    try {
      accessSync(abs, constants.R_OK);
    } catch (e) {
      throw new Failure(`canopy broker-config: --${flagName} ${abs}: cannot read it (${(e as NodeJS.ErrnoException).code})`);
    }
    return abs;
  };
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
