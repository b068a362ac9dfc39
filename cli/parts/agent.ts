// The agent part: one MQTT connection, the drivers of the chosen runtime, the node agent. This
// file is the whole of what `canopy agent` loads (besides the CLI's argument parsing): no Git,
// no YAML, no other runtime's client. Keep it that way; the footprint benchmark watches it.
import { configureLogs } from '../../reconciler/core/log.js';
import { connectBus } from '../../reconciler/mqtt/bus.js';
import { agentIdentity } from '../../reconciler/core/identity.js';
import { createTelemetry } from '../../reconciler/core/telemetry.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import type { Logger } from '../../reconciler/core/log.js';
import type { LatLon } from '../../reconciler/core/geo.js';
import { keepalive, type Running } from './running.js';
import { partSecurity, type TlsFlags, warnUnsigned } from './security.js';
import { loadIdentity } from '../../reconciler/core/identity-file.js';
import { agentTrustView } from '../../reconciler/mqtt/trust.js';
import type { RuntimeKind } from '../../agents/runtimes/load.js';
import type { AdmissionRules } from '../../agents/admission.js';
import { defaultNodeAddress } from '../../agents/node-address.js';

export interface AgentPartOptions {
  cluster: string;
  name: string;
  broker: string;
  fleet?: string;
  runtime: RuntimeKind;
  /** Which images and commands the node runs (--allow-image, --allow-command); none: any. */
  admission?: AdmissionRules;
  /** Admitting anything is said at info (`canopy up` says it once for all its agents). */
  quietAdmission?: boolean;
  stateDir: string;
  capacity?: { cpu: number; memoryMi: number; gpu: number };
  labels?: Record<string, string>;
  location?: LatLon;
  /** The address other nodes reach it at (--address); default: its broker connection's local address, else 127.0.0.1. */
  address?: string;
  /** Where service names get addresses (--service-range; default 198.18.0.0/15), or 'off'. */
  serviceRange?: string;
  /** Local address latency probes are sent from (--probe-from). */
  probeFrom?: string;
  /** How often latency targets are re-measured (default 30 s). */
  probeIntervalMs?: number;
  heartbeatMs?: number;
  /** --identity FILE: its broker credential and signing key, and its cluster's keys. */
  identityFile?: string;
  /** --tls-ca, --tls-cert, --tls-key */
  tls?: TlsFlags;
  log: Logger;
}

export async function runAgent(o: AgentPartOptions): Promise<Running> {
  const name = `${o.cluster}/${o.name}`;
  const known = o.identityFile ? loadIdentity(o.identityFile).identity.fleet : o.fleet;
  const fleet = known ?? (await discoverFleet(o.broker, o.cluster, o.log));
  configureLogs({ fleet });
  const t = topics(fleet);
  const sec = partSecurity({ file: o.identityFile, role: 'node', name, fleet, log: o.log, tls: o.tls, view: (st) => agentTrustView(st, t, o.cluster, o.name) });
  if (!sec.trust.signed) warnUnsigned(o.log, sec.identity ? 'its identity trusts no cluster key' : 'no --identity');
  const telemetry = createTelemetry();
  const bus = await connectBus({
    ...sec.connection(o.broker),
    codec: sec.codec,
    identity: agentIdentity(fleet, o.cluster, o.name),
    telemetry,
    log: o.log,
    onlineTopic: t.nodeOnline(o.cluster, o.name),
    keepaliveSeconds: keepalive(o.heartbeatMs ?? 2000),
  });
  const address = o.address ?? defaultNodeAddress(bus.localAddress?.());
  o.log.info(`node address ${address}${o.address ? '' : ' (its connection to the broker; --address to choose)'}`);
  const { loadDrivers } = await import('../../agents/runtimes/load.js');
  // Secrets its cluster seals to it, opened with its age identity; registry credentials for pulls.
  const { agentSecrets } = await import('../../agents/secrets.js');
  const secrets = agentSecrets(sec.identity?.identity.age.identity, o.stateDir);
  const drivers = await loadDrivers(o.runtime, {
    fleet,
    cluster: o.cluster,
    node: o.name,
    stateDir: o.stateDir,
    nodeAddress: address,
    registryAuth: secrets.registryAuth,
  });
  const { startAgent } = await import('../../agents/agent.js');
  const agent = await startAgent({
    fleet,
    cluster: o.cluster,
    node: o.name,
    bus,
    drivers,
    admission: o.admission,
    quietAdmission: o.quietAdmission,
    stateDir: o.stateDir,
    capacity: o.capacity,
    labels: o.labels,
    location: o.location,
    address,
    serviceRange: o.serviceRange,
    probe: { ...(o.probeFrom ? { localAddress: o.probeFrom } : {}), ...(o.probeIntervalMs ? { intervalMs: o.probeIntervalMs } : {}) },
    heartbeatMs: o.heartbeatMs,
    log: o.log,
    telemetry,
    trust: sec.trust,
    secrets,
  });
  return {
    telemetry,
    async stop() {
      await agent.stop();
      await bus.close();
    },
  };
}

/** An agent told only its cluster learns the fleet from the cluster's retained online message. */
async function discoverFleet(broker: string, cluster: string, log: Logger): Promise<string> {
  const bus = await connectBus({ url: broker, clientId: `canopy-discover-${cluster}-${process.pid}`, log });
  try {
    const found = new Set<string>();
    let announced = false;
    await bus.subscribe(`canopy/v1/+/clusters/${cluster}/online`, (topic, payload) => {
      if (payload.length) found.add(topic.split('/')[2]);
    });
    for (let i = 0; ; i++) {
      await new Promise((r) => setTimeout(r, 200));
      if (found.size > 1) throw new Error(`cluster ${cluster} exists in several fleets (${[...found].join(', ')}): pass --fleet`);
      if (found.size === 1) return [...found][0];
      if (!announced && i >= 5) {
        log.info(`waiting for cluster ${cluster} to come online to learn its fleet (or pass --fleet)`);
        announced = true;
      }
    }
  } finally {
    await bus.close();
  }
}
