// Damaged records in Git, one row each: what the tip of a placement ref, a status ref or a note
// holds instead of a valid record, and what the warning that names it must say. `rollouts` rows:
// a valid accepted note whose `rollouts` (or one of them) is damaged: that part alone is ignored. A record is the
// header file (placement.json, status.json) and one file per service under services/.
import { aClusterStatus } from '../helpers/root-fakes.js';
import { aService } from '../helpers/builders.js';
import { specHash } from '../../reconciler/core/ids.js';
import { KEYS } from './descriptor-cases.js';

export type RecordKind = 'placement' | 'status' | 'note' | 'rollouts';

export interface RecordCase {
  name: string;
  kind: RecordKind;
  /** The record's files (placement or status: the whole tree of the ref's new tip); a note's text. */
  files: Record<string, string | { dir: Record<string, string> }> | string;
  /** In the warning, after the record's name. */
  want: string;
  /** The damage is in the header (status.json): the root's seed, which reads only the header, sees it too. */
  header?: boolean;
}

const WEB = aService('web/api').replicas(2);
export const ASSIGNMENT = { replicas: 2, specHash: specHash(WEB.spec()), spec: WEB.spec() };

/** A placement header at `commit`, seq 6 (newer than the one the cluster holds). */
export const placementHeader = (commit: string, seq = 6) => ({ fleet: 'demo', cluster: 'munich', version: { commit, seq, epoch: 0 } });
/** A status header (no services: they are files of their own). */
export function statusHeader(commit: string): Record<string, unknown> {
  const { services: _, ...h } = aClusterStatus('munich', { applied: { commit, seq: 5, epoch: 0 }, at: '2025-01-01T00:00:00Z' });
  return h;
}
export const SERVICE_STATUS = { desired: 2, running: 2, failed: 0 };

const json = (v: unknown) => `${JSON.stringify(v, null, 1)}\n`;
const set = (v: Record<string, unknown>, k: string, x: unknown) => {
  const o = structuredClone(v);
  if (x === undefined) delete o[k];
  else o[k] = x;
  return o;
};

/** The rows, given the commit of main the records speak of (a placement names it in its version). */
export function recordCases(main: string): RecordCase[] {
  const rows: RecordCase[] = [];
  const P = placementHeader(main);
  const A = ASSIGNMENT;
  const place = (name: string, files: RecordCase['files'], want: string) => rows.push({ name: `placement: ${name}`, kind: 'placement', files, want });
  const withHeader = (h: unknown) => ({ 'placement.json': typeof h === 'string' ? h : json(h), 'services/web/api.json': json(A) });
  const withEntry = (e: unknown, path = 'services/web/api.json') => ({ 'placement.json': json(P), [path]: typeof e === 'string' ? e : json(e) });

  place('placement.json not JSON', withHeader('{"fleet": "demo",'), 'placement.json: not JSON (');
  place('placement.json empty', withHeader(''), 'placement.json: not JSON (Unexpected end of JSON input)');
  place('placement.json a list', withHeader('[]'), 'placement.json: not a JSON object');
  place('placement.json null', withHeader('null'), 'placement.json: not a JSON object');
  place('placement.json absent', { 'services/web/api.json': json(A) }, 'placement.json: absent');
  place('placement.json a directory', { 'placement.json': { dir: { 'x.json': '{}' } }, 'services/web/api.json': json(A) }, 'placement.json: not a file');
  place('version: seq negative', withHeader({ ...P, version: { ...P.version, seq: -1 } }), 'placement.json: /version/seq: must be >= 0');
  place('version: seq 2^53', withHeader({ ...P, version: { ...P.version, seq: 2 ** 53 } }), 'placement.json: /version/seq: must be <= 9007199254740991');
  place(
    'version: commit not an object id',
    withHeader({ ...P, version: { ...P.version, commit: 'main' } }),
    'placement.json: /version/commit: must match pattern',
  );
  place('version missing', withHeader(set(P, 'version', undefined)), 'placement.json: /version: is required');
  place('fleet missing', withHeader(set(P, 'fleet', undefined)), 'placement.json: /fleet: is required');
  place('cluster a number', withHeader(set(P, 'cluster', 7)), 'placement.json: /cluster: must be string');
  place('an unknown field', withHeader(set(P, 'secret', 'x')), 'placement.json: /secret: is not a known field');
  place(
    'trust: a root key that is not ssh-ed25519',
    withHeader(set(P, 'trust', { root: ['ssh-rsa AAAAB3 root'] })),
    'placement.json: /trust/root/0: must match pattern',
  );
  place(
    'trust: ten root keys',
    withHeader(set(P, 'trust', { root: Array.from({ length: 10 }, (_, i) => `${KEYS.root}${i}`) })),
    'placement.json: /trust/root: must NOT have more than 8 items',
  );
  place('a service file not JSON', withEntry('{"replicas": 2'), 'placement.json: services/web/api.json: not JSON (');
  place('a service file a list', withEntry('[1]'), 'placement.json: /services/web~1api: must be object');
  place('a service with negative replicas', withEntry({ ...A, replicas: -1 }), 'placement.json: /services/web~1api/replicas: must be >= 0');
  place(
    'a service whose spec has runtime docker',
    withEntry({ ...A, spec: { ...A.spec, runtime: 'docker' } }),
    'placement.json: /services/web~1api/spec/runtime: must be one of container, process',
  );
  place('a service with an unknown field', withEntry({ ...A, owner: 'me' }), 'placement.json: /services/web~1api/owner: is not a known field');
  place(
    'a service with a reason of 4 MiB',
    withEntry({ ...A, reason: 'r'.repeat(4 << 20) }),
    'placement.json: /services/web~1api/reason: must NOT have more than 2000 characters',
  );
  place('a service file not ending in .json', withEntry(A, 'services/web/api.txt'), 'placement.json: services/web/api.txt: not a service entry');
  place(
    'services inline (the old layout), one of them bad',
    { 'placement.json': json({ ...P, services: { 'web/api': { ...A, replicas: 'two' } } }) },
    'placement.json: /services/web~1api/replicas: must be integer',
  );
  place('services inline, a list', { 'placement.json': json({ ...P, services: [A] }) }, 'placement.json: /services: must be object');

  const S = statusHeader(main);
  const status = (name: string, files: RecordCase['files'], want: string, header = true) =>
    rows.push({ name: `status: ${name}`, kind: 'status', files, want, header });
  const sHeader = (h: unknown) => ({ 'status.json': typeof h === 'string' ? h : json(h), 'services/web/api.json': json(SERVICE_STATUS) });
  const sEntry = (e: unknown, path = 'services/web/api.json') => ({ 'status.json': json(S), [path]: typeof e === 'string' ? e : json(e) });
  status('status.json not JSON', sHeader('{"kind": "cluster-status", '), 'status.json: not JSON (');
  status('status.json a list', sHeader('[]'), 'status.json: not a JSON object');
  status('status.json absent', { 'services/web/api.json': json(SERVICE_STATUS) }, 'status.json: absent');
  status('status.json a directory', { 'status.json': { dir: { 'x.json': '{}' } } }, 'status.json: not a file');
  status('kind node-status', sHeader(set(S, 'kind', 'node-status')), 'status.json: /kind: must be equal to constant');
  status('names cluster paris', sHeader(set(S, 'cluster', 'paris')), 'status.json: names cluster paris');
  status('applied: seq negative', sHeader(set(S, 'applied', { commit: main, seq: -1, epoch: 0 })), 'status.json: /applied/seq: must be >= 0');
  status('at not a time', sHeader(set(S, 'at', 'yesterday')), 'status.json: /at: must match pattern');
  status('capacity missing', sHeader(set(S, 'capacity', undefined)), 'status.json: /capacity: is required');
  status('nodes: total negative', sHeader(set(S, 'nodes', { total: -1, online: 0 })), 'status.json: /nodes/total: must be >= 0');
  status('labels: a number value', sHeader(set(S, 'labels', { zone: 1 })), 'status.json: /labels/zone: must be string');
  status('an unknown field', sHeader(set(S, 'nodeNames', ['n1'])), 'status.json: /nodeNames: is not a known field');
  status('a service file not JSON', sEntry('{'), 'status.json: services/web/api.json: not JSON (', false);
  status('a service with desired negative', sEntry({ ...SERVICE_STATUS, desired: -1 }), 'status.json: /services/web~1api/desired: must be >= 0', false);
  status(
    'a service with a message of 2001 characters',
    sEntry({ ...SERVICE_STATUS, message: 'm'.repeat(2001) }),
    'status.json: /services/web~1api/message: must NOT have more than 2000 characters',
    false,
  );
  status('a service file not ending in .json', sEntry(SERVICE_STATUS, 'services/web/api'), 'status.json: services/web/api: not a service entry', false);

  const note = (name: string, text: string, want: string) => rows.push({ name: `note: ${name}`, kind: 'note', files: text, want });
  const MARK = '--- canopy/v1 json ---';
  const good = { outcome: 'accepted', commit: '', at: '2025-01-01T00:00:00Z' };
  note('a person’s note, no canopy record in it', 'looks good to me\n', `no "${MARK}" line: not a note canopy wrote`);
  note('the JSON cut short', `canopy: accepted.\n\n${MARK}\n{"outcome": "accepted",\n`, 'its JSON does not parse (');
  note('the JSON a list', `canopy: accepted.\n\n${MARK}\n[]\n`, 'its JSON is not an object');
  note('the JSON null', `canopy: accepted.\n\n${MARK}\nnull\n`, 'its JSON is not an object');
  note('outcome approved', `x\n${MARK}\n${JSON.stringify({ ...good, outcome: 'approved' })}\n`, 'outcome "approved" is not accepted, rejected or superseded');
  note('outcome missing', `x\n${MARK}\n${JSON.stringify(set(good, 'outcome', undefined))}\n`, 'outcome missing is not accepted, rejected or superseded');
  note('commit not an object id', `x\n${MARK}\n${JSON.stringify({ ...good, commit: 'HEAD' })}\n`, 'commit "HEAD" is not a commit id');
  note('commit of another commit', `x\n${MARK}\n${JSON.stringify({ ...good, commit: main })}\n`, `it speaks of commit ${main.slice(0, 12)}`);

  // The note on `main` (accepted, in force) with its rollouts damaged.
  const rollouts = (name: string, value: unknown, want: string) =>
    rows.push({
      name: `note rollouts: ${name}`,
      kind: 'rollouts',
      files: `canopy: accepted.\n\n${MARK}\n${JSON.stringify({ outcome: 'accepted', commit: main, at: '2025-01-01T00:00:00Z', changed: {}, rollouts: value })}\n`,
      want,
    });
  const R = {
    state: 'rolled-back',
    commit: main,
    from: { commit: main, specHash: 'a1b2c3d4e5f60718' },
    to: 'f0e1d2c3b4a59687',
    startedAt: '2025-01-01T00:00:00Z',
    endedAt: '2025-01-01T00:01:00Z',
    reason: 'wave 1 (munich): 0/2 ready',
    waves: [{ clusters: ['munich'], startedAt: '2025-01-01T00:00:00Z' }],
  };
  const one = (r: unknown) => ({ 'web/api': r });
  const wave = (w: Record<string, unknown>) => set(R, 'waves', [{ ...R.waves[0], ...w }]);
  rollouts('a list', [R], 'rollouts is not an object');
  rollouts('a string', 'rolled back', 'rollouts is not an object');
  rollouts('one rollout null', one(null), 'rollouts.web/api: not an object');
  rollouts('state exploded', one(set(R, 'state', 'exploded')), 'rollouts.web/api: state "exploded" is not progressing, done, paused or rolled-back');
  rollouts('state missing', one(set(R, 'state', undefined)), 'rollouts.web/api: state missing is not progressing, done, paused or rolled-back');
  rollouts('commit not an object id', one(set(R, 'commit', 'HEAD')), 'rollouts.web/api: commit "HEAD" is not a commit id');
  rollouts('from missing', one(set(R, 'from', undefined)), 'rollouts.web/api: from is not {commit, specHash}');
  rollouts('from without specHash', one(set(R, 'from', { commit: main })), 'rollouts.web/api: from is not {commit, specHash}');
  rollouts('to a number', one(set(R, 'to', 7)), 'rollouts.web/api: to is not a string');
  rollouts('startedAt not a time', one(set(R, 'startedAt', 'yesterday')), 'rollouts.web/api: startedAt is not a time');
  rollouts('endedAt a number', one(set(R, 'endedAt', 5)), 'rollouts.web/api: endedAt is not a time');
  rollouts('reason a number', one(set(R, 'reason', 503)), 'rollouts.web/api: reason is not a string');
  rollouts('waves missing', one(set(R, 'waves', undefined)), 'rollouts.web/api: waves is not a list');
  rollouts('a wave’s clusters a string', one(wave({ clusters: 'munich' })), 'rollouts.web/api: waves[0].clusters is not a list of cluster names');
  rollouts('a wave null', one(set(R, 'waves', [null])), 'rollouts.web/api: waves[0].clusters is not a list of cluster names');
  rollouts('a wave’s readyAt not a time', one(wave({ readyAt: 'soon' })), 'rollouts.web/api: waves[0].readyAt is not a time');
  rollouts('a wave’s skipped a number', one(wave({ skipped: 2 })), 'rollouts.web/api: waves[0].skipped is not a list of cluster names');
  return rows;
}
