// Loads a command's bundle (dist/cli/bundle/<name>.cjs, one self-contained CommonJS file per
// command, built by scripts/bundle-cli.mjs) with V8's code cache: the first run of a build keeps
// the compiled code in ~/.cache/canopy/compile (or $XDG_CACHE_HOME/canopy/compile), and later
// runs skip parsing and compiling it, about a third of a short command's time. Node 20 has no
// compile cache of its own for modules (module.enableCompileCache came in 22.1), and V8 takes
// cached code only for scripts, hence CommonJS bundles compiled with vm.Script.
//
// Only a cache: keyed by the bundle's content, the Node version and the architecture, written
// atomically, and checked by V8 (which rejects data made by another V8 or other flags); when
// it cannot be read or written the command just compiles as usual. CANOPY_COMPILE_CACHE=off
// turns it off.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

export type CommandMain = (argv: string[]) => Promise<number>;

function cacheDir(): string | undefined {
  if (process.env.CANOPY_COMPILE_CACHE === 'off') return undefined;
  const xdg = process.env.XDG_CACHE_HOME;
  // XDG asks for an absolute path; without one, the home directory; without that, no cache
  // (never one relative to wherever the command runs).
  let base: string;
  try {
    base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  } catch {
    return undefined;
  }
  return path.isAbsolute(base) ? path.join(base, 'canopy', 'compile') : undefined;
}

/** The command's main function from its bundle (dist/cli/bundle/<name>.cjs beside this file's bundle). */
export function loadCommand(name: string, bundleDir = fileURLToPath(new URL('./bundle/', import.meta.url))): CommandMain {
  const file = path.join(bundleDir, `${name}.cjs`);
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`the bundle of canopy ${name} (${file}) is missing: run npm run build (${(e as Error).message})`);
  }
  // With source maps on (CANOPY_LOG=debug, node --enable-source-maps), Node's own loader, which
  // maps stack traces to the .ts sources (it does not for vm.Script): slower, and only then.
  if (process.sourceMapsEnabled) return exported(createRequire(import.meta.url)(file), file);
  const dir = cacheDir();
  const key = createHash('sha256').update(source).update(`\0${process.version}\0${process.arch}`).digest('hex').slice(0, 24);
  const cacheFile = dir && path.join(dir, `${name}-${key}.v8`);
  let cachedData: Buffer | undefined;
  try {
    if (cacheFile) cachedData = readFileSync(cacheFile);
  } catch {
    /* not cached yet */
  }
  const script = new Script(Module.wrap(source), { filename: file, cachedData });
  const wrapper = script.runInThisContext() as (exports: object, require: NodeRequire, module: object, filename: string, dirname: string) => void;
  const module = { exports: {} as { default?: CommandMain } };
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  if (cacheFile && (!cachedData || script.cachedDataRejected)) {
    // At exit, so the cache holds the functions this run compiled, not only the top level.
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        mkdirSync(path.dirname(cacheFile), { recursive: true });
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
        prune(path.dirname(cacheFile), name);
      } catch {
        // A read-only or full disk: no cache, and the next run compiles as this one did.
        try {
          rmSync(tmp, { force: true });
        } catch {
          /* nothing written */
        }
      }
    });
  }
  return exported(module.exports, file);
}

/** Caches of other builds of this command: the newest few are kept (several checkouts may share a home). */
const KEEP = 8;

function prune(dir: string, name: string): void {
  const mine = readdirSync(dir)
    .filter((f) => f.startsWith(`${name}-`) && f.endsWith('.v8'))
    .map((f) => ({ f, at: statSync(path.join(dir, f)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  for (const { f } of mine.slice(KEEP)) rmSync(path.join(dir, f), { force: true });
}

function exported(exports: { default?: CommandMain }, file: string): CommandMain {
  const main = exports.default;
  if (typeof main !== 'function') throw new Error(`${file} does not export a command: run npm run build`);
  return main;
}
