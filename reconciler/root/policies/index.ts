// Every root scheduling policy, by the name fleet.yaml's spec.scheduler.root uses. The fleet
// schema's list of names is this registry's keys: a new policy is a file beside this one, a
// line here and a test.
import type { RootScheduler } from './policy.js';
import { bestfit } from './bestfit.js';
import { spread } from './spread.js';
import { closest } from './closest.js';

export const rootSchedulers = { bestfit, spread, closest } satisfies Record<string, RootScheduler>;

export type RootPolicy = keyof typeof rootSchedulers;

export const ROOT_POLICIES = Object.keys(rootSchedulers) as RootPolicy[];

/** The policy of that name; best fit for a name that is not one (the schema rejects those first). */
export function rootScheduler(name: string | undefined): RootScheduler {
  return Object.hasOwn(rootSchedulers, name ?? '') ? rootSchedulers[name as RootPolicy] : rootSchedulers.bestfit;
}
