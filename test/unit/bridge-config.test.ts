// A site broker bridged to the central one (reconciler/mqtt/bridge-config.ts): the access table
// narrowed to one cluster for the site broker's users, what crosses the bridge (from the
// cluster's own rules, so the central ACL grants it), and the bridge section Mosquitto reads.
// Two real Mosquitto processes running it: test/e2e/bridge.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { statSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/cleanup.js';
import { accessRules, bridgeTopics, maySubscribe, mayPublish, siteRules } from '../../reconciler/mqtt/access.js';
import { bridgeAddress, bridgeClientId, renderBridge, siteUsers } from '../../reconciler/mqtt/bridge-config.js';
import { renderMosquittoConf, writeBrokerFiles, type BrokerUser } from '../../reconciler/mqtt/broker-config.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { rootTrustView, TrustStore } from '../../reconciler/mqtt/trust.js';
import type { IdentityRole } from '../../reconciler/core/identity.js';

const t = topics('demo');
const s = suite('bridge: the site broker and what crosses');

s('topics.onCluster narrows a filter to one cluster, or says it matches none of its topics', () => {
  assert.is(t.onCluster(t.allClusterStatus, 'munich'), t.clusterStatus('munich'));
  assert.is(t.onCluster(t.allNodeStatus('+'), 'munich'), t.allNodeStatus('munich'));
  assert.is(t.onCluster(t.logsRequest('+', 'ops'), 'munich'), t.logsRequest('munich', 'ops'));
  assert.is(t.onCluster(t.nodeDesired('munich', 'n1'), 'munich'), t.nodeDesired('munich', 'n1'));
  assert.is(t.onCluster(t.clusterDesired('paris'), 'munich'), undefined);
  assert.is(t.onCluster(`${t.root}/root/online`, 'munich'), undefined);
  assert.is(t.onCluster(`${t.root}/clusters/#`, 'munich'), `${t.root}/clusters/munich/#`);
});

s('the site broker grants the cluster, its nodes and the operators the table’s rules narrowed to the cluster; nobody else', () => {
  assert.equal(siteRules('demo', 'cluster', 'munich', 'munich'), accessRules('demo', 'cluster', 'munich'));
  assert.equal(siteRules('demo', 'node', 'munich/n1', 'munich'), accessRules('demo', 'node', 'munich/n1'));
  const ops = siteRules('demo', 'operator', 'ops', 'munich')!;
  assert.ok(maySubscribe(ops, t.clusterStatus('munich')));
  assert.ok(maySubscribe(ops, t.allNodeStatus('munich')));
  assert.not.ok(maySubscribe(ops, t.allClusterStatus), 'no other cluster’s status at munich’s site');
  assert.ok(mayPublish(ops, t.logsRequest('munich', 'ops')));
  assert.not.ok(mayPublish(ops, t.logsRequest('paris', 'ops')));
  for (const [role, name] of [
    ['root', 'root'],
    ['cluster', 'paris'],
    ['node', 'paris/n1'],
    ['node', 'munichx/n1'],
  ] as Array<[IdentityRole, string]>)
    assert.is(siteRules('demo', role, name, 'munich'), undefined, `${role} ${name}`);
});

s('what crosses: in the cluster’s desired state and the log requests to it; out its status, online flag and log answers; never a node’s', () => {
  const b = bridgeTopics('demo', 'munich');
  assert.equal(b.in, [t.clusterDesired('munich'), t.allLogsRequests('munich')]);
  assert.equal(b.out, [t.clusterStatus('munich'), t.clusterOnline('munich'), t.logsAnswer('munich', '+')]);
  // The central broker's ACL for the cluster's user (the bridge logs in as it) allows each.
  const central = accessRules('demo', 'cluster', 'munich');
  for (const f of b.in) assert.ok(maySubscribe(central, f), f);
  for (const f of b.out)
    assert.ok(
      central.some((r) => r.access === 'write' && r.pattern === f),
      f,
    );
  // Nor does anything of another cluster cross.
  assert.not.ok([...b.in, ...b.out].some((f) => f.includes('/nodes/') || f.includes('/paris/')));
});

s('the bridge section: address, the cluster’s credential, a stable client id, a durable session, QoS 1 topics', () => {
  const lines = renderBridge({ url: 'mqtt://central.example:1884', fleet: 'demo', cluster: 'munich', username: 'demo.cluster.munich', password: 'pw-1' });
  const has = (l: string) => assert.ok(lines.includes(l), `${l}\n${lines.join('\n')}`);
  has('connection canopy-demo-munich');
  has('address central.example:1884');
  has(`remote_clientid ${bridgeClientId('demo', 'munich')}`);
  has('remote_username demo.cluster.munich');
  has('remote_password pw-1');
  has('cleansession false');
  has('bridge_protocol_version mqttv311');
  has('try_private true');
  has('notifications true');
  has('notification_topic canopy/v1/demo/clusters/munich/bridge');
  has(`topic ${t.clusterDesired('munich')} in 1`);
  has(`topic ${t.allLogsRequests('munich')} in 1`);
  has(`topic ${t.clusterStatus('munich')} out 1`);
  has(`topic ${t.logsAnswer('munich', '+')} out 1`);
  assert.is(lines.filter((l) => l.startsWith('topic ')).length, 5);
  assert.not.ok(
    lines.some((l) => l.startsWith('bridge_cafile') || l.startsWith('bridge_capath')),
    'no TLS for mqtt://',
  );
});

s('mqtts: the CA given (else the system’s), and a client certificate instead of the password', () => {
  const base = { fleet: 'demo', cluster: 'munich', username: 'demo.cluster.munich', password: 'pw-1' };
  let lines = renderBridge({ ...base, url: 'mqtts://central.example' });
  assert.ok(lines.includes('address central.example:8883'));
  assert.ok(lines.includes('bridge_capath /etc/ssl/certs'));
  lines = renderBridge({ ...base, url: 'mqtts://[::1]:8884', ca: '/ca.pem', cert: '/c.pem', key: '/c.key' });
  for (const l of ['address [::1]:8884', 'bridge_cafile /ca.pem', 'bridge_certfile /c.pem', 'bridge_keyfile /c.key']) assert.ok(lines.includes(l), l);
  assert.not.ok(lines.some((l) => l.startsWith('remote_password')));
});

s('bridgeAddress refuses what is not a broker URL', () => {
  assert.equal(bridgeAddress('mqtt://h'), { host: 'h', port: 1883, tls: false });
  for (const bad of ['http://h:1883', 'h:1883', 'mqtt://', 'mqtt://u:p@h:1883', 'mqtt://h:1883/x'])
    assert.throws(() => bridgeAddress(bad), /mqtt:\/\/HOST|credentials/, bad);
});

const user = (role: IdentityRole, name: string, fleet = 'demo'): BrokerUser => ({
  username: `${fleet}.${role}.${name.replace('/', '.')}`,
  password: 'pw',
  role,
  fleet,
  name,
  rules: accessRules(fleet, role, name),
  file: `${name}.json`,
  createdAt: '2026-01-01T00:00:00Z',
});

s('siteUsers: the cluster, its nodes and the operators of its fleet; an unknown cluster is an error', () => {
  const all = [
    user('root', 'root'),
    user('cluster', 'munich'),
    user('cluster', 'paris'),
    user('node', 'munich/n1'),
    user('node', 'paris/n1'),
    user('operator', 'ops'),
    user('node', 'munich/n1', 'other'),
  ];
  const site = siteUsers(all, 'munich');
  assert.is(site.self.name, 'munich');
  assert.equal(
    site.users.map((u) => `${u.fleet}/${u.role}/${u.name}`),
    ['demo/cluster/munich', 'demo/node/munich/n1', 'demo/operator/ops'],
  );
  assert.throws(() => siteUsers(all, 'rome'), /no identity for cluster rome/);
});

s('the site broker’s configuration holds the cluster’s password: written readable by its owner only', () => {
  const dir = tempDir('canopy-bridge-conf-');
  const conf = renderMosquittoConf({
    passwordFile: '/p',
    aclFile: '/a',
    bridge: { url: 'mqtt://c:1883', fleet: 'demo', cluster: 'munich', username: 'demo.cluster.munich', password: 'pw-1' },
  });
  assert.match(conf, /^allow_anonymous false$[\s\S]*^connection canopy-demo-munich$/m);
  writeBrokerFiles(dir, { password_file: '', acl_file: '', 'mosquitto.conf': conf }, undefined, { secretConf: true });
  assert.is(statSync(path.join(dir, 'mosquitto.conf')).mode & 0o777, 0o600);
});

s('the bridge notification: cluster C writes its own, the root reads them all, it is not relayed, and the root takes it unsigned', () => {
  const t = topics('demo');
  assert.ok(mayPublish(accessRules('demo', 'cluster', 'munich'), t.clusterBridge('munich')));
  assert.not.ok(mayPublish(accessRules('demo', 'cluster', 'paris'), t.clusterBridge('munich')));
  assert.ok(maySubscribe(accessRules('demo', 'root', 'root'), t.allClusterBridge));
  const crossing = bridgeTopics('demo', 'munich');
  assert.not.ok([...crossing.in, ...crossing.out].includes(t.clusterBridge('munich')), 'the bridge publishes it itself');
  assert.equal(t.parse(t.clusterBridge('munich')), { level: 'cluster', cluster: 'munich', leaf: 'bridge' });
  const store = new TrustStore(true);
  const view = rootTrustView(store, t);
  assert.is(view.keysFor(t.clusterBridge('munich')), undefined, 'Mosquitto writes a bare 0 or 1: taken as it is');
  assert.equal(view.keysFor(t.clusterOnline('munich')), [], 'the cluster’s own online flag stays signed');
});

s.run();
