// Container images for an air-gapped site: `docker save` at the root of the images a placement
// uses that the site is not known to run, `docker load` at the site. `docker load` keeps no
// repository digests, so what is checked is the image ID (the digest of the image's config):
// the export records each reference's ID in the signed manifest; the import reads the archive's
// own manifest.json before loading anything (an archive whose configs are not the signed IDs is
// refused unloaded) and inspects each reference after loading.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Placement } from '../../schemas/messages.js';
import { Failure } from '../args.js';
import { runTool, type GitRun } from './git-bundle.js';

const run = (cmd: string, args: string[]) =>
  runTool(cmd, args).catch((e: Error) => {
    throw new Failure(e.message);
  });

const says = (r: GitRun) => (r.stderr || r.stdout).trim().split('\n').slice(-2).join('; ');

/** The container images a placement's services use (those with replicas there), sorted. */
export function placementImages(p: Placement): string[] {
  const out = new Set<string>();
  for (const a of Object.values(p.services)) if (a.replicas > 0 && a.spec.runtime === 'container' && a.spec.image) out.add(a.spec.image);
  return [...out].sort();
}

export interface LocalImage {
  ref: string;
  id: string;
  digests: string[];
}

/** Each reference's image ID and repository digests in the local Docker Engine; refuses one it lacks. */
export async function inspectImages(refs: readonly string[]): Promise<LocalImage[]> {
  if (!refs.length) return [];
  const r = await run('docker', ['image', 'inspect', '--format', '{{json .Id}} {{json .RepoDigests}}', ...refs]);
  const lines = r.stdout.trim().split('\n').filter(Boolean);
  if (r.code !== 0 || lines.length !== refs.length) {
    throw new Failure(
      `docker image inspect: ${says(r)}; --images needs every image the placement uses in this machine's Docker (docker pull or build them first)`,
    );
  }
  return lines.map((l, i) => {
    const [id, digests] = l.split(' ');
    return { ref: refs[i]!, id: JSON.parse(id!) as string, digests: (JSON.parse(digests!) as string[] | null) ?? [] };
  });
}

/** A docker save archive of `refs`; with none, an archive holding an empty manifest (so the site's import finds a file). */
export async function saveImages(file: string, refs: readonly string[]): Promise<void> {
  if (!refs.length) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'canopy-images-'));
    try {
      await writeFile(path.join(dir, 'manifest.json'), '[]\n');
      const t = await run('tar', ['-cf', path.resolve(file), '-C', dir, 'manifest.json']);
      if (t.code !== 0) throw new Failure(`writing ${file}: ${says(t)}`);
      return;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const r = await run('docker', ['save', '-o', file, ...refs]);
  if (r.code !== 0) throw new Failure(`docker save: ${says(r)}`);
}

/** The image IDs a `docker save` archive holds (its manifest.json's configs), read without loading it. */
export async function archiveIds(file: string): Promise<Set<string>> {
  const r = await run('tar', ['-xOf', file, 'manifest.json']);
  if (r.code !== 0) throw new Failure(`--images ${file}: not a docker save archive (${says(r)})`);
  let entries: Array<{ Config?: string }>;
  try {
    entries = JSON.parse(r.stdout);
  } catch {
    throw new Failure(`--images ${file}: its manifest.json is not JSON`);
  }
  const ids = new Set<string>();
  // Config is "<hex>.json" (classic) or "blobs/sha256/<hex>" (OCI layout, Docker 25+).
  for (const e of Array.isArray(entries) ? entries : []) {
    const m = /([0-9a-f]{64})(\.json)?$/.exec(e.Config ?? '');
    if (m) ids.add(`sha256:${m[1]}`);
  }
  return ids;
}

/** Load the archive after checking it holds exactly the signed IDs; then check each reference's ID. */
export async function loadImages(file: string, want: ReadonlyArray<{ ref: string; id: string }>): Promise<void> {
  const ids = await archiveIds(file);
  const missing = want.filter((w) => !ids.has(w.id));
  if (missing.length)
    throw new Failure(
      `--images ${file}: it does not hold ${missing.map((m) => `${m.ref} (${m.id.slice(0, 19)})`).join(', ')}, which the bundle names; nothing loaded`,
    );
  const extra = [...ids].filter((id) => !want.some((w) => w.id === id));
  if (extra.length)
    throw new Failure(`--images ${file}: it holds images the bundle does not name (${extra.map((i) => i.slice(0, 19)).join(', ')}); nothing loaded`);
  if (!want.length) return;
  const r = await run('docker', ['load', '-q', '-i', file]);
  if (r.code !== 0) throw new Failure(`docker load: ${says(r)}`);
  const got = await inspectImages(want.map((w) => w.ref));
  const wrong = got.filter((g, i) => g.id !== want[i]!.id);
  if (wrong.length) throw new Failure(`after docker load, ${wrong.map((w) => `${w.ref} is ${w.id.slice(0, 19)}`).join(', ')}, not the ID the bundle names`);
}
