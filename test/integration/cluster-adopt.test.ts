// A cluster takes its placement from two places: MQTT (the root's messages) and Git (read when
// the broker is away, which takes a fetch). When both answer at about the same time the newer
// version must win, whatever order they finish in: the catch-up benchmark once saw a cluster
// apply #200 from MQTT and then #197 from a Git read that had started before, and stay there.
// Real Mosquitto; the Git read is a function this test controls, answering an older placement
// at varied moments around the MQTT snapshot of a newer one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startCluster, type Cluster } from '../../reconciler/cluster/cluster.js';
import { connectBus, type Bus } from '../../reconciler/mqtt/bus.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { createLogger } from '../../reconciler/core/log.js';
import type { ClusterStatus, Placement } from '../../schemas/messages.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/git.js';
import { eventually } from '../helpers/canopy.js';
import { aPlacement, aService } from '../helpers/builders.js';

const test = suite('cluster: a placement read from Git never replaces a newer one from MQTT');
const t = topics('demo');
let mq: Mosquitto;
let root: Bus;
const log = createLogger('cluster-adopt', 'error');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.before(async () => {
  mq = await startMosquitto();
  root = await connectBus({ url: mq.url, clientId: 'test-root', log });
});
test.after(async () => {
  await root?.close();
  await mq?.stop();
});

const web = aService('shop/web').replicas(1);
const older = aPlacement('edge').with(web).seq(1).build();
const newer = aPlacement('edge').with(web, 2).seq(2).build();

// Each delay puts the Git answer at another point of the MQTT adoption (before the snapshot is
// parsed, while it is being journalled, after it is in force).
for (const delay of [0, 1, 2, 3, 5, 8, 13, 40]) {
  test(`Git answers #1 ${delay} ms after MQTT delivered #2: #2 stays in force`, async () => {
    const statuses: ClusterStatus[] = [];
    const watch = await connectBus({ url: mq.url, clientId: `test-watch-${delay}`, log });
    await watch.subscribe(t.clusterStatus('edge'), (_topic, payload) => {
      if (payload.length) statuses.push(JSON.parse(String(payload)));
    });
    const bus = await connectBus({ url: mq.url, clientId: `test-edge-${delay}`, log });
    let asked = 0;
    let cluster: Cluster | undefined;
    try {
      cluster = await startCluster({
        name: 'edge',
        fleet: 'demo',
        bus,
        nodeBus: bus,
        stateDir: tempDir('canopy-adopt-'),
        log,
        heartbeatMs: 200,
        // Asked while there is no placement: the root's snapshot goes out, and the older
        // placement "arrives from Git" a moment later.
        placementFromGit: async (): Promise<Placement | undefined> => {
          if (asked++) return undefined;
          await root.publish(t.clusterDesired('edge'), { kind: 'snapshot', placement: newer });
          await sleep(delay);
          return structuredClone(older);
        },
      });
      await eventually('the Git read was asked for', () => asked > 0, 5000, 20);
      const last = () => statuses.at(-1)?.applied?.seq;
      await eventually('the cluster reports #2 applied', () => last() === 2, 5000, 20).catch((e: Error) => {
        throw new Error(`${e.message}; reported ${JSON.stringify(statuses.map((s) => s.applied?.seq))}`);
      });
      await sleep(400);
      assert.is(last(), 2, `reported since: ${JSON.stringify(statuses.map((s) => s.applied?.seq))}`);
      assert.ok(
        statuses.every((s) => s.applied?.seq !== 1 || statuses.indexOf(s) < statuses.findIndex((x) => x.applied?.seq === 2)),
        `never went back to #1 after #2: ${JSON.stringify(statuses.map((s) => s.applied?.seq))}`,
      );
    } finally {
      await cluster?.stop();
      await bus.close();
      await watch.close();
    }
  });
}

test.run();
