// The pre-receive hook's rules (reconciler/git/hook.ts): who may write which canopy ref, from the
// users the repository declares; and git's stdin to the hook.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  declaresUsers,
  HOOK_MARK,
  HookInputError,
  hookScript,
  judgePush,
  needsHistory,
  ownerOf,
  parseUpdates,
  pusherFrom,
  refusal,
  rulesFrom,
  touchesCanopy,
  type RefUpdate,
  type StatusHistory,
  type WriterRules,
} from '../../reconciler/git/hook.js';

const test = suite('git-hook');

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const ZERO = '0'.repeat(40);
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOe0tGV5DjNqJ8cO7cVgJLxZpQDIn1y0FkM9MZdO6Vmd root';

const fleetYaml = (root?: string) =>
  `apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: demo}\n${root ? `spec:\n  trust:\n    root:\n      user: ${root}\n      keys: ['${KEY}']\n` : ''}`;
const clusterYaml = (name: string, user?: string) =>
  `apiVersion: canopy/v1\nkind: Cluster\nmetadata: {name: ${name}}\n${user ? `spec:\n  identity:\n    user: ${user}\n    keys: ['${KEY}']\n` : ''}`;

/** The demo fleet: root demo.root, munich and paris with their users, lyon without one. */
function demoRules(): WriterRules {
  const { rules, notes } = rulesFrom([
    { path: 'fleet.yaml', text: fleetYaml('demo.root') },
    { path: 'clusters/munich.yaml', text: clusterYaml('munich', 'demo.cluster.munich') },
    { path: 'clusters/paris.yaml', text: clusterYaml('paris', 'demo.cluster.paris') },
    { path: 'clusters/lyon.yaml', text: clusterYaml('lyon') },
  ]);
  assert.equal(notes, []);
  return rules;
}
const update = (ref: string, oldOid = A, newOid = B): RefUpdate => ({ oldOid, newOid, ref });

// ---- stdin ----------------------------------------------------------------------------------

test('parseUpdates: one update per line, the last newline optional', () => {
  assert.equal(parseUpdates(`${A} ${B} refs/heads/main\n${ZERO} ${B} refs/canopy/status/munich\n`), [
    { oldOid: A, newOid: B, ref: 'refs/heads/main' },
    { oldOid: ZERO, newOid: B, ref: 'refs/canopy/status/munich' },
  ]);
  assert.equal(parseUpdates(`${A} ${ZERO} refs/notes/canopy`), [{ oldOid: A, newOid: ZERO, ref: 'refs/notes/canopy' }]);
  assert.equal(parseUpdates(''), []);
});

test('parseUpdates: SHA-256 object ids (64 hex digits) on both sides', () => {
  const a = 'c'.repeat(64);
  assert.equal(parseUpdates(`${a} ${'0'.repeat(64)} refs/canopy/placements/munich\n`), [
    { oldOid: a, newOid: '0'.repeat(64), ref: 'refs/canopy/placements/munich' },
  ]);
});

for (const [what, line] of [
  ['a short object id', `${A.slice(1)} ${B} refs/heads/main`],
  ['upper-case hex', `${A.toUpperCase()} ${B} refs/heads/main`],
  ['no ref', `${A} ${B}`],
  ['a ref with a space', `${A} ${B} refs/heads/a b`],
  ['two spaces', `${A}  ${B} refs/heads/main`],
  ['a carriage return', `${A} ${B} refs/heads/main\r`],
  ['SHA-1 beside SHA-256', `${A} ${'b'.repeat(64)} refs/heads/main`],
  ['words', 'hello world'],
  ['an empty line', ''],
] as const) {
  test(`parseUpdates: ${what} is refused, naming the line`, () => {
    const input = `${A} ${B} refs/heads/ok\n${line}\n${A} ${B} refs/heads/after\n`;
    try {
      parseUpdates(input);
      assert.unreachable('parsed');
    } catch (e) {
      assert.instance(e, HookInputError);
      assert.match((e as Error).message, /^stdin line 2 is not "<old-oid> <new-oid> <ref>"/);
      assert.ok((e as Error).message.endsWith(JSON.stringify(line)), (e as Error).message);
    }
  });
}

test('parseUpdates: a very long bad line is clipped in the message', () => {
  try {
    parseUpdates('x'.repeat(10_000));
    assert.unreachable('parsed');
  } catch (e) {
    assert.match((e as Error).message, /stdin line 1 /);
    assert.ok((e as Error).message.length < 400, `${(e as Error).message.length} characters`);
  }
});

// ---- whose ref ------------------------------------------------------------------------------

test('ownerOf: the root, a cluster, nobody, or the Git host', () => {
  assert.equal(ownerOf('refs/canopy/placements/munich'), { kind: 'root' });
  assert.equal(ownerOf('refs/canopy/placements/a/b'), { kind: 'root' });
  assert.equal(ownerOf('refs/notes/canopy'), { kind: 'root' });
  assert.equal(ownerOf('refs/canopy/status/munich'), { kind: 'status', cluster: 'munich' });
  assert.equal(ownerOf('refs/canopy/status/munich/x'), { kind: 'status', cluster: 'munich/x' });
  for (const r of ['refs/canopy/other', 'refs/canopy/placements', 'refs/canopy/status', 'refs/canopy', 'refs/notes/canopy/x', 'refs/canopy/x/y'])
    assert.equal(ownerOf(r), { kind: 'nobody' }, r);
  for (const r of ['refs/heads/main', 'refs/tags/v1', 'refs/notes/commits', 'refs/notes/canopy-old', 'refs/canopyx', 'refs/heads/refs/canopy/status/x'])
    assert.equal(ownerOf(r), { kind: 'host' }, r);
});

test('touchesCanopy: only when some ref is canopy’s', () => {
  assert.not.ok(touchesCanopy([update('refs/heads/main'), update('refs/tags/v1')]));
  assert.ok(touchesCanopy([update('refs/heads/main'), update('refs/notes/canopy')]));
  assert.ok(touchesCanopy([update('refs/canopy/junk')]));
  assert.not.ok(touchesCanopy([]));
});

// ---- who pushes -----------------------------------------------------------------------------

test('pusherFrom: REMOTE_USER, else GITEA_PUSHER_NAME, else GL_USERNAME; empty is unset', () => {
  assert.is(pusherFrom({ REMOTE_USER: 'a', GITEA_PUSHER_NAME: 'b', GL_USERNAME: 'c' }), 'a');
  assert.is(pusherFrom({ GITEA_PUSHER_NAME: 'b', GL_USERNAME: 'c' }), 'b');
  assert.is(pusherFrom({ GL_USERNAME: 'c' }), 'c');
  assert.is(pusherFrom({ REMOTE_USER: '', GL_USERNAME: 'c' }), 'c');
  assert.is(pusherFrom({ USER: 'root', LOGNAME: 'root' }), undefined);
});

// ---- the declarations -----------------------------------------------------------------------

test('rulesFrom: the root’s user from fleet.yaml, each cluster’s from its file', () => {
  const r = demoRules();
  assert.is(r.root, 'demo.root');
  assert.equal([...r.clusters].sort(), [
    ['munich', 'demo.cluster.munich'],
    ['paris', 'demo.cluster.paris'],
  ]);
  assert.is(r.branch, 'main');
  assert.ok(declaresUsers(r));
});

test('rulesFrom: nothing declared', () => {
  const { rules, notes } = rulesFrom([
    { path: 'fleet.yaml', text: fleetYaml() },
    { path: 'clusters/munich.yaml', text: clusterYaml('munich') },
  ]);
  assert.not.ok(declaresUsers(rules));
  assert.equal(notes, []);
  assert.not.ok(declaresUsers(rulesFrom([]).rules));
});

test('rulesFrom: a file that does not parse is ignored, with a note naming it', () => {
  const { rules, notes } = rulesFrom(
    [
      { path: 'fleet.yaml', text: 'spec: {trust: [\n' },
      { path: 'clusters/munich.yaml', text: clusterYaml('munich', 'demo.cluster.munich') },
      { path: 'clusters/paris.yaml', text: 'spec:\n  identity:\n    user: a\n    user: b\n' },
    ],
    'prod',
  );
  assert.is(rules.root, undefined);
  assert.equal([...rules.clusters.keys()], ['munich']);
  assert.is(notes.length, 2);
  assert.match(notes[0], /^fleet\.yaml on prod does not parse as YAML \(.+\): the user it declares is ignored$/);
  assert.match(notes[1], /^clusters\/paris\.yaml on prod does not parse as YAML/);
});

test('rulesFrom: a user that is not a user name is ignored, with a note', () => {
  const { rules, notes } = rulesFrom([
    { path: 'fleet.yaml', text: 'spec: {trust: {root: {user: [demo.root]}}}\n' },
    { path: 'clusters/munich.yaml', text: 'spec: {identity: {user: "demo munich"}}\n' },
    { path: 'clusters/paris.yaml', text: 'spec: {identity: {user: 42}}\n' },
  ]);
  assert.not.ok(declaresUsers(rules));
  assert.equal(notes.length, 3);
  assert.match(notes[0], /^fleet\.yaml on main: spec\.trust\.root\.user is not a user name/);
  assert.match(notes[1], /^clusters\/munich\.yaml on main: spec\.identity\.user is not a user name/);
});

test('rulesFrom: shapes that hold no user declare nothing (and are not errors)', () => {
  for (const text of ['', '42\n', '- a\n', 'spec: 3\n', 'spec: {trust: null}\n', 'spec: {trust: {root: {keys: []}}}\n', 'spec: {identity: {user: null}}\n']) {
    const { rules, notes } = rulesFrom([
      { path: 'fleet.yaml', text },
      { path: 'clusters/munich.yaml', text },
    ]);
    assert.not.ok(declaresUsers(rules), text);
    assert.equal(notes, [], text);
  }
});

test('rulesFrom: only fleet.yaml and clusters/<name>.yaml count; the cluster is the file’s name', () => {
  const { rules } = rulesFrom([
    { path: 'services/web/fleet.yaml', text: fleetYaml('mallory') },
    { path: 'clusters/sub/munich.yaml', text: clusterYaml('munich', 'mallory') },
    { path: 'clusters/paris.yml', text: clusterYaml('paris', 'mallory') },
    { path: 'clusters/lyon.yaml', text: clusterYaml('elsewhere', 'demo.cluster.lyon') },
  ]);
  assert.is(rules.root, undefined);
  assert.equal([...rules.clusters], [['lyon', 'demo.cluster.lyon']]);
});

test('rulesFrom: an alias bomb is ignored, not expanded', () => {
  const bomb = [
    'a: &a [x, x, x, x, x, x, x, x, x, x]',
    ...'bcdefghij'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefghij'[i]}`).join(', ')}]`),
  ];
  const { rules, notes } = rulesFrom([{ path: 'fleet.yaml', text: `${bomb.join('\n')}\nspec: {trust: {root: {user: demo.root}}}\n` }]);
  assert.is(rules.root, undefined);
  assert.is(notes.length, 1);
  assert.match(notes[0], /^fleet\.yaml on main (does not parse|cannot be read)/);
});

// ---- the rules ------------------------------------------------------------------------------

const allowed: Array<[string, string | undefined, RefUpdate]> = [
  ['the root writes a placement', 'demo.root', update('refs/canopy/placements/munich')],
  ['the root creates a placement', 'demo.root', update('refs/canopy/placements/nice', ZERO, B)],
  ['the root deletes a placement', 'demo.root', update('refs/canopy/placements/gone', A, ZERO)],
  ['the root writes the notes', 'demo.root', update('refs/notes/canopy')],
  ['munich writes its status', 'demo.cluster.munich', update('refs/canopy/status/munich')],
  ['munich creates its status', 'demo.cluster.munich', update('refs/canopy/status/munich', ZERO, B)],
  ['munich deletes its status', 'demo.cluster.munich', update('refs/canopy/status/munich', A, ZERO)],
  ['paris writes its status', 'demo.cluster.paris', update('refs/canopy/status/paris')],
  ['anyone pushes a branch', 'demo.cluster.paris', update('refs/heads/main')],
  ['anyone pushes a tag', 'someone', update('refs/tags/v1', ZERO, B)],
  ['anyone deletes a branch', 'someone', update('refs/heads/topic', A, ZERO)],
  ['an unauthenticated push of a branch', undefined, update('refs/heads/main')],
  ['other notes', 'someone', update('refs/notes/commits')],
];
for (const [what, user, u] of allowed)
  test(`allowed: ${what}`, () => {
    assert.is(refusal(u, user, demoRules()), undefined);
  });

const refused: Array<[string, string | undefined, RefUpdate, string]> = [
  [
    'paris writes munich’s status',
    'demo.cluster.paris',
    update('refs/canopy/status/munich'),
    'canopy: refused refs/canopy/status/munich for user demo.cluster.paris: only cluster munich (user demo.cluster.munich) writes it',
  ],
  [
    'paris deletes munich’s status',
    'demo.cluster.paris',
    update('refs/canopy/status/munich', A, ZERO),
    'canopy: refused refs/canopy/status/munich for user demo.cluster.paris: only cluster munich (user demo.cluster.munich) writes it',
  ],
  [
    'the root writes a status whose history native git has not judged',
    'demo.root',
    update('refs/canopy/status/munich'),
    'canopy: refused refs/canopy/status/munich for user demo.root: its history was not checked',
  ],
  [
    'paris writes its own placement',
    'demo.cluster.paris',
    update('refs/canopy/placements/paris'),
    'canopy: refused refs/canopy/placements/paris for user demo.cluster.paris: only the root (user demo.root) writes it',
  ],
  [
    'a cluster writes the notes',
    'demo.cluster.munich',
    update('refs/notes/canopy'),
    'canopy: refused refs/notes/canopy for user demo.cluster.munich: only the root (user demo.root) writes it',
  ],
  [
    'an operator deletes the notes',
    'demo.operator.alice',
    update('refs/notes/canopy', A, ZERO),
    'canopy: refused refs/notes/canopy for user demo.operator.alice: only the root (user demo.root) writes it',
  ],
  [
    'a cluster without a declared user',
    'demo.cluster.lyon',
    update('refs/canopy/status/lyon'),
    'canopy: refused refs/canopy/status/lyon for user demo.cluster.lyon: only cluster lyon writes it, and clusters/lyon.yaml on main declares no spec.identity.user',
  ],
  [
    'a cluster the fleet does not have',
    'demo.cluster.nice',
    update('refs/canopy/status/nice', ZERO, B),
    'canopy: refused refs/canopy/status/nice for user demo.cluster.nice: only cluster nice writes it, and clusters/nice.yaml on main declares no spec.identity.user',
  ],
  [
    'a ref below a cluster’s status ref (it would block the cluster’s own)',
    'demo.cluster.munich',
    update('refs/canopy/status/munich/x', ZERO, B),
    'canopy: refused refs/canopy/status/munich/x for user demo.cluster.munich: only cluster munich/x writes it, and clusters/munich/x.yaml on main declares no spec.identity.user',
  ],
  [
    'another ref under refs/canopy, even by the root',
    'demo.root',
    update('refs/canopy/other', ZERO, B),
    'canopy: refused refs/canopy/other for user demo.root: canopy writes only refs/canopy/placements/*, refs/canopy/status/<cluster> and refs/notes/canopy; nobody writes other refs there',
  ],
  [
    'a ref below the notes ref',
    'demo.root',
    update('refs/notes/canopy/x', ZERO, B),
    'canopy: refused refs/notes/canopy/x for user demo.root: canopy writes only refs/canopy/placements/*, refs/canopy/status/<cluster> and refs/notes/canopy; nobody writes other refs there',
  ],
  [
    'an unauthenticated push of a status',
    undefined,
    update('refs/canopy/status/munich'),
    'canopy: refused refs/canopy/status/munich for an unauthenticated push (none of REMOTE_USER, GITEA_PUSHER_NAME, GL_USERNAME is set): only cluster munich (user demo.cluster.munich) writes it',
  ],
  [
    'an unauthenticated push of the notes',
    undefined,
    update('refs/notes/canopy'),
    'canopy: refused refs/notes/canopy for an unauthenticated push (none of REMOTE_USER, GITEA_PUSHER_NAME, GL_USERNAME is set): only the root (user demo.root) writes it',
  ],
  [
    'a user name that differs in case only',
    'Demo.Root',
    update('refs/canopy/placements/munich'),
    'canopy: refused refs/canopy/placements/munich for user Demo.Root: only the root (user demo.root) writes it',
  ],
];
for (const [what, user, u, message] of refused)
  test(`refused: ${what}`, () => {
    assert.is(refusal(u, user, demoRules()), message);
  });

test('refused: placements and notes when clusters declare users but the root does not', () => {
  const { rules } = rulesFrom([{ path: 'clusters/munich.yaml', text: clusterYaml('munich', 'demo.cluster.munich') }], 'prod');
  assert.is(
    refusal(update('refs/canopy/placements/munich'), 'demo.root', rules),
    'canopy: refused refs/canopy/placements/munich for user demo.root: only the root writes it, and fleet.yaml on prod declares no spec.trust.root.user',
  );
  assert.is(refusal(update('refs/canopy/status/munich'), 'demo.cluster.munich', rules), undefined);
});

test('judgePush: every refused ref is named, allowed ones are not', () => {
  const updates = [update('refs/heads/main'), update('refs/canopy/status/paris'), update('refs/canopy/status/munich'), update('refs/canopy/placements/paris')];
  const { refused: lines, warnings } = judgePush(updates, 'demo.cluster.paris', demoRules());
  assert.equal(warnings, []);
  assert.equal(
    lines.map((l) => l.split(' ')[2]),
    ['refs/canopy/status/munich', 'refs/canopy/placements/paris'],
  );
  assert.equal(judgePush(updates.slice(0, 2), 'demo.cluster.paris', demoRules()), { refused: [], warnings: [] });
});

test('judgePush: with no user declared, everything is allowed, with a warning', () => {
  const { rules } = rulesFrom([{ path: 'fleet.yaml', text: fleetYaml() }]);
  const r = judgePush([update('refs/canopy/status/munich'), update('refs/canopy/junk'), update('refs/notes/canopy')], undefined, rules);
  assert.equal(r.refused, []);
  assert.is(r.warnings.length, 1);
  assert.match(
    r.warnings[0],
    /^canopy: warning: main declares no Git users .*anyone may write refs\/canopy\/\* and refs\/notes\/canopy.*canopy identity create/,
  );
  // A push of branches only does not concern canopy: no warning.
  assert.equal(judgePush([update('refs/heads/main')], undefined, rules), { refused: [], warnings: [] });
});

// ---- the hook script ------------------------------------------------------------------------

test('hookScript: runs the given node and canopy.js on git’s stdin, paths quoted for sh', () => {
  const s = hookScript('/usr/bin/node', "/opt/it's here/dist/cli/canopy.js", ['--branch', 'prod']);
  assert.ok(s.startsWith('#!/bin/sh\n'));
  assert.ok(s.includes(`${HOOK_MARK}\n`));
  assert.ok(s.endsWith(`exec '/usr/bin/node' '/opt/it'\\''s here/dist/cli/canopy.js' 'git-hook' 'pre-receive' '--branch' 'prod'\n`), s);
});

// ---- the root carrying a cluster's status history (an air-gapped site's bundle) -------------

test('rulesFrom: each cluster’s declared keys, for judging its signed history', () => {
  const r = demoRules();
  assert.equal([...r.keys].sort(), [
    ['munich', [KEY]],
    ['paris', [KEY]],
  ]);
});

test('needsHistory: only the root pushing a cluster’s status ref has its history judged by git', () => {
  const r = demoRules();
  assert.ok(needsHistory(update('refs/canopy/status/munich'), 'demo.root', r));
  assert.not.ok(needsHistory(update('refs/canopy/status/munich'), 'demo.cluster.munich', r), 'its own ref');
  assert.not.ok(needsHistory(update('refs/canopy/status/munich'), 'demo.cluster.paris', r));
  assert.not.ok(needsHistory(update('refs/canopy/status/munich'), undefined, r));
  assert.not.ok(needsHistory(update('refs/canopy/placements/munich'), 'demo.root', r));
});

test('the root’s push of munich’s status: a signed fast-forward only', () => {
  const r = demoRules();
  const judge = (u: RefUpdate, h?: StatusHistory) => refusal(u, 'demo.root', r, new Map(h ? [[u.ref, h]] : []));
  const u = update('refs/canopy/status/munich');
  const prefix = 'canopy: refused refs/canopy/status/munich for user demo.root: ';
  assert.is(judge(u, { fastForward: true }), undefined);
  assert.is(judge(update('refs/canopy/status/munich', ZERO, B), { fastForward: true }), undefined, 'a new ref, every commit signed');
  assert.is(judge(u, { fastForward: false }), `${prefix}the root may only add to cluster munich's status history (a fast-forward), never rewrite it`);
  assert.is(
    judge(u, { fastForward: true, problem: 'commit bbbbbbbbbbbb is not signed' }),
    `${prefix}every new commit must be signed by cluster munich's keys (clusters/munich.yaml on main): commit bbbbbbbbbbbb is not signed`,
  );
  assert.is(judge(update('refs/canopy/status/munich', A, ZERO), { fastForward: false }), `${prefix}the root never deletes cluster munich's status history`);
  // Its verdict is the push's: one refused ref refuses it whole.
  const both = judgePush([u, update('refs/canopy/placements/munich')], 'demo.root', r, new Map([[u.ref, { fastForward: false }]]));
  assert.is(both.refused.length, 1);
  // A cluster declared with a user and no keys (not a valid descriptor, but the hook reads what is there): the root may not.
  const { rules: noKeys } = rulesFrom([
    { path: 'fleet.yaml', text: fleetYaml('demo.root') },
    { path: 'clusters/munich.yaml', text: 'kind: Cluster\nspec:\n  identity:\n    user: demo.cluster.munich\n' },
  ]);
  assert.is(
    refusal(u, 'demo.root', noKeys, new Map([[u.ref, { fastForward: true }]])),
    `${prefix}the root writes it only with commits signed by cluster munich, and clusters/munich.yaml on main declares no spec.identity.keys`,
  );
});

test.run();
