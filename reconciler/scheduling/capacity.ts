// Resource arithmetic both levels schedule with: what one replica asks for, whether it fits,
// how much room is left, and how a capacity reads in a reason. Pure.
import type { Capacity } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { mebibytes } from '../core/quantity.js';

const EPS = 1e-9;
const requests = new WeakMap<ServiceSpec, Readonly<Capacity>>();

/** What one replica asks for (computed once per spec object: it is asked for every cluster). Do not modify it. */
export function request(spec: ServiceSpec): Readonly<Capacity> {
  let r = requests.get(spec);
  if (!r) {
    r = { cpu: spec.resources?.cpu ?? 0, memoryMi: mebibytes(spec.resources?.memory), gpu: spec.resources?.gpu ?? 0 };
    requests.set(spec, r);
  }
  return r;
}

/** Whether a replica of size `r` fits in `free` (differences below 1e-9 are rounding). */
export function fits(free: Capacity, r: Capacity): boolean {
  return r.cpu <= free.cpu + EPS && r.memoryMi <= free.memoryMi + EPS && r.gpu <= free.gpu + EPS;
}

/** How many replicas of size `r` fit in `free` (as many as asked when it asks nothing). */
export function fitting(free: Capacity, r: Capacity): number {
  let n = Infinity;
  if (r.cpu > 0) n = Math.min(n, Math.floor((free.cpu + EPS) / r.cpu));
  if (r.memoryMi > 0) n = Math.min(n, Math.floor((free.memoryMi + EPS) / r.memoryMi));
  if (r.gpu > 0) n = Math.min(n, Math.floor((free.gpu + EPS) / r.gpu));
  return n;
}

/** Takes one replica's request out of `free`, in place. */
export function take(free: Capacity, r: Capacity): void {
  free.cpu -= r.cpu;
  free.memoryMi -= r.memoryMi;
  free.gpu -= r.gpu;
}

/** The share of a capacity left free after one more replica (cpu and memory, 0 = full, 2 = empty). */
export function leftAfter(free: Capacity, request: Capacity, capacity: Capacity): number {
  return (free.cpu - request.cpu) / Math.max(capacity.cpu, EPS) + (free.memoryMi - request.memoryMi) / Math.max(capacity.memoryMi, EPS);
}

/** "cpu 0.5, memory 128Mi" (and the gpus when there are any). */
export function fmt(c: Capacity): string {
  const parts = [`cpu ${round3(c.cpu)}`, `memory ${round3(c.memoryMi)}Mi`];
  if (c.gpu) parts.push(`gpu ${c.gpu}`);
  return parts.join(', ');
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;
