// The waves a plan shows for each service whose merge starts a rollout (plan-compare.ts marks
// them): the clusters head places it on, grouped by its `rollout.waves` as the root groups them
// (core/waves.ts), with each cluster's labels and operator from its last status, else from its
// clusters/<name>.yaml at head.
import { parse } from 'yaml';
import { selects, selectorText, wavesOf, type WaveCluster } from '../core/waves.js';
import { readCommitObject } from '../git/log.js';
import { objectStore } from '../git/odb.js';
import type { Repo } from '../git/repo.js';
import { entryAtPath } from '../git/tree.js';
import type { PlanInputs } from './plan-inputs.js';
import type { ServicePlan } from './plan-types.js';

export async function addWaves(repo: Repo, head: string, services: ServicePlan[], inputs: PlanInputs): Promise<void> {
  const rolling = services.filter((s) => s.rollout);
  if (!rolling.length) return;
  const known = new Map<string, WaveCluster>();
  for (const s of inputs.statuses) if (s.view) known.set(s.name, { name: s.name, labels: s.view.labels, operator: s.view.operator });
  const tree = (await readCommitObject(repo, head)).tree;
  const lookup = async (name: string): Promise<WaveCluster> => {
    let c = known.get(name);
    if (!c) known.set(name, (c = await declared(repo, tree, name)));
    return c;
  };
  for (const s of rolling) {
    const r = s.rollout!;
    const clusters = await Promise.all(
      Object.entries(s.after)
        .filter(([, n]) => n > 0)
        .map(([c]) => lookup(c)),
    );
    s.waves = wavesOf(r.selectors, clusters);
    r.selectedBy = s.waves.map((w) => {
      const i = r.selectors.findIndex((sel) => selects(sel, known.get(w[0]) ?? { name: w[0] }));
      return i >= 0 ? `rollout.waves[${i}]: ${selectorText(r.selectors[i])}` : r.selectors.length ? 'clusters no wave names' : 'every cluster';
    });
  }
}

/** A cluster as clusters/<name>.yaml at head declares it (labels, operator); just its name when it cannot be read. */
async function declared(repo: Repo, tree: string, name: string): Promise<WaveCluster> {
  try {
    const e = await entryAtPath(repo, tree, `clusters/${name}.yaml`);
    if (e?.type !== 'blob') return { name };
    const d = parse((await objectStore(repo).readType(e.oid, 'blob')).toString('utf8')) as {
      metadata?: { labels?: Record<string, string> };
      spec?: { operator?: string };
    };
    return { name, labels: d?.metadata?.labels ?? {}, ...(d?.spec?.operator ? { operator: d.spec.operator } : {}) };
  } catch {
    return { name };
  }
}
