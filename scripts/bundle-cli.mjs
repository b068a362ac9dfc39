// Bundles the `canopy` command (run by `npm run build`, after tsc): dist/cli/canopy.js becomes
// one small entry file, and each command a chunk under dist/cli/chunks/ holding the code that
// command needs, so `canopy status` loads a handful of files instead of some hundred modules
// (yaml alone is 72 CommonJS files, each read, lexed for its exports and wrapped on every start).
//
// - Commands stay lazy: cli/canopy.ts imports each command with import(), so each is a chunk of
//   its own and shares chunks with the others only for code both use.
// - Servers and clients that only long-running parts use (MQTT, the broker, Docker, file
//   watching) stay external: loaded from node_modules as before, on the paths that need them.
// - Every module keeps its own import.meta.url: where its tsc output lies under dist/ (the
//   schemas and validators it reads beside it, the template under the package root), so the
//   bundle finds the same files as the unbundled tree. The tsc output must therefore be built
//   first, and it is (npm run build).
// - Source maps (dist/cli/**/*.js.map) point to the TypeScript sources: run with
//   `node --enable-source-maps` (CANOPY_LOG=debug turns them on) for stack traces in .ts files.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist/cli');
const chunksDir = 'chunks';

/** Loaded from node_modules at run time: used only by the long-running parts (and native bits). */
const EXTERNAL = ['mqtt', 'aedes', 'dockerode', 'chokidar'];

/** Where the tsc output of a source file lies (cli/paths.ts → dist/cli/paths.js). */
const compiled = (file) => path.join(root, 'dist', path.relative(root, file).replace(/\.ts$/, '.js'));

const ownFile = (file) => !path.relative(root, file).startsWith('..') && !file.includes(`${path.sep}node_modules${path.sep}`);

/** Sources whose import.meta.url was rewritten: each must land in a chunk (checked after the build). */
const rewritten = new Set();

const keepModuleUrl = {
  name: 'keep-module-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!ownFile(args.path)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      rewritten.add(path.relative(root, args.path));
      // Relative to a chunk in dist/cli/chunks/: the URL the module has when run unbundled.
      const rel = path.relative(path.join(outdir, chunksDir), compiled(args.path)).split(path.sep).join('/');
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`), loader: 'ts' };
    });
  },
};

rmSync(path.join(outdir, chunksDir), { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { canopy: 'cli/canopy.ts' },
  outdir,
  chunkNames: `${chunksDir}/[name]-[hash]`,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  sourcemap: true,
  minifySyntax: true,
  minifyWhitespace: true,
  metafile: true,
  logLevel: 'warning',
  // CommonJS packages bundled into ES modules call require() for Node's built-ins.
  banner: { js: "import { createRequire as __canopyCreateRequire } from 'node:module'; const require = __canopyCreateRequire(import.meta.url);" },
  plugins: [keepModuleUrl],
});

// A rewritten module that landed in the entry file (dist/cli/, not chunks/) would resolve its
// files one directory off: refuse to ship that.
for (const [out, meta] of Object.entries(result.metafile.outputs)) {
  if (path.dirname(path.resolve(root, out)) === path.join(outdir, chunksDir)) continue;
  const wrong = Object.keys(meta.inputs).filter((i) => rewritten.has(i));
  if (wrong.length) throw new Error(`bundle: ${wrong.join(', ')} landed in ${out}, not in ${chunksDir}/: import it lazily from cli/canopy.ts`);
}
