// canopy up serves the metrics of all its parts at one endpoint and prints `Metrics: URL`: the
// root's, each cluster's and each agent's series, told apart by the labels part, cluster and
// node, no series twice, an exposition promtool accepts, and the template's commit counted as
// accepted (sim runtime: nothing runs, the fleet still converges).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { canopy, start, eventually, type Proc } from '../helpers/canopy.js';
import { tempDir } from '../helpers/git.js';
import { promtoolCheck } from '../helpers/prometheus.js';

const test = suite('canopy up: one metrics endpoint for every part');
const dir = path.join(tempDir('canopy-metrics-up-'), 'fleet');
let up: Proc;
let url = '';

test.before(async () => {
  up = start(['up', '--repo', dir, '--runtime', 'sim', '--clusters', '1', '--nodes', '1']);
  await up.waitFor(/Metrics: http:\/\/127\.0\.0\.1:\d+\/metrics\n/, 60_000);
  url = /Metrics: (\S+)/.exec(up.output())![1];
});

test.after(async () => {
  await up?.kill('SIGKILL');
});

test('root, cluster and agent series, labelled, each once; promtool accepts it', async () => {
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '60']);
  assert.is(w.code, 0, w.stdout + w.stderr + up.output().slice(-2000));
  const body = (await eventually(
    'the accepted commit counted',
    async () => {
      const text = await (await fetch(url)).text();
      return /^canopy_commits_total\{part="root",result="accepted"\} [1-9]/m.test(text) ? text : undefined;
    },
    20_000,
  )) as string;
  assert.match(body, /^canopy_commit_converge_seconds_count\{part="root"\} [1-9]/m);
  assert.match(body, /^canopy_cluster_nodes\{part="cluster",cluster="munich",state="online"\} 1$/m);
  assert.match(body, /^canopy_messages_received_total\{part="agent",cluster="munich",node="munich-n1"\} [1-9]/m);
  assert.match(body, /^canopy_messages_received_total\{part="cluster",cluster="munich"\} [1-9]/m);
  assert.match(body, /^canopy_agent_replicas\{part="agent",cluster="munich",node="munich-n1",state="running"\} \d+$/m);
  const series = body
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.slice(0, l.lastIndexOf(' ')));
  assert.is(new Set(series).size, series.length, 'no series twice');
  assert.is(body.match(/^# TYPE canopy_messages_received_total /gm)?.length, 1, 'one family per name');
  const check = promtoolCheck(body);
  assert.is(check.code, 0, check.output);
  assert.is((await fetch(url.replace(/metrics$/, ''))).status, 404);
});

test.run();
