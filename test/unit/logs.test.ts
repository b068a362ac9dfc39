// Logs on demand, the pure parts: the rate limiter's bound, lines cut and split, the tail, the
// request checks (schema, signed time, replica choice), the topics and the broker rules, and who
// verifies a log request or answer.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  cutLine,
  lastLines,
  LineSplitter,
  LogLimiter,
  LOG_BURST_BYTES,
  LOG_RATE_BYTES,
  LOG_REQUEST_SKEW_MS,
  MAX_LOG_LINE_BYTES,
  replicasByNode,
  staleRequest,
  TokenBucket,
} from '../../reconciler/core/logs.js';
import { parsePayload } from '../../schemas/parse.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { accessRules, mayPublish, maySubscribe } from '../../reconciler/mqtt/access.js';
import { generateSigningKey, signerFrom } from '../../reconciler/core/keys.js';
import { signedCodec } from '../../reconciler/mqtt/signed-codec.js';
import { agentTrustView, clusterTrustView, isUnorderedTopic, operatorTrustView, TrustStore } from '../../reconciler/mqtt/trust.js';
import { capLogs, logFileOf, processLogs } from '../../agents/runtimes/process-logs.js';
import { frameReader } from '../../agents/runtimes/docker-logs.js';
import { tempDir } from '../helpers/cleanup.js';

const test = suite('logs on demand');
const t = topics('demo');

test('the token bucket gives its burst, then its rate, never more', () => {
  const b = new TokenBucket(100, 1000, 0);
  assert.ok(b.take(1000, 0));
  assert.not.ok(b.take(1, 0));
  assert.ok(b.take(50, 500)); // half a second: 50 tokens
  assert.not.ok(b.take(1, 500));
  assert.ok(b.take(1000, 1_000_000)); // never more than the burst saved up
  assert.not.ok(b.take(1, 1_000_000));
});

test('a chatty stream is held to burst + rate × time, and what it drops is counted', () => {
  const l = new LogLimiter(0);
  const line = 'x'.repeat(1000);
  let sent = 0;
  let offered = 0;
  for (let ms = 0; ms <= 10_000; ms += 10) {
    for (let i = 0; i < 20; i++) {
      offered++;
      if (l.admit(line, ms)) sent += line.length;
    }
  }
  assert.ok(sent <= LOG_BURST_BYTES + LOG_RATE_BYTES * 10, `${sent} bytes sent in 10 s`);
  assert.ok(sent >= LOG_RATE_BYTES * 10, `${sent}: the rate is given`);
  assert.is(l.dropped, offered - sent / line.length);
  assert.is(l.sentBytes, sent);
});

test('the lines bound holds for short lines; a line refused for its bytes does not spend a line', () => {
  const l = new LogLimiter(0, { rateLines: 10, burstLines: 10, rateBytes: 100, burstBytes: 100 });
  assert.not.ok(l.admit('y'.repeat(200), 0));
  for (let i = 0; i < 10; i++) assert.ok(l.admit('a', 0), `line ${i}`);
  assert.not.ok(l.admit('a', 0));
  assert.is(l.dropped, 2);
});

test('a long line is cut at the limit on a character boundary and marked', () => {
  assert.is(cutLine('short'), 'short');
  const long = 'é'.repeat(MAX_LOG_LINE_BYTES); // 2 bytes each
  const cut = cutLine(long);
  assert.ok(Buffer.byteLength(cut) <= MAX_LOG_LINE_BYTES + 10);
  assert.ok(cut.endsWith(' …[cut]'));
  assert.not.ok(cut.includes('\uFFFD'));
});

test('lines are split across chunks; an unending line is cut; the last one comes at the end', () => {
  const got: string[] = [];
  const s = new LineSplitter((l) => got.push(l));
  s.push('one\ntw');
  s.push('o\r\nthr');
  assert.equal(got, ['one', 'two']);
  s.end();
  assert.equal(got, ['one', 'two', 'thr']);
  const long: string[] = [];
  const s2 = new LineSplitter((l) => long.push(l));
  s2.push('z'.repeat(MAX_LOG_LINE_BYTES + 5));
  assert.is(long.length, 1);
});

test('the tail is the last N lines', () => {
  assert.equal(lastLines('a\nb\nc\n', 2), ['b', 'c']);
  assert.equal(lastLines('a\nb\nc', 5), ['a', 'b', 'c']);
  assert.equal(lastLines('a\n', 0), []);
});

test('requests are checked against the schema: tail capped, ids and services well formed', () => {
  const ok = { kind: 'logs-request', id: 'abcdefgh12', op: 'start', at: 1, service: 'shop/web', tail: 100, follow: false };
  assert.ok(parsePayload('LogsMessage', JSON.stringify(ok), 'x').ok);
  const bad = (o: object, want: string) => {
    const p = parsePayload('LogsMessage', JSON.stringify({ ...ok, ...o }), 'x');
    assert.not.ok(p.ok);
    if (!p.ok) assert.ok(p.error.includes(want), p.error);
  };
  bad({ tail: 10_001 }, '/tail');
  bad({ tail: -1 }, '/tail');
  bad({ id: 'short' }, '/id');
  bad({ service: 'web' }, '/service');
  bad({ op: 'flood' }, '/op');
  bad({ extra: 1 }, '/extra');
  bad({ kind: 'logs-flood' }, '/kind');
});

test('a request signed far from the clock is refused as a replay', () => {
  const r = { kind: 'logs-request' as const, id: 'abcdefgh12', op: 'start' as const, at: 1_000_000, service: 'a/b', tail: 1, follow: false };
  assert.is(staleRequest(r, 1_000_000 + LOG_REQUEST_SKEW_MS), undefined);
  assert.match(staleRequest(r, 1_000_000 + LOG_REQUEST_SKEW_MS + 1000) ?? '', /ago/);
  assert.match(staleRequest(r, 1_000_000 - LOG_REQUEST_SKEW_MS - 1000) ?? '', /ahead/);
});

test('replicas are chosen by service and replica (index or id), grouped by node', () => {
  const a = new Map([
    ['shop/web#0', 'n1'],
    ['shop/web#1', 'n2'],
    ['shop/web#2', 'n1'],
    ['shop/webby#0', 'n1'],
  ]);
  assert.equal(
    [...replicasByNode(a, 'shop/web')],
    [
      ['n1', ['shop/web#0', 'shop/web#2']],
      ['n2', ['shop/web#1']],
    ],
  );
  assert.equal([...replicasByNode(a, 'shop/web', '1')], [['n2', ['shop/web#1']]]);
  assert.equal([...replicasByNode(a, 'shop/web', 'shop/web#2')], [['n1', ['shop/web#2']]]);
  assert.is(replicasByNode(a, 'shop/api').size, 0);
});

test('log topics parse back; the broker rules: an operator asks and reads only its own answers', () => {
  assert.equal(t.parse(t.logsRequest('munich', 'alice')), { level: 'logs', cluster: 'munich', operator: 'alice', leaf: 'logs-request' });
  assert.equal(t.parse(t.nodeLogsAnswer('munich', 'n1')), { level: 'node', cluster: 'munich', node: 'n1', leaf: 'logs-answer' });
  const alice = accessRules('demo', 'operator', 'alice');
  assert.ok(mayPublish(alice, t.logsRequest('munich', 'alice')));
  assert.not.ok(mayPublish(alice, t.logsRequest('munich', 'bob')));
  assert.not.ok(mayPublish(alice, t.nodeLogsRequest('munich', 'n1')));
  assert.not.ok(mayPublish(alice, t.logsAnswer('munich', 'alice')));
  assert.ok(maySubscribe(alice, t.logsAnswer('+', 'alice')));
  assert.not.ok(maySubscribe(alice, t.logsAnswer('+', 'bob')));
  const munich = accessRules('demo', 'cluster', 'munich');
  assert.ok(maySubscribe(munich, t.allLogsRequests('munich')));
  assert.not.ok(maySubscribe(munich, t.allLogsRequests('paris')));
  assert.ok(mayPublish(munich, t.logsAnswer('munich', 'alice')));
  assert.not.ok(mayPublish(munich, t.logsAnswer('paris', 'alice')));
  assert.ok(mayPublish(munich, t.nodeLogsRequest('munich', 'n1')));
  assert.ok(maySubscribe(munich, t.allNodeLogsAnswers('munich')));
  const n1 = accessRules('demo', 'node', 'munich/n1');
  assert.ok(maySubscribe(n1, t.nodeLogsRequest('munich', 'n1')));
  assert.not.ok(maySubscribe(n1, t.nodeLogsRequest('munich', 'n2')));
  assert.ok(mayPublish(n1, t.nodeLogsAnswer('munich', 'n1')));
  assert.not.ok(mayPublish(n1, t.logsAnswer('munich', 'alice')));
});

test('a cluster opens a log request only signed by that operator; a node only its cluster’s; an operator only the cluster’s answer', () => {
  const alice = generateSigningKey('alice');
  const bob = generateSigningKey('bob');
  const munich = generateSigningKey('munich');
  const signed = (k: { privateKey: string }) => signedCodec({ signer: signerFrom(k.privateKey), trust: { keysFor: () => undefined }, maxBytes: 1 << 20 });
  const body = JSON.stringify({ kind: 'logs-request' });
  const store = new TrustStore(true);
  store.set('operator:alice', [alice.publicKey]);
  store.set('cluster:munich', [munich.publicKey]);
  const cluster = signedCodec({ trust: clusterTrustView(store, t, 'munich'), maxBytes: 1 << 20, unordered: isUnorderedTopic });
  const topic = t.logsRequest('munich', 'alice');
  assert.ok(cluster.decode(topic, Buffer.from(signed(alice).encode(topic, body))).ok);
  const forged = cluster.decode(topic, Buffer.from(signed(bob).encode(topic, body)));
  assert.is(forged.ok ? '' : forged.reason, 'untrusted-key');
  const unsigned = cluster.decode(topic, Buffer.from(body));
  assert.is(unsigned.ok ? '' : unsigned.reason, 'unsigned');
  // Bob's topic: no operator bob is declared.
  const bobs = cluster.decode(t.logsRequest('munich', 'bob'), Buffer.from(signed(bob).encode(t.logsRequest('munich', 'bob'), body)));
  assert.not.ok(bobs.ok);
  const agent = signedCodec({ trust: agentTrustView(store, t, 'munich', 'n1'), maxBytes: 1 << 20 });
  const nt = t.nodeLogsRequest('munich', 'n1');
  assert.ok(agent.decode(nt, Buffer.from(signed(munich).encode(nt, body))).ok);
  assert.not.ok(agent.decode(nt, Buffer.from(signed(alice).encode(nt, body))).ok);
  const op = signedCodec({ trust: operatorTrustView(store, t, 'alice'), maxBytes: 1 << 20, unordered: isUnorderedTopic });
  const at = t.logsAnswer('munich', 'alice');
  assert.ok(op.decode(at, Buffer.from(signed(munich).encode(at, body))).ok);
  assert.not.ok(op.decode(at, Buffer.from(signed(alice).encode(at, body))).ok);
});

test('a process replica’s output file is capped: rotated past the limit, one previous file kept; the tail spans both', async () => {
  const dir = tempDir('logs-cap-');
  const id = 'shop/web#0';
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const file = logFileOf(dir, id);
  writeFileSync(file, Array.from({ length: 300 }, (_, i) => `line ${i}`).join('\n') + '\n');
  capLogs(dir, [id], 1000);
  assert.is(statSync(file).size, 0);
  assert.ok(readFileSync(`${file}.1`, 'utf8').includes('line 299'));
  appendFileSync(file, 'after 1\nafter 2\n');
  capLogs(dir, [id], 1000);
  assert.is(statSync(file).size, 16);
  const got: string[] = [];
  const src = processLogs(dir, id, { tail: 4, follow: false }, (l) => got.push(l));
  await src.done;
  assert.equal(got, ['line 298', 'line 299', 'after 1', 'after 2']);
});

test('docker’s multiplexed frames are read across chunks; a raw (TTY) stream is passed on', () => {
  const frame = (s: string) => Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, Buffer.byteLength(s)]), Buffer.from(s)]);
  const got: string[] = [];
  const read = frameReader((b) => got.push(b.toString()));
  const all = Buffer.concat([frame('hello\n'), frame('world\n')]);
  read(all.subarray(0, 3));
  read(all.subarray(3, 11));
  read(all.subarray(11));
  assert.equal(got, ['hello\n', 'world\n']);
  const raw: string[] = [];
  frameReader((b) => raw.push(b.toString()))(Buffer.from('plain text\n'));
  assert.equal(raw, ['plain text\n']);
});

test.run();
