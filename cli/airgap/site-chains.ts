// What a site's repository holds of the root's records, and how a bundle carries it at the cost
// of the change. main is carried as it is (the people's commits, up to the one in force). The
// placement is not carried with the root's whole history of it (a commit per placement version:
// with the notes' rewrites, three times the bytes of the descriptors that changed): the site gets
// its own short chain, one commit per bundle, whose tree holds two files: `placement.json`, the
// placement as one document (its services inline, in a stable order, so git packs it as a delta
// of the last one: the lines of what changed), and `note.txt`, the note of the commit in force,
// which the import writes into the site's refs/notes/canopy. Two files at paths that never change
// cost one small tree and two deltas per bundle; the root's own layout (a file per service under
// services/<app>/, which costs three trees and a file per changed service) made one missed
// commit's bundle 2.2× the descriptor it changed, and a note at its native path (the commit's
// id, new every time) travelled whole. The root keeps the chain in an export repository of its
// own per cluster (<gitdir>/canopy/bundle-exports/<c>.git, borrowing the fleet repository's
// objects), so the next bundle is a delta from the chain commit the site acknowledged.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BUNDLE_NOTE_FILE, bundleRef, MAIN, MANIFEST_FILE, NOTES_REF, PLACEMENT_FILE, placementRef } from '../../reconciler/core/refs.js';
import type { Repo } from '../../reconciler/git/repo.js';
import type { Placement, Version } from '../../schemas/messages.js';
import { createThinBundle, git, gitOut, gitSays, hasCommit, ROOT_AUTHOR } from './git-bundle.js';

export interface ChainTips {
  /** The site's placement commit: the placement as one document and the note of the commit in force, on the site's chain. */
  placement: string;
}

export interface SiteBundle {
  repo: Repo;
  cluster: string;
  version: Version;
  /** The root's placement commit (named in the chain commit's message). */
  rootPlacement: string;
  /** Its record, which the site's chain holds as one document. */
  placement: Placement;
  exportedAt: string;
  out: string;
  /** The manifest's text, once the chain commits it names are made. */
  manifest(tips: ChainTips): string;
  /** Commits the site holds (a delta from them). */
  have: string[];
}

export function exportDir(repo: Repo, cluster: string): string {
  return path.join(repo.gitdir, 'canopy', 'bundle-exports', `${cluster}.git`);
}

/** Make the chain commits of this export, the manifest's commit, and the bundle; returns the chain tips. */
export async function writeSiteBundle(b: SiteBundle): Promise<ChainTips> {
  const dir = exportDir(b.repo, b.cluster);
  if (!existsSync(path.join(dir, 'HEAD'))) {
    await mkdir(dir, { recursive: true });
    const r = await git(undefined, ['init', '-q', '--bare', dir]);
    if (r.code !== 0) throw new Error(`making ${dir}: ${gitSays(r)}`);
  }
  await writeFile(path.join(dir, 'objects', 'info', 'alternates'), `${path.join(b.repo.gitdir, 'objects')}\n`);
  const when = `${Math.floor(Date.parse(b.exportedAt) / 1000)} +0000`;
  const env = { ...ROOT_AUTHOR, GIT_AUTHOR_DATE: when, GIT_COMMITTER_DATE: when };
  const must = async (args: string[], input?: string) => (await gitOut(dir, args, `in ${dir}`, { input, env })).trim();
  const tip = async (ref: string) => {
    const r = await git(dir, ['rev-parse', '-q', '--verify', `${ref}^{commit}`]);
    return r.code === 0 ? r.stdout.trim() : undefined;
  };
  const commit = async (tree: string, parent: string | undefined, message: string) =>
    must(['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', message]);
  const v = b.version;
  // The placement as one document, and the note of the commit in force beside it.
  const doc = await must(['hash-object', '-w', '--stdin'], siteDocument(b.placement));
  const entries = [`100644 blob ${doc}\t${PLACEMENT_FILE}`];
  const note = await git(b.repo.gitdir, ['notes', `--ref=${NOTES_REF}`, 'list', v.commit]);
  if (note.code === 0 && note.stdout.trim()) entries.push(`100644 blob ${note.stdout.trim()}\t${BUNDLE_NOTE_FILE}`);
  const ptree = await must(['mktree'], `${entries.join('\n')}\n`);
  const placement = await commit(
    ptree,
    await tip(placementRef(b.cluster)),
    `placement ${b.cluster} #${v.seq} from ${v.commit.slice(0, 12)} (the root's ${b.rootPlacement.slice(0, 12)})`,
  );
  const tips: ChainTips = { placement };
  const mblob = await must(['hash-object', '-w', '--stdin'], b.manifest(tips));
  const manifest = await commit(
    await must(['mktree'], `100644 blob ${mblob}\t${MANIFEST_FILE}\n`),
    undefined,
    `bundle for ${b.cluster}: placement #${v.seq} from ${v.commit.slice(0, 12)}`,
  );
  const refs: Array<[string, string | undefined]> = [
    [MAIN, v.commit],
    [placementRef(b.cluster), placement],
    [bundleRef(b.cluster), manifest],
  ];
  const lines = refs.filter(([, oid]) => oid).map(([ref, oid]) => `update ${ref} ${oid}`);
  await must(['update-ref', '--stdin'], lines.join('\n') + '\n');
  // What the site holds must be here (a chain commit pruned, a repository made anew: carry everything).
  const have: string[] = [];
  for (const h of b.have) if (await hasCommit(dir, h)) have.push(h);
  const wanted = refs.filter((r): r is [string, string] => r[1] !== undefined);
  await createThinBundle(dir, b.out, wanted, have.length === b.have.length ? have : []);
  return tips;
}

/**
 * The placement as the site's chain holds it: the record with its services inline, keys in a
 * stable order (services by id), one value per line; a service's entry is a few adjacent lines, so
 * a changed service is a small delta of the last document. readRecord reads it as it reads the
 * per-service layout.
 */
export function siteDocument(p: Placement): string {
  const services = Object.fromEntries(
    Object.keys(p.services)
      .sort()
      .map((id) => [id, p.services[id]]),
  );
  return JSON.stringify({ ...p, services }, null, 1) + '\n';
}
