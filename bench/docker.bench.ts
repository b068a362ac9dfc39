// Commit → container running, docker runtime: root, one cluster and one agent (docker) as
// separate processes over Mosquitto. Each round, one commit adds a replica to a service and one
// adds a new one-replica service; times run from the end of `git commit` (the commit exists) to
// the new container's State.StartedAt (the Docker Engine's clock, on this host). The floor,
// interleaved in the same rounds: a bare dockerode create+start of the same image with the same
// options (Init, labels, cpu and memory limits), from its first call to StartedAt. The engine's
// create events split canopy's own part (commit → create call) from Docker's (create → start).
import Dockerode from 'dockerode';
import type { Bench, Figure } from './types.js';
import { BenchFleet, fleetYaml, clusterYaml, serviceYaml } from './lib/fleet.js';
import { Scope } from './lib/cleanup.js';
import { median, iqr, round, nowMs, sleep, minMax } from './lib/stats.js';

const IMAGE = 'canopy/busybox:1';
const COMMAND = ['sleep', '3600'];
const RESOURCES = { cpu: 0.05, memory: '16Mi' };

interface EngineEvent {
  status?: string;
  Action?: string;
  id: string;
  timeNano: number;
  Actor?: { Attributes?: Record<string, string> };
}

const run: Bench = async ({ quick, log }) => {
  const n = quick ? 3 : 8;
  const fleet = `benchdock-${process.pid}`;
  const docker = new Dockerode();
  await docker.ping().catch(() => {
    throw new Error('no Docker Engine answers: run scripts/setup.sh');
  });
  await docker
    .getImage(IMAGE)
    .inspect()
    .catch(() => {
      throw new Error(`image ${IMAGE} missing: run scripts/build-test-image.sh`);
    });
  const scope = new Scope();
  scope.add(async () => {
    for (const label of [`canopy.fleet=${fleet}`, `canopy.bench=${fleet}`]) {
      const cs = await docker.listContainers({ all: true, filters: { label: [label] } });
      await Promise.all(
        cs.map((c) =>
          docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => undefined),
        ),
      );
    }
  });
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
    await f.waitConverged(first, 60_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${f.tails()}`);
    });
    log(`converged on 1 replica; ${n} rounds of: bare create+start, a commit adding a replica, a commit adding a service`);

    // The engine announces creates and starts (ours and the bare ones): no polling load on dockerd.
    const seen = new Map<string, { create?: number; start?: number; id: string }>(); // replica or bare name → engine times (ms)
    const starts = new Map<string, number>(); // replica → start events
    const events = (await docker.getEvents({ filters: { type: ['container'], event: ['create', 'start'] } })) as NodeJS.ReadableStream & { destroy(): void };
    scope.add(() => events.destroy());
    let buf = '';
    events.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let e: EngineEvent;
        try {
          e = JSON.parse(line) as EngineEvent;
        } catch {
          continue;
        }
        const a = e.Actor?.Attributes ?? {};
        const key = a['canopy.fleet'] === fleet ? a['canopy.replica'] : a['canopy.bench'] === fleet ? a.name : undefined;
        if (!key) continue;
        const what = (e.Action ?? e.status) as 'create' | 'start';
        const s = seen.get(key) ?? { id: e.id };
        s[what] = e.timeNano / 1e6;
        seen.set(key, s);
        if (what === 'start') starts.set(key, (starts.get(key) ?? 0) + 1);
      }
    });
    const until = async (key: string, what: 'create' | 'start') => {
      const end = nowMs() + 30_000;
      while (seen.get(key)?.[what] === undefined) {
        if (nowMs() > end) throw new Error(`${key}: no ${what} event within 30 s\n${f.tails()}`);
        await sleep(5);
      }
      return seen.get(key)!;
    };
    const startedAt = async (id: string) => Date.parse((await docker.getContainer(id).inspect()).State.StartedAt);

    const bare: number[] = [],
      bareCreate: number[] = [],
      added: number[] = [],
      fresh: number[] = [],
      own: number[] = [],
      paired: number[] = [],
      restarts: number[] = [];
    /** Commit; wait for `replica` to start: ms from the commit to its StartedAt, and to its create. */
    const commitAndWait = async (files: Record<string, string>, message: string, replica: string) => {
      const before = new Map(starts);
      const cm = f.commit(files, message);
      const made = cm.startedAt + cm.gitMs;
      const ev = await until(replica, 'start');
      const r = { started: (await startedAt(ev.id)) - made, created: ev.create! - made };
      await f.waitConverged(cm.commit, 30_000);
      restarts.push([...starts].filter(([k, c]) => k !== replica && c !== before.get(k)).length);
      await sleep(300);
      return r;
    };
    for (let k = 1; k <= n; k++) {
      // The floor: the same container, created and started directly.
      const name = `${fleet}-bare-${k}`;
      const t0 = nowMs();
      const c = await docker.createContainer({
        name,
        Image: IMAGE,
        Cmd: COMMAND,
        Labels: { 'canopy.bench': fleet },
        HostConfig: { Init: true, RestartPolicy: { Name: 'no' }, NanoCpus: RESOURCES.cpu * 1e9, Memory: 16 * 1024 * 1024 },
      });
      await c.start();
      bare.push((await startedAt(c.id)) - t0);
      bareCreate.push((await until(name, 'create')).create! - t0);
      await c.remove({ force: true });
      await sleep(300);
      const a = await commitAndWait({ 'services/dock/app.yaml': svc(k + 1) }, `app: ${k + 1} replicas`, `dock/app#${k}`);
      const s = await commitAndWait(
        {
          [`services/dock/new-${k}.yaml`]: serviceYaml('dock', `new-${k}`, {
            runtime: 'container',
            image: IMAGE,
            command: COMMAND,
            replicas: 1,
            resources: RESOURCES,
          }),
        },
        `new-${k}`,
        `dock/new-${k}#0`,
      );
      added.push(a.started);
      fresh.push(s.started);
      paired.push(a.started - bare[k - 1]);
      own.push(a.created - bareCreate[k - 1], s.created - bareCreate[k - 1]);
      log(
        `round ${k}/${n}: bare ${round(bare[k - 1])} ms (created after ${round(bareCreate[k - 1])}); commit → StartedAt: added replica ${round(a.started)} ms (created after ${round(a.created)}), new service ${round(s.started)} ms (created after ${round(s.created)})`,
      );
    }

    const floor = median(bare);
    const figures: Figure[] = [
      {
        label: 'commit (add a replica) → started p50',
        value: round(median(added)),
        unit: 'ms',
        spread: minMax(added).map((x) => round(x)) as [number, number],
        floor: { label: 'bare dockerode create+start', value: round(floor) },
        goal: { op: '<=', value: round(floor + 300) },
      },
      {
        label: 'commit (new 1-replica service) → started p50',
        value: round(median(fresh)),
        unit: 'ms',
        spread: minMax(fresh).map((x) => round(x)) as [number, number],
        floor: { label: 'bare dockerode create+start', value: round(floor) },
        goal: { op: '<=', value: round(floor + 300) },
      },
      {
        label: 'overhead over bare start, paired by round, p50',
        value: round(median(paired)),
        unit: 'ms',
        spread: iqr(paired).map((x) => round(x)) as [number, number],
        goal: { op: '<=', value: 300 },
      },
      {
        label: 'canopy’s own part: commit → create, less bare call → create, p50',
        value: round(median(own)),
        unit: 'ms',
        spread: iqr(own).map((x) => round(x)) as [number, number],
      },
    ];
    return {
      name: 'docker',
      figures,
      notes: [
        `${n} rounds, interleaved: a bare dockerode create+start of ${IMAGE} (${round(floor)} ms p50 to StartedAt, min–max ${minMax(bare)
          .map((x) => round(x))
          .join('–')}; created after ${round(median(bareCreate))} ms p50), one commit adding a replica to dock/app, one adding a new one-replica service`,
        `canopy times run from the end of \`git commit\` (the commit exists; the bare floor has no Git in it) to the container's State.StartedAt; "own part" = (commit → the engine's create event) − (bare call → its create event)`,
        `other replicas restarted by a commit (engine start events of replicas other than the new one): ${minMax(restarts).join('–')} per commit`,
      ],
    };
  } finally {
    await scope.close();
  }
};
export default run;
