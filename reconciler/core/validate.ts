// Validation of a fleet repository's tree: every descriptor parsed, checked against its schema
// and the layout rules, with each problem at a file:line:column. Pure (text in, problems out),
// so `canopy validate`, CI and the root reconciler all judge a commit the same way. One file on
// its own is parse-descriptor.ts's; the rules across files are fleet-index.ts's, which the root
// keeps between commits so that judging a commit costs what it changed.
import type { ClusterDescriptor, FleetDescriptor, ServiceDescriptor } from '../../schemas/model.js';
import { FleetIndex } from './fleet-index.js';
import { compare, idOf, type FleetFile, type ParseResult, type Problem } from './parse-descriptor.js';

export {
  MAX_DESCRIPTOR_BYTES,
  formatProblem,
  layoutOf,
  parseDescriptor,
  type Descriptor,
  type FleetFile,
  type Kind,
  type Layout,
  type ParseResult,
  type Problem,
} from './parse-descriptor.js';
export { FleetIndex } from './fleet-index.js';

export type FleetValidation =
  | { ok: true; fleet: FleetDescriptor; clusters: ClusterDescriptor[]; services: ServiceDescriptor[] }
  | { ok: false; problems: Problem[] };

/** Validates a whole tree. `cache` (blob oid → result) spares re-parsing unchanged files. */
export function validateFleet(files: FleetFile[], cache?: Map<string, ParseResult>): FleetValidation {
  const index = new FleetIndex(cache);
  index.apply(files.map((f) => [f.path, f] as const));
  return validationOf(index);
}

/** The verdict on an index's tree: its problems, or its descriptors in a stable order. */
export function validationOf(index: FleetIndex): FleetValidation {
  const problems = index.problems();
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    fleet: index.fleet()!,
    clusters: index.accepted('Cluster').sort((a, b) => compare(a.metadata.name, b.metadata.name)),
    services: index.accepted('Service').sort((a, b) => compare(idOf(a), idOf(b))),
  };
}
