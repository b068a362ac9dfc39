// Catch-up after a partition (issue 4): a cluster cut off from the broker (a TCP proxy drops
// the link) while 100 commits land, each changing a different service it runs; then the link
// returns. Measured: time from reconnect to the head commit converged (the root's convergedAt
// minus the restore time, same clock), and the bytes that crossed the cluster's link, against
// the size of the descriptors that changed. Sim runtime: nothing runs, so the figure is
// canopy's own work.
import type { Bench, Figure } from './types.js';
import { judge } from './types.js';
import { startFleet } from '../test/helpers/fleet.js';
import { readNote } from '../reconciler/git/notes.js';
import { parseNote } from '../reconciler/core/note.js';
import { openRepo } from '../reconciler/git/repo.js';
import { median, minMax, round, sleep } from './lib/stats.js';

const SERVICES = 100;
const on = { clusters: { names: ['edge'] } };

const run: Bench = async ({ quick, log }) => {
  const rounds = quick ? 1 : 3;
  const services: Record<string, Record<string, unknown>> = {};
  for (let i = 0; i < SERVICES; i++) services[`cat/s${i}`] = { replicas: 1, env: { ROUND: '0' }, constraints: on };
  log(`catch-up: starting a fleet (2 clusters, 3 sim nodes, ${SERVICES} services)`);
  // The whole site is cut, broker and Git alike, as when its uplink fails: the repository is
  // served over smart HTTP and the cluster reaches it through its own link.
  const f = await startFleet({
    name: `bench-catchup-${process.pid}`,
    runtime: 'sim',
    git: 'remote',
    clusters: { edge: { lat: 48.1, lon: 11.6, nodes: 2 }, other: { lat: 48.9, lon: 2.4, nodes: 1 } },
    services,
  });
  const times: number[] = [];
  const down: number[] = [];
  const up: number[] = [];
  const changed: number[] = [];
  const backlog: number[] = [];
  try {
    const w = await f.wait('HEAD', 120);
    if (w.code !== 0) throw new Error(`fleet did not converge: ${w.stderr}`);
    const repo = await openRepo(f.recordDir);
    for (let r = 1; r <= rounds; r++) {
      const link = f.links.get('edge')!;
      const gitLink = f.links.get('git-edge')!;
      f.cutSite('edge');
      await sleep(1000);
      let bytes = 0;
      let head = '';
      for (let i = 0; i < SERVICES; i++) {
        const files = f.service(`cat/s${i}`, { replicas: 1, env: { ROUND: String(r) }, constraints: on });
        bytes += Object.values(files).reduce((a, t) => a + Buffer.byteLength(t!), 0);
        head = await f.commit(files, `round ${r}: s${i}`);
      }
      log(`catch-up round ${r}: ${SERVICES} commits landed while cut (${bytes} bytes of changed descriptors)`);
      // Let the root decide on the head before the link returns, so the figure is catch-up alone.
      const pushedAt = Date.now();
      let acceptedMs = NaN;
      for (let i = 0; i < 3600; i++) {
        const n = await readNote(repo, head);
        if (n && parseNote(n)?.outcome === 'accepted') {
          acceptedMs = Date.now() - pushedAt;
          break;
        }
        await sleep(50);
      }
      if (Number.isNaN(acceptedMs)) throw new Error(`round ${r}: the root did not accept the head within 180 s of the last push`);
      backlog.push(acceptedMs);
      log(`catch-up round ${r}: the root accepted the head ${acceptedMs} ms after the last push`);
      link.resetCounters();
      gitLink.resetCounters();
      const restoredAt = Date.now();
      f.healSite('edge');
      let convergedAt = 0;
      for (let i = 0; i < 1200 && !convergedAt; i++) {
        const n = await readNote(repo, head);
        const note = n ? parseNote(n) : undefined;
        if (note?.convergedAt) convergedAt = Date.parse(note.convergedAt);
        else await sleep(25);
      }
      if (!convergedAt) throw new Error(`round ${r}: head did not converge within 30 s of the reconnect`);
      await sleep(200);
      times.push(convergedAt - restoredAt);
      down.push(link.bytes.down + gitLink.bytes.down);
      up.push(link.bytes.up + gitLink.bytes.up);
      log(`catch-up round ${r}: broker link ${link.bytes.down}/${link.bytes.up} bytes down/up, Git link ${gitLink.bytes.down}/${gitLink.bytes.up}`);
      changed.push(bytes);
      log(`catch-up round ${r}: converged ${convergedAt - restoredAt} ms after reconnect; ${link.bytes.down} bytes to the cluster, ${link.bytes.up} from it`);
    }
  } catch (e) {
    // What each part said, so a failed run tells why.
    log(`catch-up failed; the parts' last lines:\n${f.logs()}`);
    throw e;
  } finally {
    if (process.env.BENCH_KEEP) log(`the parts' last lines:\n${f.logs()}`);
    await f.stop();
  }
  const ratio = down.map((d, i) => d / changed[i]);
  const figures: Figure[] = [
    judge({ label: 'reconnect → converged (100 commits missed)', value: median(times), unit: 'ms', spread: minMax(times), goal: { op: '<=', value: 2000 } }),
    judge({
      label: 'bytes to the cluster / changed descriptor bytes',
      value: round(median(ratio), 2),
      unit: 'x',
      spread: minMax(ratio).map((x) => round(x, 2)) as [number, number],
      goal: { op: '<=', value: 2 },
    }),
    { label: 'changed descriptor bytes (100 files)', value: median(changed), unit: 'bytes' },
    { label: 'bytes to the cluster during catch-up', value: median(down), unit: 'bytes', spread: minMax(down) },
    { label: 'bytes from the cluster during catch-up', value: median(up), unit: 'bytes', spread: minMax(up) },
    { label: 'root: last of 100 pushes → head accepted (remote repo)', value: median(backlog), unit: 'ms', spread: minMax(backlog) },
  ];
  return {
    name: 'catchup',
    figures,
    notes: [
      `${SERVICES} services on the cut cluster, each changed once while cut; ${rounds} round(s); bytes counted on the cluster's broker and Git links (MQTT and HTTP framing included); the whole site is cut, the repository served over smart HTTP`,
    ],
  };
};
export default run;
