// Docker checks in tests go through the docker CLI, independent of the code under test.
import { execFileSync } from 'node:child_process';

export function containers(fleet: string, extra: string[] = []): Array<{ name: string; state: string; service: string; replica: string }> {
  const out = execFileSync('docker', ['ps', '-a', '--filter', `label=canopy.fleet=${fleet}`, ...extra.flatMap((f) => ['--filter', f]),
    '--format', '{{.Names}}\t{{.State}}\t{{.Label "canopy.service"}}\t{{.Label "canopy.replica"}}'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((l) => { const [name, state, service, replica] = l.split('\t'); return { name, state, service, replica }; });
}

export function running(fleet: string, service?: string): number {
  return containers(fleet).filter((c) => c.state === 'running' && (!service || c.service === service)).length;
}

export function removeFleet(fleet: string): void {
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=canopy.fleet=${fleet}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
  if (ids.length) execFileSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
}

export function requireDocker(): void {
  try { execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }); }
  catch { throw new Error('Docker Engine is not reachable: run scripts/setup.sh (installs docker.io and starts dockerd)'); }
}
