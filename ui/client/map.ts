// The map of the clusters: an offline world (world-atlas's 1:110m countries, bundled) projected
// with d3-geo and fitted to where the clusters are; one marker per located cluster, coloured by
// its state, with a ring for the share of its CPU in use. Markers carry data-cluster and
// data-state, so tests (and people with devtools) find them.
import { geoGraticule10, geoNaturalEarth1, geoPath } from 'd3-geo';
import { feature, mesh } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import type { Feature, FeatureCollection, MultiPoint } from 'geojson';
import countries from 'world-atlas/countries-110m.json';

export type MapState = 'online' | 'degraded' | 'unreachable' | 'unknown' | 'air-gapped' | 'draining' | 'retired';

export interface Marker {
  name: string;
  lat: number;
  lon: number;
  state: MapState;
  /** 0..1: the share of its CPU in use, when it reported capacity. */
  used: number | null;
  label: string;
}

const SVG = 'http://www.w3.org/2000/svg';
const topo = countries as unknown as Topology<{ countries: GeometryCollection; land: GeometryCollection }>;
const land = feature(topo, topo.objects.land) as unknown as FeatureCollection;
const borders = mesh(topo, topo.objects.countries, (a, b) => a !== b);

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, parent?: Element): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.appendChild(e);
  return e;
}

/** What the map is fitted to: the clusters with a margin (at least 12° either way), or the whole world. */
function extent(markers: Marker[]): Feature<MultiPoint> | { type: 'Sphere' } {
  if (!markers.length) return { type: 'Sphere' };
  const lats = markers.map((m) => m.lat);
  const lons = markers.map((m) => m.lon);
  const pad = (lo: number, hi: number) => Math.max(12, (hi - lo) * 0.25);
  const [a, b] = [Math.min(...lats), Math.max(...lats)];
  const [c, d] = [Math.min(...lons), Math.max(...lons)];
  const pl = pad(a, b);
  const pn = pad(c, d);
  const corners: [number, number][] = [
    [Math.max(-180, c - pn), Math.max(-85, a - pl)],
    [Math.min(180, d + pn), Math.min(85, b + pl)],
  ];
  return { type: 'Feature', properties: {}, geometry: { type: 'MultiPoint', coordinates: corners } };
}

/** The land drawn last, kept while the map's size and extent stay: a live update redraws the markers alone. */
let base: { key: string; layer: SVGGElement; projection: ReturnType<typeof geoNaturalEarth1> } | undefined;

export function drawMap(svg: SVGSVGElement, markers: Marker[]): void {
  const w = svg.clientWidth || 600;
  const h = svg.clientHeight || 360;
  const fit = extent(markers);
  const key = `${w}x${h}:${JSON.stringify(fit)}`;
  if (base?.key !== key || base.layer.ownerSVGElement !== svg) {
    svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
    const projection = geoNaturalEarth1().fitExtent(
      [
        [10, 10],
        [w - 10, h - 10],
      ],
      fit as never,
    );
    const path = geoPath(projection);
    const layer = el('g', { class: 'base' });
    el('path', { class: 'graticule', d: path(geoGraticule10()) ?? '' }, layer);
    el('path', { class: 'land', d: path(land) ?? '' }, layer);
    el('path', { class: 'land', d: path(borders) ?? '', fill: 'none' }, layer);
    base = { key, layer, projection };
  }
  svg.replaceChildren(base.layer);
  const projection = base.projection;
  const at = markers.map((m) => projection([m.lon, m.lat]));
  markers.forEach((m, i) => {
    const p = at[i];
    if (!p) return;
    // The label on the left when another marker is close on the right.
    const left = at.some((q, j) => j !== i && q && q[0] > p[0] && q[0] - p[0] < 170 && Math.abs(q[1] - p[1]) < 32);
    const g = el('g', { class: 'cluster', 'data-cluster': m.name, 'data-state': m.state, transform: `translate(${p[0].toFixed(1)},${p[1].toFixed(1)})` }, svg);
    el('title', {}, g).textContent = `${m.name}: ${m.state}${m.label ? `, ${m.label}` : ''}`;
    el('circle', { class: 'dot', r: 9 }, g);
    if (m.used !== null && m.used > 0) {
      // An arc around the dot: the share of CPU in use, clockwise from the top.
      const r = 13;
      const a = Math.min(m.used, 0.9999) * 2 * Math.PI;
      const x = r * Math.sin(a);
      const y = -r * Math.cos(a);
      el('path', { class: 'used', d: `M0,${-r} A${r},${r} 0 ${a > Math.PI ? 1 : 0} 1 ${x.toFixed(2)},${y.toFixed(2)}` }, g);
    }
    const x = left ? -16 : 16;
    const anchor = left ? 'end' : 'start';
    el('text', { x, y: -2, 'text-anchor': anchor }, g).textContent = m.name;
    el('text', { x, y: 12, 'text-anchor': anchor, class: 'sub' }, g).textContent = m.label;
  });
}
