// What `canopy wait` says when time runs out: which services are not converged (every replica
// asked for running and ready) and why, as `canopy status` reads them from Git now. Pure.
import type { FleetReport } from './fleet-status.js';
import { byCodePoint } from './render.js';
import { exportHint } from '../core/air-gapped.js';

/** Services named; the rest are counted. */
export const WAIT_LISTED = 20;

/** `shop/web: progressing, 1/3 ready, 3 running: munich: 2 not ready: GET /health: 503`: one line per service not converged. */
export function notConvergedLines(r: FleetReport, limit = WAIT_LISTED): string[] {
  const off = Object.entries(r.services)
    .filter(([, s]) => s.state !== 'converged')
    .sort(([a], [b]) => byCodePoint(a, b));
  const lines = off.slice(0, limit).map(([id, s]) => {
    const counts = `${s.ready}/${s.desired} ready, ${s.running} running`;
    return `  ${id}: ${s.state}, ${s.reason.startsWith(counts) ? s.reason : `${counts}: ${s.reason}`}`;
  });
  if (off.length > limit) lines.push(`  … and ${off.length - limit} more (canopy status --all lists them)`);
  return lines;
}

/** The message on timeout (exit 1): what has not converged, and why when status can tell. */
export function timeoutMessage(target: string, seconds: number, repoArg: string, r: FleetReport | undefined): string {
  const head = `timed out after ${seconds} s: ${target.slice(0, 12)} has not converged`;
  const lines = r ? notConvergedLines(r) : [];
  // The status is of main's head: a target behind it is judged by what is in force now.
  const of = r?.head && r.head.commit !== target ? ` (main is at ${r.head.commit.slice(0, 12)})` : '';
  if (!lines.length) return `${head} (see canopy status --repo ${repoArg})\n`;
  return `${head}; not ready, as canopy status reads it${of}:\n${lines.join('\n')}\n`;
}

/**
 * Exit 5: every connected cluster converged on the commit, the air-gapped ones named await a
 * bundle (the note's awaitingBundle): what to do for each.
 */
export function awaitingBundleMessage(target: string, clusters: readonly string[], connectedAt: string | undefined): string {
  const lines = clusters.map((c) => `  ${c}: ${exportHint(c)}, then import it at the site; its status comes back the same way`);
  return (
    `${target.slice(0, 12)}: every connected cluster converged${connectedAt ? ` at ${connectedAt}` : ''}; ` +
    `awaiting a bundle from air-gapped ${clusters.join(', ')}:\n${lines.join('\n')}\n`
  );
}
