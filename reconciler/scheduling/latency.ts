// Round trips as both levels reason about them: measured by an agent, or estimated from a
// distance (geo.ts), and how one reads in a reason. Pure.
import { round1 } from './geo.js';

/** A round-trip time and how it is known. `km` is the distance an estimate came from. */
export interface Rtt {
  ms: number;
  source: 'measured' | 'estimated';
  km?: number;
}

/** A named point of fleet.yaml spec.targets (`probe`: the address agents measure it by). */
export interface Target {
  lat: number;
  lon: number;
  probe?: string;
}

/** "2.1 ms to target cams (measured)", "about 8.8 ms to (48.137, 11.575) (estimated from 684 km)". */
export function describeRtt(r: Rtt, label: string): string {
  if (r.source === 'measured') return `${round1(r.ms)} ms to ${label} (measured)`;
  return `about ${round1(r.ms)} ms to ${label} (estimated from ${r.km !== undefined ? `${Math.round(r.km)} km` : "its nodes' positions"})`;
}
