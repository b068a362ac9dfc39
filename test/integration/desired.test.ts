// loadDesired on generated fleet repositories (nested and flat): judged change by change against
// the last good state, it reaches exactly what a load from scratch reaches, commit after commit,
// rejected commits included; the parse cache on disk is reused by a later process and ignored
// when it was written by a different validator.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { openRepo } from '../../reconciler/git/repo.js';
import { loadDesired, type DesiredState, type LoadResult } from '../../reconciler/root/desired.js';
import type { ParseResult } from '../../reconciler/core/validate.js';
import { createBigRepo, bigServiceYaml, pathOf, type BigLayout } from '../helpers/big-repo.js';
import { prng } from '../helpers/builders.js';

const test = suite('loadDesired on generated fleets');

const summary = (r: LoadResult) =>
  r.ok
    ? {
        ok: true,
        services: [...r.state.services.values()].map((s) => `${s.id} ${s.specHash} ${s.file}`).sort(),
        fleet: r.state.fleet.metadata.name,
        files: [...r.state.files.keys()].sort(),
      }
    : { ok: false, problems: r.problems };

for (const layout of ['nested', 'flat'] as BigLayout[]) {
  test(`${layout}: change by change equals from scratch (400 services, 25 commits)`, async () => {
    const big = createBigRepo({ services: 400, layout, apps: 20 });
    const repo = await openRepo(big.dir);
    const cache = new Map<string, ParseResult>();
    const first = await loadDesired(repo, big.head, undefined, cache);
    assert.ok(first.ok);
    let good: DesiredState = (first as { state: DesiredState }).state;
    const rng = prng(layout === 'flat' ? 2 : 1);
    let rejected = 0;
    for (let step = 0; step < 25; step++) {
      const files: Record<string, string | null> = {};
      for (let k = rng.int(1, 4); k > 0; k--) {
        const i = rng.int(0, 449);
        const p = pathOf(i, layout, 20, 400);
        const r = rng.next();
        files[p.path] =
          r < 0.2
            ? null
            : r < 0.3
              ? bigServiceYaml(p.app, p.name).replace('replicas: 1', 'replicas: -1') // rejected
              : r < 0.35
                ? bigServiceYaml(p.app === 'app-00' ? 'app-01' : 'app-00', p.name) // rejected: wrong app
                : bigServiceYaml(p.app, p.name, { replicas: rng.int(0, 5), cpu: rng.pick([0.01, 0.1]) });
      }
      const commit = big.change(files, `step ${step}`);
      const incremental = await loadDesired(repo, commit, good, cache, { consume: true });
      const scratch = await loadDesired(await openRepo(big.dir), commit, undefined, new Map());
      assert.equal(summary(incremental), summary(scratch), `step ${step}`);
      if (incremental.ok) {
        good = incremental.state;
      } else {
        rejected++;
        // Rejected: the last good state is intact (its index was given back), and the tree is put back.
        const back = big.change(Object.fromEntries(Object.keys(files).map((p) => [p, good.files.get(p)?.text ?? null])), 'revert');
        const r = await loadDesired(repo, back, good, cache, { consume: true });
        assert.equal(summary(r), summary(await loadDesired(await openRepo(big.dir), back, undefined, new Map())), `step ${step}: after the rejection`);
        if (r.ok) good = r.state;
      }
    }
    assert.ok(rejected > 0, 'some commits were rejected');
  });
}

test('the parse cache on disk: reused by the next process, ignored when another validator wrote it', async () => {
  const big = createBigRepo({ services: 300 });
  const file = path.join(big.dir, '.git', 'canopy', 'parse-cache.json');
  const cache1 = new Map<string, ParseResult>();
  assert.ok((await loadDesired(await openRepo(big.dir), big.head, undefined, cache1)).ok);
  const stored = JSON.parse(readFileSync(file, 'utf8')) as { stamp: string; entries: unknown[] };
  assert.is(stored.entries.length, 300 + 1 + 10, 'every descriptor of the tree');
  // A later load starts from it: nothing left to parse.
  const cache2 = new Map<string, ParseResult>();
  const again = await loadDesired(await openRepo(big.dir), big.head, undefined, cache2);
  assert.equal(summary(again), summary(await loadDesired(await openRepo(big.dir), big.head, undefined, new Map())));
  assert.is(cache2.size, 311);
  // Written by a different validator: not trusted.
  writeFileSync(file, JSON.stringify({ ...stored, stamp: 'another-canopy' }));
  const cache3 = new Map<string, ParseResult>();
  await loadDesired(await openRepo(big.dir), big.head, undefined, cache3);
  assert.ok(JSON.parse(readFileSync(file, 'utf8')).stamp !== 'another-canopy', "rewritten with this validator's stamp");
});

test.run();
