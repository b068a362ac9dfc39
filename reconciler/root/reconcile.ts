// What the root's loop runs for each key: `main` is a pass over a new commit (read, check its
// signature when fleet.yaml requires one, load, validate, place, delegate, record); `place` re-places on what the clusters reported (place, delegate,
// record); `drain` drops what retired clusters kept once it is ready elsewhere (drain, delegate, record); `routes` writes the placements whose routes a status changed; `rollout` moves rollouts on (waves, delegate, record); `converge`, `send:<cluster>` and `live:<cluster>` record convergence, bring a cluster
// to its current placement, and record its liveness. A key that throws is retried by the loop
// and marks the root unhealthy until it succeeds.
import type { Reconciler } from '../runtime/loop.js';
import type { RootPorts } from './ports.js';
import type { RootState } from './state.js';
import { recordConvergence } from './steps/convergence.js';
import { delegate, sendTo } from './steps/delegate.js';
import { drain, takeRetired } from './steps/drain.js';
import { recordLiveness } from './steps/liveness.js';
import { runPass, timed, type Step } from './steps/pass.js';
import { place } from './steps/place.js';
import { loadCommit, readCommit } from './steps/read-commit.js';
import { record } from './steps/record.js';
import { reroute } from './steps/routes.js';
import { runWaves, startRollouts } from './steps/rollouts.js';
import { validate } from './steps/validate.js';
import { takeTrust } from './steps/trust.js';
import { verifySignature } from './steps/verify-signature.js';
import { syncAirGapped } from './air-gapped.js';

const PLACE: readonly Step[] = [
  { name: 'place', run: place },
  { name: 'drain', run: drain },
  { name: 'waves', run: runWaves },
  { name: 'delegate', run: delegate },
  { name: 'record', run: record },
];

export const MAIN_PASS: readonly Step[] = [
  { name: 'read', run: readCommit },
  { name: 'signature', run: verifySignature },
  { name: 'load', run: loadCommit },
  { name: 'validate', run: validate },
  { name: 'trust', run: takeTrust },
  { name: 'air-gapped', run: syncAirGapped },
  { name: 'retired', run: takeRetired },
  { name: 'rollouts', run: startRollouts },
  ...PLACE,
];
export const PLACE_PASS: readonly Step[] = PLACE;
/** Routes only: the clusters a status or liveness change marked (steps/routes.ts). */
export const ROUTES_PASS: readonly Step[] = [{ name: 'routes', run: reroute }];
/** Rollouts only: a wave to judge, a bake or a deadline that ended (steps/rollouts.ts). */
export const ROLLOUT_PASS: readonly Step[] = PLACE.slice(2);
/** Drain only: a status said replicas are ready elsewhere (steps/drain.ts). */
export const DRAIN_PASS: readonly Step[] = [PLACE[1], ...PLACE.slice(3)];

export function rootReconciler(state: RootState, ports: RootPorts): Reconciler {
  const run = async (key: string) => {
    if (key === 'main') return void (await runPass(MAIN_PASS, state, ports));
    if (key === 'place') return void (await runPass(PLACE_PASS, state, ports));
    if (key === 'routes') return void (await runPass(ROUTES_PASS, state, ports));
    if (key === 'rollout') return void (await runPass(ROLLOUT_PASS, state, ports));
    if (key === 'air-gapped') return timed(ports, 'air-gapped', () => syncAirGapped(state, ports));
    if (key === 'drain') return void (await runPass(DRAIN_PASS, state, ports));
    if (key === 'converge') return timed(ports, 'convergence', () => recordConvergence(state, ports));
    if (key.startsWith('send:')) return timed(ports, 'send', () => sendTo(state, ports, key.slice(5)));
    if (key.startsWith('live:')) return timed(ports, 'liveness', () => recordLiveness(state, ports, key.slice(5)));
  };
  return async (key) => {
    try {
      const r = await run(key);
      ports.metrics.succeeded(key);
      return r;
    } catch (e) {
      ports.metrics.failed(key, e);
      throw e;
    }
  };
}
