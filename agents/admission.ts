// Workload admission on the node: which container images and which commands this agent runs, as
// its operator allowed them (`canopy agent --allow-image P --allow-command P`). Whoever can send
// the node an assignment chooses what it asks for; these rules are the node's own say. A replica
// they refuse is never started: the agent reports it as failed, with the reason, until its spec
// or the rules change (steps/admit.ts). Without rules every workload is admitted, as before.
// Pure: the caller resolves a command's executable.
//
// Images. A pattern is a glob over an image reference: `*` matches any run of characters (`/`
// and `:` included), `?` any one. A pattern without a tag or digest in its last path component
// (`nginx`, `registry.example.com/*`) names repositories and admits every tag and digest of them;
// one with a tag (`nginx:1.*`, `canopy-demo:*`) is matched against the reference with its tag,
// an image written without one being `:latest` (what Docker pulls). An image matches under each
// of its spellings: as written, short (`nginx`) and in full (`docker.io/library/nginx`), so
// `nginx:*` and `docker.io/library/nginx:*` admit the same images.
//
// Commands (the process runtime). A command is judged with its executable resolved to an absolute
// path, the one the agent then runs (so the workload's PATH cannot swap it afterwards). A pattern
// without a space matches that path alone, with any arguments (`/usr/bin/sleep`, `/opt/app/bin/*`);
// a pattern with a space matches the whole command line, the path and the arguments joined by
// single spaces (`/usr/bin/python3 /opt/app/main.py *`). `*` matches spaces and `/` too.
import type { ServiceSpec } from '../schemas/model.js';

/** The patterns as the operator gave them (none, or an empty list: anything is admitted). */
export interface AdmissionRules {
  images?: readonly string[];
  commands?: readonly string[];
}

interface Pattern {
  text: string;
  re: RegExp;
  /** Images: matched against repository names only (no tag in the pattern). Commands: against the executable only (no space). */
  short: boolean;
}

/** Compiled rules; a kind without patterns admits anything. */
export interface AdmissionPolicy {
  images?: Pattern[];
  commands?: Pattern[];
}

export type Verdict = { ok: true } | { ok: false; reason: string };

/** How every refusal's message begins (the cluster and `canopy status` show it as is). */
export const REFUSED = 'refused by node policy';

const IMAGE_CHARS = /^[A-Za-z0-9._\-/:@*?]+$/;

/** What is wrong with an image pattern, or undefined when it is fine. */
export function imagePatternProblem(text: string): string | undefined {
  if (!text) return 'an empty image pattern';
  if (!IMAGE_CHARS.test(text))
    return `image pattern ${JSON.stringify(text)}: expected an image reference with * and ? as wildcards (registry.example.com/*, nginx:1.*, canopy-demo:*)`;
  return undefined;
}

/** What is wrong with a command pattern, or undefined when it is fine. */
export function commandPatternProblem(text: string): string | undefined {
  if (!text) return 'an empty command pattern';
  if (text.trim() !== text) return `command pattern ${JSON.stringify(text)}: has spaces at its ends`;
  if (!/^[/*?]/.test(text))
    return `command pattern ${JSON.stringify(text)}: expected an absolute path (/usr/bin/sleep, /opt/app/*, "/usr/bin/python3 /opt/app/main.py *"): commands are judged by their executable's full path`;
  return undefined;
}

/** The rules compiled; throws naming the first bad pattern. */
export function compileAdmission(rules: AdmissionRules = {}): AdmissionPolicy {
  const compile = (texts: readonly string[] | undefined, problem: (t: string) => string | undefined, short: (t: string) => boolean) => {
    if (!texts?.length) return undefined;
    return texts.map((text) => {
      const p = problem(text);
      if (p) throw new Error(p);
      return { text, re: glob(text), short: short(text) };
    });
  };
  return {
    images: compile(rules.images, imagePatternProblem, (t) => !/[:@]/.test(t.slice(t.lastIndexOf('/') + 1))),
    commands: compile(rules.commands, commandPatternProblem, (t) => !t.includes(' ')),
  };
}

/** True when the policy admits anything (no rules at all). */
export function admitsAll(p: AdmissionPolicy): boolean {
  return !p.images && !p.commands;
}

/** A glob as an anchored expression: `*` any run of characters, `?` one; the rest literal. */
function glob(text: string): RegExp {
  let src = '';
  for (const ch of text) src += ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${src}$`, 's');
}

/**
 * An image's spellings: its repository names (as written, short, in full) and its references
 * (the same with the tag, `:latest` when it has neither tag nor digest, and the digest).
 */
export function imageSpellings(image: string): { repositories: string[]; references: string[] } {
  let rest = image;
  let digest = '';
  let tag = '';
  const at = rest.indexOf('@');
  if (at >= 0) [rest, digest] = [rest.slice(0, at), rest.slice(at)];
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) [rest, tag] = [rest.slice(0, colon), rest.slice(colon)];
  // Docker's rule: the first component is a registry when it has a dot, a port or is localhost.
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  const hasDomain = slash >= 0 && (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase());
  const domain = !hasDomain || first === 'index.docker.io' ? 'docker.io' : first;
  let path = hasDomain ? rest.slice(slash + 1) : rest;
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  const names = new Set([rest, `${domain}/${path}`]);
  if (domain === 'docker.io') names.add(/^library\/[^/]+$/.test(path) ? path.slice('library/'.length) : path);
  const suffix = (tag || (digest ? '' : ':latest')) + digest;
  return { repositories: [...names], references: [...new Set([image, ...[...names].map((n) => n + suffix)])] };
}

/** The command line a command pattern with a space is matched against. */
export function commandLine(argv: readonly string[], executable?: string): string {
  return [executable ?? argv[0], ...argv.slice(1)].join(' ');
}

export function admitImage(p: AdmissionPolicy, image: string | undefined): Verdict {
  if (!p.images) return { ok: true };
  if (!image) return { ok: false, reason: `${REFUSED}: no image to check against the allowed images (${listed(p.images)})` };
  const { repositories, references } = imageSpellings(image);
  const ok = p.images.some((x) => (x.short ? repositories : references).some((s) => x.re.test(s)));
  return ok ? { ok } : { ok, reason: `${REFUSED}: image ${clip(image, 200)} is not in the allowed images (${listed(p.images)})` };
}

/** `executable`: argv[0] resolved as the agent will run it (undefined: not found, argv[0] as written is judged). */
export function admitCommand(p: AdmissionPolicy, argv: readonly string[] | undefined, executable?: string): Verdict {
  if (!p.commands) return { ok: true };
  if (!argv?.length) return { ok: false, reason: `${REFUSED}: no command to check against the allowed commands (${listed(p.commands)})` };
  const exe = executable ?? argv[0];
  const line = commandLine(argv, executable);
  const ok = p.commands.some((x) => x.re.test(x.short ? exe : line));
  return ok ? { ok } : { ok, reason: `${REFUSED}: command ${JSON.stringify(clip(line, 200))} is not in the allowed commands (${listed(p.commands)})` };
}

/** A replica's spec judged by the rules of its kind. */
export function admitSpec(p: AdmissionPolicy, spec: ServiceSpec, executable?: string): Verdict {
  return spec.runtime === 'process' ? admitCommand(p, spec.command, executable) : admitImage(p, spec.image);
}

/**
 * What the agent logs at start: the workload kinds it runs and on what (`kinds`: driver names
 * by kind), the rules in force, and a warning for each kind it admits anything of.
 */
export function admissionLines(p: AdmissionPolicy, kinds: { container?: string; process?: string }): Array<['info' | 'warn', string]> {
  const out: Array<['info' | 'warn', string]> = [];
  const on = (k: string | undefined) => (k ? `on (${k})` : 'off');
  out.push(['info', `workloads: containers ${on(kinds.container)}, processes ${on(kinds.process)}`]);
  const rule = (kind: string | undefined, patterns: Pattern[] | undefined, what: string, flag: string) => {
    if (!kind) {
      if (patterns) out.push(['warn', `${flag} has no effect: this node runs no ${what} workloads`]);
    } else if (patterns) out.push(['info', `admission: ${what} workloads only if they match ${listed(patterns, Infinity)} (${flag})`]);
    else out.push(['warn', `admission: any ${what} workload is admitted (no ${flag}): whoever can send this node an assignment chooses what it runs`]);
  };
  rule(kinds.container, p.images, 'container', '--allow-image');
  rule(kinds.process, p.commands, 'process', '--allow-command');
  return out;
}

function listed(patterns: Pattern[], max = 300): string {
  return clip(patterns.map((x) => x.text).join(', '), max);
}

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
