// Config files at the cluster: a node is handed the contents (by blob id, as the placement
// carries them) of the files its replicas' specs name, and only those.
import type { NodeDesired, Placement, ReplicaSpec } from '../../schemas/messages.js';

/** The contents node's `replicas` use, from the placement; undefined when they use none. */
export function nodeFiles(replicas: readonly ReplicaSpec[], placement: Placement | undefined): NodeDesired['files'] {
  let out: Record<string, string> | undefined;
  for (const r of replicas) {
    for (const f of r.spec.files ?? []) {
      const content = f.oid ? placement?.files?.[f.oid] : undefined;
      if (content !== undefined) (out ??= {})[f.oid!] = content;
    }
  }
  return out;
}
