// The few Docker Engine API calls the docker runtime makes, over node:http: ping, list, inspect,
// create, start, stop, remove. It replaces dockerode in the agent because dockerode loads gRPC,
// protobufjs and ssh2 (a WebAssembly module and a native addon) when it is imported, for image
// builds and ssh:// hosts the agent never uses: 7 MB of an idle agent's 60 MB budget
// (bench/footprint.bench.ts). test/contract/docker-engine.test.ts checks it against the real
// engine, and against dockerode's view of the same containers.
//
// Where the engine is, as the docker CLI and dockerode read it: DOCKER_HOST (unix:///path,
// tcp://host:port; https when DOCKER_TLS_VERIFY=1 or port 2376, with DOCKER_CERT_PATH's
// ca.pem, cert.pem, key.pem), else /var/run/docker.sock. ssh:// is not supported: run the agent
// on the node whose engine it drives.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface EngineAddress {
  socketPath?: string;
  host?: string;
  port?: number;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Shown in errors: where the engine was looked for. */
  label: string;
}

/** Where the Docker Engine is, from the environment (DOCKER_HOST and friends). */
export function engineAddress(env: NodeJS.ProcessEnv = process.env): EngineAddress {
  const host = env.DOCKER_HOST;
  if (!host) return { socketPath: '/var/run/docker.sock', label: '/var/run/docker.sock' };
  if (host.startsWith('unix://')) {
    const p = host.slice('unix://'.length) || '/var/run/docker.sock';
    return { socketPath: p, label: host };
  }
  let u: URL;
  try {
    u = new URL(host.includes('//') ? host : `tcp://${host}`);
  } catch {
    throw new Error(`DOCKER_HOST=${host}: expected unix:///path or tcp://host:port`);
  }
  if (u.protocol === 'ssh:')
    throw new Error(
      `DOCKER_HOST=${host}: ssh is not supported by the agent; run it on the Docker host (unix socket) or expose the engine over tcp:// with TLS`,
    );
  if (u.protocol !== 'tcp:' && u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new Error(`DOCKER_HOST=${host}: expected unix:///path or tcp://host:port`);
  const port = Number(u.port || (u.protocol === 'https:' ? 2376 : 2375));
  const secure = u.protocol === 'https:' || env.DOCKER_TLS_VERIFY === '1' || port === 2376;
  const certs = env.DOCKER_CERT_PATH;
  const file = (f: string) => readFileSync(path.join(certs!, f));
  const tls = secure ? (certs ? { ca: file('ca.pem'), cert: file('cert.pem'), key: file('key.pem') } : {}) : undefined;
  return { host: u.hostname, port, tls, label: host };
}

/** An answer from the engine that is not a success: its HTTP status and the engine's message. */
export class EngineError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Labels: Record<string, string>;
  State: string;
  Created: number;
  /** Published ports: PublicPort is absent for a port only exposed. */
  Ports?: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }>;
}

export interface ContainerState {
  Status: string;
  Running: boolean;
  ExitCode: number;
  Error: string;
  OOMKilled: boolean;
  StartedAt: string;
  FinishedAt: string;
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  State: ContainerState;
  Config: { Labels: Record<string, string>; Env: string[]; ExposedPorts?: Record<string, object> };
  HostConfig: Record<string, unknown>;
}

/** The body of POST /containers/create (the fields canopy sets; the engine takes more). */
export interface ContainerCreate {
  Image: string;
  Cmd?: string[];
  Env?: string[];
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, object>;
  HostConfig?: {
    Init?: boolean;
    RestartPolicy?: { Name: string };
    NanoCpus?: number;
    Memory?: number;
    /** `8080/tcp` (the container's port) → where the host publishes it. */
    PortBindings?: Record<string, Array<{ HostIp: string; HostPort: string }>>;
    /** `name:address` lines for the container's /etc/hosts. */
    ExtraHosts?: string[];
    Dns?: string[];
    /** Named volumes mounted in the container (agents/runtimes/docker-volumes.ts). */
    Mounts?: Array<{ Type: 'volume'; Source: string; Target: string }>;
  };
}

export interface DockerEngine {
  readonly address: EngineAddress;
  ping(timeoutMs?: number): Promise<void>;
  listContainers(o: { all?: boolean; filters?: Record<string, string[]> }): Promise<ContainerSummary[]>;
  inspectContainer(id: string): Promise<ContainerInspect>;
  createContainer(name: string, body: ContainerCreate): Promise<{ Id: string }>;
  startContainer(id: string): Promise<void>;
  /** Stop with SIGTERM, SIGKILL after `t` seconds. 304 (already stopped) is an EngineError. */
  stopContainer(id: string, t: number): Promise<void>;
  removeContainer(id: string, o?: { force?: boolean }): Promise<void>;
  /** Create an exec instance of argv in a running container (no streams attached). */
  createExec(id: string, command: string[]): Promise<{ Id: string }>;
  /** Start an exec instance detached: it runs on in the container. */
  startExec(execId: string): Promise<void>;
  inspectExec(execId: string): Promise<{ Running: boolean; ExitCode: number | null }>;
  /** Any other call (volumes: docker-volumes.ts): JSON in and out; a status that is not a success is an EngineError. */
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
}

export interface EngineOptions {
  address?: EngineAddress;
  /** Deadline of a request, ms (default 60 s; a stop adds its grace period). */
  timeoutMs?: number;
}

const MAX_BODY = 64 << 20;

export function dockerEngine(o: EngineOptions = {}): DockerEngine {
  const address = o.address ?? engineAddress();
  const timeoutMs = o.timeoutMs ?? 60_000;
  const transport = address.tls ? https : http;

  /** One request; resolves with the status and body of any answer, rejects when there is none. */
  function send(method: string, p: string, body?: unknown, deadlineMs = timeoutMs): Promise<{ status: number; text: string }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = transport.request(
        {
          method,
          path: p,
          ...(address.socketPath ? { socketPath: address.socketPath } : { host: address.host, port: address.port }),
          ...(address.tls ?? {}),
          headers: { Host: 'docker', ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}) },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY) req.destroy(new Error(`${method} ${p}: answer larger than ${MAX_BODY} bytes`));
            else chunks.push(c);
          });
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.setTimeout(deadlineMs, () => req.destroy(new Error(`${method} ${p}: no answer from the Docker Engine at ${address.label} within ${deadlineMs} ms`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED')
          reject(new Error(`Docker Engine at ${address.label} is not reachable (${e.code}): is dockerd running?`));
        else if (e.code === 'EACCES') reject(new Error(`Docker Engine at ${address.label}: permission denied (is this user in the docker group?)`));
        else reject(e);
      });
      req.end(payload);
    });
  }

  /** A request whose success is JSON (or empty); any other status is an EngineError. */
  async function call<T>(method: string, p: string, body?: unknown, deadlineMs?: number): Promise<T> {
    const { status, text } = await send(method, p, body, deadlineMs);
    if (status < 200 || status >= 300) throw new EngineError(status, `${method} ${p}: ${status} ${engineMessage(text)}`.trim());
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(`${method} ${p}: the engine answered ${status} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
  }

  const id = (s: string) => encodeURIComponent(s);

  return {
    address,
    async ping(ms = timeoutMs) {
      // _ping answers "OK" as text/plain.
      const { status, text } = await send('GET', '/_ping', undefined, ms);
      if (status !== 200) throw new EngineError(status, `GET /_ping: ${status} ${engineMessage(text)}`.trim());
    },
    listContainers: ({ all, filters }) =>
      call('GET', `/containers/json?all=${all ? 1 : 0}${filters ? `&filters=${encodeURIComponent(JSON.stringify(filters))}` : ''}`),
    inspectContainer: (c) => call('GET', `/containers/${id(c)}/json`),
    createContainer: (name, body) => call('POST', `/containers/create?name=${encodeURIComponent(name)}`, body),
    startContainer: (c) => call('POST', `/containers/${id(c)}/start`),
    stopContainer: (c, t) => call('POST', `/containers/${id(c)}/stop?t=${t}`, undefined, timeoutMs + t * 1000),
    removeContainer: (c, { force = false } = {}) => call('DELETE', `/containers/${id(c)}?force=${force ? 1 : 0}`),
    createExec: (c, command) => call('POST', `/containers/${id(c)}/exec`, { Cmd: command, AttachStdin: false, AttachStdout: false, AttachStderr: false }),
    startExec: (e) => call('POST', `/exec/${id(e)}/start`, { Detach: true, Tty: false }),
    inspectExec: (e) => call('GET', `/exec/${id(e)}/json`),
    call: (method, p, body) => call(method, p, body),
  };
}

/** The engine's error body is {"message": "..."}; anything else is shown as it came, shortened. */
function engineMessage(text: string): string {
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof m === 'string') return m;
  } catch {
    /* not JSON */
  }
  return text.trim().slice(0, 200);
}
