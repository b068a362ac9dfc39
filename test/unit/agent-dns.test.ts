// The node's DNS answer (agents/network/dns.ts), asked by Node's own resolver over real UDP
// sockets: service names answered (at once, or after their route arrives: interest), other
// names forwarded upstream as they came, unknown service names NXDOMAIN, bad packets ignored.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Resolver } from 'node:dns/promises';
import dgram from 'node:dgram';
import { answerTo, hostResolvers, parseQuery, startDns, type DnsServer } from '../../agents/network/dns.js';
import { agentNetwork, type ProxyPort } from '../../agents/network/network.js';
import { parseRange, serviceAddresses } from '../../agents/network/service-addresses.js';
import { createLogger } from '../../reconciler/core/log.js';
import { tempDir } from '../helpers/cleanup.js';

const test = suite('agent network: DNS answer');
const log = createLogger('test', 'error');
const servers: DnsServer[] = [];

const resolver = (s: DnsServer) => {
  const r = new Resolver({ timeout: 3000, tries: 1 });
  r.setServers([`${s.address.host}:${s.address.port}`]);
  return r;
};

test.after(async () => {
  for (const s of servers) await s.close();
});

test('a service name gets its address; another name is forwarded upstream; an unknown service is NXDOMAIN', async () => {
  const upstream = await startDns({ host: '127.0.0.1', port: 0, resolve: async () => ({ address: '192.0.2.7' }), log });
  servers.push(upstream);
  const dns = await startDns({
    host: '127.0.0.1',
    port: 0,
    upstream: [upstream.address],
    resolve: async (name) => (name === 'web.shop.canopy' ? { address: '198.18.1.2' } : name.endsWith('.canopy') ? 'nxdomain' : 'forward'),
    log,
  });
  servers.push(dns);
  assert.equal(await resolver(dns).resolve4('web.shop.canopy'), ['198.18.1.2']);
  assert.equal(await resolver(dns).resolve4('WEB.Shop.canopy'), ['198.18.1.2'], 'names are case-insensitive');
  const err = await resolver(dns)
    .resolve4('nope.shop.canopy')
    .catch((e) => e);
  assert.is(err.code, 'ENOTFOUND');
  assert.equal(await resolver(dns).resolve4('example.com'), ['192.0.2.7'], 'forwarded upstream, the answer passed back');
  const q = Buffer.from('abcd01000001000000000000076578616d706c6503636f6d0000010001', 'hex'); // example.com A
  const parsed = parseQuery(q)!;
  assert.is(parsed.name, 'example.com');
  assert.is(parsed.type, 1);
  const a = answerTo(parsed, 0, '192.0.2.7');
  assert.is(a.readUInt16BE(0), 0xabcd);
  assert.is(a.readUInt16BE(6), 1, 'one answer');
  assert.equal([...a.subarray(-4)], [192, 0, 2, 7]);
  assert.is(answerTo(parsed, 3).readUInt16BE(2) & 0xf, 3, 'NXDOMAIN');
});

test('bad packets get no answer and do not stop the server', async () => {
  const dns = await startDns({ host: '127.0.0.1', port: 0, upstream: [], resolve: async () => ({ address: '198.18.1.2' }), log });
  servers.push(dns);
  const s = dgram.createSocket('udp4');
  for (const junk of [Buffer.alloc(3), Buffer.from('ffffffffffffffffffffffffffffffff', 'hex'), Buffer.alloc(40, 0x80)])
    s.send(junk, dns.address.port, '127.0.0.1');
  s.close();
  assert.equal(await resolver(dns).resolve4('a.b.canopy'), ['198.18.1.2']);
  assert.is(parseQuery(Buffer.from('0001810000010000000000000161000001', 'hex')), undefined, 'a response is not a query');
});

test('interest: a name the node has no route for is asked for, and answered once its route arrives', async () => {
  const asked: string[] = [];
  const proxy: ProxyPort = { listen: async (_s, _p, host, port) => ({ host, port }), unlisten: async () => {}, setRoute: () => {} };
  const addresses = await serviceAddresses(parseRange('10.99.0.0/16'), 'n1', tempDir('canopy-dns-'));
  const net = agentNetwork({ proxy, addresses, nodeAddress: '127.0.0.2', log, interest: (s) => asked.push(s) });
  const dns = await startDns({ host: '127.0.0.1', port: 0, upstream: [], resolve: (n, t) => net.resolve(n, t), log });
  servers.push(dns);
  const pending = resolver(dns).resolve4('closest.api.billing.canopy');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(asked, ['billing/api']);
  await net.sync({ 'billing/api': { port: 8080, endpoints: [{ addr: '127.0.0.9:8080', tier: 2 }] } });
  const [ip] = await pending;
  assert.is(ip, net.bindings().get('billing/api')!.closest.host);
  assert.is(await net.resolve('example.com', 1), 'forward');
  assert.is(await net.resolve('x.canopy', 1), 'nxdomain', 'a .canopy name that is no service name');
});

test('host resolvers come from resolv.conf', () => {
  assert.equal(hostResolvers('# c\nnameserver 10.0.0.2\nnameserver fd00::1\nsearch x\nnameserver bogus\n'), ['10.0.0.2', 'fd00::1']);
  assert.equal(hostResolvers(''), ['127.0.0.53']);
});

test.run();
