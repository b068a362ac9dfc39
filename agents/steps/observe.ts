// Step 3 of a pass (and again after acting): what the runtimes show. A driver that cannot list
// fails the pass (the loop retries it with backoff) and marks the agent unhealthy until one lists.
import type { RuntimeDriver, ObservedReplica } from '../runtimes/driver.js';
import type { AgentState } from '../state.js';

export async function observeRuntimes(s: AgentState, drivers: readonly RuntimeDriver[]): Promise<ObservedReplica[]> {
  try {
    s.observed = (await Promise.all(drivers.map((d) => d.list()))).flat();
    s.runtimeError = undefined;
    return s.observed;
  } catch (e) {
    s.runtimeError = (e as Error).message;
    throw e;
  }
}
