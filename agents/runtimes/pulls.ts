// The docker runtime's pulls, off the agent's pass: a replica whose image must be pulled waits
// here (listed as `starting`, "pulling 42 %") while one pull per image runs in the background,
// then is run; a failed pull lists it as `failed` ("pull IMAGE: reason") until the agent starts it
// again, and an image that failed is not pulled again before its backoff (2 s, 4 s, … 2 min; new
// credentials for its registry lift it). Nothing here blocks the pass or other replicas.
import type { ObservedReplica, Workload } from './driver.js';
import { parseImageRef, pullBackoffMs, type RegistryAuth, type RegistryCredentials } from './image-ref.js';

export interface PullPorts {
  /** Pull the image with these credentials; onProgress(percent). Rejects with a reason free of credentials. */
  pull(image: string, auth: RegistryCredentials | undefined, onProgress: (percent: number) => void): Promise<void>;
  /** Run the replica once its image is there, unless `wanted()` says it was stopped or replaced meanwhile. */
  run(w: Workload, wanted: () => boolean): Promise<void>;
  auth: RegistryAuth;
  now(): number;
  /** Something a list would show changed (a pull's progress at most once a second). */
  changed(): void;
}

interface Waiting {
  w: Workload;
  state: 'starting' | 'failed';
  message: string;
  since: string;
}

interface Failure {
  count: number;
  lastAt: number;
  message: string;
  /** Which credentials failed (a comparison key kept in memory, never reported). */
  login: string;
}

const PROGRESS_EVERY_MS = 1000;

export class Pulls {
  private readonly waiting = new Map<string, Waiting>();
  private readonly jobs = new Map<string, { done: Promise<string | undefined>; percent: number }>();
  private readonly failures = new Map<string, Failure>();
  private lastProgress = 0;

  constructor(private readonly p: PullPorts) {}

  /** True while the replica waits for a pull of this very spec. */
  pulling(w: Workload): boolean {
    const e = this.waiting.get(w.id);
    return !!e && e.state === 'starting' && e.w.specHash === w.specHash;
  }

  /** Forget the replica (stopped, or started anew): a pull in flight goes on for its image, not for it. */
  cancel(id: string): Waiting | undefined {
    const e = this.waiting.get(id);
    this.waiting.delete(id);
    return e;
  }

  /** The replicas waiting for their image, as the runtime's list shows them. */
  list(): ObservedReplica[] {
    return [...this.waiting.values()].map((e) => ({
      id: e.w.id,
      service: e.w.service,
      specHash: e.w.specHash,
      state: e.state,
      message: e.message,
      since: e.since,
    }));
  }

  /** The replica runs once its image is pulled (or fails with the image's reason while its backoff lasts). */
  begin(w: Workload): void {
    const prev = this.cancel(w.id);
    const image = w.spec.image!;
    const auth = this.p.auth(parseImageRef(image).host);
    const login = auth ? `${auth.username}\n${auth.password}` : '';
    const now = this.p.now();
    const f = this.failures.get(image);
    if (f && f.login === login && now < f.lastAt + pullBackoffMs(f.count)) {
      const since = prev?.state === 'failed' && prev.message === f.message ? prev.since : new Date(f.lastAt).toISOString();
      this.waiting.set(w.id, { w, state: 'failed', message: f.message, since });
      return;
    }
    const entry: Waiting = { w, state: 'starting', message: `pulling ${this.jobs.get(image)?.percent ?? 0} %`, since: new Date(now).toISOString() };
    this.waiting.set(w.id, entry);
    const job = this.jobs.get(image) ?? this.startJob(image, auth, login);
    void job.done.then((failed) => this.after(entry, failed));
  }

  private startJob(image: string, auth: RegistryCredentials | undefined, login: string) {
    const job = { done: Promise.resolve<string | undefined>(undefined), percent: 0 };
    const progress = (pct: number) => {
      job.percent = pct;
      for (const e of this.waiting.values()) if (e.state === 'starting' && e.w.spec.image === image) e.message = `pulling ${pct} %`;
      const now = this.p.now();
      if (now - this.lastProgress < PROGRESS_EVERY_MS) return;
      this.lastProgress = now;
      this.p.changed();
    };
    job.done = this.p.pull(image, auth, progress).then(
      () => {
        this.jobs.delete(image);
        this.failures.delete(image);
        return undefined;
      },
      (e: Error) => {
        this.jobs.delete(image);
        const count = (this.failures.get(image)?.login === login ? (this.failures.get(image)?.count ?? 0) : 0) + 1;
        const message = `pull ${image}: ${e.message}`.slice(0, 2000);
        this.failures.set(image, { count, lastAt: this.p.now(), message, login });
        return message;
      },
    );
    this.jobs.set(image, job);
    return job;
  }

  private async after(entry: Waiting, failed: string | undefined): Promise<void> {
    const mine = () => this.waiting.get(entry.w.id) === entry;
    if (!mine()) return;
    if (failed) {
      Object.assign(entry, { state: 'failed', message: failed, since: new Date(this.p.now()).toISOString() });
      return this.p.changed();
    }
    try {
      await this.p.run(entry.w, mine);
      if (mine()) this.waiting.delete(entry.w.id);
    } catch (e) {
      if (mine()) Object.assign(entry, { state: 'failed', message: (e as Error).message, since: new Date(this.p.now()).toISOString() });
    }
    this.p.changed();
  }
}

/** Runs calls for one replica one after another (a start off a pull, and the pass's starts and stops). */
export function serialById() {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    const run = (tails.get(id) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => {});
    tails.set(id, tail);
    void tail.then(() => tails.get(id) === tail && tails.delete(id));
    return run;
  };
}
