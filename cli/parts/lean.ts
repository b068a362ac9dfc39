// V8 settings for a part that runs for months doing little: the node agent. Set from inside the
// process, so they hold however the agent is started (the canopy bin, npx, node
// dist/cli/canopy.js, a systemd unit) without a launcher: Node 20 cannot exec(), and a parent
// that re-executes itself with flags stays resident beside its child (a second Node, ~40 MB).
// cli/canopy.ts sets them before it loads the agent's bundle: V8 takes a code cache only under
// the flags it was made with (set after the load, every start rejected and rewrote it).
//
// --no-opt: no TurboFan. An idle agent compiles a few hot functions (status diffing, the MQTT
// parser) with the optimizing compiler anyway; its background compile memory stays in malloc's
// arenas and the code in the heap: 16 MB of an idle sim agent's RSS (66 → 50.5 MB, VmRSS 25 s
// after start), for work that takes microseconds per message in the interpreter and baseline
// compiler. The flags that must be given on the command line (--max-semi-space-size=1,
// --single-threaded) saved 1.5 MB more on top of it: not worth a launcher. --jitless and
// --lite-mode cannot be set at run time.
//
// Not for `canopy up`, which runs the root (placement of thousands of services wants TurboFan)
// in the same process as its agents. Not for the cluster either: it would save 9 MB at 50 nodes
// (74 -> 66 MB) and nothing in latency there, but a first placement of 2,000 replicas on 1,000
// nodes takes 3.2 s without TurboFan against 0.87 s with it, and the cluster meets its goal.
export const LEAN_V8_FLAGS = ['--no-opt'];

/** Async so that node:v8 loads only here: the CLI entry that calls it serves every command. */
export async function leanV8(): Promise<void> {
  const v8 = await import('node:v8');
  for (const f of LEAN_V8_FLAGS) v8.setFlagsFromString(f);
}
