import { tlsProblems, brokerUrl, command, labels, location, text, logFormatOption, LOG_FORMAT_USAGE } from '../args.js';
import { configureLogs, createLogger } from '../../reconciler/core/log.js';
import { runCluster } from '../parts/cluster.js';
import { runUntilSignal } from '../lifecycle.js';
import { METRICS_USAGE, metricsOption } from '../metrics-option.js';

const cmd = command({
  name: 'cluster',
  summary: 'run a cluster reconciler',
  usage: [
    'Usage: canopy cluster --name C --broker mqtt://HOST:PORT --state-dir DIR [--repo DIR|URL] [options]',
    '',
    '  --name C            this cluster’s name (its MQTT identity and topics)',
    '  --broker URL        the broker shared with the root, or the site’s own (bridged to it: broker-config',
    '                      --bridge-to; or nothing at all: an air-gapped site)',
    '  --node-broker URL   a site-local broker for this cluster’s agents (default: --broker)',
    '  --repo DIR|URL      the fleet repository: local, or http(s)://[user:pass@]host/path.git mirrored in',
    '                      the state dir; fleet.yaml, clusters/C.yaml, its placement ref; its status is committed there',
    '  --fleet NAME        the fleet’s name, when there is no --repo (an air-gapped site: it keeps its own',
    '                      repository in DIR/repo, records its status there and adopts the placement',
    '                      bundles `canopy bundle import FILE --state-dir DIR` brings)',
    '  --state-dir DIR     durable state: the last placement and node assignments',
    '  --labels k=v,...    cluster labels (added to clusters/C.yaml’s)',
    '  --operator NAME     the operator running this cluster',
    '  --location LAT,LON  where the cluster is',
    '  --identity FILE     its identity (canopy identity create --cluster C): broker credential, signing key,',
    '                      the root keys it trusts; without one it runs unsigned',
    '  --tls-ca FILE       the CA that signed an mqtts:// broker’s certificate',
    '  --tls-cert FILE     a client certificate (instead of a password), with --tls-key FILE',
    LOG_FORMAT_USAGE,
    METRICS_USAGE,
  ].join('\n'),
  options: {
    'log-format': logFormatOption(),
    identity: text(),
    'tls-ca': text(),
    'tls-cert': text(),
    'tls-key': text(),
    name: text({ required: true }),
    broker: brokerUrl({ required: true }),
    'node-broker': brokerUrl(),
    repo: text(),
    fleet: text(),
    'state-dir': text({ required: true }),
    labels: labels(),
    operator: text(),
    location: location(),
    metrics: metricsOption(),
  },
  check: (v) => tlsProblems(v),
  async run(v) {
    configureLogs({ format: v['log-format'] });
    const log = createLogger(`cluster ${v.name}`);
    const start = () =>
      runCluster({
        name: v.name,
        broker: v.broker,
        nodeBroker: v['node-broker'],
        repoDir: v.repo,
        fleet: v.fleet,
        stateDir: v['state-dir'],
        labels: v.labels ?? {},
        operator: v.operator,
        location: v.location,
        identityFile: v.identity,
        tls: { ca: v['tls-ca'], cert: v['tls-cert'], key: v['tls-key'] },
        log,
      });
    const served = v.metrics ? (await import('../metrics-server.js')).servingMetrics(v.metrics, log, start) : start;
    return runUntilSignal(served, 'cluster', () => log.info('running; Ctrl-C to stop'));
  },
});
export default cmd;
