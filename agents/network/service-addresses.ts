// Virtual addresses for service names (Oakestra's rr_ip, without a tunnel): each service a node's
// workloads may call gets an address of its own in a range the host routes to itself (one
// `local` route: `ip route replace local 198.18.0.0/15 dev lo`, Linux's AnyIP), and the node's
// proxy listens there on the service's own port. A container reaches it through its default
// gateway, so `http://web.shop.canopy/` works with the service's port, two services on one port
// never collide, and round-robin and closest names of one service differ. 198.18.0.0/15 is the
// range RFC 2544 sets aside for benchmarks: no real network uses it. The allocation is kept in
// the state directory, so a restarted agent listens where its running containers were told.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { isIPv4 } from 'node:net';
import { openJournal } from '../../reconciler/core/journal.js';

export const DEFAULT_SERVICE_RANGE = '198.18.0.0/15';
const FILE = 'service-addresses.json';

export interface Cidr {
  base: number;
  size: number;
  text: string;
}

/** Why `text` is not an IPv4 CIDR of at least 256 addresses, or undefined. */
export function rangeProblem(text: string): string | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(text);
  if (!m || !isIPv4(m[1])) return 'expected an IPv4 range such as 198.18.0.0/15';
  const bits = Number(m[2]);
  if (bits < 8 || bits > 24) return 'the prefix must be between /8 and /24 (at least 256 addresses)';
  return undefined;
}

export function parseRange(text: string): Cidr {
  const problem = rangeProblem(text);
  if (problem) throw new Error(`service range ${text}: ${problem}`);
  const [ip, bits] = text.split('/');
  const size = 2 ** (32 - Number(bits));
  const n = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  return { base: n - (n % size), size, text };
}

const ipOf = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

export interface ServiceAddresses {
  readonly range: Cidr;
  /** The address kept for `key` (a service and policy), or a new one: `attempt` > 0 moves past one found taken. */
  addressFor(key: string, attempt?: number): string;
  /** Forget `key` (its service left the node's routes). */
  release(key: string): void;
  /** Write the allocation out (after a sync). */
  save(): Promise<void>;
}

/**
 * The allocator for one node: an address chosen by hashing the node and the key (so nodes that
 * share a host, as `canopy up`'s do, pick different ones), skipping .0 and .255, kept once taken.
 */
export async function serviceAddresses(range: Cidr, node: string, stateDir: string): Promise<ServiceAddresses> {
  const journal = openJournal(stateDir);
  const kept = new Map(Object.entries((await journal.read<Record<string, string>>(FILE)) ?? {}));
  let dirty = false;
  const pick = (key: string, attempt: number) => {
    const h = createHash('sha256').update(`${node}\n${key}\n${attempt}`).digest().readUInt32BE(0);
    for (let i = 0; ; i++) {
      const n = range.base + ((h + i) % range.size);
      const last = n % 256;
      if (last !== 0 && last !== 255) return ipOf(n);
    }
  };
  return {
    range,
    addressFor(key, attempt = 0) {
      const have = kept.get(key);
      if (have && attempt === 0) return have;
      const ip = pick(key, attempt);
      kept.set(key, ip);
      dirty = true;
      return ip;
    },
    release(key) {
      dirty = kept.delete(key) || dirty;
    },
    async save() {
      if (!dirty) return;
      dirty = false;
      await journal.write(FILE, Object.fromEntries(kept));
    },
  };
}

/**
 * Make the host take every address of the range as its own (`ip route replace local RANGE dev lo`:
 * idempotent, gone at reboot). Resolves to undefined on success, else why not (no `ip`, not root).
 */
export function routeRangeLocally(range: Cidr): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('ip', ['route', 'replace', 'local', range.text, 'dev', 'lo'], { timeout: 5000 }, (err, _out, stderr) => {
      if (!err) return resolve(undefined);
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? '`ip` (iproute2) is not installed' : String(stderr || err.message).trim();
      resolve(why);
    });
  });
}
