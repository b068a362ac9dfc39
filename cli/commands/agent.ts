import type { Command } from '../args.js';
import { required, brokerUrl, labels, location, num } from '../args.js';
import { UsageError } from '../../reconciler/core/errors.js';
import { createLogger } from '../../reconciler/core/log.js';
import { mebibytes } from '../../reconciler/core/quantity.js';
import { untilSignal } from '../lifecycle.js';

const cmd: Command = {
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
    '  --probe-every S     re-measure latency targets every S seconds (default 30)',
  ].join('\n'),
  options: {
    cluster: { type: 'string' },
    name: { type: 'string' },
    broker: { type: 'string' },
    runtime: { type: 'string' },
    'state-dir': { type: 'string' },
    fleet: { type: 'string' },
    cpu: { type: 'string' },
    memory: { type: 'string' },
    gpu: { type: 'string' },
    labels: { type: 'string' },
    location: { type: 'string' },
    'probe-from': { type: 'string' },
    'probe-every': { type: 'string' },
  },
  async run(v) {
    required(this, v, 'cluster', 'name', 'broker', 'runtime', 'state-dir');
    const runtime = String(v.runtime);
    if (!['docker', 'process', 'sim'].includes(runtime)) throw new UsageError(`--runtime ${runtime}: expected docker, process or sim`);
    let memoryMi: number | undefined;
    if (v.memory !== undefined) {
      try {
        memoryMi = mebibytes(/^[0-9.]+$/.test(String(v.memory)) ? Number(v.memory) : String(v.memory));
      } catch {
        throw new UsageError(`--memory ${v.memory}: expected a quantity like 512Mi or 2Gi`);
      }
    }
    const cpu = num('cpu', v.cpu);
    const os = await import('node:os');
    const capacity = { cpu: cpu ?? os.cpus().length, memoryMi: memoryMi ?? Math.floor(os.totalmem() / 1024 ** 2), gpu: num('gpu', v.gpu) ?? 0 };
    const name = String(v.name);
    const log = createLogger(`agent ${v.cluster}/${name}`);
    const { runAgent } = await import('../parts/agent.js');
    const part = await runAgent({
      cluster: String(v.cluster),
      name,
      broker: brokerUrl(v.broker),
      fleet: v.fleet as string | undefined,
      runtime: runtime as 'docker',
      stateDir: String(v['state-dir']),
      capacity,
      labels: labels('labels', v.labels),
      location: location('location', v.location),
      log,
      probeFrom: v['probe-from'] as string | undefined,
      probeIntervalMs: v['probe-every'] !== undefined ? 1000 * num('probe-every', v['probe-every'], 0.1)! : undefined,
    });
    log.info(`running (${runtime}); Ctrl-C to stop`);
    return untilSignal(() => [part]);
  },
};
export default cmd;
