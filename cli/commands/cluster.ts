import type { Command } from '../args.js';
import { required, brokerUrl, labels, location } from '../args.js';
import { createLogger } from '../../reconciler/core/log.js';
import { runCluster } from '../parts/cluster.js';
import { untilSignal } from '../lifecycle.js';

const cmd: Command = {
  name: 'cluster',
  summary: 'run a cluster reconciler',
  usage: [
    'Usage: canopy cluster --name C --broker mqtt://HOST:PORT --state-dir DIR [--repo DIR|URL] [options]',
    '',
    '  --name C            this cluster’s name (its MQTT identity and topics)',
    '  --broker URL        the broker shared with the root',
    '  --node-broker URL   a site-local broker for this cluster’s agents (default: --broker)',
    '  --repo DIR|URL      the fleet repository: local, or http(s)://[user:pass@]host/path.git mirrored in',
    '                      the state dir; fleet.yaml, clusters/C.yaml, its placement ref; its status is committed there',
    '  --fleet NAME        the fleet’s name, when there is no --repo',
    '  --state-dir DIR     durable state: the last placement and node assignments',
    '  --labels k=v,...    cluster labels (added to clusters/C.yaml’s)',
    '  --operator NAME     the operator running this cluster',
    '  --location LAT,LON  where the cluster is',
  ].join('\n'),
  options: {
    name: { type: 'string' },
    broker: { type: 'string' },
    'node-broker': { type: 'string' },
    repo: { type: 'string' },
    fleet: { type: 'string' },
    'state-dir': { type: 'string' },
    labels: { type: 'string' },
    operator: { type: 'string' },
    location: { type: 'string' },
  },
  async run(v) {
    required(this, v, 'name', 'broker', 'state-dir');
    const name = String(v.name);
    const log = createLogger(`cluster ${name}`);
    const part = await runCluster({
      name,
      broker: brokerUrl(v.broker),
      nodeBroker: v['node-broker'] ? brokerUrl(v['node-broker']) : undefined,
      repoDir: v.repo as string | undefined,
      fleet: v.fleet as string | undefined,
      stateDir: String(v['state-dir']),
      labels: labels('labels', v.labels),
      operator: v.operator as string | undefined,
      location: location('location', v.location),
      log,
    });
    log.info('running; Ctrl-C to stop');
    return untilSignal(() => [part]);
  },
};
export default cmd;
