// Opening age files with node:crypto alone (reconciler/core/age-open.ts), against files the real
// `age` CLI and the age-encryption package write: armored and binary, empty, one byte short of a
// chunk, exactly a chunk, several chunks, several recipients (ours not first, an ssh-ed25519 one
// beside it); and what must be refused: another identity, a header MAC or payload byte changed,
// a chunk cut off, a chunk added, a malformed identity.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { AgeOpenError, ageOpen, identitySecret } from '../../reconciler/core/age-open.js';
import { open, seal } from '../../reconciler/core/secrets.js';
import { tempDir } from '../helpers/cleanup.js';

const test = suite('age files opened with node:crypto');
const dir = tempDir('canopy-age-open-');

function have(cmd: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${cmd} is not installed: run scripts/setup.sh (Debian's age and openssh-client)`);
  }
}
have('age');
have('ssh-keygen');

async function pair(): Promise<{ id: string; to: string }> {
  const id = await generateX25519Identity();
  return { id, to: await identityToRecipient(id) };
}

/** `plain` sealed by the age CLI to `recipients` (armored or binary). */
function ageCli(plain: Buffer, recipients: string[], armor: boolean): Buffer {
  const args = [...(armor ? ['-a'] : []), ...recipients.flatMap((r) => (r.startsWith('ssh-') ? ['-R', sshFile(r)] : ['-r', r]))];
  return execFileSync('age', args, { input: plain, maxBuffer: 16 << 20 });
}
function sshFile(key: string): string {
  const f = path.join(dir, `ssh-${Math.random().toString(36).slice(2)}.pub`);
  writeFileSync(f, `${key}\n`);
  return f;
}
function sshKey(): string {
  const f = path.join(dir, `id-${Math.random().toString(36).slice(2)}`);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f]);
  return readFileSync(`${f}.pub`, 'utf8').trim();
}
const refused = (f: () => unknown, why: AgeOpenError['why']) => assert.throws(f, (e: unknown) => e instanceof AgeOpenError && e.why === why);

test('files of the age CLI, of every size around a chunk, armored and binary', async () => {
  const me = await pair();
  for (const size of [0, 1, 65_535, 65_536, 65_537, 200_000]) {
    const plain = randomBytes(size);
    for (const armor of [true, false]) {
      const sealed = ageCli(plain, [me.to], armor);
      const opened = ageOpen(armor ? sealed.toString('utf8') : sealed, me.id);
      assert.ok(opened.equals(plain), `${size} bytes, ${armor ? 'armored' : 'binary'}`);
    }
  }
});

test('several recipients, ours last, beside an ssh-ed25519 one; and what the package seals', async () => {
  const me = await pair(),
    other = await pair();
  const sealed = ageCli(Buffer.from('{"password":"x"}'), [sshKey(), other.to, me.to], true).toString('utf8');
  assert.is(ageOpen(sealed, me.id).toString(), '{"password":"x"}');
  assert.is(ageOpen(sealed, other.id).toString(), '{"password":"x"}');
  const byPackage = await seal('{"k":"v"}', [other.to, me.to]);
  assert.is(await open(byPackage, me.id), '{"k":"v"}');
});

test('another identity: not sealed to it', async () => {
  const me = await pair(),
    other = await pair();
  const sealed = ageCli(Buffer.from('secret'), [other.to], false);
  refused(() => ageOpen(sealed, me.id), 'no-identity-matched');
  try {
    await open(sealed, me.id);
    assert.unreachable('opened');
  } catch (e) {
    assert.is((e as Error).message, 'cannot open it with this age identity (not sealed to it)');
  }
});

test('a changed header, MAC or payload byte, a chunk cut off or added: not a valid age file', async () => {
  const me = await pair();
  const plain = randomBytes(150_000);
  const sealed = ageCli(plain, [me.to], false);
  const headerEnd = sealed.indexOf('\n---') + 1;
  const macAt = headerEnd + 4;
  const flip = (at: number) => {
    const b = Buffer.from(sealed);
    b[at] = b[at]! ^ 1;
    return b;
  };
  refused(() => ageOpen(flip(macAt + 2), me.id), 'invalid'); // the MAC
  refused(() => ageOpen(flip(sealed.length - 5), me.id), 'invalid'); // the last chunk
  refused(() => ageOpen(flip(sealed.indexOf('\n', macAt) + 20), me.id), 'invalid'); // the nonce or first chunk
  refused(() => ageOpen(sealed.subarray(0, sealed.length - 1000), me.id), 'invalid'); // cut inside the last chunk
  const fullChunk = 16 + 65_536 + 16;
  const afterMac = sealed.indexOf('\n', macAt) + 1;
  refused(() => ageOpen(sealed.subarray(0, afterMac + fullChunk), me.id), 'invalid'); // a whole chunk is not the last one
  refused(() => ageOpen(Buffer.concat([sealed, randomBytes(40)]), me.id), 'invalid');
  // The header's version line changed: the MAC covers it, and it is not age.
  refused(() => ageOpen(Buffer.from(sealed.toString('latin1').replace('age-encryption.org/v1', 'age-encryption.org/v2'), 'latin1'), me.id), 'invalid');
  refused(() => ageOpen('-----BEGIN AGE ENCRYPTED FILE-----\nnot base64!\n-----END AGE ENCRYPTED FILE-----\n', me.id), 'invalid');
  refused(() => ageOpen('hello', me.id), 'invalid');
});

test('identities: the Bech32 form age-keygen writes; a changed character is refused', async () => {
  const keyFile = path.join(dir, 'key.txt');
  execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
  const id = readFileSync(keyFile, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
  const to = execFileSync('age-keygen', ['-y', keyFile], { encoding: 'utf8' }).trim();
  assert.is(identitySecret(id).length, 32);
  assert.is(ageOpen(ageCli(Buffer.from('ok'), [to], true).toString(), id).toString(), 'ok');
  const last = id.at(-1) === 'Q' ? 'P' : 'Q';
  assert.throws(() => identitySecret(id.slice(0, -1) + last), /checksum does not match/);
  assert.throws(() => identitySecret('AGE-PLUGIN-X-1QQQ'), /not an age identity/);
});

test.run();
