// The built `canopy` command as shipped (scripts/bundle-cli.mjs, cli/load-command.ts): each
// command's bundle holds only what that command needs (no Git client, MQTT or Docker code on the
// read paths), the code cache is written on the first run, used on the next, and never needed:
// damaged, turned off or unwritable, the command runs the same. Stack traces map to .ts files.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { CLI, ROOT } from '../helpers/canopy.js';
import { tempDir } from '../helpers/git.js';

const test = suite('the canopy command as built');
const BUNDLES = path.join(path.dirname(CLI), 'bundle');

/** The npm packages a bundle was built from (its source map lists every input). */
function packagesIn(command: string): Set<string> {
  const map = JSON.parse(readFileSync(path.join(BUNDLES, `${command}.cjs.map`), 'utf8')) as { sources: string[] };
  return new Set(map.sources.flatMap((s) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(s)?.[1] ?? []));
}

function run(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('one bundle per command; the read paths carry no Git client, MQTT or Docker code', () => {
  const commands = readdirSync(path.join(ROOT, 'cli/commands'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3));
  for (const c of commands) assert.ok(existsSync(path.join(BUNDLES, `${c}.cjs`)), c);
  for (const c of ['status', 'validate', 'wait', 'plan', 'history']) {
    const pkgs = packagesIn(c);
    for (const heavy of ['isomorphic-git', 'pako', 'mqtt', 'aedes', 'dockerode', 'chokidar']) assert.not.ok(pkgs.has(heavy), `${c} bundles ${heavy}`);
    const text = readFileSync(path.join(BUNDLES, `${c}.cjs`), 'utf8');
    // Loaded only on a path that needs it (`status --watch` watches refs): an import() inside a function, never at load.
    const loaded = (heavy: string) => text.replaceAll(`Promise.resolve().then(()=>__toESM(require("${heavy}"),1))`, '').includes(`require("${heavy}")`);
    for (const heavy of ['mqtt', 'aedes', 'dockerode', 'chokidar']) assert.not.ok(loaded(heavy), `${c} requires ${heavy}`);
  }
  assert.ok(packagesIn('validate').has('yaml'));
  // Where a Git client is needed (a new repository's index, a remote), it is there.
  assert.ok(packagesIn('init').has('isomorphic-git'));
  assert.ok(packagesIn('root').has('isomorphic-git'));
});

test('the code cache: written on the first run, used on the next, harmless when damaged, off or unwritable', () => {
  const work = tempDir('canopy-compile-cache-');
  const fleet = path.join(work, 'fleet');
  cpSync(path.join(ROOT, 'fleet-repo-template'), fleet, { recursive: true });
  const cache = path.join(work, 'cache');
  const env = { XDG_CACHE_HOME: cache };
  const dir = path.join(cache, 'canopy', 'compile');
  const first = run(['validate', fleet], env);
  assert.is(first.code, 0, first.stderr);
  const files = readdirSync(dir).filter((f) => f.startsWith('validate-'));
  assert.is(files.length, 1, readdirSync(dir).join(' '));
  const cached = path.join(dir, files[0]);
  const bytes = readFileSync(cached);
  assert.ok(bytes.length > 10_000);
  const second = run(['validate', fleet], env);
  assert.equal(second, first);
  assert.ok(readFileSync(cached).equals(bytes), 'a cache that V8 took is not written again');
  // Damaged: V8 rejects it, the command runs as usual and the cache is written anew.
  writeFileSync(cached, Buffer.alloc(bytes.length, 7));
  assert.equal(run(['validate', fleet], env), first);
  assert.not.ok(readFileSync(cached).equals(Buffer.alloc(bytes.length, 7)));
  // Off: nothing is read or written.
  const off = path.join(work, 'off');
  assert.equal(run(['validate', fleet], { XDG_CACHE_HOME: off, CANOPY_COMPILE_CACHE: 'off' }), first);
  assert.not.ok(existsSync(off));
  // Unwritable (a read-only home): the command runs the same. (root ignores modes: a file where the directory should be.)
  const blocked = path.join(work, 'blocked');
  writeFileSync(blocked, 'not a directory');
  chmodSync(blocked, 0o444);
  assert.equal(run(['validate', fleet], { XDG_CACHE_HOME: blocked }), first);
  // No home and a relative XDG_CACHE_HOME: no cache, and none beside wherever the command ran.
  const here = tempDir('canopy-cwd-');
  assert.equal(run(['validate', fleet], { HOME: '', XDG_CACHE_HOME: 'rel' }, here), first);
  assert.equal(readdirSync(here), []);
  // A problem is reported the same with and without the cache.
  writeFileSync(path.join(fleet, 'services/shop/web.yaml'), 'apiVersion: canopy/v1\nkind: Service\nmetadata: {name: web, app: shop}\nspec: {replicas: -1}\n');
  const bad = run(['validate', fleet], env);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /services\/shop\/web\.yaml:4:\d+: .*replicas/);
  assert.equal(run(['validate', fleet], { CANOPY_COMPILE_CACHE: 'off' }), bad);
});

test('usage errors, help and exit codes come through the bundles as before', () => {
  const unknown = run(['nope']);
  assert.is(unknown.code, 64);
  assert.match(unknown.stderr, /unknown command "nope"/);
  const help = run(['status', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /Usage: canopy status/);
  const badOpt = run(['status', '--nope']);
  assert.is(badOpt.code, 64);
  assert.match(badOpt.stderr, /canopy status: Unknown option '--nope'/);
  const missing = run(['wait']);
  assert.is(missing.code, 64);
  assert.match(missing.stderr, /missing --rev/);
});

test('CANOPY_LOG=debug: stack traces name the TypeScript sources', () => {
  const r = run(['status', '--repo', path.join(tempDir('canopy-norepo-'), 'none')], { CANOPY_LOG: 'debug' });
  assert.is(r.code, 1);
  assert.match(r.stderr, /is not a Git repository/);
  assert.match(r.stderr, /reconciler\/git\/repo\.ts:\d+:\d+/);
  assert.match(r.stderr, /cli\/commands\/status\.ts:\d+:\d+/);
});

test.run();
