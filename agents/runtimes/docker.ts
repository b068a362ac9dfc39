// Docker runtime: one container per replica, found again by its labels, so a restarted agent
// adopts what is running instead of starting it twice. The engine holds all state. It speaks to
// the engine through docker-engine.ts (node:http), not dockerode: see there for why.
import { OWNER_LABEL, ownerLabels } from './docker-labels.js';
import { mebibytes } from '../../reconciler/core/quantity.js';
import { portKey } from '../../reconciler/core/service-names.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { dockerEngine, execIn, type DockerEngine, type ContainerCreate, type ContainerState, type ContainerSummary } from './docker-engine.js';
import { dockerLogs } from './docker-logs.js';
import { containerPulls, needsPull, type imageDigests } from './docker-images.js';
import { serialById } from './pulls.js';
import { dockerVolumes } from './docker-volumes.js';
import { nodeEnv, type DriverOptions, type ObservedReplica, type ReplicaPhase, type RuntimeDriver, type Workload } from './driver.js';

export const LABEL = { ...OWNER_LABEL, specHash: 'canopy.spec-hash' } as const;

const STOP_TIMEOUT_S = 2;

/** True when a Docker engine answers a ping within about a second. */
export async function dockerAvailable(docker?: DockerEngine): Promise<boolean> {
  try {
    await (docker ?? dockerEngine()).ping(1000);
    return true;
  } catch {
    return false;
  }
}

/**
 * `canopy_<fleet>_<node>_<app>_<svc>_<index>`. Parts are DNS labels (they contain `-` but never
 * `_`), so `_` keeps names of different replicas apart: with `-`, app `a-b`/svc `c` and app
 * `a`/svc `b-c` would share a name and replace each other.
 */
export function containerName(opts: DriverOptions, replicaId: string): string {
  const part = (s: string) => s.replace(/[^a-zA-Z0-9.-]/g, '-');
  const [service, index = '0'] = replicaId.split('#');
  return ['canopy', opts.fleet, opts.node, ...service.split('/'), index].map(part).join('_');
}

export function dockerDriver(opts: DriverOptions & { docker?: DockerEngine }): RuntimeDriver {
  const docker = opts.docker ?? dockerEngine();
  const filters = { label: [`${LABEL.fleet}=${opts.fleet}`, `${LABEL.node}=${opts.node}`] };
  const serial = serialById();
  const volumes = dockerVolumes(docker, opts);
  /** Remove what runs under the replica's name, then create and start it with its volumes. */
  const replace = async (w: Workload) => {
    await removeContainer(docker, containerName(opts, w.id));
    const mounts = await volumes.prepare(w, containerName(opts, w.id));
    await createAndStart(docker, opts, mounts ? { ...w, mounts } : w);
  };
  const { pulls, digests, listen, close } = containerPulls(docker, opts, (w, wanted) =>
    serial(w.id, async () => {
      if (wanted()) await replace(w);
    }),
  );
  const stop = async (id: string) => {
    pulls.cancel(id);
    await serial(id, () => removeContainer(docker, containerName(opts, id)));
  };
  return {
    name: 'docker',
    async list() {
      const waiting = pulls.list();
      const ids = new Set(waiting.map((w) => w.id));
      return [...(await listReplicas(docker, filters, digests)).filter((r) => !ids.has(r.id)), ...waiting];
    },
    async start(w) {
      if (!w.spec.image) throw new Error(`service ${w.service} has runtime container but no image`);
      if (pulls.pulling(w)) return; // its image is on its way
      pulls.cancel(w.id);
      if (await needsPull(docker, w.spec.image, w.spec.imagePullPolicy)) return pulls.begin(w);
      await serial(w.id, () => replace(w));
    },
    stop,
    volumes: volumes.api,
    exec: (id, command, timeoutMs) => execIn(docker, containerName(opts, id), command, timeoutMs),
    logs: (id, o, onLine) => dockerLogs(docker.address, containerName(opts, id), o, onLine),
    onChange: listen,
    close: async () => close(),
  };
}

async function listReplicas(docker: DockerEngine, filters: Record<string, string[]>, digests: ReturnType<typeof imageDigests>): Promise<ObservedReplica[]> {
  const infos = await docker.listContainers({ all: true, filters });
  const out: ObservedReplica[] = [];
  for (const c of infos) {
    const id = c.Labels[LABEL.replica];
    if (!id) continue;
    const image = await digests.of(c);
    const base = { id, service: c.Labels[LABEL.service] ?? '', specHash: c.Labels[LABEL.specHash] ?? '', ...(image ? { image } : {}) };
    if (c.State === 'running') {
      // No restart policy, so a running container started right after it was created.
      const published = publishedOf(c.Ports);
      out.push({ ...base, state: 'running', since: new Date(c.Created * 1000).toISOString(), ...(published ? { published } : {}) });
    } else {
      const seen = await describeStopped(docker, c.Id, new Date(c.Created * 1000).toISOString());
      if (seen) out.push({ ...base, ...seen });
    }
  }
  return out;
}

// Only containers that are not running need their times and exit code: one inspect each.
async function describeStopped(
  docker: DockerEngine,
  containerId: string,
  created: string,
): Promise<Omit<ObservedReplica, 'id' | 'service' | 'specHash'> | undefined> {
  let s: ContainerState;
  try {
    s = (await docker.inspectContainer(containerId)).State;
  } catch (err) {
    if (statusOf(err) === 404) return undefined; // removed since listContainers
    throw err;
  }
  const phase = phaseOf(s.Status, s.Error);
  if (phase === 'failed') {
    const why = s.Error ? s.Error : s.Status === 'paused' ? 'container paused' : `exited with code ${s.ExitCode}${s.OOMKilled ? ' (out of memory)' : ''}`;
    return { state: phase, message: why, since: dockerTime(s.FinishedAt) ?? dockerTime(s.StartedAt) ?? created };
  }
  return { state: phase, since: dockerTime(s.StartedAt) ?? created };
}

/** The container a replica runs in: labelled so a restarted agent finds it again. */
function containerCreate(opts: DriverOptions, w: Mounted): ContainerCreate {
  const { spec } = w;
  const cpu = spec.resources?.cpu ?? 0;
  const memory = Math.round(mebibytes(spec.resources?.memory) * 1024 * 1024);
  return {
    Image: spec.image!,
    Cmd: spec.command,
    Env: Object.entries({ ...spec.env, ...w.env, ...nodeEnv(opts) }).map(([k, v]) => `${k}=${v}`),
    Labels: { ...ownerLabels(opts, w), [LABEL.specHash]: w.specHash },
    // Every port is published on the node's address: at its hostPort (the cluster never puts two
    // replicas wanting one host port on a node: cluster/host-ports.ts), else at a port Docker
    // picks, so the proxies of other nodes reach the replica (its endpoint in the node's status).
    ExposedPorts: Object.fromEntries((spec.ports ?? []).map((p) => [portKey(p.port, p.protocol), {}])),
    HostConfig: {
      ...portBindings(opts, spec),
      ...(w.hosts && Object.keys(w.hosts).length ? { ExtraHosts: Object.entries(w.hosts).map(([h, ip]) => `${h}:${ip}`) } : {}),
      ...(w.dns?.length ? { Dns: w.dns } : {}),
      ...(w.binds?.length ? { Binds: w.binds } : {}),
      ...(w.mounts ? { Mounts: w.mounts } : {}), // its volumes (docker-volumes.ts)
      Init: true, // PID 1 that forwards SIGTERM: stop takes 0.2 s instead of the 10 s kill timeout
      RestartPolicy: { Name: 'no' }, // the agent restarts, so it sees and reports every failure
      ...(cpu > 0 ? { NanoCpus: Math.round(cpu * 1e9) } : {}),
      ...(memory > 0 ? { Memory: memory } : {}),
    },
  };
}

function portBindings(opts: DriverOptions, spec: ServiceSpec): { PortBindings?: NonNullable<ContainerCreate['HostConfig']>['PortBindings'] } {
  const ports = spec.ports ?? [];
  if (!ports.length) return {};
  const HostIp = opts.nodeAddress ?? '0.0.0.0';
  return { PortBindings: Object.fromEntries(ports.map((p) => [portKey(p.port, p.protocol), [{ HostIp, HostPort: p.hostPort ? String(p.hostPort) : '' }]])) };
}

/** `8080/tcp` → the host port Docker published it at (the first, when it lists one per address family). */
function publishedOf(ports: ContainerSummary['Ports']): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  for (const p of ports ?? []) {
    const key = portKey(p.PrivatePort, p.Type === 'udp' ? 'udp' : 'tcp');
    if (p.PublicPort && !(key in out)) out[key] = p.PublicPort;
  }
  return Object.keys(out).length ? out : undefined;
}

/** A workload with the mounts of its volumes. */
type Mounted = Workload & { mounts?: NonNullable<ContainerCreate['HostConfig']>['Mounts'] };

async function createAndStart(docker: DockerEngine, opts: DriverOptions, w: Mounted): Promise<void> {
  let created: { Id: string };
  try {
    created = await docker.createContainer(containerName(opts, w.id), containerCreate(opts, w));
  } catch (err) {
    // imagePullPolicy Never (or an image removed since it was looked for): the node's own images only.
    if (statusOf(err) === 404 && /no such image/i.test(messageOf(err))) {
      throw new Error(`image ${w.spec.image} not found on node ${opts.node}: load it with \`docker load\` or \`docker import\``);
    }
    throw err;
  }
  await docker.startContainer(created.Id);
}

/** Stop and remove; no error when it is gone already or on its way out. */
async function removeContainer(docker: DockerEngine, name: string): Promise<void> {
  try {
    await docker.stopContainer(name, STOP_TIMEOUT_S);
  } catch (err) {
    if (statusOf(err) === 404) return;
    if (statusOf(err) !== 304) throw err; // 304: already stopped
  }
  try {
    await docker.removeContainer(name, { force: true });
  } catch (err) {
    if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err; // 409: removal in progress
  }
}

function phaseOf(status: string, error: string): ReplicaPhase {
  switch (status) {
    case 'running':
      return 'running';
    case 'created':
      return error ? 'failed' : 'starting';
    case 'restarting':
      return 'starting';
    case 'removing':
      return 'stopped';
    default:
      return 'failed'; // exited, dead, paused
  }
}

/** Docker writes 0001-01-01T00:00:00Z for times that never happened. */
function dockerTime(t: string | undefined): string | undefined {
  return t && !t.startsWith('0001-') ? new Date(t).toISOString() : undefined;
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number } | null)?.statusCode;
}

function messageOf(err: unknown): string {
  return (err as Error | null)?.message ?? '';
}
