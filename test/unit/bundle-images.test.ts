// The --images archive at the site: its own manifest.json is read before anything is loaded, and an
// archive that does not hold exactly the image IDs the signed bundle names is refused unloaded
// (no Docker is reached: the refusal comes first).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/git.js';
import { archiveIds, loadImages } from '../../cli/airgap/images.js';

const test = suite('bundle --images archive');
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

/** A tar shaped as docker save writes it (manifest.json only: what is read before loading). */
function archive(configs: string[]): string {
  const dir = tempDir('canopy-images-');
  mkdirSync(path.join(dir, 'x'));
  writeFileSync(path.join(dir, 'x', 'manifest.json'), JSON.stringify(configs.map((Config) => ({ Config, RepoTags: ['app:1'], Layers: [] }))));
  const file = path.join(dir, 'images.tar');
  execFileSync('tar', ['-cf', file, '-C', path.join(dir, 'x'), 'manifest.json']);
  return file;
}

test('the IDs of both layouts (classic <id>.json, OCI blobs/sha256/<id>)', async () => {
  assert.equal([...(await archiveIds(archive([`${A}.json`, `blobs/sha256/${B}`])))].sort(), [`sha256:${A}`, `sha256:${B}`]);
});

test('an archive missing a signed image, or holding one the bundle does not name, is refused before loading', async () => {
  const file = archive([`${A}.json`]);
  await loadImages(file, [{ ref: 'app:1', id: `sha256:${B}` }]).then(
    () => assert.unreachable('accepted'),
    (e: Error) => assert.match(e.message, /does not hold app:1 \(sha256:bbbbbbbbbbbb\).*nothing loaded/),
  );
  await loadImages(archive([`${A}.json`, `${B}.json`]), [{ ref: 'app:1', id: `sha256:${A}` }]).then(
    () => assert.unreachable('accepted'),
    (e: Error) => assert.match(e.message, /holds images the bundle does not name.*nothing loaded/),
  );
});

test('a file that is no docker save archive: refused, naming it', async () => {
  const dir = tempDir('canopy-images-');
  const file = path.join(dir, 'not.tar');
  writeFileSync(file, 'hello');
  await archiveIds(file).then(
    () => assert.unreachable('accepted'),
    (e: Error) => assert.match(e.message, /not\.tar: not a docker save archive/),
  );
});

test.run();
