// Every root scheduling policy, by the name fleet.yaml's spec.scheduler.root uses. The names
// are schemas/policies.ts's (the contract); this registry must implement each of them.
import type { RootScheduler } from './policy.js';
import { ROOT_POLICIES, type RootPolicy } from '../../../schemas/policies.js';
import { bestfit } from './bestfit.js';
import { spread } from './spread.js';
import { closest } from './closest.js';

export const rootSchedulers: Readonly<Record<RootPolicy, RootScheduler>> = { bestfit, spread, closest };

export { ROOT_POLICIES, type RootPolicy };

/** The policy of that name; best fit for a name that is not one (the schema rejects those first). */
export function rootScheduler(name: string | undefined): RootScheduler {
  return Object.hasOwn(rootSchedulers, name ?? '') ? rootSchedulers[name as RootPolicy] : rootSchedulers.bestfit;
}
