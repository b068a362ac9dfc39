// canopy as a user installs it: the tarball `npm pack` makes, installed into an empty folder
// with no dev dependencies (their runtime dependencies come from the npm cache, else the
// registry), runs `npx canopy --help`, validates the template and creates an identity and a
// broker configuration; every module its bundles require at run time is installed; and the
// systemd units it ships pass `systemd-analyze verify` against that installed command.
//
// The tarball is packed with --ignore-scripts from the build this run already made (test/run.mjs
// runs after `npm run build`): `prepack` would rebuild dist/ under the other test files.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { builtinModules } from 'node:module';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/canopy.js';
import { tempDir } from '../helpers/git.js';

const test = suite('npm package');
const NAME = '@canopy-edge/canopy';
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...opts });
  if (r.error) throw new Error(`${cmd} could not run (${r.error.message}): it is needed to test the package`);
  return { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

const work = tempDir('canopy-package-');
const project = path.join(work, 'project');
const installed = path.join(project, 'node_modules', ...NAME.split('/'));
const bin = path.join(project, 'node_modules', '.bin', 'canopy');
let tarball = '';
let packed: { size: number; unpackedSize: number; files: Array<{ path: string }> };

test('npm pack makes a tarball of the built command, its schemas, template and units, without tests or maps', () => {
  assert.is(manifest.name, NAME);
  assert.equal(manifest.bin, { canopy: 'dist/cli/canopy.js' });
  assert.match(manifest.scripts.prepack, /npm run build/, 'a tarball packed from a checkout is built first');
  // The template's pull-request workflow installs this package (the npm name `canopy` is another one).
  const workflow = readFileSync(path.join(ROOT, 'fleet-repo-template/.github/workflows/canopy-plan.yml'), 'utf8');
  assert.is(/CANOPY_PACKAGE: "?([^"\n]+)"?/.exec(workflow)?.[1], NAME);
  const r = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT });
  assert.is(r.code, 0, r.stderr);
  [packed] = JSON.parse(r.stdout) as (typeof packed)[];
  tarball = path.join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  const files = packed.files.map((f) => f.path);
  for (const f of [
    'dist/cli/canopy.js',
    'dist/cli/bundle/agent.cjs',
    'dist/schemas/validators/Service.cjs',
    'schemas/service.schema.json',
    'fleet-repo-template/fleet.yaml',
    'fleet-repo-template/.github/workflows/canopy-plan.yml',
    'scripts/build-test-image.sh',
    'packaging/systemd/canopy-agent@.service',
    'packaging/systemd/agent.env.example',
  ])
    assert.ok(files.includes(f), `${f} is in the tarball`);
  const extra = files.filter((f) => /^(dist\/)?(test|bench)\/|\.map$|\.ts$/.test(f) && !f.endsWith('.d.ts'));
  assert.equal(extra, [], 'no tests, benchmarks, sources or source maps');
  assert.ok(packed.size < 4_000_000, `the tarball is ${packed.size} bytes`);
  process.stdout.write(`  tarball: ${packed.size} bytes, ${packed.unpackedSize} unpacked, ${files.length} files\n`);
});

test('installed into an empty folder without dev dependencies, npx canopy --help runs', () => {
  cpSync(path.join(ROOT, 'fleet-repo-template'), path.join(work, 'fleet'), { recursive: true });
  mkdirSync(project);
  const i = run('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: project });
  assert.is(i.code, 0, i.stderr);
  // The build and test tools stay out (@types/node comes in under mqtt, which lists it itself).
  for (const dev of Object.keys(manifest.devDependencies).filter((d) => !d.startsWith('@types/')))
    assert.not.ok(existsSync(path.join(project, 'node_modules', dev)), `${dev} was installed`);
  const help = run('npx', ['canopy', '--help'], { cwd: project });
  assert.is(help.code, 0, help.stderr);
  assert.match(help.stdout, /^canopy: GitOps for federated edge fleets/);
  for (const c of ['up', 'root', 'cluster', 'agent', 'broker-config']) assert.match(help.stdout, new RegExp(`\\n  ${c} `));
  const agentHelp = run(bin, ['agent', '--help']);
  assert.is(agentHelp.code, 0, agentHelp.stderr);
  assert.match(agentHelp.stdout, /--identity FILE/);
});

test('the installed command validates the template, and flags a broken descriptor at file:line', () => {
  const fleet = path.join(work, 'fleet');
  const ok = run(bin, ['validate', fleet], { cwd: work });
  assert.is(ok.code, 0, ok.stdout + ok.stderr);
  writeFileSync(path.join(fleet, 'services/shop/web.yaml'), 'apiVersion: canopy/v1\nkind: Service\nmetadata: {name: web, app: shop}\nspec: {replicas: -1}\n');
  const bad = run(bin, ['validate', fleet], { cwd: work });
  assert.is(bad.code, 1);
  assert.match(bad.stdout + bad.stderr, /services\/shop\/web\.yaml:4:/);
});

test('init, identity and broker-config run from the installed package (template, Git client, keys)', () => {
  const repo = path.join(work, 'repo');
  const init = run(bin, ['init', repo]);
  assert.is(init.code, 0, init.stdout + init.stderr);
  assert.ok(existsSync(path.join(repo, 'fleet.yaml')));
  const ids = path.join(work, 'ids');
  const id = run(bin, ['identity', 'create', '--repo', repo, '--root', '--out', path.join(ids, 'root.json')]);
  assert.is(id.code, 0, id.stdout + id.stderr);
  const conf = run(bin, ['broker-config', '--identities', ids, '--out', path.join(work, 'mosquitto')]);
  assert.is(conf.code, 0, conf.stdout + conf.stderr);
  assert.match(readFileSync(path.join(work, 'mosquitto', 'acl_file'), 'utf8'), /^user /m);
});

test('every module a bundle requires at run time is a dependency and loads from the install', () => {
  const bundles = path.join(installed, 'dist/cli/bundle');
  const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
  /** debug (under aedes) tries it for colours and does without. */
  const optional = new Set(['supports-color']);
  const needed = new Set<string>();
  for (const f of readdirSync(bundles).filter((f) => f.endsWith('.cjs'))) {
    for (const [, m] of readFileSync(path.join(bundles, f), 'utf8').matchAll(/require\("([^"./][^"]*)"\)/g))
      if (!builtins.has(m) && !optional.has(m)) needed.add(m);
  }
  assert.ok(needed.has('mqtt'), [...needed].join(' '));
  for (const m of needed) assert.ok(Object.hasOwn(manifest.dependencies, m), `${m} is required at run time but not a dependency`);
  const script = `const r = require('node:module').createRequire(${JSON.stringify(path.join(bundles, 'root.cjs'))}); for (const m of ${JSON.stringify([...needed])}) r(m);`;
  const load = run(process.execPath, ['-e', script], { cwd: project });
  assert.is(load.code, 0, load.stderr);
});

test('the shipped systemd units pass systemd-analyze verify against the installed command', () => {
  const units = path.join(installed, 'packaging/systemd');
  const out = path.join(work, 'units');
  mkdirSync(out);
  const files = readdirSync(units).filter((f) => f.endsWith('.service'));
  assert.equal(files.sort(), ['canopy-agent@.service', 'canopy-cluster@.service', 'canopy-root.service']);
  // As installed: `canopy` is found in systemd's search path (/usr/local/bin after npm install -g);
  // here the command is the one this test installed.
  for (const f of files) {
    const text = readFileSync(path.join(units, f), 'utf8');
    assert.match(text, /^ExecStart=canopy /m, f);
    writeFileSync(path.join(out, f), text.replace(/^ExecStart=canopy /m, `ExecStart=${bin} `));
  }
  const v = run('systemd-analyze', ['verify', ...files.map((f) => path.join(out, f))]);
  assert.is(v.code, 0, v.stdout + v.stderr);
  assert.is((v.stdout + v.stderr).trim(), '', 'no warning either');
  // It can fail: an unknown key and a missing command are reported.
  writeFileSync(path.join(out, 'bad.service'), '[Service]\nExecStart=/nonexistent/canopy root\nRestartt=always\n');
  const bad = run('systemd-analyze', ['verify', path.join(out, 'bad.service')]);
  assert.is.not(bad.code, 0);
  assert.match(bad.stderr, /Restartt/);
});

test.run();
