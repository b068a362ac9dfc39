// The dashboard page: fetches /api/status (the `canopy status --json` document), /api/clusters
// and /api/timeline, draws them, and fetches again whenever /api/events says a ref moved (and
// every REFRESH_MS, since a cluster goes unreachable by time passing too). Read-only.
import type { FleetReport, ServiceReport } from '../../reconciler/report/fleet-status.js';
import type { ClusterMap, Timeline, TimelineEvent } from '../../reconciler/report/dashboard.js';
import type { History, HistoryEvent } from '../../reconciler/report/history.js';
import { drawMap, type MapState, type Marker } from './map.js';

const REFRESH_MS = 10_000;
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

/** A cluster's state on the map: unreachable as status says; degraded when online with nodes down; unknown before it reports. */
function mapState(s: FleetReport, name: string): MapState {
  const c = s.clusters[name];
  if (!c) return 'unknown';
  if (c.state === 'unreachable') return 'unreachable';
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

function drawServices(s: FleetReport): void {
  $('#fleet').textContent = s.fleet ?? '';
  const head = s.head;
  $('#head').textContent = head
    ? `main ${short(head.commit)} ${head.outcome}${head.convergedAt ? `, converged ${when(head.convergedAt)}` : ''}${s.inForce && s.inForce !== head.commit ? ` (in force: ${short(s.inForce)})` : ''}`
    : 'no main yet';
  const ids = Object.keys(s.services).sort();
  $('#services tbody').replaceChildren(...ids.map((id) => serviceRow(id, s.services[id], selected)));
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

let loading: Promise<void> | undefined;
let again = false;

/** Fetches everything again; a change announced while fetching fetches once more after. */
async function refresh(): Promise<void> {
  if (loading !== undefined) {
    again = true;
    return loading;
  }
  loading = (async () => {
    do {
      again = false;
      try {
        const [s, m, t] = await Promise.all([get<FleetReport>('/api/status'), get<ClusterMap>('/api/clusters'), get<Timeline>('/api/timeline')]);
        drawServices(s);
        drawClusters(s, m);
        $('#timeline').replaceChildren(...t.events.map(timelineItem));
        document.body.setAttribute('data-head', s.head?.commit ?? '');
        if (selected) await showHistory(selected);
      } catch (e) {
        $('#head').textContent = `could not load: ${(e as Error).message}`;
      }
    } while (again);
    document.body.setAttribute('data-loaded', String(Date.now()));
  })();
  try {
    await loading;
  } finally {
    loading = undefined;
  }
}

function listen(): void {
  const live = $('#live');
  const es = new EventSource('/api/events');
  es.addEventListener('hello', () => {
    live.textContent = 'live';
    live.classList.add('on');
    void refresh();
  });
  es.addEventListener('refs', () => void refresh());
  es.onerror = () => {
    live.textContent = 'reconnecting…';
    live.classList.remove('on');
  };
}

void refresh();
listen();
setInterval(() => void refresh(), REFRESH_MS);
let resized: number | undefined;
window.addEventListener('resize', () => {
  clearTimeout(resized);
  resized = window.setTimeout(() => void refresh(), 200);
});
