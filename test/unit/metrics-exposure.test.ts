// What the metrics expose besides the format: --metrics HOST:PORT as parsed, and the bounded
// cardinality of canopy_service_replicas (the services wanting the most replicas, ties by name).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { metricsAt } from '../../cli/metrics-option.js';
import { RunningCounts } from '../../reconciler/root/running-counts.js';
import { serviceReplicas } from '../../reconciler/root/metrics.js';
import { aService } from '../helpers/builders.js';
import { desiredState, oid } from '../helpers/root-fakes.js';

const Option = suite('--metrics HOST:PORT');

Option('a port alone is on loopback; hosts, IPv4 and IPv6 (bracketed or not); 0 for a free port', () => {
  assert.equal(metricsAt('9464'), { host: '127.0.0.1', port: 9464 });
  assert.equal(metricsAt('0.0.0.0:9100'), { host: '0.0.0.0', port: 9100 });
  assert.equal(metricsAt('localhost:0'), { host: 'localhost', port: 0 });
  assert.equal(metricsAt('[::1]:9100'), { host: '::1', port: 9100 });
  assert.equal(metricsAt('::1:9100'), { host: '::1', port: 9100 });
  for (const bad of ['', 'host:', ':', '70000', 'bad host:1', 'h:p', 'http://h:1', 'h:1/metrics'])
    assert.throws(() => metricsAt(bad), /expected HOST:PORT or PORT/, bad);
});

Option.run();

const Card = suite('canopy_service_replicas: bounded cardinality');

Card('the N services wanting the most replicas, ties by name, two series each; 0 gives none', () => {
  const good = desiredState(oid('c'), [
    aService('a/small').replicas(1),
    aService('b/big').replicas(5),
    aService('a/mid').replicas(3),
    aService('c/mid').replicas(3),
  ]);
  const counts = new RunningCounts();
  counts.statusChanged(undefined, { services: { 'b/big': { running: 4, ready: 3 } } } as never, good.services);
  assert.equal(serviceReplicas({ good, counts }, 2), [
    [{ service: 'b/big', state: 'desired' }, 5],
    [{ service: 'b/big', state: 'ready' }, 3],
    [{ service: 'a/mid', state: 'desired' }, 3],
    [{ service: 'a/mid', state: 'ready' }, 0],
  ]);
  assert.is(serviceReplicas({ good, counts }, 100).length, 8);
  assert.equal(serviceReplicas({ good, counts }, 0), []);
  assert.equal(serviceReplicas({ good: undefined, counts }, 5), []);
});

Card.run();
