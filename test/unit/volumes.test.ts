// Volumes, unit by unit: the names they go by (Docker volume, process directory, variable), the
// descriptor rules and the workload hash, the cluster's stickiness and failover message, and the
// agent's step that removes the volumes of deleted services.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { volumeEnvName, volumeIssues } from '../../reconciler/core/volume-rules.js';
import { workloadHash } from '../../reconciler/core/ids.js';
import { dockerVolumeName } from '../../agents/runtimes/docker-volumes.js';
import { containerName } from '../../agents/runtimes/docker.js';
import { processVolumeDir, processVolumes } from '../../agents/runtimes/process-volumes.js';
import { moveMessages, noteVolumeMoves, volumeServices, type VolumeMove } from '../../reconciler/cluster/volumes.js';
import { dropVolumes } from '../../agents/steps/volumes.js';
import { newAgentState } from '../../agents/state.js';
import type { StoredVolume } from '../../agents/runtimes/driver.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { aNode, aPlacement, aReplica, aService, observed, placeOnNodes, assignedOf, type ServiceBuilder } from '../helpers/builders.js';
import { anAssignment, fakeDriver, fakePorts } from '../helpers/agent-fakes.js';
import { tempDir } from '../helpers/cleanup.js';
import { placeOnNodes as placeStep } from '../../reconciler/cluster/steps/place-nodes.js';
import { assignNode } from '../../reconciler/cluster/steps/assign.js';
import { fakeCluster, heardNode } from '../helpers/cluster-fakes.js';
import { aNodeStatus } from '../helpers/builders.js';
import type { NodeDesired } from '../../schemas/messages.js';

/** The builder's service with volumes. */
function withVolumes(b: ServiceBuilder, volumes: ServiceSpec['volumes'] = [{ name: 'data', path: '/data' }]): ServiceBuilder {
  const spec = b.spec.bind(b);
  b.spec = () => ({ ...spec(), volumes });
  return b;
}

const Names = suite('volume names');

Names('the variable of a process volume: upper case, - becomes _', () => {
  assert.is(volumeEnvName('data'), 'CANOPY_VOLUME_DATA');
  assert.is(volumeEnvName('pg-data-2'), 'CANOPY_VOLUME_PG_DATA_2');
});

Names('a Docker volume is named after its container and kept apart from other replicas', () => {
  const opts = { fleet: 'demo', cluster: 'c1', node: 'n1', stateDir: '/nowhere' };
  assert.is(dockerVolumeName(containerName(opts, 'shop/db#0'), 'data'), 'canopy_demo_n1_shop_db_0_data');
  const a = dockerVolumeName(containerName(opts, 'a-b/c#0'), 'd');
  const b = dockerVolumeName(containerName(opts, 'a/b-c#0'), 'd');
  assert.is.not(a, b);
  assert.is.not(dockerVolumeName(containerName(opts, 'shop/db#1'), 'data'), dockerVolumeName(containerName(opts, 'shop/db#0'), 'data'));
});

Names('a process volume directory', () => {
  assert.is(processVolumeDir('shop/db#3', 'data'), 'shop_db_3_data');
  assert.throws(() => processVolumeDir('not-a-replica', 'data'), /not a replica id/);
});

const Rules = suite('volume rules and the workload hash');

Rules('a process volume needs no absolute path; a container one does', () => {
  assert.equal(volumeIssues({ runtime: 'process', volumes: [{ name: 'data', path: 'data' }] }), []);
  assert.match(volumeIssues({ runtime: 'container', volumes: [{ name: 'data', path: 'data' }] })[0].message, /absolute path/);
  assert.equal(volumeIssues({ runtime: 'container', volumes: [{ name: 'data', path: '/var/lib/data' }] }), []);
});

Rules('a new volume list replaces the replica; no volumes hash as before', () => {
  const spec: ServiceSpec = { runtime: 'container', image: 'x', replicas: 1 };
  assert.is(workloadHash({ ...spec, volumes: undefined }), workloadHash({ ...spec }));
  const one = workloadHash({ ...spec, volumes: [{ name: 'data', path: '/data' }] });
  assert.is.not(one, workloadHash({ ...spec }));
  assert.is.not(one, workloadHash({ ...spec, volumes: [{ name: 'data', path: '/srv' }] }));
  assert.is.not(one, workloadHash({ ...spec, volumes: [{ name: 'data', path: '/data', retain: true }] }), 'retain is recorded when the replica starts');
});

const Sticky = suite('sticky placement');

Sticky('a replica with a volume stays on its online node through a spec change that no longer fits', () => {
  const db = withVolumes(aService('shop/db').replicas(1).cpu(8));
  const p = placeOnNodes([db], [aNode('n1').withCapacity(2), aNode('n2').withCapacity(16)], { 'shop/db#0': 'n1' });
  assert.equal(assignedOf(p), { 'shop/db#0': 'n1' });
  const plain = aService('shop/web').replicas(1).cpu(8);
  const q = placeOnNodes([plain], [aNode('n1').withCapacity(2), aNode('n2').withCapacity(16)], { 'shop/web#0': 'n1' });
  assert.equal(assignedOf(q), { 'shop/web#0': 'n2' }, 'without a volume it moves');
});

Sticky('a replica with a volume stays through a node-label constraint and spread: nodes', () => {
  const db = withVolumes(aService('shop/db').replicas(2).onNodesLabelled({ disk: 'ssd' }).spread('nodes'));
  const p = placeOnNodes([db], [aNode('n1'), aNode('n2').withLabels({ disk: 'ssd' }), aNode('n3').withLabels({ disk: 'ssd' })], {
    'shop/db#0': 'n1',
    'shop/db#1': 'n1',
  });
  assert.equal(assignedOf(p), { 'shop/db#0': 'n1', 'shop/db#1': 'n1' });
});

Sticky('it moves when its node is offline, and the cluster says where its data stayed', () => {
  const db = withVolumes(aService('shop/db').replicas(1));
  const nodes = [aNode('n1').offline(), aNode('n2')];
  const p = placeOnNodes([db], nodes, { 'shop/db#0': 'n1' });
  assert.equal(assignedOf(p), { 'shop/db#0': 'n2' });
  const moves = new Map<string, VolumeMove>();
  const online = new Set(['n2']);
  noteVolumeMoves(moves, new Map([['shop/db#0', 'n1']]), p.assignment, p.byNode, (n) => online.has(n));
  assert.equal(moveMessages(moves), new Map([['shop/db', 'shop/db#0 moved from n1 to n2: its volume data stays on n1']]));
  // The next pass (previous = n2) keeps the message while n1 stays away …
  noteVolumeMoves(moves, p.assignment, p.assignment, p.byNode, (n) => online.has(n));
  assert.is(moves.size, 1);
  // … and drops it once n1 is back.
  online.add('n1');
  noteVolumeMoves(moves, p.assignment, p.assignment, p.byNode, (n) => online.has(n));
  assert.is(moves.size, 0);
});

Sticky('a replica without volumes that moves is no failover of data', () => {
  const web = aService('shop/web').replicas(1);
  const p = placeOnNodes([web], [aNode('n1').offline(), aNode('n2')], { 'shop/web#0': 'n1' });
  const moves = new Map<string, VolumeMove>();
  noteVolumeMoves(moves, new Map([['shop/web#0', 'n1']]), p.assignment, p.byNode, () => false);
  assert.is(moves.size, 0);
});

Sticky('the services with volumes a node is told about', () => {
  const placement = aPlacement('munich')
    .with(withVolumes(aService('shop/db')))
    .with(aService('shop/web'))
    .build();
  assert.equal(volumeServices(placement), ['shop/db']);
});

Sticky('the cluster: a failover is in the service message while the old node is away; nodes learn the services with volumes', async () => {
  const placement = aPlacement('munich')
    .with(withVolumes(aService('shop/db')))
    .with(aService('shop/web'))
    .build();
  const f = fakeCluster({ placement, assignment: { 'shop/db#0': 'n1', 'shop/web#0': 'n1' } });
  f.s.nodes.set('n1', heardNode(aNodeStatus(aNode('n1').build()), { online: false, connected: false }));
  f.s.nodes.set('n2', heardNode(aNodeStatus(aNode('n2').build())));
  await placeStep(f.s, f.p);
  assert.equal(Object.fromEntries(f.s.assignment), { 'shop/db#0': 'n2', 'shop/web#0': 'n2' });
  assert.is(f.s.pending.get('shop/db'), 'shop/db#0 moved from n1 to n2: its volume data stays on n1');
  assert.not.ok(f.s.pending.has('shop/web'), 'no data, no message');
  await placeStep(f.s, f.p);
  assert.ok(f.s.pending.has('shop/db'), 'still said on the next pass');
  f.s.nodes.get('n1')!.online = true;
  f.s.nodes.get('n1')!.connected = true;
  await placeStep(f.s, f.p);
  assert.is(f.s.assignment.get('shop/db#0'), 'n2', 'it stays where it runs now');
  assert.not.ok(f.s.pending.has('shop/db'), 'n1 is back: its data is there to take');
  await assignNode(f.s, f.p, 'n2');
  const sent = f.nodeBus.published.at(-1)!.message as NodeDesired;
  assert.equal(sent.volumeServices, ['shop/db']);
});

const Drop = suite('removing the volumes of deleted services');

function volumeDriver(vols: StoredVolume[]) {
  const d = fakeDriver();
  const removed: string[] = [];
  d.volumes = {
    list: async () => vols.filter((v) => !removed.includes(v.name)),
    remove: async (name) => void removed.push(name),
  };
  return { d, removed };
}
const vol = (service: string, retain = false): StoredVolume => ({
  name: `${service.replace('/', '_')}_0_data`,
  service,
  replica: `${service}#0`,
  volume: 'data',
  retain,
});

Drop('a service main deleted loses its volumes here, unless retained; one that moved elsewhere keeps them', async () => {
  const { d, removed } = volumeDriver([vol('shop/db'), vol('shop/gone'), vol('shop/moved'), vol('shop/away'), vol('shop/kept', true)]);
  const p = fakePorts(d);
  const s = newAgentState(
    anAssignment([aReplica(withVolumes(aService('shop/db')))], {
      volumeServices: ['shop/db', 'shop/moved'],
      deletedServices: ['shop/gone', 'shop/kept'],
    }),
    2000,
  );
  await dropVolumes(s, p);
  assert.equal(removed, ['shop_gone_0_data'], 'shop/away (moved to another cluster) keeps its data');
  assert.ok(p.log.lines.some((l) => /removed volume shop_gone_0_data.*deleted from the fleet/.test(l)));
});

Drop('nothing is removed without the list (no placement yet, an older cluster)', async () => {
  const { d, removed } = volumeDriver([vol('shop/gone')]);
  const s = newAgentState(anAssignment([]), 2000);
  await dropVolumes(s, fakePorts(d));
  assert.equal(removed, []);
  const none = newAgentState(undefined, 2000);
  await dropVolumes(none, fakePorts(d));
  assert.equal(removed, []);
});

Drop('a volume whose replica still runs here waits for the next pass', async () => {
  const gone = aReplica(aService('shop/gone'));
  const { d, removed } = volumeDriver([vol('shop/gone')]);
  const s = newAgentState(anAssignment([], { volumeServices: [], deletedServices: ['shop/gone'] }), 2000);
  s.observed = [observed(gone)];
  await dropVolumes(s, fakePorts(d));
  assert.equal(removed, []);
  s.observed = [];
  await dropVolumes(s, fakePorts(d));
  assert.equal(removed, ['shop_gone_0_data']);
});

Drop('process volume directories: made, listed, retained as the spec last said, removed', async () => {
  const dir = tempDir('canopy-volumes-');
  const opts = { fleet: 'demo', cluster: 'c1', node: 'n1', stateDir: dir };
  const v = processVolumes(opts);
  const spec: ServiceSpec = { runtime: 'process', command: ['true'], replicas: 1, volumes: [{ name: 'data', path: 'data', retain: true }] };
  const w = { id: 'shop/db#0', service: 'shop/db', index: 0, specHash: 'h', spec };
  const env = v.prepare(w);
  assert.equal(env, { CANOPY_VOLUME_DATA: join(dir, 'volumes', 'shop_db_0_data') });
  assert.ok(existsSync(env.CANOPY_VOLUME_DATA));
  mkdirSync(join(dir, 'volumes', 'not-a-volume'));
  assert.equal(await v.api.list(), [{ name: 'shop_db_0_data', service: 'shop/db', replica: 'shop/db#0', volume: 'data', retain: true }]);
  // A restarted agent reads what was recorded; a new start without retain records that.
  const again = processVolumes(opts);
  assert.is((await again.api.list())[0].retain, true);
  again.prepare({ ...w, spec: { ...spec, volumes: [{ name: 'data', path: 'data' }] } });
  assert.is((await processVolumes(opts).api.list())[0].retain, false);
  await again.api.remove('shop_db_0_data');
  assert.equal(readdirSync(join(dir, 'volumes')), ['not-a-volume']);
  await again.api.remove('shop_db_0_data'); // gone already: no error
});

Names.run();
Rules.run();
Sticky.run();
Drop.run();
