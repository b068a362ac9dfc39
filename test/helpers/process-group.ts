// What is left of a process group, and of a fleet's process workloads, read from /proc: how the
// signal and usage-error tests check that canopy left nothing running.
import { readdirSync, readFileSync } from 'node:fs';

const pids = () => readdirSync('/proc').filter((x) => /^\d+$/.test(x));

/** Pids in a process group (field 5 of /proc/<pid>/stat, after the parenthesised command), zombies aside. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const d of pids()) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid && f[0] !== 'Z') out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* none left */
  }
}

/** Pids of the process workloads of a fleet (the process runtime marks each with CANOPY_FLEET). */
export function fleetProcesses(fleet: string): number[] {
  const out: number[] = [];
  for (const d of pids()) {
    try {
      if (readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(`CANOPY_FLEET=${fleet}`)) out.push(Number(d));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}
