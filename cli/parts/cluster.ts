// The cluster part: its view of the fleet repository (local, or a shallow mirror of main and its
// own refs), one bus to the root and one to its nodes (the same broker unless told), the
// cluster reconciler.
import { configureLogs } from '../../reconciler/core/log.js';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { connectBus, type Bus } from '../../reconciler/mqtt/bus.js';
import { clientIdOf, clusterIdentity } from '../../reconciler/core/identity.js';
import { createTelemetry } from '../../reconciler/core/telemetry.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import type { Logger } from '../../reconciler/core/log.js';
import { openRepo, readFileAt, resolveRef, type Repo } from '../../reconciler/git/repo.js';
import type { GitSync } from '../../reconciler/git/sync.js';
import { MAIN, placementRef, statusRef } from '../../reconciler/core/refs.js';
import { fleetAtMain } from '../fleet-repo.js';
import type { FleetDescriptor, ClusterDescriptor } from '../../schemas/model.js';
import type { LatLon } from '../../reconciler/core/geo.js';
import { keepalive, timingsOf, type Running } from './running.js';
import { remoteRepo } from './remote.js';
import { partSecurity, type TlsFlags, warnUnsigned } from './security.js';
import { loadIdentity } from '../../reconciler/core/identity-file.js';
import { commitSigner } from '../../reconciler/core/sshsig.js';
import { clusterTrustView } from '../../reconciler/mqtt/trust.js';
import { placementFromBundle } from '../../reconciler/cluster/bundle-source.js';
import { ensureSiteRepo } from '../airgap/site.js';

export interface ClusterPartOptions {
  name: string;
  broker: string;
  nodeBroker?: string;
  repoDir?: string;
  fleet?: string;
  stateDir: string;
  labels?: Record<string, string>;
  operator?: string;
  location?: LatLon;
  /** --identity FILE: its broker credential and signing key, and the root keys it trusts. */
  identityFile?: string;
  /** --tls-ca, --tls-cert, --tls-key */
  tls?: TlsFlags;
  log: Logger;
}

/** Cluster settings from clusters/<name>.yaml on main, when the repository has one. */
export async function clusterFileAtMain(repo: Repo, commit: string, name: string): Promise<ClusterDescriptor | undefined> {
  const text = await readFileAt(repo, commit, `clusters/${name}.yaml`);
  if (!text) return undefined;
  try {
    return parseYaml(text) as ClusterDescriptor;
  } catch {
    return undefined;
  }
}

export async function runCluster(o: ClusterPartOptions): Promise<Running> {
  const r = o.repoDir ? await remoteRepo(o.repoDir) : undefined;
  const remote = r?.remote;
  let repo: Repo | undefined;
  let sync: GitSync | undefined;
  const telemetry = createTelemetry();
  if (r && remote) {
    const { openMirror, gitSync, fetchRef } = r;
    repo = await openMirror(path.join(o.stateDir, 'repo'), remote);
    sync = gitSync(repo, remote, o.log, telemetry);
    // Only what this cluster reads: main (for fleet.yaml and its cluster file) and its own refs.
    await sync.pull([MAIN, placementRef(o.name)], { depth: 1 });
    if (!(await resolveRef(repo, statusRef(o.name)))) await fetchRef(repo, remote, statusRef(o.name), { depth: 1 });
  } else if (o.repoDir) {
    repo = await openRepo(o.repoDir);
  }
  // No fleet repository: an air-gapped site (or a cluster run without Git). Its own repository in
  // the state dir records its status history, and takes the root's placements by bundle file.
  const site = repo ? undefined : await openRepo(await ensureSiteRepo(o.stateDir));
  let fleet: FleetDescriptor | undefined;
  let file: ClusterDescriptor | undefined;
  if (repo) {
    const m = await fleetAtMain(repo);
    fleet = m.fleet;
    file = await clusterFileAtMain(repo, m.commit, o.name);
  }
  const idFleet = o.identityFile ? loadIdentity(o.identityFile).identity.fleet : undefined;
  const fleetName = o.fleet ?? fleet?.metadata.name ?? idFleet;
  if (!fleetName) throw new Error('cluster: give --repo (to read fleet.yaml), --identity FILE or --fleet NAME');
  configureLogs({ fleet: fleetName });
  const t = topics(fleetName);
  const tm = timingsOf(fleet);
  const identity = clusterIdentity(fleetName, o.name);
  const sec = partSecurity({
    file: o.identityFile,
    role: 'cluster',
    name: o.name,
    fleet: fleetName,
    log: o.log,
    view: (st) => clusterTrustView(st, t, o.name),
    // A node away during a rotation of this cluster's key is signed for with the key it trusts.
    peerOf: (tp) => {
      const p = t.parse(tp);
      return p?.level === 'node' && p.leaf === 'desired' && p.cluster === o.name ? `node:${o.name}/${p.node}` : undefined;
    },
  });
  if (!sec.trust.signed) warnUnsigned(o.log, sec.identity ? 'its identity trusts no root key' : 'no --identity');
  const bus = await connectBus({
    ...sec.connection(o.broker),
    codec: sec.codec,
    identity,
    telemetry,
    log: o.log,
    onlineTopic: t.clusterOnline(o.name),
    keepaliveSeconds: keepalive(tm.heartbeatMs),
  });
  const nodeBus: Bus =
    o.nodeBroker && o.nodeBroker !== o.broker
      ? await connectBus({
          ...sec.connection(o.nodeBroker),
          codec: sec.codec,
          identity,
          clientId: clientIdOf(identity, 'site'),
          log: o.log,
          keepaliveSeconds: keepalive(tm.heartbeatMs),
        })
      : bus;
  const { startCluster } = await import('../../reconciler/cluster/cluster.js');
  const labels = { ...(file?.metadata.labels ?? {}), ...(o.labels ?? {}) };
  const cluster = await startCluster({
    name: o.name,
    fleet: fleetName,
    bus,
    nodeBus,
    stateDir: o.stateDir,
    repo: repo ?? site,
    labels,
    operator: o.operator ?? file?.spec?.operator,
    location: o.location ?? file?.spec?.location,
    policy: fleet?.spec?.scheduler?.cluster as never,
    targets: fleet?.spec?.targets,
    heartbeatMs: tm.heartbeatMs,
    unreachableMs: tm.unreachableMs,
    statusRefreshMs: tm.statusRefreshMs,
    log: o.log,
    telemetry,
    trust: sec.trust,
    ageIdentity: sec.identity?.identity.age.identity,
    // Status commits signed by the cluster's key: the root verifies them when they come by bundle.
    signStatus: sec.identity ? commitSigner(sec.identity.signer) : undefined,
    placementFromGit: repo
      ? placementReader(repo, o.name, sync, o.log)
      : placementFromBundle({
          repo: site!,
          fleet: fleetName,
          cluster: o.name,
          rootKeys: () => (sec.trust.signed ? sec.trust.get('root') : undefined),
          warn: (m) => o.log.warn(m),
        }),
    placementFrom: repo ? 'git' : 'bundle',
    onStatusCommit: sync ? () => sync!.push(statusRef(o.name)) : undefined,
  });
  return {
    telemetry,
    async stop() {
      await cluster.stop();
      if (sync) {
        await sync.flush();
        sync.close();
      }
      if (nodeBus !== bus) await nodeBus.close();
      await bus.close();
    },
  };
}

/** Read the cluster's placement ref, fetching it first (at most every 5 s) when the repo is remote. */
function placementReader(repo: Repo, cluster: string, sync: GitSync | undefined, log: Logger) {
  let last = 0;
  let failing = '';
  return async (have?: { commit: string; seq: number; epoch: number }) => {
    if (sync && Date.now() - last > 5000) {
      last = Date.now();
      try {
        await sync.pull([placementRef(cluster)], { depth: 1 });
        failing = '';
      } catch (e) {
        if ((e as Error).message !== failing) log.warn(`fetching ${placementRef(cluster)}: ${(e as Error).message}`);
        failing = (e as Error).message;
      }
    }
    const { placementInGit } = await import('../../reconciler/cluster/placement-source.js');
    return placementInGit(repo, cluster, have, (m) => log.warn(m));
  };
}
