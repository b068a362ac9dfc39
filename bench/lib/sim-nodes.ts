// Many simulated node agents in one process, each with its own MQTT connection, identity and
// state directory, exactly as `canopy agent --runtime sim` runs one: for benchmarks that need
// a cluster with 50 nodes without paying 50 Node.js processes on the machine under test.
//
//   node dist/bench/lib/sim-nodes.js --broker URL --fleet F --cluster C --nodes N
//        [--prefix C-n] [--first 1] --state-dir DIR [--cpu 8] [--memory-mi 16384]
// Prints "ready N" once every agent is connected; SIGTERM stops them all.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runAgent } from '../../cli/parts/agent.js';
import type { Running } from '../../cli/parts/running.js';
import { createLogger } from '../../reconciler/core/log.js';

const { values: v } = parseArgs({
  options: {
    broker: { type: 'string' },
    fleet: { type: 'string' },
    cluster: { type: 'string' },
    nodes: { type: 'string' },
    prefix: { type: 'string' },
    first: { type: 'string' },
    'state-dir': { type: 'string' },
    cpu: { type: 'string' },
    'memory-mi': { type: 'string' },
  },
});
const cluster = String(v.cluster);
const count = Number(v.nodes ?? 1);
const first = Number(v.first ?? 1);
const prefix = v.prefix ?? `${cluster}-n`;
const parts: Running[] = [];

async function main(): Promise<void> {
  for (let i = first; i < first + count; i++) {
    const name = `${prefix}${i}`;
    parts.push(
      await runAgent({
        cluster,
        name,
        broker: String(v.broker),
        fleet: String(v.fleet),
        runtime: 'sim',
        stateDir: path.join(String(v['state-dir']), name),
        capacity: { cpu: Number(v.cpu ?? 8), memoryMi: Number(v['memory-mi'] ?? 16384), gpu: 0 },
        log: createLogger(`agent ${cluster}/${name}`),
      }),
    );
  }
  process.stderr.write(`ready ${count}\n`);
}

let stopping = false;
const stop = async () => {
  if (stopping) process.exit(130);
  stopping = true;
  for (const p of parts.reverse()) await p.stop().catch(() => undefined);
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
main().catch((e) => {
  process.stderr.write(`sim-nodes: ${(e as Error).stack}\n`);
  process.exit(1);
});
