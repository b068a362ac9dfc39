import { ArgProblem, brokerUrl, command, custom, duration, labels, location, number, oneOf, text } from '../args.js';
import { createLogger } from '../../reconciler/core/log.js';
import { mebibytes } from '../../reconciler/core/quantity.js';
import { runUntilSignal } from '../lifecycle.js';

const cmd = command({
  name: 'agent',
  summary: 'run a node agent',
  usage: [
    'Usage: canopy agent --cluster C --name N --broker mqtt://HOST:PORT --runtime docker|process|sim --state-dir DIR [options]',
    '',
    '  --fleet NAME        the fleet (default: learned from cluster C’s online message)',
    '  --cpu N             cores offered to workloads (default: all)',
    '  --memory Q          memory offered, e.g. 2Gi (default: all)',
    '  --gpu N             GPUs offered (default 0)',
    '  --labels k=v,...    node labels',
    '  --location LAT,LON  where the node is (geo and latency constraints judge nodes by it)',
    '  --probe-from ADDR   local address to send latency probes from (default: chosen by routing)',
    '  --probe-every S     re-measure latency targets every S seconds (default 30; or 500ms, 5m)',
    '  --identity FILE     its identity (canopy identity create --node C/N): broker credential, signing key,',
    '                      its cluster’s keys; without one it runs unsigned',
  ].join('\n'),
  options: {
    identity: text(),
    cluster: text({ required: true }),
    name: text({ required: true }),
    broker: brokerUrl({ required: true }),
    runtime: oneOf(['docker', 'process', 'sim'], { required: true }),
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
    'probe-from': text(),
    'probe-every': duration({ minMs: 100 }),
  },
  async run(v) {
    const os = await import('node:os');
    const capacity = { cpu: v.cpu ?? os.cpus().length, memoryMi: v.memory ?? Math.floor(os.totalmem() / 1024 ** 2), gpu: v.gpu ?? 0 };
    const log = createLogger(`agent ${v.cluster}/${v.name}`);
    const { runAgent } = await import('../parts/agent.js');
    return runUntilSignal(
      () =>
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
          log,
          probeFrom: v['probe-from'],
          probeIntervalMs: v['probe-every'],
          identityFile: v.identity,
        }),
      'agent',
      () => log.info(`running (${v.runtime}); Ctrl-C to stop`),
    );
  },
});
export default cmd;
