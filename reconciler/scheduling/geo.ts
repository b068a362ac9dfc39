// Where things are, coarsely and by estimate: geohash cells (a cluster's footprint tells the root
// roughly where its nodes are without naming them), the distance from a point to a cell, and a
// round-trip time estimated from distance when nothing was measured. Pure.
import { distanceKm, type LatLon } from '../core/geo.js';

const BASE32 = '0123456789bcdefghjkmnpqrstuvwxyz';

/** The geohash of a point: `precision` characters (5 is a cell of about 4.9 × 4.9 km). */
export function geohash(p: LatLon, precision = 5): string {
  let latLo = -90,
    latHi = 90,
    lonLo = -180,
    lonHi = 180;
  let out = '',
    bits = 0,
    ch = 0,
    even = true;
  while (out.length < precision) {
    if (even) {
      const mid = (lonLo + lonHi) / 2;
      if (p.lon >= mid) {
        ch = (ch << 1) | 1;
        lonLo = mid;
      } else {
        ch <<= 1;
        lonHi = mid;
      }
    } else {
      const mid = (latLo + latHi) / 2;
      if (p.lat >= mid) {
        ch = (ch << 1) | 1;
        latLo = mid;
      } else {
        ch <<= 1;
        latHi = mid;
      }
    }
    even = !even;
    if (++bits === 5) {
      out += BASE32[ch];
      bits = 0;
      ch = 0;
    }
  }
  return out;
}

export interface Cell {
  latMin: number;
  latMax: number;
  lonMin: number;
  lonMax: number;
}

/** The cell a geohash names; undefined for a string that is not one. */
export function cellOf(hash: string): Cell | undefined {
  let latLo = -90,
    latHi = 90,
    lonLo = -180,
    lonHi = 180,
    even = true;
  for (const c of hash) {
    const v = BASE32.indexOf(c);
    if (v < 0) return undefined;
    for (let b = 4; b >= 0; b--) {
      const bit = (v >> b) & 1;
      if (even) {
        const mid = (lonLo + lonHi) / 2;
        if (bit) lonLo = mid;
        else lonHi = mid;
      } else {
        const mid = (latLo + latHi) / 2;
        if (bit) latLo = mid;
        else latHi = mid;
      }
      even = !even;
    }
  }
  return hash ? { latMin: latLo, latMax: latHi, lonMin: lonLo, lonMax: lonHi } : undefined;
}

/** Great-circle km from a point to the nearest part of a cell (0 inside it). */
export function distanceToCellKm(p: LatLon, hash: string): number {
  const c = cellOf(hash);
  if (!c) return Infinity;
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  // Longitude: the nearer edge, going either way round the globe.
  let lon = p.lon;
  if (lon < c.lonMin || lon > c.lonMax) {
    const west = (((c.lonMin - lon) % 360) + 360) % 360,
      east = (((lon - c.lonMax) % 360) + 360) % 360;
    lon = west < east ? c.lonMin : c.lonMax;
  }
  return distanceKm(p, { lat: clamp(p.lat, c.latMin, c.latMax), lon: clamp(lon, c.lonMin, c.lonMax) });
}

/**
 * The cells holding these points, sorted: at precision 5, made coarser until at most `maxCells`
 * remain (a cluster spread over a continent reports a few large cells, not thousands of small).
 */
export function footprintOf(points: LatLon[], maxCells = 32, precision = 5): string[] {
  for (let p = precision; p >= 1; p--) {
    const cells = [...new Set(points.map((x) => geohash(x, p)))].sort();
    if (cells.length <= maxCells || p === 1) return cells;
  }
  return [];
}

/** Signals cover about 200,000 km/s in fibre; a round trip twice the way, plus 2 ms for the ends. */
export const FIBRE_KM_PER_S = 200_000;
export const FIXED_MS = 2;

export function estimateRttMs(km: number): number {
  return round1(((2 * km) / FIBRE_KM_PER_S) * 1000 + FIXED_MS);
}

/** How far a place is from a point: its exact location when it has one, else the nearest cell of its footprint. */
export function nearestKm(p: LatLon, where: { location?: LatLon; footprint?: string[] }): { km: number; via: 'location' | 'footprint' } | undefined {
  if (where.location) return { km: distanceKm(where.location, p), via: 'location' };
  if (where.footprint?.length) return { km: Math.min(...where.footprint.map((h) => distanceToCellKm(p, h))), via: 'footprint' };
  return undefined;
}

export const round1 = (n: number) => Math.round(n * 10) / 10;
