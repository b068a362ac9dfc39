// The broker `canopy up` embeds when no --broker is given: aedes (MQTT 3.1.1) on loopback, its
// server sockets with TCP_NODELAY like every other hop. Deployments use Mosquitto. Given users,
// it refuses anonymous clients and wrong passwords, and holds each user to the topics of its
// part (access.ts: the same table `canopy broker-config` writes Mosquitto's ACL from).
import { timingSafeEqual, createHash } from 'node:crypto';
import net from 'node:net';
import type { IdentityRole } from '../core/identity.js';
import { accessRules, mayPublish, maySubscribe, type AccessRule } from './access.js';
import { MAX_PAYLOAD_BYTES } from './limits.js';

export interface EmbeddedBroker {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface BrokerUser {
  username: string;
  password: string;
  fleet: string;
  role: IdentityRole;
  name: string;
}

export async function startEmbeddedBroker(opts: { host?: string; port?: number; users?: readonly BrokerUser[] } = {}): Promise<EmbeddedBroker> {
  const { Aedes } = await import('aedes');
  const aedes = await Aedes.createBroker(opts.users ? guarded(opts.users) : {});
  const server = net.createServer({ noDelay: true }, (socket) => aedes.handle(socket));
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    url: `mqtt://${host}:${port}`,
    port,
    async close() {
      await new Promise<void>((r) => aedes.close(() => r()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

type Hooks = Pick<import('aedes').AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>;

/** aedes hooks that check each client's password and hold it to its part's topics. */
function guarded(users: readonly BrokerUser[]): Hooks {
  const byName = new Map(users.map((u) => [u.username, { digest: digest(u.password), rules: accessRules(u.fleet, u.role, u.name) }]));
  const rulesOf = new WeakMap<object, AccessRule[]>();
  const refuse = (code: 4 | 5, message: string) => Object.assign(new Error(message), { returnCode: code });
  return {
    authenticate(client, username, password, done) {
      const u = username ? byName.get(username) : undefined;
      // Compared as digests: equal length, constant time.
      if (!u || !password || !timingSafeEqual(digest(password), u.digest)) return done(refuse(username ? 4 : 5, 'not authorized') as never, false);
      rulesOf.set(client, u.rules);
      done(null, true);
    },
    authorizePublish(client, packet, callback) {
      const rules = client ? rulesOf.get(client) : undefined;
      if (!rules || !mayPublish(rules, packet.topic)) return callback(new Error(`not allowed to publish on ${packet.topic}`));
      if (packet.payload.length > MAX_PAYLOAD_BYTES) return callback(new Error(`payload of ${packet.payload.length} bytes is over the limit`));
      callback(null);
    },
    authorizeSubscribe(client, sub, callback) {
      const rules = rulesOf.get(client);
      // Refused: the client is told (SUBACK 0x80) and gets nothing from that filter.
      if (!rules || !maySubscribe(rules, sub.topic)) return callback(null, null);
      callback(null, sub);
    },
  };
}

const digest = (p: string | Buffer) => createHash('sha256').update(p).digest();
