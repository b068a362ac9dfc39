// Image references, registry credentials, pull progress and the backoff of failed pulls: the pure
// parts of the docker runtime's pulls (docker-pull.ts streams them, pulls.ts runs them). Pure.

/** A registry's login, as the node's opened assignment gives it (helper "secrets" wires it). */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/** The credentials for a registry host (`registry.example.com:5000`, `docker.io`), or undefined. */
export type RegistryAuth = (host: string) => RegistryCredentials | undefined;

export const noRegistryAuth: RegistryAuth = () => undefined;

export interface ImageRef {
  /** The registry host, as Docker names it: `docker.io` for Docker Hub. */
  host: string;
  /** The repository as given, without tag or digest (`nginx`, `127.0.0.1:5000/app`). */
  name: string;
  /** `1.25`, or `latest` when neither a tag nor a digest is given. */
  tag?: string;
  /** `sha256:…` of an `image@sha256:…` reference: pulled and run as it is. */
  digest?: string;
}

/** Splits a reference as Docker reads it: a first part with `.` or `:` (or `localhost`) is the registry host. */
export function parseImageRef(ref: string): ImageRef {
  const at = ref.indexOf('@');
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  let name = at >= 0 ? ref.slice(0, at) : ref;
  let tag: string | undefined;
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  const first = name.split('/')[0];
  const host = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
  return { host, name, ...(tag || !digest ? { tag: tag ?? 'latest' } : {}), ...(digest ? { digest } : {}) };
}

/** The query of POST /images/create: one tag or digest (an empty tag would pull every tag). */
export function pullQuery(ref: ImageRef): string {
  return `fromImage=${encodeURIComponent(ref.name)}&tag=${encodeURIComponent(ref.digest ?? ref.tag ?? 'latest')}`;
}

/** The X-Registry-Auth header: base64url (padded, as Go's URLEncoding) of the login. */
export function registryAuthHeader(host: string, c: RegistryCredentials): string {
  const serveraddress = host === 'docker.io' ? 'https://index.docker.io/v1/' : host;
  return Buffer.from(JSON.stringify({ username: c.username, password: c.password, serveraddress }))
    .toString('base64')
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
}

/** Removes every occurrence of the login's password from a message (the engine's errors never should hold it: belt and braces). */
export function redact(message: string, c: RegistryCredentials | undefined): string {
  return c?.password ? message.split(c.password).join('***') : message;
}

/** One line of the engine's pull stream. */
export interface PullEvent {
  id?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

/** Layers seen in a pull stream: bytes downloaded of the sizes known, for "pulling 42 %". */
export class PullProgress {
  private readonly layers = new Map<string, { current: number; total: number; done: boolean }>();
  /** The error the stream ended with, if any. */
  error: string | undefined;

  /** Takes one JSON line of the stream; ignores what it cannot read. */
  line(text: string): void {
    let e: PullEvent;
    try {
      e = JSON.parse(text) as PullEvent;
    } catch {
      return;
    }
    if (e.error || e.errorDetail?.message) {
      this.error = e.errorDetail?.message ?? e.error;
      return;
    }
    if (!e.id || !e.status) return;
    const l = this.layers.get(e.id) ?? { current: 0, total: 0, done: false };
    const d = e.progressDetail;
    if (e.status === 'Downloading' && d?.total) {
      l.total = d.total;
      l.current = Math.min(d.current ?? 0, d.total);
    } else if (/^(Download complete|Pull complete|Already exists|Verifying Checksum|Extracting)/.test(e.status)) {
      l.done = true;
    } else if (e.status !== 'Pulling fs layer' && e.status !== 'Waiting') return; // "Pulling from …", "Digest: …", "Status: …"
    this.layers.set(e.id, l);
  }

  /** 0..100: layers done count whole; layers not sized yet count as not started (1 each). */
  percent(): number {
    let current = 0;
    let total = 0;
    for (const l of this.layers.values()) {
      const size = l.total || 1;
      total += size;
      current += l.done ? size : l.current;
    }
    return total ? Math.floor((100 * current) / total) : 0;
  }
}

/** Wait before pulling an image again after `failures` failed pulls in a row: 2 s, 4 s, … 2 min. */
export const pullBackoffMs = (failures: number) => Math.min(120_000, 2000 * 2 ** Math.max(0, failures - 1));
