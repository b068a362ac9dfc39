// Host ports as a placement constraint: a replica that publishes a host port (`8080/tcp`) takes
// it on its node, and no other replica wanting it may share that node. Pure bookkeeping for
// place.ts: which ports each node has handed out in this pass.
import { hostPortsOf } from '../core/service-names.js';
import type { ServiceSpec } from '../../schemas/model.js';

/** node → the host ports (`8080/tcp`) its replicas take. */
export type PortBook = Map<string, Set<string>>;

/** The first of the spec's host ports already taken on the node, if any. */
export function portTaken(book: PortBook, node: string, spec: Pick<ServiceSpec, 'ports' | 'runtime'>): string | undefined {
  const taken = book.get(node);
  if (!taken?.size) return undefined;
  return hostPortsOf(spec).find((p) => taken.has(p));
}

/** Marks the spec's host ports taken on the node. */
export function takePorts(book: PortBook, node: string, spec: Pick<ServiceSpec, 'ports' | 'runtime'>): void {
  const want = hostPortsOf(spec);
  if (!want.length) return;
  const taken = book.get(node) ?? new Set<string>();
  for (const p of want) taken.add(p);
  book.set(node, taken);
}

/**
 * Why no node took a replica when host ports are the reason: every node that qualifies and has
 * room has one of its ports taken. Undefined when some other reason (or none) keeps it out.
 */
export function portsRefusal(fitting: string[], book: PortBook, spec: Pick<ServiceSpec, 'ports' | 'runtime'>): string | undefined {
  if (!fitting.length) return undefined;
  const taken = fitting.map((n) => portTaken(book, n, spec));
  if (taken.some((p) => p === undefined)) return undefined;
  const ports = [...new Set(taken as string[])];
  const what = ports.length === 1 ? `host port ${ports[0]} is` : `host ports ${ports.join(', ')} are`;
  return `${what} taken on every node that fits (${fitting.join(', ')})`;
}
