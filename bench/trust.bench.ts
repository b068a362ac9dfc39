// What signing costs: the same fleet (root, two clusters, five sim agents each, as separate
// processes over Mosquitto) run four times back to back, in the order unsigned, signed, signed,
// unsigned (a drift of the machine cancels out): unsigned as a fleet made before keys existed
// (no identities, anonymous Mosquitto), signed as on a real site (an identity per part, every
// message signed and verified, Mosquitto with the password file and ACL of `canopy
// broker-config`). For each: commit → converged over N one-service commits, and the idle RSS of
// one agent. Goals: at most 10 % more latency, the signing agent still ≤ 60 MB.
import type { Bench, Figure } from './types.js';
import { BenchFleet, fleetYaml, clusterYaml, serviceYaml } from './lib/fleet.js';
import { Scope } from './lib/cleanup.js';
import { watchIdle } from './lib/proc.js';
import { median, percentile, round, sleep } from './lib/stats.js';
import { AGENTS_PER_CLUSTER, CLUSTERS, SERVICES, spec } from './latency.bench.js';

interface Run {
  seen: number[];
  agentRssMB: number;
  dropped: number;
}

async function runFleet(secure: boolean, commits: number, quick: boolean, log: (l: string) => void): Promise<Run> {
  const scope = new Scope();
  const f = new BenchFleet(secure ? 'benchsig' : 'benchuns', scope);
  try {
    const files: Record<string, string> = { 'fleet.yaml': fleetYaml(f.fleet) };
    for (const [c, at] of Object.entries(CLUSTERS)) files[`clusters/${c}.yaml`] = clusterYaml(c, at.lat, at.lon);
    for (let i = 0; i < SERVICES; i++) files[`services/lat/svc-${i}.yaml`] = serviceYaml('lat', `svc-${i}`, spec(i, 0));
    const nodes = (c: string) => Array.from({ length: AGENTS_PER_CLUSTER }, (_, n) => `${c}-n${n + 1}`);
    if (secure) await f.secure(files, Object.fromEntries(Object.keys(CLUSTERS).map((c) => [c, nodes(c)])));
    const first = await f.init(files);
    await f.startBroker();
    for (const c of Object.keys(CLUSTERS)) {
      f.startCluster(c);
      for (const n of nodes(c)) f.startAgent(c, n, { cpu: 4, memory: '8Gi' });
    }
    for (const p of f.parts.values()) await p.waitForLog(/running/);
    f.startRoot();
    await f.waitConverged(first, 60_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${f.tails()}`);
    });
    log(`${secure ? 'signed' : 'unsigned'}: converged on the first commit; ${commits} one-service commits`);
    const seen: number[] = [];
    for (let k = 1; k <= commits; k++) {
      const i = k % SERVICES;
      const c = f.commit({ [`services/lat/svc-${i}.yaml`]: serviceYaml('lat', `svc-${i}`, spec(i, k)) }, `svc-${i}: rev ${k}`);
      const { seenAt } = await f.waitConverged(c.commit, 15_000);
      seen.push(seenAt - c.startedAt);
      await sleep(50 + Math.random() * 200);
    }
    await sleep(quick ? 2000 : 4000);
    const agent = f.parts.get('agent-c1-n1')!;
    const idle = await watchIdle({ agent: agent.pid }, quick ? 4000 : 10_000, 1);
    const dropped = [...f.parts.values()].reduce((n, p) => n + (p.log().match(/dropped (bad message|a message not verifiable yet)/g)?.length ?? 0), 0);
    log(
      `${secure ? 'signed' : 'unsigned'}: p50 ${round(median(seen))} ms, p99 ${round(percentile(seen, 99))} ms; agent idle RSS ${round(idle.agent!.rssMB)} MB`,
    );
    return { seen, agentRssMB: idle.agent!.rssMB, dropped };
  } finally {
    await scope.close();
  }
}

/** Both runs' figures pooled: the order unsigned, signed, signed, unsigned cancels a drift of the machine. */
function pool(a: Run, b: Run): Run {
  return { seen: [...a.seen, ...b.seen], agentRssMB: (a.agentRssMB + b.agentRssMB) / 2, dropped: a.dropped + b.dropped };
}

const run: Bench = async ({ quick, log }) => {
  const commits = quick ? 10 : 30;
  const u1 = await runFleet(false, commits, quick, log);
  const s1 = await runFleet(true, commits, quick, log);
  const s2 = await runFleet(true, commits, quick, log);
  const u2 = await runFleet(false, commits, quick, log);
  const plain = pool(u1, u2);
  const signed = pool(s1, s2);
  const p50 = (r: Run) => round(median(r.seen));
  const figures: Figure[] = [
    {
      label: 'unsigned: commit → converged p50',
      value: p50(plain),
      unit: 'ms',
      spread: [round(percentile(plain.seen, 25)), round(percentile(plain.seen, 75))],
    },
    {
      label: 'signed: commit → converged p50',
      value: p50(signed),
      unit: 'ms',
      spread: [round(percentile(signed.seen, 25)), round(percentile(signed.seen, 75))],
      floor: { label: 'the same fleet unsigned', value: p50(plain) },
      goal: { op: '<=', value: round(median(plain.seen) * 1.1) },
    },
    {
      label: 'signed: commit → converged p99',
      value: round(percentile(signed.seen, 99)),
      unit: 'ms',
      floor: { label: 'unsigned p99', value: round(percentile(plain.seen, 99)) },
    },
    {
      label: 'signed: agent idle RSS',
      value: round(signed.agentRssMB),
      unit: 'MB',
      floor: { label: 'the same agent unsigned', value: round(plain.agentRssMB) },
      goal: { op: '<=', value: 60 },
    },
  ];
  return {
    name: 'trust',
    figures,
    notes: [
      `the same fleet four times, in the order unsigned, signed, signed, unsigned (a drift of the machine cancels out): root, 2 clusters × ${AGENTS_PER_CLUSTER} sim agents as separate processes over Mosquitto; ${commits} commits per run, each changing one of ${SERVICES} services; figures pool both runs of each kind`,
      'signed: an identity per part, every MQTT payload signed (Ed25519, node:crypto) and verified, Mosquitto with the password file and ACL of canopy broker-config; unsigned: no identities, anonymous Mosquitto',
      `goal: signed p50 at most 10 % over unsigned p50 of the same run; messages dropped at the boundary during the signed run: ${signed.dropped} (the retained statuses heard before the keys that open them; asked for again)`,
    ],
  };
};
export default run;
