// Bundles the `canopy` command (run by `npm run build`, after tsc). A command then loads three
// files (the entry, its bundle, and its cached compiled code) instead of some hundred modules
// (yaml alone is 72 CommonJS files, each read, lexed for its exports and wrapped on every start):
//
// - dist/cli/canopy.js, the bin: an ES module that knows the commands' names and summaries
//   (--help) and loads the one asked for with cli/load-command.ts.
// - dist/cli/bundle/<name>.cjs, one per command: the command, cli/run-command.ts and exactly the
//   code they import, in CommonJS, because V8 keeps compiled code only for scripts: the loader
//   compiles it with vm.Script and a code cache (see load-command.ts). Each bundle stands alone
//   (a process runs one command, so shared code is repeated across bundles, never loaded twice).
// - Clients that only long-running parts use (MQTT, Docker, file watching) stay external:
//   required from node_modules (each has a CommonJS build), on the paths that need them. The
//   embedded broker (aedes) is bundled: it is ES modules only, and Node 20 before 20.19 cannot
//   require() those.
// - Every module keeps its own import.meta.url: the URL of its tsc output under dist/ (the
//   schemas and validators it reads beside it, the template under the package root), so the
//   bundles find the same files as the unbundled tree (which npm run build writes first).
// - dist/ui/: the web dashboard's page (ui/index.html, ui/style.css) and its client
//   (ui/client/app.ts with d3-geo, topojson-client and world-atlas's map, bundled for browsers:
//   app.js), which reconciler/report/ui-server.ts serves.
// - Source maps (*.map) point to the TypeScript sources: CANOPY_LOG=debug (or node
//   --enable-source-maps) gives stack traces in .ts files, in a checkout (the npm package leaves
//   the maps out: package.json `files`).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cliOut = path.join(root, 'dist/cli');
const bundleOut = path.join(cliOut, 'bundle');

/** Required from node_modules at run time: used only by the long-running parts (dockerode pulls native code). */
const EXTERNAL = ['mqtt', 'dockerode', 'chokidar'];

const commands = readdirSync(path.join(root, 'cli/commands'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort();

/** Where the tsc output of a source file lies (cli/paths.ts → dist/cli/paths.js). */
const compiled = (file) => path.join(root, 'dist', path.relative(root, file).replace(/\.ts$/, '.js'));
const ownFile = (file) => !path.relative(root, file).startsWith('..') && !file.includes(`${path.sep}node_modules${path.sep}`);

/** Each command's entry: the command and its runner. */
const commandEntries = {
  name: 'command-entries',
  setup(b) {
    b.onResolve({ filter: /^canopy-command:/ }, (args) => ({ path: args.path.slice('canopy-command:'.length), namespace: 'canopy-command' }));
    b.onLoad({ filter: /.*/, namespace: 'canopy-command' }, (args) => ({
      resolveDir: root,
      loader: 'ts',
      contents: `import cmd from './cli/commands/${args.path}.ts';\nimport { runCommand } from './cli/run-command.ts';\nexport default (argv: string[]) => runCommand(cmd, argv);\n`,
    }));
  },
};

/** Defined at the top of each bundle, where `require` is Node's (a module may have its own). */
const MODULE_URL = '__canopyModuleUrl';
const moduleUrlHelper = `const ${MODULE_URL} = (rel) => require('node:url').pathToFileURL(require('node:path').join(__dirname, rel)).href;`;

/** import.meta.url of each module → the URL of its tsc output, from a bundle in dist/cli/bundle/. */
const keepModuleUrl = {
  name: 'keep-module-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!ownFile(args.path)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const rel = path.relative(bundleOut, compiled(args.path)).split(path.sep).join('/');
      return { contents: text.replaceAll('import.meta.url', `${MODULE_URL}(${JSON.stringify(rel)})`), loader: 'ts' };
    });
  },
};

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  minifySyntax: true,
  minifyWhitespace: true,
  logLevel: 'warning',
};

rmSync(bundleOut, { recursive: true, force: true });
rmSync(path.join(cliOut, 'chunks'), { recursive: true, force: true }); // an earlier layout's

await build({
  ...common,
  entryPoints: Object.fromEntries(commands.map((c) => [c, `canopy-command:${c}`])),
  outdir: bundleOut,
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  external: EXTERNAL,
  // import() of what stays external becomes require(), which a vm.Script can call.
  supported: { 'dynamic-import': false },
  banner: { js: moduleUrlHelper },
  plugins: [commandEntries, keepModuleUrl],
});

// The entry: its own import.meta.url is where its tsc output lies too, so nothing to rewrite.
await build({
  ...common,
  entryPoints: { canopy: 'cli/canopy.ts' },
  outdir: cliOut,
  format: 'esm',
});

// The dashboard's page and client (served by reconciler/report/ui-server.ts from dist/ui/).
const uiOut = path.join(root, 'dist/ui');
rmSync(uiOut, { recursive: true, force: true });
mkdirSync(uiOut, { recursive: true });
await build({
  absWorkingDir: root,
  entryPoints: { app: 'ui/client/app.ts' },
  outdir: uiOut,
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  logLevel: 'warning',
});
for (const f of ['index.html', 'style.css']) copyFileSync(path.join(root, 'ui', f), path.join(uiOut, f));
