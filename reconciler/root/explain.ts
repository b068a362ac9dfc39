// The words of a placement decision: where a service went and why there (how the chosen
// clusters meet its geo and latency constraints), and why the others were passed over, counted
// when a fleet of a hundred passes it over alike. Every reason in full stays in the decision's
// `excluded`; the sentence is clipped to what a placement and a note can carry. Pure.
import type { ServiceSpec } from '../../schemas/model.js';
import { describeRtt } from '../scheduling/latency.js';
import { fits, fmt } from '../scheduling/capacity.js';
import { labelOf } from './assess.js';
import { cmp, type ServiceDecision } from './cluster-view.js';
import type { Eligible, Work } from './eligible.js';
import type { Candidates, Free } from './rank.js';

/** A reason travels in every placement and note: at most this long (the wire schema's limit is 2,000). */
export const MAX_REASON = 1200;
/** Up to this many clusters passed over are named one by one; beyond, alike reasons are counted. */
const NAMED = 8;

/** A service's decision once both passes are done: its clusters, and in words why. */
export function decisionOf(w: Work, free: Free, candidates: Candidates): ServiceDecision {
  const placed = w.n;
  const want = w.svc.spec.replicas;
  if (placed < want) {
    // Say what stopped the rest: every cluster that could have taken one but is full now.
    for (const { c, limit } of w.eligible) {
      if (w.keep.has(c.name)) continue;
      if ((w.got.get(c.name) ?? 0) >= limit) continue;
      if (!fits(free.get(c.name)!, w.r)) w.excluded[c.name] = `full: a replica needs ${fmt(w.r)}, and ${fmt(free.get(c.name)!)} is left`;
    }
  }
  let added = placed < want;
  for (const [c, text] of Object.entries(w.refusals))
    if (!(c in w.excluded)) {
      w.excluded[c] = text;
      added = true;
    }
  // Entries went in in cluster order; only what was added after needs a sort.
  if (added) w.excluded = Object.fromEntries(Object.entries(w.excluded).sort(([a], [b]) => cmp(a, b)));
  const evidence = evidenceOf(
    w.svc.spec,
    w.eligible.filter((e) => w.got.has(e.c.name)),
  );
  // Excluded by the assessment alone: the same words as every service with this ask.
  let skipped: string | undefined;
  if (w.pure && !added) skipped = w.ask.passedOver ??= passedOver(Object.entries(w.excluded), w.misses);
  return {
    clusters: w.got,
    placed,
    desired: want,
    excluded: w.excluded,
    candidates,
    reason: explain(w.got, placed, want, w.excluded, w.svc.spec.spread === 'clusters', evidence, w.misses, skipped),
  };
}

/** For the chosen clusters: how they meet the geo and latency constraints ("3 km away, within 50 km"). */
function evidenceOf(spec: ServiceSpec, chosen: Eligible[]): Map<string, string> {
  const out = new Map<string, string>();
  const geo = spec.constraints?.geo,
    lat = spec.constraints?.latency;
  if (!geo && !lat) return out;
  for (const { c, a } of chosen) {
    if (!c.online) continue;
    const parts: string[] = [];
    if (geo && a.distanceKm !== undefined) parts.push(`${Math.round(a.distanceKm)} km from (${geo.lat}, ${geo.lon}), within ${geo.withinKm} km`);
    if (lat && a.rtt) parts.push(`${describeRtt(a.rtt, labelOf(lat.to))}, within ${lat.maxMs} ms`);
    if (parts.length) out.set(c.name, parts.join('; '));
  }
  return out;
}

function explain(
  got: Map<string, number>,
  placed: number,
  want: number,
  excluded: Record<string, string>,
  spread: boolean,
  evidence: Map<string, string>,
  misses?: Map<string, { kind: string; by: number }>,
  passed?: string,
): string {
  const where = [...got].map(([c, n]) => `${c}×${n}`).join(', ');
  const why =
    evidence.size === 1 && got.size === 1
      ? ` (${[...evidence.values()][0]})`
      : evidence.size
        ? ` (${clip([...evidence].map(([c, e]) => `${c}: ${e}`).join('; '), 400)})`
        : '';
  // A cluster that holds some and refused more is not "passed over": it is said apart.
  const refusedHere = passed !== undefined ? [] : Object.entries(excluded).filter(([c, t]) => got.has(c) && t.startsWith('refused '));
  const skipped =
    passed ??
    passedOver(
      Object.entries(excluded).filter(([c, t]) => !(got.has(c) && t.startsWith('refused '))),
      misses,
    );
  const refusals = clip(refusedHere.map(([c, t]) => `${c} ${t}`).join('; '), 400);
  if (want === 0) return 'scaled to 0 replicas';
  let text: string;
  if (placed === want) {
    text = `placed on ${where}${spread ? ' (spread across clusters)' : ''}${why}${refusals ? `; ${refusals}` : ''}${skipped ? `; passed over ${skipped}` : ''}`;
  } else if (placed === 0) text = `no cluster can run it: ${skipped || 'no clusters are registered'}`;
  else text = `only ${placed} of ${want} replicas fit (${where}); ${[refusals, skipped].filter(Boolean).join('; ')}`;
  return clip(text, MAX_REASON);
}

/**
 * "paris: 684 km from (48.137, 11.575), limit 50 km" for a few clusters; for a fleet of a hundred,
 * alike reasons (the same words, other numbers) are counted, the nearest misses shown first:
 * "97 clusters: 835 km or more from (40, -5), limit 800 km (c097: 835 km …; c075: 865 km …)".
 * Every reason in full stays in the decision's `excluded` (plan and history show it).
 */
export function passedOver(entries: Array<[string, string]>, misses?: Map<string, { kind: string; by: number }>): string {
  if (entries.length <= NAMED) return entries.map(([c, t]) => `${c}: ${t}`).join('; ');
  // Alike: the same kind of miss (geo to one point, latency to one target), else the same words.
  const groups = new Map<string, Array<{ c: string; t: string; by: number }>>();
  for (const [c, t] of entries) {
    const m = misses?.get(c);
    const key = m ? m.kind : t;
    const e = { c, t, by: m ? m.by : 0 };
    const g = groups.get(key);
    if (g) g.push(e);
    else groups.set(key, [e]);
  }
  const parts: string[] = [];
  for (const g of [...groups.values()].sort((a, b) => b.length - a.length)) {
    if (g.length === 1) {
      parts.push(`${g[0].c}: ${g[0].t}`);
      continue;
    }
    // The nearest misses first (distance, round trip).
    g.sort((a, b) => a.by - b.by || cmp(a.c, b.c));
    parts.push(
      `${g.length} clusters for the same reason, nearest ${g
        .slice(0, 2)
        .map((e) => `${e.c}: ${e.t}`)
        .join('; ')}`,
    );
  }
  return clip(parts.join('; '), 800);
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
