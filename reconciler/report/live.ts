// The dashboard's live feed (`/api/events`, server-sent events): the documents the page holds —
// the `canopy status --json` document, the cluster map and the timeline's head — kept here once
// for all the pages that listen, and sent to them as RFC 6902 JSON Patches, one per change:
//
//   event: snapshot   id: V   data: {"version": V, "docs": {"status": …, "clusters": …, "timeline": …}}
//   event: refs              data: {"moved": [ref, …]}            (which refs moved, for the page's history panel)
//   event: patch      id: V   data: {"from": V-1, "version": V, "patch": [op, …]}   (paths under /status, /clusters, /timeline)
//
// A change is read from Git and diffed once, and the same bytes go to every page (each is at the
// latest version: a page gets the snapshot of the version in force when it connects, then every
// patch after it, in order). A page that reconnects with Last-Event-ID gets the patches it missed
// from the last KEEP, else a snapshot again. The refs are looked at every pollMs (listRefs: the
// loose ref files and packed-refs, a few small reads, no object read) while a page listens, and
// the documents are read again when one moved, and every recomputeMs (a cluster's record goes
// stale by time passing too).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGzip, constants as zlibConstants } from 'node:zlib';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { listRefs, resolveRef, type Repo } from '../git/repo.js';
import { MAIN, NOTES_REF } from '../core/refs.js';
import { fleetStatus, type FleetReport, type StatusMemo } from './fleet-status.js';
import { clusterMap, timeline, type ClusterMap, type Timeline, type TimelineEvent } from './dashboard.js';

export interface LiveDocs {
  status: FleetReport;
  clusters: ClusterMap;
  /** /api/timeline's events keyed (kind:commit[:service:step:wave]), so a new event is one `add` and not a shift of the list. */
  timeline: LiveTimeline;
}

export interface LiveTimeline extends Omit<Timeline, 'events'> {
  events: Record<string, TimelineEvent>;
}

function keyed(t: Timeline): LiveTimeline {
  const events: Record<string, TimelineEvent> = {};
  for (const e of t.events) {
    let key = `${e.kind}:${e.commit}${e.kind === 'rollout' ? `:${e.service}:${e.step}:${e.wave ?? ''}` : ''}`;
    while (events[key]) key += '+';
    events[key] = e;
  }
  return { ...t, events };
}

export interface LiveSnapshot {
  version: number;
  docs: LiveDocs;
}

export interface LivePatch {
  from: number;
  version: number;
  patch: Operation[];
}

/** The patches kept for pages that reconnect (Last-Event-ID); one further behind gets a snapshot. */
const KEEP = 64;
const KEEPALIVE_MS = 15_000;

export interface LiveFeed {
  add(req: IncomingMessage, res: ServerResponse): Promise<void>;
  close(): void;
}

/** Reads the three documents, as the /api/ endpoints do (with a memo: from the last desired state read). */
export async function readDocs(repo: Repo, memo?: { status: StatusMemo; clusters: Pick<StatusMemo, 'records'> }): Promise<LiveDocs> {
  const [status, clusters, tl] = await Promise.all([fleetStatus(repo, new Date(), 'main', memo?.status), clusterMap(repo, memo?.clusters), timeline(repo)]);
  return { status, clusters, timeline: keyed(tl) };
}

/** Every canopy ref the dashboard reads, by name → oid: main, the notes, the placement and status refs. */
export async function refState(repo: Repo): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const ref of [MAIN, NOTES_REF]) {
    const oid = await resolveRef(repo, ref);
    if (oid) out.set(ref, oid);
  }
  for (const prefix of ['refs/canopy/placements/', 'refs/canopy/status/']) for (const [n, oid] of await listRefs(repo, prefix)) out.set(prefix + n, oid);
  return out;
}

/** This server's versions are named INSTANCE.V: a Last-Event-ID from another server (or an earlier run) gets a snapshot. */
const INSTANCE = Math.random().toString(36).slice(2, 10);
interface Stream {
  write(text: string): void;
  end(): void;
}

/** The event stream of one page: gzip-compressed when the browser takes it (a snapshot at 10,000 services is ~1.8 MB of JSON), flushed after each write. */
function stream(req: IncomingMessage, res: ServerResponse): Stream {
  const head = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' };
  if (!/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    res.writeHead(200, head);
    return { write: (t) => void res.write(t), end: () => void res.end() };
  }
  res.writeHead(200, { ...head, 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' });
  const z = createGzip({ level: 6 });
  z.pipe(res);
  z.on('error', () => res.destroy());
  res.on('close', () => z.destroy());
  return {
    write(t) {
      if (z.destroyed) return;
      z.write(t);
      z.flush(zlibConstants.Z_SYNC_FLUSH);
    },
    end: () => void z.end(),
  };
}

const frame = (ev: string, data: string, id?: number) => `${id === undefined ? '' : `id: ${INSTANCE}.${id}\n`}event: ${ev}\ndata: ${data}\n\n`;

/** The version a reconnecting page last had (its Last-Event-ID), when it came from this server. */
function lastVersion(req: IncomingMessage): number | undefined {
  const m = /^([a-z0-9]+)\.(\d+)$/.exec(String(req.headers['last-event-id'] ?? ''));
  return m && m[1] === INSTANCE ? Number(m[2]) : undefined;
}

export function liveFeed(repo: Repo, o: { pollMs: number; recomputeMs: number; log?: { warn(m: string): void } }): LiveFeed {
  const clients = new Set<Stream>();
  let docs: LiveDocs | undefined;
  let version = 0;
  let snapshot: string | undefined; // the serialized snapshot of `version`, made once when a page asks
  const kept: Array<{ version: number; frame: string }> = [];
  let refs: Map<string, string> | undefined;
  let readAt = 0;
  const memo = { status: { cache: new Map() } as StatusMemo, clusters: {} };
  let timer: NodeJS.Timeout | undefined;
  // One thing at a time: a poll, a read, a page joining.
  let chain: Promise<void> = Promise.resolve();
  const serial = (f: () => Promise<void>) => (chain = chain.then(f, f));
  let queued = false; // a poll waits in the chain: the timer adds no other
  const tick = () => {
    if (queued) return;
    queued = true;
    void serial(() => {
      queued = false;
      return poll();
    });
  };
  const broadcast = (text: string) => {
    for (const c of clients) c.write(text);
  };

  /** Reads the documents again; when they differ, one patch for every page. */
  async function reread(): Promise<void> {
    const next = await readDocs(repo, memo);
    readAt = Date.now();
    if (!docs) {
      docs = next;
      version = 1;
      return;
    }
    const patch = jsonpatch.compare(docs, next);
    docs = next;
    if (!patch.length) return;
    version += 1;
    snapshot = undefined;
    const text = frame('patch', JSON.stringify({ from: version - 1, version, patch } satisfies LivePatch), version);
    kept.push({ version, frame: text });
    if (kept.length > KEEP) kept.shift();
    broadcast(text);
  }

  async function poll(): Promise<void> {
    try {
      const now = await refState(repo);
      const moved = refs ? [...new Set([...now.keys(), ...refs.keys()])].filter((r) => now.get(r) !== refs!.get(r)).sort() : [];
      const first = refs === undefined;
      refs = now;
      if (moved.length) broadcast(frame('refs', JSON.stringify({ moved })));
      if (moved.length || first || Date.now() - readAt >= o.recomputeMs) await reread();
    } catch (e) {
      // A ref half-written by another process: the next poll reads it whole.
      o.log?.warn(`ui: live update: ${(e as Error).message}`);
    }
  }

  const keepalive = setInterval(() => broadcast(': keepalive\n\n'), KEEPALIVE_MS);
  keepalive.unref();

  return {
    add(req, res) {
      const out = stream(req, res);
      out.write(frame('hello', '{}') + 'retry: 1000\n\n');
      const last = lastVersion(req);
      req.on('close', () => {
        clients.delete(out);
        if (!clients.size && timer) {
          clearInterval(timer);
          timer = undefined;
        }
      });
      return serial(async () => {
        if (res.destroyed) return;
        // The documents as last read go at once (a first page waits for the first read); the
        // poll right after sends what moved meanwhile as a patch.
        if (!docs) await poll();
        if (!docs) return void out.end();
        const from = last === undefined ? -1 : kept.findIndex((k) => k.version === last + 1);
        if (last === version) {
          // Nothing missed.
        } else if (last !== undefined && last < version && from >= 0) {
          out.write(
            kept
              .slice(from)
              .map((k) => k.frame)
              .join(''),
          );
        } else {
          snapshot ??= frame('snapshot', JSON.stringify({ version, docs } satisfies LiveSnapshot), version);
          out.write(snapshot);
        }
        clients.add(out);
        timer ??= setInterval(tick, o.pollMs);
        tick();
      });
    },
    close() {
      clearInterval(keepalive);
      if (timer) clearInterval(timer);
      for (const c of clients) c.end();
      clients.clear();
    },
  };
}
