// Config files (spec.files), unit by unit: the descriptor rules, the index of repository path →
// services using it (kept change by change), the root's desired specs (a commit changing only a
// config file reaches exactly its users, with the new blob id in their spec and hash), the
// contents a cluster's placement and a node's assignment carry (only those used), and the
// agent writing them read-only for a container (a read-only bind) and a process (its working
// directory).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileIssues } from '../../reconciler/core/file-rules.js';
import { FleetIndex } from '../../reconciler/core/fleet-index.js';
import { workloadHash } from '../../reconciler/core/ids.js';
import { openRepo } from '../../reconciler/git/repo.js';
import { loadDesired } from '../../reconciler/root/desired.js';
import { placementFiles } from '../../reconciler/root/files.js';
import { nodeFiles } from '../../reconciler/cluster/files.js';
import { agentFiles } from '../../agents/files.js';
import type { NodeDesired, Placement, ReplicaSpec } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { commitFiles, git, serviceYaml, tempDir } from '../helpers/git.js';

const Rules = suite('config file rules');

Rules('paths by runtime; from relative and plain; one path once, secrets included', () => {
  const c = (files: ServiceSpec['files'], secrets?: ServiceSpec['secrets']) => fileIssues({ runtime: 'container', files, secrets }).map((i) => i.message);
  assert.equal(c([{ path: '/etc/a.conf', from: 'config/a.conf' }]), []);
  assert.match(c([{ path: 'etc/a.conf', from: 'config/a.conf' }])[0], /absolute path/);
  assert.match(c([{ path: '/etc/a.conf', from: '../a.conf' }])[0], /without \., \.\. or empty parts/);
  assert.match(c([{ path: '/etc/a.conf', from: 'x/.git/config' }])[0], /under \.git/);
  assert.match(c([{ path: '/etc/a.conf', from: 'a', oid: 'a'.repeat(40) }])[0], /set by canopy/);
  assert.match(
    c([
      { path: '/a', from: 'a' },
      { path: '/a/', from: 'b' },
    ])[0],
    /given twice/,
  );
  assert.match(c([{ path: '/a', from: 'a' }], [{ secret: 's', key: 'k', file: '/a' }])[0], /also spec\.secrets\[0\]\.file/);
  const p = (path: string) => fileIssues({ runtime: 'process', files: [{ path, from: 'a' }] }).map((i) => i.message);
  assert.equal(p('conf/a.conf'), []);
  assert.match(p('/etc/a.conf')[0], /relative to the process's working directory/);
  assert.match(p('conf/../../a')[0], /without \.\./);
});

Rules('the workload hash follows the files and their blob ids; a spec without files keeps its hash', () => {
  const base: ServiceSpec = { runtime: 'container', image: 'x', replicas: 1 };
  const f = (oid: string): ServiceSpec => ({ ...base, files: [{ path: '/a', from: 'a', oid }] });
  assert.is(workloadHash({ ...base }), workloadHash({ ...base, files: undefined }));
  assert.is.not(workloadHash(f('a'.repeat(40))), workloadHash(f('b'.repeat(40))));
  assert.is.not(workloadHash(f('a'.repeat(40))), workloadHash(base));
});

const Index = suite('the index of config files');

Index('users of a path, kept change by change; missing and oversized files are problems', () => {
  const index = new FleetIndex();
  const svc = (name: string, from: string) => ({
    path: `services/web/${name}.yaml`,
    text: serviceYaml('web', name, { runtime: 'process', command: ['x'], replicas: 1, files: [{ path: 'a', from }] }),
  });
  const fleet = { path: 'fleet.yaml', text: 'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: f}\n' };
  index.apply([
    ['fleet.yaml', fleet],
    ['services/web/a.yaml', svc('a', 'config/x.conf')],
    ['services/web/b.yaml', svc('b', 'config/x.conf')],
  ]);
  assert.equal([...index.fileUsers('config/x.conf')].sort(), ['services/web/a.yaml', 'services/web/b.yaml']);
  assert.equal(
    index.problems().map((p) => `${p.file}:${p.line}`),
    ['services/web/a.yaml:8', 'services/web/b.yaml:8'],
  );
  index.apply([['config/x.conf', { path: 'config/x.conf', text: '', size: 10 }]]);
  assert.equal(index.problems(), []);
  index.apply([['services/web/b.yaml', svc('b', 'other.conf')]]);
  assert.equal(index.fileUsers('config/x.conf'), ['services/web/a.yaml']);
  // A file outside the layout is no "unknown file" while a service names it.
  index.apply([['other.conf', { path: 'other.conf', text: 'x' }]]);
  assert.equal(index.problems(), []);
  index.apply([['config/x.conf', { path: 'config/x.conf', text: '', size: 300 * 1024 }]]);
  assert.match(index.problems()[0]!.message, /is 307200 bytes: a config file may be at most 256 KiB/);
  // Named by nobody, it is an unknown file again.
  index.apply([['services/web/b.yaml', null]]);
  assert.ok(
    index.problems().some((p) => p.file === 'other.conf' && /^unknown file/.test(p.message)),
    'other.conf is an unknown file',
  );
});

Index('loadDesired: a commit changing only a config file changes exactly its users, with the new blob id', async () => {
  const dir = tempDir('canopy-files-unit-');
  git(dir, 'init', '-q', '-b', 'main');
  const svc = (name: string, files?: ServiceSpec['files']) =>
    serviceYaml('web', name, { runtime: 'container', image: 'x', replicas: 1, ...(files ? { files } : {}) });
  const first = commitFiles(dir, {
    'fleet.yaml': 'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: f}\n',
    'config/web/a.conf': 'one\n',
    'config/web/b.conf': 'bee\n',
    'services/web/a.yaml': svc('a', [{ path: '/etc/a.conf', from: 'config/web/a.conf' }]),
    'services/web/b.yaml': svc('b', [{ path: '/etc/b.conf', from: 'config/web/b.conf' }]),
    'services/web/plain.yaml': svc('plain'),
  });
  const repo = await openRepo(dir);
  const cache = new Map();
  const r1 = await loadDesired(repo, first, undefined, cache);
  assert.ok(r1.ok);
  if (!r1.ok) return;
  const a1 = r1.state.services.get('web/a')!;
  assert.is(a1.spec.files![0]!.oid, git(dir, 'rev-parse', `${first}:config/web/a.conf`));
  const second = commitFiles(dir, { 'config/web/a.conf': 'two\n' });
  const r2 = await loadDesired(repo, second, r1.state, cache);
  assert.ok(r2.ok);
  if (!r2.ok) return;
  assert.equal([...r2.changed], ['web/a']);
  const a2 = r2.state.services.get('web/a')!;
  assert.is(a2.spec.files![0]!.oid, git(dir, 'rev-parse', `${second}:config/web/a.conf`));
  assert.is.not(a2.specHash, a1.specHash);
  assert.is(r2.state.services.get('web/b'), r1.state.services.get('web/b'), 'an unchanged user keeps its object');
  const third = commitFiles(dir, { 'config/web/a.conf': null });
  const r3 = await loadDesired(repo, third, r2.state, cache);
  assert.is(r3.ok, false);
  if (!r3.ok)
    assert.match(
      `${r3.problems[0]!.file}:${r3.problems[0]!.line}: ${r3.problems[0]!.message}`,
      /^services\/web\/a\.yaml:\d+: spec\.files\[0\]\.from: config\/web\/a\.conf is not a file/,
    );
});

const Down = suite('config files handed down');

const oidA = 'a'.repeat(40),
  oidB = 'b'.repeat(40),
  oidC = 'c'.repeat(40);
const spec = (runtime: 'container' | 'process', files: ServiceSpec['files']): ServiceSpec => ({
  runtime,
  ...(runtime === 'container' ? { image: 'x' } : { command: ['x'] }),
  replicas: 1,
  files,
});

Down('a placement carries the blobs its services use, base64, the same object while unchanged', () => {
  const index = new FleetIndex();
  const bin = Buffer.from([0, 255, 10, 13]);
  index.apply([
    ['config/a', { path: 'config/a', oid: oidA, text: '', size: 4, bytes: () => bin }],
    ['config/b', { path: 'config/b', oid: oidB, text: '', size: 1, bytes: () => Buffer.from('b') }],
  ]);
  const services: Placement['services'] = {
    'web/a': { replicas: 1, specHash: 'h', spec: spec('container', [{ path: '/a', from: 'config/a', oid: oidA }]) },
  };
  const out = placementFiles(index, services, undefined);
  assert.equal(out, { files: { [oidA]: bin.toString('base64') } });
  assert.equal(Buffer.from(out.files![oidA]!, 'base64'), bin);
  const cur = { files: out.files } as Placement;
  assert.is(placementFiles(index, services, cur).files, out.files);
  // A held spec's old blob, gone from the tree, comes from what the cluster was given.
  const held = { ...services, 'web/c': { replicas: 1, specHash: 'h', spec: spec('container', [{ path: '/c', from: 'config/a', oid: oidC }]) } };
  assert.equal(placementFiles(index, held, { files: { [oidC]: 'Yw==' } } as unknown as Placement).files, { [oidA]: bin.toString('base64'), [oidC]: 'Yw==' });
});

Down("a node gets only the blobs its replicas' specs name", () => {
  const placement = { files: { [oidA]: 'YQ==', [oidB]: 'Yg==' } } as unknown as Placement;
  const r = (files: ServiceSpec['files']): ReplicaSpec => ({ id: 'web/a#0', service: 'web/a', index: 0, specHash: 'h', spec: spec('container', files) });
  assert.equal(nodeFiles([r([{ path: '/a', from: 'config/a', oid: oidA }])], placement), { [oidA]: 'YQ==' });
  assert.is(nodeFiles([r(undefined)], placement), undefined);
});

Down('the agent writes them read-only: a read-only bind for a container, its working directory for a process', () => {
  const state = tempDir('canopy-files-agent-');
  const files = agentFiles(state);
  const a = { files: { [oidA]: Buffer.from('hello\n').toString('base64') } } as unknown as NodeDesired;
  const c: ReplicaSpec = {
    id: 'web/a#0',
    service: 'web/a',
    index: 0,
    specHash: 'h',
    spec: spec('container', [{ path: '/etc/a.conf', from: 'config/a', oid: oidA }]),
  };
  const w = files.forReplica(a, c)!;
  assert.is(w.binds.length, 1);
  const [host, where, ro] = w.binds[0]!.split(':');
  assert.equal([where, ro], ['/etc/a.conf', 'ro']);
  assert.is(readFileSync(host!, 'utf8'), 'hello\n');
  assert.is(statSync(host!).mode & 0o777, 0o444);
  const p: ReplicaSpec = { ...c, id: 'web/p#0', spec: spec('process', [{ path: 'conf/a.conf', from: 'config/a', oid: oidA }]) };
  const wp = files.forReplica(a, p)!;
  assert.is(wp.cwd, path.join(state, 'work', 'web_p_0'));
  const written = path.join(wp.cwd!, 'conf', 'a.conf');
  assert.is(readFileSync(written, 'utf8'), 'hello\n');
  assert.is(statSync(written).mode & 0o777, 0o444);
  files.forReplica(a, p); // again, over the read-only file: a restart
  assert.throws(() => files.forReplica({ files: {} } as unknown as NodeDesired, c), /config file config\/a .*not handed to this node/);
  files.forget(c.id);
  files.forget(p.id);
  assert.ok(!existsSync(host!) && !existsSync(written), 'removed with the replica');
});

Rules.run();
Index.run();
Down.run();
