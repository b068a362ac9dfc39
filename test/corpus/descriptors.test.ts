// The descriptor corpus (descriptor-cases.ts): each bad commit, made in a real Git repository on
// top of a valid fleet, is judged by the root's own loadDesired against the state in force, as
// the root judges a new head (consume: its index is updated in place, and must be given back).
// Each must be rejected with its problem at file:line:column, and leave the state in force
// exactly as it was: equal to a snapshot taken before, and still the base of a valid next commit.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatProblem, type ParseResult } from '../../reconciler/core/validate.js';
import { openRepo } from '../../reconciler/git/repo.js';
import { loadDesired, type DesiredState } from '../../reconciler/root/desired.js';
import { commitEach, printCount } from '../helpers/corpus.js';
import { commitFiles, git, tempDir } from '../helpers/git.js';
import { BASE, DESCRIPTOR_CASES, FOLLOW_UP, SERVICE } from './descriptor-cases.js';

const test = suite('corpus: bad descriptors are rejected whole, at file:line:column');

/** Everything a state in force holds, as plain data. */
function snapshot(s: DesiredState) {
  return {
    commit: s.commit,
    tree: s.tree,
    fleet: structuredClone(s.fleet),
    services: [...s.services.values()]
      .map((x) => ({ id: x.id, file: x.file, specHash: x.specHash, spec: structuredClone(x.spec) }))
      .sort((a, b) => (a.id < b.id ? -1 : 1)),
    files: [...s.files.values()].map((f) => `${f.path} ${f.oid}`).sort(),
    problems: s.index?.problems().map(formatProblem) ?? ['no index'],
  };
}

const dir = tempDir('canopy-corpus-descriptors-');
git(dir, 'init', '-q', '-b', 'main');
const baseCommit = commitFiles(dir, BASE, 'a valid fleet');
const commits = commitEach(
  dir,
  baseCommit,
  DESCRIPTOR_CASES.map((c) => c.files),
);
const [followUp] = commitEach(dir, baseCommit, [FOLLOW_UP]);
const cache = new Map<string, ParseResult>();
const repo = await openRepo(dir);
let good: DesiredState;
let before: ReturnType<typeof snapshot>;

test.before(async () => {
  const r = await loadDesired(repo, baseCommit, undefined, cache);
  assert.ok(r.ok, r.ok ? '' : r.problems.map(formatProblem).join('\n'));
  good = r.state;
  before = snapshot(good);
  assert.equal(before.problems, []);
  assert.is(good.services.size, 3);
});

DESCRIPTOR_CASES.forEach((c, i) => {
  test(c.name, async () => {
    const r = await loadDesired(repo, commits[i], good, cache, { consume: true });
    assert.match(c.want, /^[^:]+:\d+:\d+: \S/, 'the row names a file, a line, a column and a message');
    assert.is(r.ok, false, `${c.name}: accepted`);
    const problems = r.ok ? [] : r.problems.map(formatProblem);
    assert.ok(
      problems.some((p) => p === c.want || (c.want.length > 0 && p.startsWith(c.want))),
      `${c.name}: want\n  ${c.want}\ngot\n  ${problems.join('\n  ')}`,
    );
    // Every problem names a file the commit has, and a line in it.
    for (const p of r.ok ? [] : r.problems) assert.ok(p.file.length > 0 && p.line >= 1 && p.column >= 1, formatProblem(p));
    // The state in force is untouched, and a valid next commit is still judged against it.
    assert.equal(snapshot(good), before, `${c.name}: the state in force changed`);
    const next = await loadDesired(repo, followUp, good, cache);
    assert.ok(next.ok, `${c.name}: the follow-up commit was rejected`);
    if (next.ok) {
      assert.equal([...next.changed], ['web/api']);
      assert.is(next.state.services.get('web/api')?.spec.replicas, 3);
    }
    assert.equal(snapshot(good), before, `${c.name}: judging the follow-up changed the state in force`);
  });
});

test('the follow-up commit is what the cases changed: only the one service file', () => {
  assert.equal(git(dir, 'diff', '--name-only', baseCommit, followUp), SERVICE);
});

test.after(() => {
  printCount('descriptors', { 'descriptor commits': DESCRIPTOR_CASES.length });
});

test.run();
