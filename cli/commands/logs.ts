import { brokerUrl, command, flag, number, text } from '../args.js';
import { createLogger } from '../../reconciler/core/log.js';
import { DEFAULT_LOG_TAIL, LOG_RENEW_MS, MAX_LOG_TAIL } from '../../reconciler/core/logs.js';
import { parsePayload } from '../../schemas/parse.js';
import type { LogsMessage } from '../../schemas/messages.js';
import { clusterStatuses, operatorSession, sleep, streamId, type OperatorSession } from '../logs-client.js';

const SERVICE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\/[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** How long a cluster has to acknowledge a request, and a node to finish a tail. */
const ACK_MS = 5000;
const TAIL_MS = 15_000;

const cmd = command({
  name: 'logs',
  summary: 'a service’s output from the nodes that run it (over MQTT, bounded)',
  usage: [
    'Usage: canopy logs APP/NAME [--repo DIR | --broker URL --identity FILE] [--cluster C] [--replica R] [--tail N] [--follow]',
    '',
    '  --repo DIR       the fleet repository: with no --broker, talks to the `canopy up` running on it, as its',
    '                   operator; answers are verified by the cluster keys its main declares',
    '  --broker URL     the broker the clusters talk to the root on',
    '  --identity FILE  an operator identity (canopy identity create --operator NAME), declared in fleet.yaml',
    '                   spec.trust.operators',
    '  --cluster C      only the replicas on cluster C',
    '  --replica R      only replica R (its index, or APP/NAME#R)',
    `  --tail N         the last N lines of each replica (default ${DEFAULT_LOG_TAIL}, at most ${MAX_LOG_TAIL})`,
    '  --follow         keep printing new lines until Ctrl-C',
    '',
    'Each stream is bounded (64 KiB/s and 1000 lines/s after a first 512 KiB, lines cut at 8 KiB): what does not',
    'fit is dropped and counted ("… N lines dropped by the rate limit", on stderr).',
  ].join('\n'),
  options: {
    repo: text(),
    broker: brokerUrl(),
    identity: text(),
    cluster: text(),
    replica: text(),
    tail: number({ min: 0, max: MAX_LOG_TAIL, integer: true, default: DEFAULT_LOG_TAIL }),
    follow: flag('f'),
  },
  args: { min: 1, max: 1, what: 'one service, APP/NAME' },
  check(v, pos) {
    const problems: string[] = [];
    if (pos[0] && !SERVICE.test(pos[0])) problems.push(`${pos[0]}: expected a service as APP/NAME (lower case, digits, -)`);
    if (!v.repo && !v.broker) problems.push('give --repo DIR (a running canopy up) or --broker URL --identity FILE');
    return problems;
  },
  async run(v, pos) {
    const log = createLogger('logs', (process.env.CANOPY_LOG as 'info') || 'warn');
    const s = await operatorSession({ repo: v.repo, broker: v.broker, identity: v.identity }, log);
    try {
      return await stream(s, pos[0]!, v);
    } finally {
      await s.bus.close();
    }
  },
});
export default cmd;

type Answer = Extract<LogsMessage, { kind: 'logs-answer' }>;
interface Flags {
  cluster?: string;
  replica?: string;
  tail: number;
  follow: boolean;
}

async function stream(s: OperatorSession, service: string, v: Flags): Promise<number> {
  const out = (line: string) => process.stdout.write(line + '\n');
  const err = (line: string) => process.stderr.write(`canopy logs: ${line}\n`);
  const statuses = await clusterStatuses(s, 400, 3000, v.cluster ? new Set([v.cluster]) : s.verified);
  const where = [...statuses].filter(([c, st]) => st.services[service] && (!v.cluster || c === v.cluster));
  if (!where.length) {
    const heard = [...statuses.keys()].sort().join(', ') || 'none';
    err(
      v.cluster && statuses.get(v.cluster)
        ? `cluster ${v.cluster} runs no replica of ${service}`
        : `unknown service ${service}: no cluster reports it (clusters heard: ${heard})`,
    );
    return 1;
  }
  const running = where.filter(([, st]) => st.services[service]!.running > 0);
  if (!running.length) {
    err(
      `no replica of ${service} is running (${where.map(([c, st]) => `${c}: ${st.services[service]!.running}/${st.services[service]!.desired}`).join(', ')})`,
    );
    return 1;
  }
  const id = streamId();
  const clusters = new Map(running.map(([c]) => [c, { acked: false, ended: false, nodes: new Map<string, boolean>() }]));
  let replicas = 0;
  let failed = false;
  const answers: Answer[] = [];
  await s.bus.subscribe(s.t.logsAnswer('+', s.operator), (topic, payload) => {
    const p = parsePayload('LogsMessage', payload, topic);
    if (!p.ok) return s.bus.drop(topic, p.error);
    if (p.value.kind === 'logs-answer' && p.value.id === id) answers.push(p.value);
  });
  const request = (op: 'start' | 'renew' | 'stop') =>
    Promise.all(
      [...clusters.keys()].map((c) =>
        s.bus.publish(s.t.logsRequest(c, s.operator), {
          kind: 'logs-request',
          id,
          op,
          at: Date.now(),
          service,
          ...(v.replica ? { replica: v.replica } : {}),
          tail: v.tail,
          follow: v.follow,
        }),
      ),
    );
  await request('start');
  let stopping = false;
  const onSignal = () => {
    stopping = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const t0 = Date.now();
  let renewed = t0;
  const take = (a: Answer) => {
    const c = clusters.get(a.cluster);
    if (!c) return;
    c.acked = true;
    for (const [n, ids] of Object.entries(a.expect ?? {})) {
      c.nodes.set(n, false);
      replicas += ids.length;
    }
    if (a.error) {
      failed = true;
      err(`cluster ${a.cluster}${a.node ? ` node ${a.node}` : ''}: ${a.error}`);
    }
    for (const line of a.lines ?? []) out(replicas > 1 || clusters.size > 1 ? `${a.replica} ${a.node} | ${line}` : line);
    if (a.dropped) err(`… ${a.dropped} lines dropped by the rate limit${a.replica ? ` (${a.replica})` : ''}`);
    if (a.end && a.node) c.nodes.set(a.node, true);
    if (a.end && !a.node) c.ended = true;
  };
  for (;;) {
    for (const a of answers.splice(0)) take(a);
    const now = Date.now();
    const silent = [...clusters].filter(([, c]) => !c.acked);
    if (silent.length && now - t0 > ACK_MS) {
      for (const [c] of silent)
        err(
          `cluster ${c} did not answer within ${ACK_MS / 1000} s. Is it running and connected (canopy status)? It drops a request it cannot verify: ${s.who} must be declared in fleet.yaml spec.trust.operators on the commit the root accepted, and the broker must let it publish log requests (canopy broker-config)`,
        );
      return 1;
    }
    const done = [...clusters.values()].every((c) => c.ended || (c.acked && [...c.nodes.values()].every(Boolean)));
    if (done && !v.follow) return failed ? 1 : 0;
    if (!v.follow && now - t0 > TAIL_MS) {
      for (const [c, st] of clusters)
        for (const [n, ended] of st.nodes) if (!ended) err(`node ${n} of cluster ${c} did not finish within ${TAIL_MS / 1000} s: is its agent running?`);
      return 1;
    }
    if (v.follow && (stopping || done)) {
      if (stopping) await request('stop').catch(() => undefined);
      return failed ? 1 : 0;
    }
    if (v.follow && now - renewed >= LOG_RENEW_MS) {
      renewed = now;
      await request('renew').catch((e) => err(`renewing: ${(e as Error).message}`));
    }
    await sleep(50);
  }
}
