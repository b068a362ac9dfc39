import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { command, Failure, flag, text } from '../args.js';
import { packageRoot } from '../paths.js';
import {
  HOOK_MARK,
  HookInputError,
  hookScript,
  judgePush,
  needsHistory,
  parseUpdates,
  pusherFrom,
  readDeclarations,
  rulesFrom,
  touchesCanopy,
  type StatusHistory,
} from '../../reconciler/git/hook.js';
import { judgeStatusHistory } from '../../reconciler/git/status-history.js';

const SUBCOMMANDS = ['pre-receive', 'install'] as const;

const cmd = command({
  name: 'git-hook',
  summary: 'one writer per canopy ref: a pre-receive hook for the fleet’s Git server',
  usage: [
    'Usage: canopy git-hook pre-receive [--branch NAME]',
    '       canopy git-hook install --repo BARE_DIR [--branch NAME] [--force]',
    '',
    'pre-receive: run by git in the fleet repository on the Git server, with "<old-oid> <new-oid> <ref>"',
    'lines on stdin. Only the root’s Git user (fleet.yaml spec.trust.root.user) may write',
    'refs/canopy/placements/* and refs/notes/canopy, only cluster C’s (clusters/C.yaml',
    'spec.identity.user) refs/canopy/status/C, and nobody any other ref under refs/canopy/. The root',
    'may also push refs/canopy/status/C (a history an air-gapped site sent by bundle) when the push',
    'fast-forwards it and every new commit is signed by C’s keys (clusters/C.yaml spec.identity.keys). A push',
    'that breaks a rule is refused whole (exit 1, one line per refused ref). Branches and tags are',
    'the Git host’s business. The users are read from refs/heads/NAME (default main) as it is before',
    'the push, so a push cannot change the rules it is judged by. When the repository declares no',
    'user at all, everything is allowed, with a warning.',
    '',
    'The pushing user is the first of REMOTE_USER, GITEA_PUSHER_NAME and GL_USERNAME that is set:',
    'git http-backend behind a web server with authentication sets REMOTE_USER; Gitea sets',
    'GITEA_PUSHER_NAME for its server hooks (put the script in hooks/pre-receive.d/), GitLab',
    'GL_USERNAME (custom_hooks/pre-receive.d/). A push with none of them (a local push, git over SSH',
    'without one) may write no canopy ref once users are declared.',
    '',
    'install: write BARE_DIR/hooks/pre-receive (core.hooksPath is honoured), running this canopy by',
    'the absolute paths of node and canopy.js. A pre-receive hook that is not canopy’s is kept',
    'unless --force.',
  ].join('\n'),
  options: { repo: text(), branch: text({ default: 'main' }), force: flag() },
  args: { min: 1, max: 1, what: 'pre-receive or install' },
  check(v, pos) {
    const sub = pos[0];
    if (!(SUBCOMMANDS as readonly string[]).includes(sub)) return [`unknown subcommand ${sub}: expected pre-receive or install`];
    if (!/^[A-Za-z0-9._/-]+$/.test(v.branch) || v.branch.includes('..')) return [`--branch ${v.branch}: expected a branch name`];
    if (sub === 'install' && !v.repo) return ['install needs --repo BARE_DIR'];
    if (sub === 'pre-receive' && (v.repo || v.force)) return ['--repo and --force are for install (pre-receive runs in the repository git runs it in)'];
    return undefined;
  },
  async run(v, pos) {
    return pos[0] === 'install' ? install(v.repo!, v.branch, v.force) : preReceive(v.branch);
  },
});
export default cmd;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function preReceive(branch: string): Promise<number> {
  let updates: ReturnType<typeof parseUpdates>;
  try {
    updates = parseUpdates(await readStdin());
  } catch (e) {
    if (e instanceof HookInputError) throw new Failure(`canopy git-hook pre-receive: ${e.message}`);
    throw e;
  }
  // A push of branches and tags only is not canopy's to judge: nothing to read.
  if (!touchesCanopy(updates)) return 0;
  let read: ReturnType<typeof readDeclarations>;
  try {
    read = readDeclarations(branch);
  } catch (e) {
    throw new Failure(`canopy: refused the push: cannot read the Git users the repository declares: ${(e as Error).message}`);
  }
  const { rules, notes } = rulesFrom(read.files, branch);
  const user = pusherFrom(process.env);
  // The root carrying a cluster's status history (from a bundle): native git judges what it adds.
  const histories = new Map<string, StatusHistory>();
  for (const u of updates.filter((x) => needsHistory(x, user, rules))) {
    const cluster = u.ref.slice('refs/canopy/status/'.length);
    histories.set(u.ref, await judgeStatusHistory([], cluster, u.oldOid, u.newOid, rules.keys.get(cluster) ?? []));
  }
  const { refused, warnings } = judgePush(updates, user, rules, histories);
  const lines = [...[...read.notes, ...notes].map((n) => `canopy: note: ${n}`), ...warnings, ...refused];
  if (lines.length) process.stderr.write(`${lines.join('\n')}\n`);
  return refused.length ? 1 : 0;
}

function install(repo: string, branch: string, force: boolean): number {
  let hooks: string;
  try {
    hooks = path.resolve(repo, execFileSync('git', ['-C', repo, 'rev-parse', '--git-path', 'hooks'], { encoding: 'utf8', stdio: 'pipe' }).trim());
  } catch (e) {
    throw new Failure(`canopy git-hook install: ${repo} is no Git repository: ${String((e as { stderr?: string }).stderr || (e as Error).message).trim()}`);
  }
  const file = path.join(hooks, 'pre-receive');
  if (existsSync(file) && !readFileSync(file, 'utf8').includes(HOOK_MARK) && !force)
    throw new Failure(`canopy git-hook install: ${file} exists and is not canopy's: kept (--force replaces it)`);
  const cli = path.join(packageRoot, 'dist', 'cli', 'canopy.js');
  mkdirSync(hooks, { recursive: true });
  writeFileSync(file, hookScript(process.execPath, cli, branch === 'main' ? [] : ['--branch', branch]));
  chmodSync(file, 0o755);
  process.stdout.write(`${file}: runs ${cli} git-hook pre-receive\n`);
  return 0;
}
