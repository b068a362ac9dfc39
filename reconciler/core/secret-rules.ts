// The rules across files for secrets: a service's spec.secrets and fleet.yaml's registries name
// a secret the repository declares (secrets/<name>.yaml) with the keys they use; each declared
// secret has its ciphertext beside it (secrets/<name>.age, armored). Problems at file:line.
import { problemAt, type FleetFile, type ParseResult, type Problem } from './parse-descriptor.js';
import { isArmored, sealedSecretName, secretAge, secretYaml } from './secrets.js';

export { secretAge, secretYaml } from './secrets.js';

/** The problems of one file's references to secret `name` (whose keys are `keys`, undefined when it does not exist). */
export function secretRefProblems(e: { file: FleetFile; result?: ParseResult }, name: string, keys: readonly string[] | undefined): Problem[] {
  const r = e.result;
  if (!r?.ok) return [];
  const at = (path: string[], message: string) => problemAt(e.file.path, e.file.text, path, message);
  const missing = `secret "${name}" does not exist (no ${secretYaml(name)}: canopy secret set writes it)`;
  if (r.kind === 'Fleet') {
    const out: Problem[] = [];
    (r.value.spec?.registries ?? []).forEach((g, i) => {
      if (g.secret !== name) return;
      const path = ['spec', 'registries', String(i), 'secret'];
      if (!keys) out.push(at(path, `spec.registries[${i}].secret: ${missing}`));
      else {
        const lacking = ['username', 'password'].filter((k) => !keys.includes(k));
        if (lacking.length)
          out.push(at(path, `spec.registries[${i}].secret: secret "${name}" has no key ${lacking.join(' or ')} (a registry needs username and password)`));
      }
    });
    return out;
  }
  if (r.kind !== 'Service') return [];
  const out: Problem[] = [];
  (r.value.spec.secrets ?? []).forEach((s, i) => {
    if (s.secret !== name) return;
    if (!keys) out.push(at(['spec', 'secrets', String(i), 'secret'], `spec.secrets[${i}].secret: ${missing}`));
    else if (!keys.includes(s.key)) {
      out.push(at(['spec', 'secrets', String(i), 'key'], `spec.secrets[${i}].key: secret "${name}" has no key "${s.key}" (its keys: ${keys.join(', ')})`));
    }
  });
  return out;
}

/**
 * Each secrets/<name>.yaml has secrets/<name>.age beside it, and each .age its .yaml; an .age
 * file is armored (what canopy writes and hands down). `files` is the whole tree (path → file).
 */
export function sealedFileProblems(files: ReadonlyMap<string, FleetFile>): Problem[] {
  const out: Problem[] = [];
  for (const [path, f] of files) {
    const sealed = sealedSecretName(path);
    if (sealed !== undefined) {
      if (!files.has(secretYaml(sealed))) out.push(whole(path, `no ${secretYaml(sealed)} beside it: canopy secret set writes both; commit both`));
      else if (!isArmored(f.text)) out.push(whole(path, 'not an armored age file: write it with canopy secret set (or age --armor)'));
      continue;
    }
    const m = /^secrets\/([^/]+)\.yaml$/.exec(path);
    if (m && !files.has(secretAge(m[1]!))) out.push(whole(path, `no ${secretAge(m[1]!)} beside it: canopy secret set writes both; commit both`));
  }
  return out;
}

function whole(file: string, message: string): Problem {
  return { file, line: 1, column: 1, message };
}
