// Oakestra's service IPs (a microservice's `addresses.rr_ip` / `addresses.closest_ip`) → canopy's
// names for the service (issue 15): round-robin `<name>.<app>.canopy`, closest
// `closest.<name>.<app>.canopy`, the host names containers get. Literal uses of those addresses in
// the same SLA's cmd and environment are rewritten to the names, one note per rewrite; a call to a
// service of another app adds it to `uses`. Pure: notes and errors go to the lists it is given.
import { serviceVariable } from '../core/service-names.js';

type Obj = Record<string, unknown>;
export interface Sink {
  errors: string[];
  notes: string[];
}
export type Policy = 'round-robin' | 'closest';
/** One address an SLA gives a service: where it was stated and the canopy name it becomes. */
export interface ServiceAddress {
  ip: string;
  policy: Policy;
  app: string;
  name: string;
  at: string;
}

const KEYS: Record<string, Policy> = { rr_ip: 'round-robin', closest_ip: 'closest' };
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// An IPv4 literal inside a longer text, not part of a longer number: 10.30.31.300 and
// 110.30.31.30 are not 10.30.31.30 (a trailing "." that ends a sentence is fine).
const LITERAL = /(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?!\d|\.\d)/g;

export const hostName = (a: Pick<ServiceAddress, 'policy' | 'app' | 'name'>): string => `${a.policy === 'closest' ? 'closest.' : ''}${a.name}.${a.app}.canopy`;

/** The rr_ip / closest_ip a microservice states (`addresses`, an object); other keys are returned for a note. */
export function addressesOf(s: Sink, v: unknown, at: string, app: string, name: string): { found: ServiceAddress[]; other: Obj } {
  const found: ServiceAddress[] = [],
    other: Obj = {};
  if (v === undefined) return { found, other };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    s.errors.push(`${at}: must be an object such as {"rr_ip": "10.30.0.1"} (got ${JSON.stringify(v)})`);
    return { found, other };
  }
  for (const [k, ip] of Object.entries(v)) {
    const policy = KEYS[k];
    if (!policy) other[k] = ip;
    else if (ip === '' || ip === null) continue;
    else if (typeof ip !== 'string' || !IPV4.test(ip)) s.errors.push(`${at}.${k}: must be an IPv4 address such as "10.30.0.1" (got ${JSON.stringify(ip)})`);
    else found.push({ ip, policy, app, name, at: `${at}.${k}` });
  }
  return { found, other };
}

/** The SLA's addresses by IP, with a note per service; an address stated twice is an error naming both. */
export function addressBook(s: Sink, all: ServiceAddress[]): Map<string, ServiceAddress> {
  const book = new Map<string, ServiceAddress>();
  for (const a of all) {
    const first = book.get(a.ip);
    if (first) {
      s.errors.push(
        `${a.at}: ${a.ip} is also ${first.at} (${first.app}/${first.name}): ${a.app}/${a.name} and ${first.app}/${first.name} cannot share one service address`,
      );
      continue;
    }
    book.set(a.ip, a);
    const variable = serviceVariable(a.app, a.name, a.policy === 'closest' ? 'closest' : 'addr');
    s.notes.push(`${a.app}/${a.name}: ${a.at.replace(/^.*\./, 'addresses.')} ${a.ip} becomes ${hostName(a)} (${a.policy}; ${variable} in workloads)`);
  }
  return book;
}

// Addresses that name the local host or every interface are not calls to a service: kept, no note.
const LOCAL = (ip: string) => ip === '0.0.0.0' || ip.startsWith('127.');

/** `text` with every service address of the book replaced by its name; notes say what changed. */
function rewrite(s: Sink, book: Map<string, ServiceAddress>, who: string, field: string, text: string, used: ServiceAddress[]): string {
  const targets: string[] = [];
  const unknown: string[] = [];
  const out = text.replace(LITERAL, (ip) => {
    const a = book.get(ip);
    if (!a) {
      if (!LOCAL(ip) && !unknown.includes(ip)) unknown.push(ip);
      return ip;
    }
    used.push(a);
    const t = `${a.policy} to ${a.app}/${a.name}`;
    if (!targets.includes(t)) targets.push(t);
    return hostName(a);
  });
  for (const ip of unknown) s.notes.push(`${who}: ${field}: ${ip} is not one of this SLA's service addresses: kept as it is`);
  if (out !== text) s.notes.push(`${who}: ${field}: ${JSON.stringify(text)} → ${JSON.stringify(out)} (${targets.join('; ')})`);
  return out;
}

/**
 * Rewrites the spec's command and env in place (they are the SLA's cmd and environment) and
 * returns the services of other apps it calls, as APP/NAME, in the order first used.
 */
export function rewriteCalls(s: Sink, book: Map<string, ServiceAddress>, app: string, name: string, spec: Obj): string[] {
  const who = `${app}/${name}`,
    used: ServiceAddress[] = [];
  if (Array.isArray(spec.command)) spec.command = spec.command.map((arg: string, k) => rewrite(s, book, who, `cmd[${k}]`, arg, used));
  const env = spec.env as Record<string, string> | undefined;
  if (env) for (const [k, v] of Object.entries(env)) env[k] = rewrite(s, book, who, `environment ${k}`, v, used);
  const uses = [...new Set(used.filter((a) => a.app !== app).map((a) => `${a.app}/${a.name}`))];
  if (uses.length) s.notes.push(`${who}: uses: [${uses.join(', ')}] (it calls services of another app)`);
  return uses;
}
