// Helpers the commands share: create a fleet repo from the template; read fleet.yaml at a commit.
import { cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { templateDir, schemasDir } from './paths.js';
import { openRepo, readFileAt, resolveRef, type Repo } from '../reconciler/git/repo.js';
import type { FleetDescriptor } from '../schemas/model.js';

export async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** Write the template into `dir` (absent or empty), with the schemas, and commit it on main. */
export async function initFleetRepo(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await cp(templateDir, dir, { recursive: true });
  await mkdir(path.join(dir, 'schemas'), { recursive: true });
  for (const f of await readdir(schemasDir)) {
    if (f.endsWith('.schema.json')) await writeFile(path.join(dir, 'schemas', f), await readFile(path.join(schemasDir, f)));
  }
  // A work tree with an index, as `git init && git add && git commit` leaves it: isomorphic-git,
  // loaded here only (nothing else canopy does writes an index).
  const [{ default: git }, { default: fs }] = await Promise.all([import('isomorphic-git'), import('node:fs')]);
  await git.init({ fs, dir, defaultBranch: 'main' });
  const files = await listWorkTree(dir);
  for (const f of files) await git.add({ fs, dir, filepath: f });
  const author = { name: process.env.GIT_AUTHOR_NAME || 'canopy init', email: process.env.GIT_AUTHOR_EMAIL || 'init@canopy.invalid' };
  return git.commit({ fs, dir, message: 'Fleet repository from the canopy template', author });
}

export async function listWorkTree(dir: string, sub = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, sub), { withFileTypes: true })) {
    if (e.name === '.git') continue;
    const rel = sub ? `${sub}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listWorkTree(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

export async function isRepo(dir: string): Promise<boolean> {
  return !!(await stat(path.join(dir, '.git')).catch(() => undefined)) || !!(await stat(path.join(dir, 'HEAD')).catch(() => undefined));
}

/** fleet.yaml as committed on main (parsed loosely: the root validates it properly). */
export async function fleetAtMain(repo: Repo, branch = 'main'): Promise<{ commit: string; fleet: FleetDescriptor }> {
  const commit = await resolveRef(repo, `refs/heads/${branch}`);
  if (!commit) throw new Error(`${repo.dir} has no commits on ${branch}: commit a fleet.yaml first (canopy init creates one)`);
  const text = await readFileAt(repo, commit, 'fleet.yaml');
  if (!text) throw new Error(`${repo.dir}: fleet.yaml is missing on ${branch}`);
  let fleet: FleetDescriptor;
  try {
    fleet = parseYaml(text) as FleetDescriptor;
  } catch (e) {
    throw new Error(`fleet.yaml on ${branch}: ${(e as Error).message}`);
  }
  if (!fleet?.metadata?.name || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(fleet.metadata.name))
    throw new Error(`fleet.yaml on ${branch}: metadata.name must be a lower-case DNS label`);
  return { commit, fleet };
}

export { openRepo };
