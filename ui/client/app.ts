// The dashboard page: /api/events (server-sent events, reconciler/report/live.ts) sends a
// snapshot of the documents the page holds — the `canopy status --json` document (as
// /api/status), the cluster map (/api/clusters) and the timeline's head (/api/timeline) — then a
// JSON Patch of them per change; the page applies each and redraws only what it touched (a
// service's row, the clusters and map, the timeline, the head). Read-only.
// Performance marks: `canopy:snapshot` when the first snapshot arrived (parsed), `canopy:first-render`
// when its first full render is done (tables and map drawn).
import jsonpatch, { type Operation } from 'fast-json-patch';
import type { FleetReport, ServiceReport } from '../../reconciler/report/fleet-status.js';
import type { ClusterMap, TimelineEvent } from '../../reconciler/report/dashboard.js';
import type { History, HistoryEvent } from '../../reconciler/report/history.js';
import type { LiveDocs, LivePatch, LiveSnapshot } from '../../reconciler/report/live.js';
import { timelineOrder } from '../../reconciler/report/live-order.js';
import { drawMap, type MapState, type Marker } from './map.js';

const $ = <T extends Element>(sel: string) => document.querySelector(sel) as T;
const short = (oid: string) => oid.slice(0, 12);
const when = (iso: string) => iso.slice(0, 19).replace('T', ' ');

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...kids: Array<Node | string>): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...kids);
  return e;
}

async function get<T>(path: string): Promise<T> {
  const r = await fetch(path, { credentials: 'same-origin' });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/**
 * A cluster's state on the map: draining or retired once declared retired; unreachable or
 * air-gapped as status says (an air-gapped site is never "online": what is known of it came back
 * by bundle); degraded when online with nodes down; unknown before it reports.
 */
function mapState(s: FleetReport, name: string): MapState {
  const c = s.clusters[name];
  if (!c) return 'unknown';
  if (c.retired) return c.retired;
  if (c.state === 'unreachable' || c.state === 'air-gapped') return c.state;
  return c.nodes.online < c.nodes.total ? 'degraded' : 'online';
}

const pct = (used: number, total: number) => (total > 0 ? `${Math.round((100 * used) / total)}%` : '–');

function drawClusters(s: FleetReport, m: ClusterMap): void {
  const names = [...new Set([...Object.keys(m.clusters), ...Object.keys(s.clusters)])].sort();
  const markers: Marker[] = [];
  const rows = names.map((n) => {
    const place = m.clusters[n];
    const st = s.clusters[n];
    const state = mapState(s, n);
    const cap = place?.capacity;
    const free = place?.free;
    const cpu = cap && free ? cap.cpu - free.cpu : null;
    const mem = cap && free ? cap.memoryMi - free.memoryMi : null;
    const nodes = st ? `${st.nodes.online}/${st.nodes.total}` : '–';
    if (place?.location)
      markers.push({
        name: n,
        ...place.location,
        state,
        used: cap && cpu !== null && cap.cpu > 0 ? cpu / cap.cpu : null,
        label: `${nodes} nodes${cap && cpu !== null ? `, CPU ${pct(cpu, cap.cpu)}` : ''}`,
      });
    return h(
      'tr',
      { 'data-cluster': n, 'data-state': state },
      h('td', {}, n),
      h('td', { class: 'state', 'data-field': 'state' }, state),
      h('td', { class: 'num', 'data-field': 'nodes' }, nodes),
      h('td', { class: 'num' }, cap && cpu !== null ? `${+cpu.toFixed(2)} / ${cap.cpu} (${pct(cpu, cap.cpu)})` : '–'),
      h('td', { class: 'num' }, cap && mem !== null ? `${mem} / ${cap.memoryMi} Mi (${pct(mem, cap.memoryMi)})` : '–'),
      h('td', { class: 'sha' }, st?.applied ? `#${st.applied.seq}` : '–'),
    );
  });
  $('#clusters tbody').replaceChildren(...rows);
  drawMap($('#map'), markers);
}

function serviceRow(id: string, v: ServiceReport, selected: string | null): HTMLTableRowElement {
  const per = Object.entries(v.clusters)
    .map(([c, n]) => `${c}: ${n}`)
    .join(', ');
  const tr = h(
    'tr',
    { 'data-service': id, 'data-state': v.state, class: id === selected ? 'selected' : '' },
    h('td', {}, id),
    h('td', { class: `state svc-${v.state}`, 'data-field': 'state' }, v.state),
    h('td', { class: 'num', 'data-field': 'desired' }, String(v.desired)),
    h('td', { class: 'num', 'data-field': 'ready' }, String(v.ready)),
    h('td', { class: 'num', 'data-field': 'running' }, String(v.running)),
    h('td', { 'data-field': 'clusters' }, per || '–'),
    h('td', { class: 'reason', 'data-field': 'reason' }, v.reason),
  );
  tr.addEventListener('click', () => void showHistory(id));
  return tr;
}

let selected: string | null = null;
/** The services table's rows by service, to redraw one alone. */
const rows = new Map<string, HTMLTableRowElement>();

/** Rows drawn at once; the rest follow in chunks of this size after the first paint. */
const FIRST_ROWS = 150;
let drawing = 0; // a newer full draw stops the chunks of an older one

function drawServices(s: FleetReport): void {
  const ids = Object.keys(s.services).sort();
  const body = $('#services tbody');
  const run = ++drawing;
  rows.clear();
  const add = (from: number) => {
    if (run !== drawing) return;
    const part = ids.slice(from, from + FIRST_ROWS).map((id) => {
      const tr = serviceRow(id, s.services[id], selected);
      rows.set(id, tr);
      return tr;
    });
    if (from === 0) body.replaceChildren(...part);
    else body.append(...part);
    if (from + FIRST_ROWS < ids.length) setTimeout(() => add(from + FIRST_ROWS), 0);
    else document.body.setAttribute('data-rows', String(ids.length));
  };
  add(0);
}

/** Redraws the rows of these services (a service added or gone redraws the table). */
function drawServiceRows(s: FleetReport, ids: Set<string>): void {
  for (const id of ids) {
    const old = rows.get(id);
    const v = s.services[id];
    if (!v) {
      drawServices(s);
      return;
    }
    if (!old) continue; // not drawn yet: its chunk draws it from the document
    const tr = serviceRow(id, v, selected);
    old.replaceWith(tr);
    rows.set(id, tr);
  }
}

function drawHead(s: FleetReport): void {
  $('#fleet').textContent = s.fleet ?? '';
  const head = s.head;
  $('#head').textContent = head
    ? `main ${short(head.commit)} ${head.outcome}${head.convergedAt ? `, converged ${when(head.convergedAt)}` : ''}${s.inForce && s.inForce !== head.commit ? ` (in force: ${short(s.inForce)})` : ''}`
    : 'no main yet';
  document.body.setAttribute('data-head', s.head?.commit ?? '');
}

function badge(text: string): HTMLElement {
  return h('span', { class: `badge ${text}` }, text);
}

function timelineItem(e: TimelineEvent): HTMLElement {
  const t = h('time', { datetime: e.at }, when(e.at));
  if (e.kind === 'converged') return h('li', { 'data-converged': e.commit }, t, badge('converged'), h('span', { class: 'sha' }, short(e.commit)));
  if (e.kind === 'rollout') {
    const wave = e.wave ? ` wave ${e.wave}/${e.waves}` : '';
    const label = e.step === 'rolled-back' || e.step === 'paused' ? e.step : 'rollout';
    return h(
      'li',
      { 'data-rollout': e.commit },
      t,
      badge(label),
      `${e.service}: ${e.step}${wave}${e.clusters?.length ? ` (${e.clusters.join(', ')})` : ''}${e.reason ? `: ${e.reason}` : ''}`,
    );
  }
  const li = h(
    'li',
    { 'data-commit': e.commit, 'data-outcome': e.outcome },
    t,
    h('span', { class: 'sha' }, short(e.commit)),
    badge(e.outcome),
    e.subject,
    h('small', {}, ` — ${e.author}`),
  );
  for (const p of e.problems ?? []) li.append(h('div', { class: 'problem' }, `${p.file}:${p.line}:${p.column}: ${p.message}`));
  const unsched = Object.entries(e.unschedulable ?? {});
  for (const [svc, why] of unsched) li.append(h('div', { class: 'problem' }, `${svc} unschedulable: ${why}`));
  return li;
}

function describe(e: HistoryEvent): string {
  switch (e.kind) {
    case 'commit':
      return `commit ${short(e.commit)} ${e.outcome}: ${e.subject}`;
    case 'converged':
      return `commit ${short(e.commit)} converged`;
    case 'placement':
      return `placement of ${e.cluster} (#${e.seq}): ${Object.entries(e.services)
        .map(([s, p]) => `${s} ${p.was} → ${p.replicas}${p.respec ? ' (new spec)' : ''}${p.reason ? ` — ${p.reason}` : ''}`)
        .join('; ')}`;
    case 'liveness':
      return `${e.cluster} ${e.state}${e.lastHeard ? ` (last heard ${when(e.lastHeard)})` : ''}`;
    case 'observed':
      return `${e.cluster} observed: ${Object.entries(e.services)
        .map(([s, o]) =>
          o
            ? `${s} ${o.ready ?? o.running}/${o.desired} ready, ${o.running} running${o.failed ? `, ${o.failed} failed` : ''}${o.message ? ` (${o.message})` : ''}`
            : `${s} gone`,
        )
        .join('; ')}`;
    case 'rollout':
      return `rollout of ${e.service}: ${e.step}${e.wave ? ` wave ${e.wave}/${e.waves}` : ''}${e.reason ? `: ${e.reason}` : ''}`;
  }
}

async function showHistory(id: string): Promise<void> {
  selected = id;
  for (const tr of document.querySelectorAll('#services tbody tr')) tr.classList.toggle('selected', tr.getAttribute('data-service') === id);
  const box = $<HTMLElement>('#history');
  box.hidden = false;
  box.setAttribute('data-service', id);
  $('#history h3').textContent = `Placement history of ${id}`;
  const list = $('#history ol');
  try {
    const hist = await get<History>(`/api/history?service=${encodeURIComponent(id)}`);
    const items = hist.events
      .slice()
      .reverse()
      .map((e) => h('li', { 'data-kind': e.kind }, h('time', { datetime: e.at }, when(e.at)), describe(e)));
    if (!items.length) items.push(h('li', {}, 'nothing recorded yet'));
    for (const r of hist.truncated) items.push(h('li', {}, `(older events of ${r} not walked)`));
    list.replaceChildren(...items);
  } catch (e) {
    list.replaceChildren(h('li', { class: 'problem' }, (e as Error).message));
  }
}

let docs: LiveDocs | undefined;
let version = 0;
let painted = false;
let snapshots = 0;
const drawTimeline = (d: LiveDocs) => $('#timeline').replaceChildren(...timelineOrder(d.timeline.events).map(timelineItem));

function drawn(): void {
  document.body.setAttribute('data-version', String(version));
  document.body.setAttribute('data-loaded', String(Date.now()));
}

function onSnapshot(s: LiveSnapshot): void {
  if (!painted) performance.mark('canopy:snapshot');
  docs = s.docs;
  version = s.version;
  document.body.setAttribute('data-snapshots', String(++snapshots));
  drawHead(docs.status);
  drawServices(docs.status);
  drawClusters(docs.status, docs.clusters);
  drawTimeline(docs);
  if (!painted) {
    painted = true;
    // After the frame that shows it is painted.
    requestAnimationFrame(() => setTimeout(() => performance.mark('canopy:first-render'), 0));
  }
  drawn();
}

const unescapePointer = (p: string) => p.replace(/~1/g, '/').replace(/~0/g, '~');

/** Applies a patch to what the page holds and redraws what its paths touch; one out of sequence asks for a snapshot. */
function onPatch(p: LivePatch): void {
  if (!docs || p.from !== version) return void connect();
  const t0 = performance.now();
  jsonpatch.applyPatch(docs, p.patch as Operation[], false, true);
  version = p.version;
  const ids = new Set<string>();
  const touched = new Set<string>();
  for (const op of p.patch) {
    const [doc, key, id, ...rest] = op.path.split('/').slice(1).map(unescapePointer);
    if (doc === 'status' && key === 'services' && id !== undefined && (rest.length > 0 || op.op === 'replace')) ids.add(id);
    else if (doc === 'status' && key === 'services') touched.add('services');
    else if (doc === 'clusters' || (doc === 'status' && key === 'clusters')) touched.add('clusters');
    else touched.add(doc === 'status' ? 'head' : doc);
  }
  if (touched.has('head')) drawHead(docs.status);
  if (touched.has('services')) drawServices(docs.status);
  else if (ids.size) drawServiceRows(docs.status, ids);
  if (touched.has('clusters')) drawClusters(docs.status, docs.clusters);
  if (touched.has('timeline')) drawTimeline(docs);
  drawn();
  // Applying and drawing it, then the frame that shows it.
  requestAnimationFrame(() => setTimeout(() => performance.measure('canopy:patch', { start: t0 }), 0));
}

let es: EventSource | undefined;

/** Listens to /api/events; a new EventSource (no Last-Event-ID) gets a snapshot first. */
function connect(): void {
  es?.close();
  const live = $('#live');
  const src = new EventSource('/api/events');
  es = src;
  const on = (ev: string, f: (data: never) => void) =>
    src.addEventListener(ev, (m) => {
      try {
        f(JSON.parse((m as MessageEvent<string>).data) as never);
      } catch (e) {
        $('#head').textContent = `could not apply an update: ${(e as Error).message}`;
        connect();
      }
    });
  src.addEventListener('hello', () => {
    live.textContent = 'live';
    live.classList.add('on');
  });
  on('snapshot', onSnapshot);
  on('patch', onPatch);
  on('refs', () => {
    if (selected) void showHistory(selected);
  });
  src.onerror = () => {
    live.textContent = 'reconnecting…';
    live.classList.remove('on');
  };
}

connect();
let resized: number | undefined;
window.addEventListener('resize', () => {
  clearTimeout(resized);
  resized = window.setTimeout(() => docs && drawClusters(docs.status, docs.clusters), 200);
});
