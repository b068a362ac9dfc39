// Placements down to an air-gapped site, by file. Export at the root writes a native Git bundle
// of main at the commit in force, the site's placement chain (site-chains.ts: the placement as
// one document and the note of the commit in force, a commit per bundle) and a signed
// manifest (core/bundle-manifest.ts) on refs/canopy/bundle/<c>; as a delta from the bundle whose
// placement the site last reported applied (its status, come back by a status bundle), else
// whole. Import at the site checks it (git bundle verify, the manifest's signature by the root
// keys the site trusts, fleet and cluster, the version against what the site holds) and moves
// the site repository's refs; the cluster adopts from there (reconciler/cluster/bundle-source.ts):
// within a heartbeat when it runs, at start when it does not.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Failure } from '../args.js';
import {
  BUNDLE_NOTE_FILE,
  MAIN,
  NOTES_REF,
  PLACEMENT_FILE,
  STATUS_FILE,
  placementRef,
  statusRef,
  bundleRef,
  ackedStatusRef,
  MANIFEST_FILE,
} from '../../reconciler/core/refs.js';
import { openRepo, readFileAt, resolveRef, type Repo } from '../../reconciler/git/repo.js';
import { readRecord } from '../../reconciler/git/records.js';
import { readRecordHeader, readServiceRecord } from '../../reconciler/git/service-records.js';
import { openManifest, writeManifest, type BundleManifest } from '../../reconciler/core/bundle-manifest.js';
import { loadIdentity } from '../../reconciler/core/identity-file.js';
import { parsePublicKey, sameKey, type PublicKey } from '../../reconciler/core/keys.js';
import { openJournal, type Journal } from '../../reconciler/core/journal.js';
import { openPatchJournal } from '../../reconciler/core/patch-journal.js';
import { versionOrder } from '../../reconciler/core/version.js';
import type { Placement, Version } from '../../schemas/messages.js';
import type { FleetDescriptor } from '../../schemas/model.js';
import { bundleHeads, fetchBundle, git, gitSays, hasCommit, ROOT_AUTHOR, verifyBundle } from './git-bundle.js';
import { writeSiteBundle } from './site-chains.js';
import { openFleetRepo } from './fleet-repo.js';
import { ensureSiteRepo } from './site.js';
import { inspectImages, loadImages, placementImages, saveImages } from './images.js';

export interface ExportOptions {
  repo: string;
  cluster: string;
  out: string;
  images?: string;
  identity?: string;
  /** Carry everything, whatever the site acknowledged. */
  full?: boolean;
  /** Where a remote --repo is mirrored (fleet-repo.ts). */
  cacheDir?: string;
}

/** What one export carried: the next export is a delta from it once the site reports its placement applied. */
interface Exported {
  version: Version;
  placement: string;
  main: string;
  notes?: string;
  exportedAt: string;
}
const EXPORTS_KEPT = 64;

const say = (s: string) => process.stderr.write(`${s}\n`);
const kib = (n: number) => (n < 10_240 ? `${n} bytes` : `${(n / 1024).toFixed(1)} KiB`);

export async function exportPlacement(o: ExportOptions): Promise<number> {
  const c = o.cluster;
  const { repo } = await openFleetRepo(o.repo, {
    cacheDir: o.cacheDir,
    refs: [MAIN],
    forward: [placementRef(c), NOTES_REF, statusRef(c)],
    usage: (problem) => new Failure(problem, 64),
  });
  const placementOid = await resolveRef(repo, placementRef(c));
  if (!placementOid)
    throw new Failure(
      `the root has placed nothing on ${c} yet (no ${placementRef(c)} in ${o.repo}): declare clusters/${c}.yaml (spec.connectivity: air-gapped, with its capacity) and let the root run`,
    );
  const placement = await readRecord(repo, placementOid, PLACEMENT_FILE, 'Placement', { ref: placementRef(c), warn: say });
  if (!placement) throw new Failure(`${placementRef(c)}: its placement is damaged (see above); nothing written`);
  const fleet = await fleetAt(repo, placement.version.commit);
  const signer = rootSigner(o, fleet);
  const status = await resolveRef(repo, statusRef(c));
  const journal = openJournal(path.join(repo.gitdir, 'canopy', 'bundle-exports'));
  const exports = (await journal.read<Exported[]>(`${c}.json`)) ?? [];
  const acked = o.full ? undefined : await acknowledged(repo, c, status, exports);
  const images = o.images ? await imagesToCarry(repo, placement, status) : [];
  const exportedAt = new Date().toISOString();
  const base = { kind: 'canopy-bundle' as const, fleet: placement.fleet, cluster: c, version: placement.version, main: placement.version.commit, exportedAt };
  const tips = await writeSiteBundle({
    repo,
    cluster: c,
    version: placement.version,
    rootPlacement: placementOid,
    placement,
    exportedAt,
    out: o.out,
    have: acked ? ([acked.main, acked.placement, acked.notes].filter(Boolean) as string[]) : [],
    manifest: (t) =>
      writeManifest(
        {
          ...base,
          placement: t.placement,
          ...(status ? { statusAcked: status } : {}),
          ...(o.images ? { images: images.map((i) => ({ ref: i.ref, id: i.id })) } : {}),
        },
        signer,
      ),
  });
  if (o.images)
    await saveImages(
      o.images,
      images.map((i) => i.ref),
    );
  await journal.write(`${c}.json`, [...exports, { version: placement.version, placement: tips.placement, main: base.main, exportedAt }].slice(-EXPORTS_KEPT));
  const services = Object.values(placement.services).filter((a) => a.replicas > 0).length;
  say(
    `wrote ${o.out} (${kib(statSync(o.out).size)}): placement #${placement.version.seq} of ${c} from ${placement.version.commit.slice(0, 12)}, ${services} service(s), ` +
      (acked
        ? `a delta from #${acked.version.seq}, which ${c} reported applied`
        : `whole (${o.full ? '--full' : `no bundle ${c} reported applying is known`})`) +
      (signer ? `, signed by the root (${signer.id})` : ', unsigned (the fleet declares no root key)'),
  );
  if (o.images)
    say(
      images.length
        ? `wrote ${o.images} (${kib(statSync(o.images).size)}): ${images.map((i) => i.ref).join(', ')}`
        : `${o.images}: no image to carry (${c} runs them all already)`,
    );
  say(
    `next: carry it to the site and run  canopy bundle import ${path.basename(o.out)} --state-dir DIR${o.images ? ` --images ${path.basename(o.images)}` : ''}`,
  );
  return 0;
}

async function fleetAt(repo: Repo, commit: string): Promise<FleetDescriptor> {
  const text = await readFileAt(repo, commit, 'fleet.yaml').catch(() => undefined);
  if (!text) throw new Failure(`fleet.yaml is missing at ${commit.slice(0, 12)}, the commit in force`);
  return parseYaml(text) as FleetDescriptor;
}

/** The root's signer when the fleet declares root keys: --identity, else `canopy up`'s root identity. */
function rootSigner(o: ExportOptions, fleet: FleetDescriptor) {
  const declared = fleet.spec?.trust?.root?.keys ?? [];
  const upRoot = path.join(o.repo, '.git', 'canopy-up', 'identities', 'root.json');
  const file = o.identity ?? (existsSync(upRoot) ? upRoot : undefined);
  if (!declared.length) return undefined;
  if (!file) throw new Failure(`the fleet declares root keys (fleet.yaml spec.trust.root): give --identity FILE, the root's identity, to sign the bundle`, 64);
  const id = loadIdentity(file);
  if (id.identity.role !== 'root') throw new Failure(`--identity ${file}: it is a ${id.identity.role}'s identity; a bundle is signed by the root`, 64);
  if (!declared.some((k) => sameKey(k, id.signer.publicKey)))
    throw new Failure(`--identity ${file}: its key ${id.signer.id} is not one of the root keys fleet.yaml declares; the site would refuse the bundle`);
  return id.signer;
}

/** The export whose placement the site's last status (come back by bundle) says it applied. */
async function acknowledged(repo: Repo, c: string, status: string | undefined, exports: Exported[]): Promise<Exported | undefined> {
  if (!status) return undefined;
  const header = await readRecordHeader(repo, status, STATUS_FILE).catch(() => undefined);
  const applied = header?.applied as Version | undefined;
  if (!applied) return undefined;
  const hit = [...exports].reverse().find((e) => e.version.seq === applied.seq && e.version.epoch === applied.epoch && e.version.commit === applied.commit);
  return hit;
}

/** The placement's images the site's last status does not show running (by image ID or repository digest). */
async function imagesToCarry(repo: Repo, placement: Placement, status: string | undefined) {
  const local = await inspectImages(placementImages(placement));
  const held = new Set<string>();
  const services = status
    ? ((await readServiceRecord(repo, status, STATUS_FILE).catch(() => undefined))?.services as Record<string, { images?: string[] }> | undefined)
    : undefined;
  for (const s of Object.values(services ?? {})) for (const i of s.images ?? []) held.add(i);
  return local.filter((l) => !held.has(l.id) && !l.digests.some((d) => held.has(d)));
}

export interface ImportOptions {
  file: string;
  stateDir: string;
  images?: string;
  identity?: string;
}

export async function importPlacement(o: ImportOptions): Promise<number> {
  if (!existsSync(o.file)) throw new Failure(`${o.file}: no such file`, 66);
  const heads = await bundleHeads(o.file).catch((e: Error) => {
    throw new Failure(e.message);
  });
  const bundles = [...heads.keys()].filter((r) => r.startsWith('refs/canopy/bundle/'));
  if (bundles.length !== 1) {
    const what = [...heads.keys()].join(', ') || 'no ref';
    throw new Failure(
      `${o.file} is not a placement bundle (it carries ${what}); a status bundle is imported at the root: canopy bundle import FILE --repo DIR`,
    );
  }
  const c = bundles[0]!.slice('refs/canopy/bundle/'.length);
  const gitdir = await ensureSiteRepo(o.stateDir);
  // The placement the site's cluster holds (its journal: the snapshot and the patches after it).
  const journal = openJournal(o.stateDir);
  const inForce = await openPatchJournal<Placement>(journal, o.stateDir, 'placement.json')
    .read()
    .catch(() => undefined);
  const site = await siteTrust(o, c, journal, inForce);
  await verifyBundle(gitdir, o.file).catch((e: Error) => {
    throw new Failure(
      `${e.message}\nthe bundle is a delta from a placement this site does not hold: export a whole one at the root with canopy bundle export ... --full`,
    );
  });
  const incoming = `refs/canopy-incoming/${process.pid}-${Date.now()}`;
  await fetchBundle(gitdir, o.file, [`+refs/*:${incoming}/*`]);
  try {
    const repo = await openRepo(gitdir);
    const tip = heads.get(bundleRef(c))!;
    const text = (await readFileAt(repo, tip, MANIFEST_FILE).catch(() => undefined)) ?? '';
    const opened = openManifest(text, `${o.file}:${MANIFEST_FILE}`, site.rootKeys, { fleet: site.fleet, cluster: site.cluster ?? c });
    if (!opened.ok) throw new Failure(`refused: ${opened.error}; nothing changed`);
    const m = opened.manifest;
    if (heads.get(placementRef(c)) !== m.placement || heads.get(MAIN) !== m.main)
      throw new Failure(`refused: ${o.file}'s refs are not the ones its manifest names; nothing changed`);
    const held = await heldVersion(repo, inForce?.version, c, site.rootKeys);
    if (held && versionOrder(m.version, held) < 0)
      throw new Failure(
        `refused: a stale bundle: it carries placement #${m.version.seq} (epoch ${m.version.epoch}), this site holds #${held.seq} (epoch ${held.epoch}); export a new one at the root`,
      );
    if (held && versionOrder(m.version, held) === 0 && (await resolveRef(repo, bundleRef(c)))) {
      say(`${o.file}: placement #${m.version.seq} of ${c} is already here; nothing changed`);
      return 0;
    }
    const placement = await readRecord(repo, m.placement, PLACEMENT_FILE, 'Placement', { warn: say });
    if (!placement || versionOrder(placement.version, m.version) !== 0)
      throw new Failure(`refused: the bundle's placement is damaged or is not the version its manifest names; nothing changed`);
    if (o.images) await loadImages(o.images, m.images ?? []);
    else if (m.images?.length)
      say(`warning: the bundle names ${m.images.length} image(s) (${m.images.map((i) => i.ref).join(', ')}) and no --images archive was given`);
    await moveRefs(gitdir, tip, c, m);
    say(
      `imported placement #${m.version.seq} of ${c} from ${m.version.commit.slice(0, 12)} (${Object.values(placement.services).filter((a) => a.replicas > 0).length} service(s)` +
        (opened.signedBy ? `, signed by the root ${opened.signedBy})` : ', unsigned)') +
        (site.rootKeys ? '' : opened.signedBy ? '; not checked here (no root key known: the cluster checks it before adopting)' : '') +
        `; the cluster adopts it within a few seconds when it runs, else when it starts`,
    );
    return 0;
  } finally {
    await git(gitdir, ['for-each-ref', '--format=delete %(refname)', `${incoming}/`]).then((r) =>
      r.stdout ? git(gitdir, ['update-ref', '--stdin'], r.stdout) : undefined,
    );
  }
}

/** The site's cluster, fleet and root keys: from --identity, else from what its cluster journaled in the state dir. */
async function siteTrust(
  o: ImportOptions,
  c: string,
  journal: Journal,
  held: Placement | undefined,
): Promise<{ cluster?: string; fleet?: string; rootKeys?: PublicKey[] }> {
  if (o.identity) {
    const id = loadIdentity(o.identity);
    if (id.identity.role !== 'cluster') throw new Failure(`--identity ${o.identity}: a ${id.identity.role}'s identity; give the site cluster's`, 64);
    if (id.identity.name !== c) throw new Failure(`refused: a foreign bundle: it is for cluster ${c}, and this site is ${id.identity.name}; nothing changed`);
    const keys = id.identity.trust?.root ?? [];
    return { cluster: id.identity.name, fleet: id.identity.fleet, rootKeys: keys.length ? keys.map(parsePublicKey) : undefined };
  }
  if (held?.cluster && held.cluster !== c)
    throw new Failure(`refused: a foreign bundle: it is for cluster ${c}, and ${o.stateDir} holds ${held.cluster}'s placement; nothing changed`);
  const keys = await journal.read<string[]>('root-keys.json').catch(() => undefined);
  return { cluster: held?.cluster, fleet: held?.fleet, rootKeys: Array.isArray(keys) && keys.length ? keys.map(parsePublicKey) : undefined };
}

/** The placement version the site holds: the newer of its cluster's journaled one and its last imported bundle's. */
async function heldVersion(repo: Repo, journaled: Version | undefined, c: string, rootKeys: PublicKey[] | undefined): Promise<Version | undefined> {
  const tip = await resolveRef(repo, bundleRef(c));
  const text = tip ? await readFileAt(repo, tip, MANIFEST_FILE).catch(() => undefined) : undefined;
  const last = text ? openManifest(text, bundleRef(c), rootKeys, { cluster: c }) : undefined;
  const imported = last?.ok ? last.manifest.version : undefined;
  if (!journaled) return imported;
  if (!imported) return journaled;
  return versionOrder(journaled, imported) >= 0 ? journaled : imported;
}

/** The bundle's refs into their places; the manifest's last, since the cluster reads the placement it names. */
async function moveRefs(gitdir: string, tip: string, c: string, m: BundleManifest): Promise<void> {
  const lines = [`update ${MAIN} ${m.main}`, `update ${placementRef(c)} ${m.placement}`];
  // The status tip the root held: the site made it, so it has it (unless its repository was made anew).
  if (m.statusAcked && (await hasCommit(gitdir, m.statusAcked))) lines.push(`update ${ackedStatusRef(c)} ${m.statusAcked}`);
  const r = await git(gitdir, ['update-ref', '--stdin'], lines.join('\n') + '\n');
  if (r.code !== 0) throw new Error(`moving the site repository's refs: ${gitSays(r)}`);
  await writeNote(gitdir, m);
  const b = await git(gitdir, ['update-ref', bundleRef(c), tip]);
  if (b.code !== 0) throw new Error(`moving ${bundleRef(c)}: ${gitSays(b)}`);
}

/** The note of the commit in force (note.txt in the placement commit) into the site's refs/notes/canopy, where `canopy status` reads it. */
async function writeNote(gitdir: string, m: BundleManifest): Promise<void> {
  const blob = await git(gitdir, ['rev-parse', '-q', '--verify', `${m.placement}:${BUNDLE_NOTE_FILE}`]);
  if (blob.code !== 0) return;
  const r = await git(gitdir, ['notes', `--ref=${NOTES_REF}`, 'add', '-f', '-C', blob.stdout.trim(), m.main], undefined, ROOT_AUTHOR);
  if (r.code !== 0) throw new Error(`writing the note of ${m.main.slice(0, 12)}: ${gitSays(r)}`);
}
