// Picks the drivers for an agent's runtime kind. The Docker client is imported only for `docker`, so
// agents on process or sim runtimes do not pay for it in memory and start-up time. Processes run
// on the host with the agent's rights, so only a runtime that names them runs them: `process`, or
// `docker,process` for both kinds (`docker` alone runs containers only).
import type { DriverOptions, RuntimeDriver } from './driver.js';
import { processDriver } from './process.js';
import { simDriver } from './sim.js';

export type RuntimeKind = 'docker' | 'process' | 'sim' | 'docker,process';

export async function loadDrivers(kind: RuntimeKind, opts: DriverOptions): Promise<{ container?: RuntimeDriver; process?: RuntimeDriver }> {
  switch (kind) {
    case 'docker':
    case 'docker,process': {
      const { dockerDriver, dockerAvailable } = await import('./docker.js');
      if (!(await dockerAvailable())) {
        throw new Error(
          `runtime docker: no Docker engine answers at ${process.env.DOCKER_HOST ?? '/var/run/docker.sock'} (start dockerd, set DOCKER_HOST, or use runtime process)`,
        );
      }
      return { container: dockerDriver(opts), ...(kind === 'docker,process' ? { process: processDriver(opts) } : {}) };
    }
    case 'process':
      return { process: processDriver(opts) };
    case 'sim': {
      const sim = simDriver(opts);
      return { container: sim, process: sim };
    }
    default:
      throw new Error(`unknown runtime ${String(kind)}: use docker, process, sim or docker,process`);
  }
}
