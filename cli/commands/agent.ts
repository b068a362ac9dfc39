import {
  tlsProblems,
  ArgProblem,
  brokerUrl,
  command,
  custom,
  duration,
  labels,
  list,
  location,
  number,
  text,
  logFormatOption,
  LOG_FORMAT_USAGE,
} from '../args.js';
import { configureLogs, createLogger } from '../../reconciler/core/log.js';
import { mebibytes } from '../../reconciler/core/quantity.js';
import { runUntilSignal } from '../lifecycle.js';
import { METRICS_USAGE, metricsOption } from '../metrics-option.js';
import { commandPatternProblem, imagePatternProblem } from '../../agents/admission.js';
import { addressProblem } from '../../agents/node-address.js';
import { rangeProblem } from '../../agents/network/service-addresses.js';
import type { RuntimeKind } from '../../agents/runtimes/load.js';

const RUNTIMES: readonly RuntimeKind[] = ['docker', 'process', 'sim', 'docker,process'];
/** Admission patterns: repeatable and comma-separated, each checked as admission.ts reads it. */
const patterns = (problem: (t: string) => string | undefined) =>
  list((t) => {
    const p = problem(t);
    if (p) throw new ArgProblem(p);
    return t;
  });

const cmd = command({
  name: 'agent',
  summary: 'run a node agent',
  usage: [
    'Usage: canopy agent --cluster C --name N --broker mqtt://HOST:PORT --runtime docker|process|sim|docker,process --state-dir DIR [options]',
    '',
    '  --runtime R         docker: containers only; process: processes on this host, with the agent’s rights;',
    '                      docker,process: both; sim: nothing runs (benchmarks)',
    '  --fleet NAME        the fleet (default: learned from cluster C’s online message)',
    '  --cpu N             cores offered to workloads (default: all)',
    '  --memory Q          memory offered, e.g. 2Gi (default: all)',
    '  --gpu N             GPUs offered (default 0)',
    '  --labels k=v,...    node labels',
    '  --location LAT,LON  where the node is (geo and latency constraints judge nodes by it)',
    '  --address IP        the address other nodes reach this node at, given to its workloads as',
    '                      CANOPY_NODE_ADDRESS (default: the local address of its connection to the broker)',
    '  --service-range R   addresses the node gives service names (web.shop.canopy) and their variables,',
    '                      routed to this host (default 198.18.0.0/15; off: variables on --address only)',
    '  --probe-from ADDR   local address to send latency probes from (default: chosen by routing)',
    '  --probe-every S     re-measure latency targets every S seconds (default 30; or 500ms, 5m)',
    '  --identity FILE     its identity (canopy identity create --node C/N): broker credential, signing key,',
    '                      its cluster’s keys; without one it runs unsigned',
    '  --tls-ca FILE       the CA that signed an mqtts:// broker’s certificate',
    '  --tls-cert FILE     a client certificate (instead of a password), with --tls-key FILE',
    '  --allow-image P     run only images matching P (repeatable, or P1,P2): * and ? are wildcards, a pattern',
    '                      without a tag admits every tag (nginx, registry.example.com/*, canopy-demo:*)',
    '  --allow-command P   run only processes matching P (repeatable, or P1,P2): the executable’s absolute path',
    '                      (/usr/bin/sleep, /opt/app/*), or with a space the whole command line',
    '                      ("/usr/bin/python3 /opt/app/main.py *"); without --allow-* anything assigned runs',
    LOG_FORMAT_USAGE,
    METRICS_USAGE,
  ].join('\n'),
  options: {
    'log-format': logFormatOption(),
    identity: text(),
    'tls-ca': text(),
    'tls-cert': text(),
    'tls-key': text(),
    cluster: text({ required: true }),
    name: text({ required: true }),
    broker: brokerUrl({ required: true }),
    runtime: custom(
      (t) => {
        const kind = (t === 'process,docker' ? 'docker,process' : t) as RuntimeKind;
        if (!RUNTIMES.includes(kind)) throw new ArgProblem('expected docker, process or sim (docker,process for both)');
        return kind;
      },
      { required: true },
    ),
    'state-dir': text({ required: true }),
    fleet: text(),
    cpu: number({ min: 0 }),
    memory: custom((t) => {
      try {
        return mebibytes(/^[0-9.]+$/.test(t) ? Number(t) : t);
      } catch {
        throw new ArgProblem('expected a quantity like 512Mi or 2Gi');
      }
    }),
    gpu: number({ min: 0, integer: true }),
    labels: labels(),
    location: location(),
    address: custom((t) => {
      const p = addressProblem(t);
      if (p) throw new ArgProblem(p);
      return t;
    }),
    'service-range': custom((t) => {
      if (t === 'off') return t;
      const p = rangeProblem(t);
      if (p) throw new ArgProblem(`${p}, or off`);
      return t;
    }),
    'probe-from': text(),
    'probe-every': duration({ minMs: 100 }),
    'allow-image': patterns(imagePatternProblem),
    'allow-command': patterns(commandPatternProblem),
    metrics: metricsOption(),
  },
  check: (v) => tlsProblems(v),
  async run(v) {
    const os = await import('node:os');
    const capacity = { cpu: v.cpu ?? os.cpus().length, memoryMi: v.memory ?? Math.floor(os.totalmem() / 1024 ** 2), gpu: v.gpu ?? 0 };
    configureLogs({ format: v['log-format'] });
    const log = createLogger(`agent ${v.cluster}/${v.name}`);
    const { runAgent } = await import('../parts/agent.js');
    const start = () =>
      runAgent({
        cluster: v.cluster,
        name: v.name,
        broker: v.broker,
        fleet: v.fleet,
        runtime: v.runtime,
        stateDir: v['state-dir'],
        capacity,
        labels: v.labels ?? {},
        location: v.location,
        address: v.address,
        serviceRange: v['service-range'],
        log,
        probeFrom: v['probe-from'],
        probeIntervalMs: v['probe-every'],
        identityFile: v.identity,
        tls: { ca: v['tls-ca'], cert: v['tls-cert'], key: v['tls-key'] },
        admission: { images: v['allow-image'] ?? [], commands: v['allow-command'] ?? [] },
      });
    // Loaded only when asked for: an agent without --metrics does not carry an HTTP server.
    const served = v.metrics ? (await import('../metrics-server.js')).servingMetrics(v.metrics, log, start) : start;
    return runUntilSignal(served, 'agent', () => log.info(`running (${v.runtime}); Ctrl-C to stop`));
  },
});
export default cmd;
