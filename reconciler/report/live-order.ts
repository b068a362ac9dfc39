// The dashboard's timeline order, shared by the server (live.ts) and the page (ui/client/app.ts,
// bundled for browsers: only types are imported here).
import type { TimelineEvent } from './dashboard.js';

/** Newest first, as /api/timeline orders them: by time, then converged, rollout, commit within the same instant. */
export function timelineOrder(events: Record<string, TimelineEvent>): TimelineEvent[] {
  const rank = { commit: 0, rollout: 2, converged: 5 } as const;
  return Object.values(events).sort((a, b) => Date.parse(b.at) - Date.parse(a.at) || rank[b.kind] - rank[a.kind]);
}
