// The node agent: takes its node's assignment from the cluster, makes the runtime match it, and
// reports what runs. Its assignment is kept in the state directory, so an agent restarted while
// its cluster is unreachable goes on running what it was given, and it adopts the workloads it
// finds (container labels, process records) instead of starting them twice.
//
// This file is the composition root only: it wires the ports (bus, drivers, journal, prober,
// clock, log, telemetry) to the state (state.ts), the event handlers (events.ts) and the pass
// (pass.ts). Everything it imports ends up in `canopy agent`'s bundle: keep it small.
import type { Bus } from '../reconciler/mqtt/bus.js';
import { topics as topicsFor } from '../reconciler/mqtt/topics.js';
import type { NodeDesired } from '../schemas/messages.js';
import type { Logger } from '../reconciler/core/log.js';
import { startLoop } from '../reconciler/runtime/loop.js';
import { openJournal } from '../reconciler/core/journal.js';
import { createTelemetry, type Telemetry } from '../reconciler/core/telemetry.js';
import type { LatLon } from '../reconciler/core/geo.js';
import type { RuntimeDriver } from './runtimes/driver.js';
import { startProber, type ProberOptions } from './probe.js';
import { newAgentState } from './state.js';
import { SYNC, assignmentReceived, interestIn, latencyChanged, reconnected } from './events.js';
import { syncPass, type PassPorts } from './pass.js';
import { agentDrivers } from './steps/apply.js';
import { agentMetrics } from './metrics.js';
import { nodeFacts } from './node-facts.js';
import { startHeartbeat } from './heartbeat.js';
import { refreshOnTrust, type TrustStore } from '../reconciler/mqtt/trust.js';
import { admissionLines, compileAdmission, type AdmissionRules } from './admission.js';
import { findExecutable } from './executable.js';
import { startNodeNetwork } from './network/start.js';
import { startHealthProbes } from './health/scheduler.js';
import type { AgentSecrets } from './secrets.js';
import { startAgentLogs } from './logs.js';
import { agentFiles } from './files.js';

export { nodeArch } from './node-facts.js';

export interface AgentOptions {
  fleet: string;
  cluster: string;
  node: string;
  bus: Bus;
  drivers: { container?: RuntimeDriver; process?: RuntimeDriver };
  /** Which images and commands this node runs (admission.ts); none given: any. */
  admission?: AdmissionRules;
  /** Say that it admits anything at info, not as a warning (`canopy up`'s local demo says it once). */
  quietAdmission?: boolean;
  stateDir: string;
  capacity?: { cpu: number; memoryMi: number; gpu: number };
  labels?: Record<string, string>;
  location?: LatLon;
  /** The address other nodes reach this node at, reported in its status (its drivers are given it too: DriverOptions.nodeAddress). */
  address?: string;
  /** Where service names get addresses (agents/network/service-addresses.ts); 'off': none. */
  serviceRange?: string;
  /** No proxy at all (unit tests of other parts). */
  noNetwork?: boolean;
  /** How this node measures round trips to the fleet's latency targets (every 30 s by default). */
  probe?: Omit<ProberOptions, 'onChange' | 'log'>;
  heartbeatMs?: number;
  log: Logger;
  /** Where the agent registers its metrics and health (default: a registry of its own). */
  telemetry?: Telemetry;
  /** Wall time in ms since the epoch (default Date.now): backoff, failure and status times. */
  now?: () => number;
  /** The keys the bus verifies assignments by (none: it does not verify). */
  trust?: TrustStore;
  /** Opens the secrets its cluster seals to it (agents/secrets.ts); none: its replicas get no secret. */
  secrets?: AgentSecrets;
}

export interface Agent {
  idle(): Promise<void>;
  stop(): Promise<void>;
}

const ASSIGNMENT_FILE = 'desired.json';

export async function startAgent(o: AgentOptions): Promise<Agent> {
  const t = topicsFor(o.fleet);
  const journal = openJournal(o.stateDir);
  const state = newAgentState(await journal.read<NodeDesired>(ASSIGNMENT_FILE), o.heartbeatMs ?? 2000);
  const metrics = agentMetrics(o.telemetry ?? createTelemetry(), state);
  const drivers = agentDrivers(o.drivers, () => enqueue(SYNC)); // a pull progressed or ended: a pass reports it
  const admission = compileAdmission(o.admission);
  for (const [level, line] of admissionLines(admission, { container: o.drivers.container?.name, process: o.drivers.process?.name }))
    o.log[o.quietAdmission ? 'info' : level](line);
  const enqueue = (key: string) => loop.enqueue(key);
  // The cluster's keys as the assignment in force carried them (a rotation since the identity file).
  const trustKeys = (tr: NonNullable<NodeDesired['trust']>) => void o.trust?.set(`cluster:${o.cluster}`, tr.cluster);
  if (state.assignment?.trust) trustKeys(state.assignment.trust);
  // The services its workloads call: the proxy listens for each route the cluster sends.
  const network = o.noNetwork
    ? undefined
    : startNodeNetwork({
        node: o.node,
        stateDir: o.stateDir,
        address: o.address,
        range: o.serviceRange,
        eager: !!o.drivers.container,
        interest: (service) => interestIn(state, service, enqueue, o.log),
        log: o.log,
      });

  const probes = { drivers, address: o.address, workloadEnv: network?.workloadEnv, now: o.now ?? Date.now, log: o.log };
  const health = startHealthProbes(state, { ...probes, onChange: () => enqueue(SYNC) }); // the replicas' probes: a readiness change enqueues a pass

  let saving: Promise<void> = Promise.resolve();
  const ports: PassPorts = {
    facts: { ...nodeFacts(o), trusts: () => (o.trust?.signed ? o.trust.ids(`cluster:${o.cluster}`) : undefined) },
    drivers,
    admission,
    findExecutable,
    log: o.log,
    now: o.now ?? Date.now,
    drop: (topic, error) => o.bus.drop(topic, error),
    save: (a) => {
      // In the background, one after another; stop() waits for the last (a restart must find it).
      saving = saving.then(() => journal.write(ASSIGNMENT_FILE, a)).catch((e) => o.log.error(`saving assignment: ${(e as Error).message}`));
    },
    heartbeat: (ms) => heartbeat.set(ms),
    probe: (targets) => prober.update(targets),
    trustKeys,
    ...(network ? { syncRoutes: network.sync, workloadEnv: network.workloadEnv } : {}),
    ...{ secrets: o.secrets, files: agentFiles(o.stateDir) }, // what replicas are given: secrets, config files
    health,
    isConnected: () => o.bus.isConnected(),
    publish: (status) => o.bus.publish(t.nodeStatus(o.cluster, o.node), status, { retain: true }),
    ...metrics,
  };
  const loop = startLoop({ name: `agent ${o.node}`, log: o.log, reconcile: () => syncPass(state, ports) });
  // Round trips to the latency targets the cluster sends with the assignment; reported with the status.
  const prober = startProber({ ...o.probe, onChange: () => latencyChanged(state, prober.latency, enqueue), log: o.log });
  prober.update(state.assignment?.targets);
  const heartbeat = startHeartbeat(state.heartbeatMs, () => enqueue(SYNC));

  await o.bus.subscribe(
    t.nodeDesired(o.cluster, o.node),
    assignmentReceived(state, enqueue, (topic, error) => o.bus.drop(topic, error)),
  );
  // A rotated cluster key: the retained assignment, if it was dropped, is asked for again.
  if (o.trust) refreshOnTrust(o.trust, o.bus, (w) => (w === `cluster:${o.cluster}` ? [t.nodeDesired(o.cluster, o.node)] : []), o.log);
  o.bus.onConnect(() => reconnected(state, enqueue));
  const logs = await startAgentLogs({ ...o, topics: t, drivers: drivers.all }); // logs on demand: bounded chunks of its replicas' output
  enqueue(SYNC);

  return {
    idle: () => loop.idle(),
    async stop() {
      for (const part of [logs, heartbeat, prober, health]) part.stop();
      await loop.stop();
      await saving;
      for (const d of drivers.all) await d.close();
      await network?.close();
    },
  };
}
