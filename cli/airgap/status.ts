// Status history up, from an air-gapped site to the root, as a native Git bundle.
//
// export --status (at the site): the site cluster records its status in `<state-dir>/repo`
// (refs/canopy/status/C, each commit signed by the cluster's key). The bundle carries that ref:
// the commits past refs/canopy/acked/status/C (the status tip the root held when it exported
// the last placement bundle, written by the placement import) or, when the site does not know
// what the root holds, the whole history. Nothing new: no file is written, exit 0.
//
// import --repo (at the root): the bundle must carry refs/canopy/status/C alone, for a cluster
// clusters/C.yaml declares on main; its history must continue the one here (never rewritten);
// every new commit must be signed by C's declared keys (when it declares an identity) and hold a
// valid status.json of C. Then the ref moves by compare-and-swap. Commits keep their dates, the
// moments things happened at the site. A bundle imported twice changes nothing. With --repo URL
// (the Git server a root works against: fleet-repo.ts), the server is given the ref first, as
// the root's push (its hook takes it when C signed every new commit), and the mirror after it;
// a root against that server pulls it (cli/parts/root.ts).
import { existsSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Failure } from '../args.js';
import { loadIdentity } from '../../reconciler/core/identity-file.js';
import { openJournal } from '../../reconciler/core/journal.js';
import { openPatchJournal } from '../../reconciler/core/patch-journal.js';
import type { Placement } from '../../schemas/messages.js';
import { ackedStatusRef, MAIN, statusRef, STATUS_FILE } from '../../reconciler/core/refs.js';
import { openRepo, readFileAt, RefConflictError, resolveRef, updateRef, listRefs, type Repo } from '../../reconciler/git/repo.js';
import { readCommitObject } from '../../reconciler/git/log.js';
import { readRecord, readRecordsAlong } from '../../reconciler/git/records.js';
import { rulesFrom } from '../../reconciler/git/hook.js';
import { isAncestor, newCommits } from '../../reconciler/git/status-history.js';
import { firstNotSignedBy, verdictProblem } from '../../reconciler/git/verify-commit.js';
import { bundleHeads, createBundle, fetchBundle, git, gitSays, hasCommit, verifyBundle } from './git-bundle.js';
import { siteRepoDir } from './site.js';
import { openFleetRepo, publish } from './fleet-repo.js';

const STATUS_PREFIX = 'refs/canopy/status/';
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const say = (line: string) => void process.stdout.write(`${line}\n`);

/** The cluster whose status the site repository holds: its one status ref, else the state directory's identity. */
async function siteCluster(repo: Repo, stateDir: string): Promise<string> {
  const refs = [...(await listRefs(repo, STATUS_PREFIX)).keys()];
  if (refs.length === 1) return refs[0]!;
  // Which cluster this state directory is: its identity file, else the placement it journals.
  const idFile = path.join(stateDir, 'identity.json');
  const id = existsSync(idFile) ? loadIdentity(idFile).identity : undefined;
  const placed = await openPatchJournal<Placement>(openJournal(stateDir), stateDir, 'placement.json')
    .read()
    .catch(() => undefined);
  const named = id?.role === 'cluster' ? id.name : placed?.cluster;
  if (named && (refs.includes(named) || !refs.length)) return named;
  if (!refs.length)
    throw new Failure(
      `canopy bundle export --status: ${repo.gitdir} holds no status history (no ${STATUS_PREFIX}<cluster>): has the site cluster run with --state-dir ${stateDir}?`,
    );
  throw new Failure(
    `canopy bundle export --status: ${repo.gitdir} holds the status of ${refs.join(', ')}; ` +
      `which one is this site's? ${named ? `this state directory is ${named}'s, none of them` : `put the cluster's identity at ${idFile}`}`,
  );
}

/** Committer time of a commit, ISO (UTC). */
async function when(repo: Repo, oid: string): Promise<string> {
  return new Date((await readCommitObject(repo, oid)).committer.timestamp * 1000).toISOString();
}

export async function exportStatus(o: { stateDir: string; out: string }): Promise<number> {
  const dir = siteRepoDir(o.stateDir);
  if (!existsSync(path.join(dir, 'HEAD')))
    throw new Failure(
      `canopy bundle export --status: no site repository at ${dir}: the site cluster records its status there (canopy cluster --state-dir ${o.stateDir})`,
    );
  const repo = await openRepo(dir);
  const cluster = await siteCluster(repo, o.stateDir);
  const ref = statusRef(cluster);
  const tip = await resolveRef(repo, ref);
  if (!tip) throw new Failure(`canopy bundle export --status: cluster ${cluster} has recorded no status yet (${dir} has no ${ref})`);
  const gitArgs = ['--git-dir', dir];
  let acked = await resolveRef(repo, ackedStatusRef(cluster));
  if (acked && !(await hasCommit(dir, acked))) {
    say(`note: the root holds ${acked.slice(0, 12)} of ${cluster}'s status, which this repository does not have: the whole history goes`);
    acked = undefined;
  } else if (acked && !(await isAncestor(gitArgs, acked, tip)) && !(await isAncestor(gitArgs, tip, acked))) {
    say(`warning: the root holds ${acked.slice(0, 12)} of ${cluster}'s status, not in this history: the root will refuse this bundle as diverged`);
  }
  const commits = await newCommits(gitArgs, acked, tip);
  if (!commits.length || acked === tip) {
    say(`nothing new: the root already holds ${cluster}'s status up to ${tip.slice(0, 12)} (${await when(repo, tip)}); no bundle written`);
    return 0;
  }
  const wrote = await createBundle(dir, o.out, [ref], acked ? [acked] : []).catch((e: Error) => {
    throw new Failure(`canopy bundle export --status: ${e.message}`);
  });
  if (!wrote) {
    say(`nothing new to carry of ${cluster}'s status; no bundle written`);
    return 0;
  }
  await verifyBundle(dir, o.out);
  const from = await when(repo, commits[0]!);
  const to = await when(repo, commits[commits.length - 1]!);
  const delta = acked ? `, past ${acked.slice(0, 12)} (what the root holds)` : ' (the whole history: the root’s copy is not known here)';
  say(
    `wrote ${o.out}: ${cluster}'s status, ${commits.length} commit${commits.length === 1 ? '' : 's'} from ${from} to ${to}${delta}, ${statSync(o.out).size} bytes`,
  );
  say(`next: carry it to the root and run: canopy bundle import ${path.basename(o.out)} --repo <fleet repository>`);
  return 0;
}

/** A refusal of the import: nothing changed. */
const refuse = (file: string, why: string) => new Failure(`canopy bundle import ${file}: refused: ${why}; nothing changed`);

/** The one status ref a bundle carries, and its cluster; anything else is foreign. */
async function carried(file: string): Promise<{ ref: string; cluster: string; tip: string }> {
  let heads: Map<string, string>;
  try {
    heads = await bundleHeads(file);
  } catch (e) {
    throw new Failure(`canopy bundle import ${file}: ${(e as Error).message}`);
  }
  const refs = [...heads.keys()];
  const cluster = refs.length === 1 && refs[0]!.startsWith(STATUS_PREFIX) ? refs[0]!.slice(STATUS_PREFIX.length) : undefined;
  if (cluster && LABEL.test(cluster)) return { ref: refs[0]!, cluster, tip: heads.get(refs[0]!)! };
  const placement = refs.some((r) => r.startsWith('refs/canopy/placements/'));
  throw refuse(
    file,
    `foreign: a status bundle carries refs/canopy/status/<cluster> alone, this one carries ${refs.join(', ') || 'no ref'}` +
      (placement ? ' (a placement bundle: it is imported at the site, with --state-dir)' : ''),
  );
}

/** C's declared keys (clusters/C.yaml on main, spec.identity.keys); refused when main does not declare C. */
async function declaredKeys(repo: Repo, file: string, cluster: string): Promise<string[]> {
  const main = await resolveRef(repo, 'refs/heads/main');
  const text = main ? await readFileAt(repo, main, `clusters/${cluster}.yaml`) : undefined;
  if (text === undefined)
    throw refuse(file, `foreign: cluster ${cluster} is not declared here (no clusters/${cluster}.yaml on main): a bundle of another fleet?`);
  return rulesFrom([{ path: `clusters/${cluster}.yaml`, text }]).rules.keys.get(cluster) ?? [];
}

/** Why a new commit's status.json is not C's valid status, or undefined. */
async function statusProblems(repo: Repo, cluster: string, commits: string[]): Promise<string | undefined> {
  const along = await Promise.all(commits.map(async (oid) => ({ oid, tree: (await readCommitObject(repo, oid)).tree })));
  const records = await readRecordsAlong(repo, along, STATUS_FILE, 'ClusterStatus');
  for (const [i, s] of records.entries()) {
    const oid = commits[i]!;
    if (s?.cluster === cluster) continue;
    if (s) return `commit ${oid.slice(0, 12)}: ${STATUS_FILE} is the status of ${s.cluster}, not ${cluster}`;
    let why = 'absent';
    await readRecord(repo, oid, STATUS_FILE, 'ClusterStatus', { warn: (m) => void (why = m) });
    return `commit ${oid.slice(0, 12)}: not a valid ${STATUS_FILE} (${why})`;
  }
  return undefined;
}

export async function importStatus(o: { file: string; repo: string; cacheDir?: string; usage?: (problem: string) => Error }): Promise<number> {
  const usage = o.usage ?? ((p: string) => new Failure(`canopy bundle: ${p}`, 1));
  if (!existsSync(o.file)) throw usage(`import: ${o.file}: no such file`);
  // A local --repo was opened by the command already (a usage error before anything is read).
  const { ref, cluster, tip } = await carried(o.file);
  const fleet = await openFleetRepo(o.repo, { cacheDir: o.cacheDir, refs: [MAIN], forward: [ref], usage });
  const repo = fleet.repo;
  const keys = await declaredKeys(repo, o.file, cluster);
  await verifyBundle(repo.gitdir, o.file).catch((e: Error) => {
    throw refuse(o.file, `${e.message} (a delta bundle needs the history before it: import the earlier bundle first, or export the whole history at the site)`);
  });
  const gitArgs = ['--git-dir', repo.gitdir];
  const current = await resolveRef(repo, ref);
  const known = await hasCommit(repo.gitdir, tip);
  if (current && known && (current === tip || (await isAncestor(gitArgs, tip, current)))) {
    if (fleet.remote && fleet.served.get(ref) !== current) {
      // Imported into this mirror before, and the server does not have it (a push that failed).
      await publish(fleet, ref).catch((e: Error) => {
        throw new Failure(`canopy bundle import ${o.file}: ${ref} is imported in the mirror and the Git server refused it: ${e.message}`);
      });
      say(`already imported here; ${ref} pushed to ${fleet.where} (at ${current.slice(0, 12)})`);
      return 0;
    }
    say(`already imported, nothing changed: ${ref} is at ${current.slice(0, 12)}, which holds ${tip.slice(0, 12)}`);
    return 0;
  }
  // Into a ref of its own (outside refs/canopy/), removed whatever happens: the status ref moves last.
  const tmp = `refs/canopy-import/${process.pid}-${randomBytes(4).toString('hex')}/${cluster}`;
  try {
    await fetchBundle(repo.gitdir, o.file, [`${ref}:${tmp}`]);
    if (current && !(await isAncestor(gitArgs, current, tip)))
      throw refuse(
        o.file,
        `diverged: its history of ${cluster} does not continue the one here (${ref} is at ${current.slice(0, 12)}), and a status history is never rewritten; ` +
          `was the site's state directory made anew? Its new history cannot be added to this one: keep this one, and ask the site for a bundle exported on top of it`,
      );
    const commits = await newCommits(gitArgs, current, tip);
    if (keys.length) {
      const bad = await firstNotSignedBy(gitArgs, commits, keys);
      if (bad) throw refuse(o.file, `${verdictProblem(bad.commit, bad.verdict, `cluster ${cluster}'s keys`)} (clusters/${cluster}.yaml on main declares them)`);
    } else say(`note: clusters/${cluster}.yaml on main declares no spec.identity.keys: the commits' signatures are not checked`);
    const problem = await statusProblems(repo, cluster, commits);
    if (problem) throw refuse(o.file, problem);
    // A remote repository: the server takes it first (its hook checks C's signatures again), then the mirror.
    await publish(fleet, ref, tmp).catch((e: Error) => {
      throw refuse(o.file, `the Git server at ${fleet.where} did not take it: ${e.message}`);
    });
    await updateRef(repo, ref, tip, current).catch(async (e: Error) => {
      // A root sharing the mirror may have pulled what was just pushed: the ref is where it goes.
      if (e instanceof RefConflictError && (await resolveRef(repo, ref)) === tip) return;
      throw e instanceof RefConflictError ? refuse(o.file, `${e.message}: run the import again`) : e;
    });
    const from = await when(repo, commits[0]!);
    const to = await when(repo, commits[commits.length - 1]!);
    say(
      `imported ${commits.length} commit${commits.length === 1 ? '' : 's'} of ${cluster}'s status, from ${from} to ${to}${keys.length ? ', each signed by the cluster' : ''}`,
    );
    say(
      `${ref}: ${current ? `${current.slice(0, 12)} → ` : ''}${tip.slice(0, 12)}${fleet.remote ? `, pushed to ${fleet.where}` : ''}; canopy history and canopy status show it`,
    );
    return 0;
  } finally {
    const r = await git(repo.gitdir, ['update-ref', '-d', tmp]);
    if (r.code !== 0) process.stderr.write(`warning: could not remove ${tmp}: ${gitSays(r)}\n`);
  }
}
