// Commit → container running, docker runtime: root, one cluster and one agent (docker) as
// separate processes over Mosquitto. Each round, one commit adds a replica to a service and one
// adds a new one-replica service; the figures run from the end of `git commit` to the new
// container's State.StartedAt (the Docker Engine's own clock, on this host). The floor, interleaved in the same run: a bare dockerode create+start of the same image
// with the same options (Init, labels, cpu and memory limits), from its first call to StartedAt.
import Dockerode from 'dockerode';
import type { Bench, Figure } from './types.js';
import { BenchFleet, fleetYaml, clusterYaml, serviceYaml } from './lib/fleet.js';
import { Scope } from './lib/cleanup.js';
import { median, iqr, round, nowMs, sleep, minMax } from './lib/stats.js';

const IMAGE = 'canopy/busybox:1';
const COMMAND = ['sleep', '3600'];
const RESOURCES = { cpu: 0.05, memory: '16Mi' };

const run: Bench = async ({ quick, log }) => {
  const n = quick ? 3 : 6;
  const fleet = `benchdock-${process.pid}`;
  const runLabel = `canopy.bench=${fleet}`;
  const docker = new Dockerode();
  await docker.ping().catch(() => { throw new Error('no Docker Engine answers: run scripts/setup.sh'); });
  await docker.getImage(IMAGE).inspect().catch(() => { throw new Error(`image ${IMAGE} missing: run scripts/build-test-image.sh`); });
  const scope = new Scope();
  const removeOurs = async () => {
    for (const label of [`canopy.fleet=${fleet}`, runLabel]) {
      const cs = await docker.listContainers({ all: true, filters: { label: [label] } });
      await Promise.all(cs.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    }
  };
  scope.add(removeOurs);
  const f = new BenchFleet(fleet, scope);
  try {
    const svc = (replicas: number) => serviceYaml('dock', 'app', { runtime: 'container', image: IMAGE, command: COMMAND, replicas, resources: RESOURCES });
    const first = await f.init({ 'fleet.yaml': fleetYaml(fleet), 'clusters/d1.yaml': clusterYaml('d1', 48.1, 11.5), 'services/dock/app.yaml': svc(1) });
    await f.startBroker();
    log('starting root, cluster d1 and agent d1-n1 (runtime docker) as separate processes');
    f.startCluster('d1');
    f.startAgent('d1', 'd1-n1', { runtime: 'docker', cpu: 2, memory: '4Gi' });
    for (const p of f.parts.values()) await p.waitForLog(/running/);
    f.startRoot();
    await f.waitConverged(first, 60_000).catch((e) => { throw new Error(`${(e as Error).message}\n${f.tails()}`); });
    log(`converged on 1 replica; ${n} rounds of: bare dockerode create+start, then a commit adding a replica`);

    // Container starts are announced by the engine's event stream: no polling load on dockerd.
    const started = new Map<string, { at: number; id: string }>();
    const events = (await docker.getEvents({ filters: { type: ['container'], event: ['start'], label: [`canopy.fleet=${fleet}`] } })) as NodeJS.ReadableStream & { destroy(): void };
    scope.add(() => events.destroy());
    let buf = '';
    events.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i); buf = buf.slice(i + 1);
        try {
          const e = JSON.parse(line) as { id: string; Actor?: { Attributes?: Record<string, string> } };
          const replica = e.Actor?.Attributes?.['canopy.replica'];
          if (replica) started.set(replica, { at: nowMs(), id: e.id });
        } catch { /* partial line */ }
      }
    });

    const bare: number[] = [], bareCall: number[] = [], canopy: number[] = [], fresh: number[] = [], seen: number[] = [], converged: number[] = [];
    /** Commit, then wait for the engine to start `replica`: ms from the commit to its StartedAt. */
    const commitAndWait = async (files: Record<string, string>, message: string, replica: string): Promise<number> => {
      const cm = f.commit(files, message);
      const made = cm.startedAt + cm.gitMs;     // the commit exists: the bare floor has no Git in it
      const end = nowMs() + 30_000;
      while (!started.has(replica) && nowMs() < end) await sleep(5);
      const ev = started.get(replica);
      if (!ev) throw new Error(`replica ${replica} did not start within 30 s\n${f.tails()}`);
      seen.push(ev.at - made);
      const startedAt = (await docker.getContainer(ev.id).inspect()).State.StartedAt;
      const ms = Date.parse(startedAt) - made;
      if (process.env.CANOPY_LOG === 'debug') log(`${replica}: commit ${cm.commit.slice(0, 12)} made at ${new Date(made).toISOString()}, StartedAt ${startedAt}`);
      const { seenAt } = await f.waitConverged(cm.commit, 30_000);
      converged.push(seenAt - made);
      await sleep(300);
      return ms;
    };
    for (let k = 1; k <= n; k++) {
      // The floor: the same container, created and started directly.
      const t0 = nowMs();
      const c = await docker.createContainer({
        name: `${fleet}-bare-${k}`, Image: IMAGE, Cmd: COMMAND, Labels: { 'canopy.bench': fleet },
        HostConfig: { Init: true, RestartPolicy: { Name: 'no' }, NanoCpus: RESOURCES.cpu * 1e9, Memory: 16 * 1024 * 1024 },
      });
      await c.start();
      bareCall.push(nowMs() - t0);
      const startedAt = Date.parse((await c.inspect()).State.StartedAt);
      bare.push(startedAt - t0);
      await c.remove({ force: true });
      await sleep(300);
      // canopy: one commit adds replica #k of dock/app …
      canopy.push(await commitAndWait({ 'services/dock/app.yaml': svc(k + 1) }, `app: ${k + 1} replicas`, `dock/app#${k}`));
      // … and one adds a new one-replica service (nothing else on the node changes).
      fresh.push(await commitAndWait({ [`services/dock/new-${k}.yaml`]: serviceYaml('dock', `new-${k}`, { runtime: 'container', image: IMAGE, command: COMMAND, replicas: 1, resources: RESOURCES }) }, `new-${k}`, `dock/new-${k}#0`));
      log(`round ${k}/${n}: bare ${round(bare[k - 1])} ms; commit → StartedAt: added replica ${round(canopy[k - 1])} ms, new service ${round(fresh[k - 1])} ms`);
    }

    const floor = median(bare);
    const figures: Figure[] = [
      { label: 'commit (add a replica) → started p50', value: round(median(canopy)), unit: 'ms', spread: minMax(canopy).map((x) => round(x)) as [number, number], floor: { label: 'bare dockerode create+start', value: round(floor) }, goal: { op: '<=', value: round(floor + 300) } },
      { label: 'canopy overhead over bare start p50', value: round(median(canopy) - floor), unit: 'ms', goal: { op: '<=', value: 300 } },
      { label: 'commit (new 1-replica service) → started p50', value: round(median(fresh)), unit: 'ms', spread: minMax(fresh).map((x) => round(x)) as [number, number], floor: { label: 'bare dockerode create+start', value: round(floor) }, goal: { op: '<=', value: round(floor + 300) } },
      { label: 'commit → converged note p50 (docker)', value: round(median(converged)), unit: 'ms', spread: iqr(converged).map((x) => round(x)) as [number, number] },
    ];
    return {
      name: 'docker',
      figures,
      notes: [
        `${n} rounds, interleaved: bare dockerode create+start of ${IMAGE} (min–max ${minMax(bare).map((x) => round(x)).join('–')} ms to StartedAt; the calls return after ${round(median(bareCall))} ms p50), then one commit adding a replica to dock/app and one adding a new one-replica service`,
        `adding a replica changes the service's specHash (it covers replicas), so the agent restarts every existing replica beside starting the new one; a new one-replica service starts only its own container`,
        `canopy times run from the end of \`git commit\` (the commit exists; the bare floor has no Git in it) to the container's State.StartedAt; the engine's start event reached the benchmark after ${round(median(seen))} ms p50`,
      ],
    };
  } finally {
    await scope.close();
  }
};
export default run;
