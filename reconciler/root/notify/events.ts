// What the root notifies of, as data: the events (accepted, rejected, converged, unreachable,
// rolled-back), the one JSON object a webhook receives for each (kind canopy.event), and the
// commit status an event sets on its commit. Pure: delivery is outbox.ts's.
import type { NOTIFY_EVENTS } from '../../../schemas/model.js';
import type { Problem } from '../../core/parse-descriptor.js';

export type EventName = (typeof NOTIFY_EVENTS)[number];

export type CanopyEvent =
  | { event: 'accepted'; commit: string; clusters: number; changed: number; removed: number }
  | { event: 'rejected'; commit: string; problems: Problem[]; inForce?: string }
  | { event: 'converged'; commit: string; seconds: number }
  | { event: 'unreachable'; commit?: string; cluster: string; lastHeard: string | null }
  | { event: 'rolled-back'; commit: string; service: string; reason: string };

export interface EventPayload {
  kind: 'canopy.event';
  event: EventName;
  fleet: string;
  commit: string | null;
  at: string;
  summary: string;
  [field: string]: unknown;
}

const short = (c: string | undefined) => (c ? c.slice(0, 12) : 'none');
const where = (p: Problem) => `${p.file}:${p.line}:${p.column}: ${p.message}`;

/** One line saying what happened, for a chat message or a log. */
export function summaryOf(e: CanopyEvent, fleet: string): string {
  switch (e.event) {
    case 'accepted':
      return `${fleet}: ${short(e.commit)} accepted, deploying to ${e.clusters} cluster${e.clusters === 1 ? '' : 's'}`;
    case 'rejected':
      return `${fleet}: ${short(e.commit)} rejected: ${e.problems.length} problem(s), first ${e.problems[0] ? where(e.problems[0]) : 'unknown'}`;
    case 'converged':
      return `${fleet}: ${short(e.commit)} converged in ${Math.round(e.seconds)} s`;
    case 'unreachable':
      return `${fleet}: cluster ${e.cluster} unreachable, last heard ${e.lastHeard ?? 'never'}`;
    case 'rolled-back':
      return `${fleet}: ${e.service} rolled back (${short(e.commit)}): ${e.reason}`;
  }
}

/** The body a webhook receives: kind, event, fleet, commit, at and summary, then the event's own fields. */
export function payloadOf(e: CanopyEvent, fleet: string, at: Date): EventPayload {
  const { event, commit, ...own } = e;
  const fields: Record<string, unknown> = { ...own };
  if (e.event === 'rejected') fields.problems = e.problems.map(({ file, line, column, message }) => ({ file, line, column, message }));
  return { kind: 'canopy.event', event, fleet, commit: commit ?? null, at: at.toISOString(), summary: summaryOf(e, fleet), ...fields };
}

export type StatusState = 'pending' | 'success' | 'failure';

/** The commit status an event sets (GitHub and Gitea alike), or none (unreachable: no commit's outcome). */
export function statusOf(e: CanopyEvent): { sha: string; state: StatusState; description: string } | undefined {
  const cut = (s: string) => (s.length > 140 ? `${s.slice(0, 139)}…` : s);
  switch (e.event) {
    case 'accepted':
      return { sha: e.commit, state: 'pending', description: cut(`deploying to ${e.clusters} cluster${e.clusters === 1 ? '' : 's'}`) };
    case 'converged':
      return { sha: e.commit, state: 'success', description: cut(`converged in ${Math.round(e.seconds)} s`) };
    case 'rejected': {
      const first = e.problems[0];
      const more = e.problems.length > 1 ? ` (+${e.problems.length - 1} more)` : '';
      return { sha: e.commit, state: 'failure', description: cut(first ? `rejected: ${where(first)}${more}` : 'rejected') };
    }
    case 'rolled-back':
      return { sha: e.commit, state: 'failure', description: cut(`${e.service} rolled back: ${e.reason}`) };
    default:
      return undefined;
  }
}

/**
 * OWNER/NAME and the server's origin from a repository URL (https://github.com/o/n.git,
 * http://gitea:3000/o/n), or undefined when it is not one.
 */
export function repositoryOf(url: string | undefined): { repository: string; origin: string } | undefined {
  if (!url) return undefined;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (!/^https?:$/.test(u.protocol)) return undefined;
  const parts = u.pathname
    .replace(/\.git\/?$/, '')
    .split('/')
    .filter(Boolean);
  if (parts.length < 2) return undefined;
  const [owner, name] = parts.slice(-2);
  const base = parts.slice(0, -2).join('/');
  return { repository: `${owner}/${name}`, origin: `${u.protocol}//${u.host}${base ? `/${base}` : ''}` };
}
