import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { command, flag, text, usageError } from '../args.js';
import { createIdentity, loadIdentity, writeIdentity } from '../../reconciler/core/identity-file.js';
import type { IdentityRole } from '../../reconciler/core/identity.js';
import { declarationFile, declaredKeys, declareKey, fleetName, newClusterFile, sealsSecrets } from '../../reconciler/core/declare-keys.js';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const cmd = command({
  name: 'identity',
  summary: 'create a part’s identity: broker credential, signing key, age key',
  usage: [
    'Usage: canopy identity create --repo DIR (--root | --cluster C | --node C/N | --operator NAME) --out FILE',
    '',
    'Writes FILE (mode 0600, a secret: never commit it) with the part’s MQTT user and password, its',
    'Ed25519 signing key pair, an age X25519 key pair (age1… / AGE-SECRET-KEY-1…) and the keys it must',
    'trust; prints its public key; and declares the public key in the repository (fleet.yaml for the',
    'root and operators, clusters/C.yaml for a cluster and its nodes, with their age recipient, which',
    'canopy secret set seals secrets to), leaving the change to commit.',
    'Create the root first, then clusters, then nodes. Run it again for a part to rotate its key:',
    'the new key is added beside the old one; remove the old one once the part runs with the new file.',
    '',
    '  --repo DIR        the fleet repository (its working tree)',
    '  --root            the root reconciler',
    '  --cluster C       cluster C',
    '  --node C/N        node N of cluster C',
    '  --operator NAME   a person or tool: may read status, never publish desired state',
    '  --out FILE        where to write the identity',
    '  --keep-credential FILE  a rotation: keep the broker user and password of this older identity,',
    '                    and its key, to sign for peers that have not learned the new one yet',
    '  --force           overwrite FILE if it exists',
    '',
    'Then: canopy broker-config --identities DIR --out DIR for Mosquitto, and --identity FILE on each part.',
  ].join('\n'),
  options: {
    repo: text({ required: true }),
    root: flag(),
    cluster: text(),
    node: text(),
    operator: text(),
    out: text({ required: true }),
    'keep-credential': text(),
    force: flag(),
  },
  args: { min: 1, max: 1, what: 'the action: create' },
  check(v, pos) {
    const problems: string[] = [];
    if (pos[0] !== 'create') problems.push(`unknown action "${pos[0]}": the action is create`);
    const chosen = [v.root && '--root', v.cluster && '--cluster', v.node && '--node', v.operator && '--operator'].filter(Boolean);
    if (chosen.length !== 1) problems.push(`give exactly one of --root, --cluster C, --node C/N, --operator NAME (got ${chosen.join(', ') || 'none'})`);
    for (const [opt, val] of [
      ['--cluster', v.cluster],
      ['--operator', v.operator],
    ] as const) {
      if (val !== undefined && !LABEL.test(val)) problems.push(`${opt} ${val}: a name is a lower-case DNS label (letters, digits, -)`);
    }
    if (v.node !== undefined && !(v.node.split('/').length === 2 && v.node.split('/').every((p) => LABEL.test(p)))) {
      problems.push(`--node ${v.node}: expected CLUSTER/NODE, both lower-case DNS labels`);
    }
    return problems;
  },
  async run(v) {
    const repo = path.resolve(v.repo);
    if (!existsSync(path.join(repo, 'fleet.yaml'))) throw usageError(this, `--repo ${v.repo}: no fleet.yaml there (canopy init makes a fleet repository)`);
    if (existsSync(v.out) && !v.force) {
      process.stderr.write(`canopy identity: ${v.out} exists; it may be the only copy of a key: choose another --out, or --force\n`);
      return 1;
    }
    const [role, name]: [IdentityRole, string] = v.root
      ? ['root', 'root']
      : v.cluster
        ? ['cluster', v.cluster]
        : v.node
          ? ['node', v.node]
          : ['operator', v.operator!];
    const read = (rel: string) => readFile(path.join(repo, rel), 'utf8').catch(() => undefined);
    const fleetText = (await read('fleet.yaml'))!;
    const fleet = fleetName('fleet.yaml', fleetText);
    const trust = await trustOf(role, name, fleetText, read);
    const keep = v['keep-credential'] ? loadIdentity(v['keep-credential']).identity : undefined;
    if (keep && (keep.role !== role || keep.name !== name)) {
      process.stderr.write(`canopy identity: --keep-credential ${v['keep-credential']} is ${keep.role} ${keep.name}'s, not ${role} ${name}'s\n`);
      return 1;
    }
    // A rotation keeps the old key too: the part signs with it for a peer that was away while
    // the new one was declared, until that peer has learned the new one.
    const previous = keep ? [keep.ed25519, ...(keep.previous ?? [])] : undefined;
    const id = await createIdentity({ fleet, role, name, trust, mqtt: keep?.mqtt, previous });
    const rel = declarationFile(role, name);
    const before = (await read(rel)) ?? (role === 'cluster' || role === 'node' ? newClusterFile(name.split('/')[0]!) : undefined);
    const age = sealsSecrets(role) ? id.age.recipient : undefined;
    const declared = declareKey(rel, before!, role, name, id.mqtt.username, id.ed25519.publicKey, age);
    writeIdentity(v.out, id);
    await mkdir(path.dirname(path.join(repo, rel)), { recursive: true });
    await writeFile(path.join(repo, rel), declared.text);
    process.stdout.write(`${id.ed25519.publicKey}\n`);
    const who = role === 'root' ? 'the root' : `${role} ${name}`;
    process.stderr.write(
      [
        `canopy identity: ${who} of fleet ${fleet}: ${v.out} (keep it secret), user ${id.mqtt.username}`,
        `  declared in ${rel}${declared.keys > 1 ? ` beside ${declared.keys - 1} older key(s): remove those once ${who} runs with the new file` : ''}; commit it:`,
        `  git -C ${v.repo} add ${rel} && git -C ${v.repo} commit -m "Declare ${who}'s key"`,
        '',
      ].join('\n'),
    );
    return 0;
  },
});
export default cmd;

/** The keys the new part trusts when it starts: a cluster the root's, a node its cluster's. */
async function trustOf(role: IdentityRole, name: string, fleetText: string, read: (rel: string) => Promise<string | undefined>) {
  if (role === 'cluster') {
    const root = declaredKeys('fleet.yaml', fleetText, 'root', 'root');
    if (!root.length) throw new Error('fleet.yaml declares no root key yet: create the root’s identity first (canopy identity create --root)');
    return { root };
  }
  if (role === 'node') {
    const c = name.split('/')[0]!;
    const cluster = declaredKeys(`clusters/${c}.yaml`, await read(`clusters/${c}.yaml`), 'cluster', c);
    if (!cluster.length)
      throw new Error(`clusters/${c}.yaml declares no key for cluster ${c} yet: create its identity first (canopy identity create --cluster ${c})`);
    return { cluster };
  }
  return undefined;
}
