// The agent's resync timer, which is also its heartbeat: every period it enqueues a pass. Its
// period follows the cluster's (sent with the assignment), so set() restarts it.
export interface Heartbeat {
  set(ms: number): void;
  stop(): void;
}

export function startHeartbeat(ms: number, beat: () => void): Heartbeat {
  let period = ms;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      beat();
      schedule();
    }, period);
  };
  schedule();
  return {
    set(next) {
      period = next;
      schedule();
    },
    stop: () => clearTimeout(timer),
  };
}
