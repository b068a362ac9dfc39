// A fleet repository as `canopy init` makes it, cut down for one test: the fleet named for the
// test (so its containers are told apart from any other's), the template's services removed,
// only the clusters it asks for kept, and its own files, in one commit on top of the template's.
import * as assert from 'uvu/assert';
import { canopy } from './canopy.js';
import { commitFiles, git } from './git.js';

/** The template's clusters and services (fleet-repo-template/). */
const TEMPLATE_CLUSTERS = ['munich', 'paris'];
const TEMPLATE_SERVICES = ['services/shop/web.yaml', 'services/shop/worker.yaml', 'services/traffic-cam/detector.yaml'];

/** `canopy init dir`, then a commit of `files` with the fleet named `fleet`, keeping only `clusters` (default munich). Returns that commit. */
export function templateFleet(dir: string, fleet: string, files: Record<string, string | null>, o: { clusters?: string[]; message?: string } = {}): string {
  const init = canopy(['init', dir]);
  assert.is(init.code, 0, init.stderr);
  const keep = new Set(o.clusters ?? ['munich']);
  const fy = git(dir, 'show', 'HEAD:fleet.yaml').replace(/name: demo/, `name: ${fleet}`);
  const drop: Record<string, null> = {};
  for (const c of TEMPLATE_CLUSTERS) if (!keep.has(c)) drop[`clusters/${c}.yaml`] = null;
  for (const s of TEMPLATE_SERVICES) drop[s] = null;
  return commitFiles(dir, { 'fleet.yaml': fy, ...drop, ...files }, o.message ?? `the test's fleet ${fleet}`);
}
