// Docker checks in tests go through the docker CLI, independent of the code under test.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { atExit, record } from './cleanup.js';

export function containers(fleet: string, extra: string[] = []): Array<{ name: string; state: string; service: string; replica: string }> {
  const out = execFileSync(
    'docker',
    [
      'ps',
      '-a',
      '--filter',
      `label=canopy.fleet=${fleet}`,
      ...extra.flatMap((f) => ['--filter', f]),
      '--format',
      '{{.Names}}\t{{.State}}\t{{.Label "canopy.service"}}\t{{.Label "canopy.replica"}}',
    ],
    { encoding: 'utf8' },
  );
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [name, state, service, replica] = l.split('\t');
      return { name, state, service, replica };
    });
}

export function running(fleet: string, service?: string): number {
  return containers(fleet).filter((c) => c.state === 'running' && (!service || c.service === service)).length;
}

/**
 * A fleet this test file runs: its containers and process workloads are removed when the file's
 * process exits (whatever happened before), and test/run.mjs checks afterwards that none is left.
 */
export function ownFleet(fleet: string): string {
  atExit(() => removeFleet(fleet));
  record(`docker-label canopy.fleet=${fleet}`);
  return fleet;
}

/** Remove a fleet's containers, and its process workloads (which outlive the agents that started them). */
export function removeFleet(fleet: string): void {
  removeFleetProcesses(fleet);
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=canopy.fleet=${fleet}`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  if (ids.length) execFileSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
}

export function requireDocker(): void {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    throw new Error('Docker Engine is not reachable: run scripts/setup.sh (installs docker.io and starts dockerd)');
  }
}

/** Kill what the process runtime started for this fleet (it marks each with CANOPY_FLEET). */
export function removeFleetProcesses(fleet: string): number {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let env = '';
    try {
      env = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue;
    }
    if (!env.split('\0').includes(`CANOPY_FLEET=${fleet}`)) continue;
    try {
      process.kill(-Number(pid), 'SIGKILL');
      n++;
    } catch {
      try {
        process.kill(Number(pid), 'SIGKILL');
        n++;
      } catch {
        /* gone */
      }
    }
  }
  return n;
}
