// Writing one cluster's new placement version: its commit to the placement ref (with a message
// saying what changed), and the send that brings the cluster to it.
import { placementRef } from '../../core/refs.js';
import { timeInto } from '../../core/telemetry.js';
import type { Placement } from '../../../schemas/messages.js';
import type { RootPorts } from '../ports.js';
import type { Pass } from './pass.js';

/** Services named in a placement commit's message; the rest are counted. */
const LISTED = 50;
/** Routes named in a placement commit's message; the rest are counted. */
const ROUTES_LISTED = 20;

/** Commit `doc` to its cluster's placement ref and queue its send. */
export async function writePlacement(
  ports: Pick<RootPorts, 'book' | 'wrote' | 'queue' | 'metrics'>,
  pass: Pick<Pass, 'written'>,
  doc: Placement,
  ids: readonly string[],
  routes: readonly string[] = [],
): Promise<void> {
  await timeInto(ports.metrics.gitWrite, { what: 'placement' }, () => ports.book.commit(doc, placementMessage(doc, ids, routes)));
  ports.wrote(placementRef(doc.cluster));
  ports.queue.enqueue(`send:${doc.cluster}`);
  ports.metrics.placementsWritten.inc();
  pass.written++;
}

/** The placement commit's message: which version from which commit, and what changed (services `ids`, routes `routes`). */
export function placementMessage(doc: Placement, ids: readonly string[], routes: readonly string[] = []): string {
  const { services } = doc;
  const lines = ids.slice(0, LISTED).map((id) => `${id}: ${services[id] ? `${services[id].replicas} replica(s)` : 'removed'}`);
  if (ids.length > LISTED) lines.push(`… and ${ids.length - LISTED} more`);
  const keys = doc.trust
    ? `keys: root ${doc.trust.root?.length ?? 0}, cluster ${doc.trust.cluster?.length ?? 0}, nodes ${Object.keys(doc.trust.nodes ?? {}).length}`
    : '';
  const body = [lines.join('\n') || (routes.length ? '' : '(no services)'), keys, routesLine(doc, routes)].filter(Boolean).join('\n');
  return `placement ${doc.cluster} #${doc.version.seq} from ${doc.version.commit.slice(0, 12)}\n\n${body}`;
}

/** `routes: shop/web (2 clusters), shop/db removed, … and 3 more`. */
function routesLine(doc: Placement, routes: readonly string[]): string {
  if (!routes.length) return '';
  const each = routes.slice(0, ROUTES_LISTED).map((id) => {
    const r = doc.routes?.[id];
    return r ? `${id} (${r.clusters.length} cluster${r.clusters.length === 1 ? '' : 's'})` : `${id} removed`;
  });
  if (routes.length > ROUTES_LISTED) each.push(`… and ${routes.length - ROUTES_LISTED} more`);
  return `routes: ${each.join(', ')}`;
}
