// A real Git smart-HTTP server for tests: `git http-backend` (CGI) behind a Node HTTP server,
// with Basic auth, serving bare repositories under one root. Push is enabled. The authenticated
// user reaches the CGI, and so the repository's hooks, as REMOTE_USER, as under a web server;
// `users` gives several accounts (for the pre-receive hook's one-writer-per-ref rules).
import http from 'node:http';
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './git.js';

export interface GitServer {
  /** The repository's URL, with the default user's credentials unless auth is false. */
  url(repo: string, auth?: boolean): string;
  /** The repository's URL with the credentials of `user` (one of `users`, or the default user). */
  urlAs(repo: string, user: string): string;
  root: string;
  port: number;
  /** Create a bare repository `name.git` from a local repository's main. */
  publish(name: string, from: string): string;
  /** Write hooks/<hook> (executable) in the published repository `name.git`; returns its path. */
  installHook(name: string, script: string, hook?: string): string;
  requests: number;
  close(): Promise<void>;
}

function backend(): string {
  const exec = execFileSync('git', ['--exec-path'], { encoding: 'utf8' }).trim();
  return path.join(exec, 'git-http-backend');
}

/** The user a request's Basic credentials name, if they match one of the accounts. */
function authenticated(header: string | undefined, accounts: Map<string, string>): string | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const i = text.indexOf(':');
  const user = text.slice(0, i);
  return i > 0 && accounts.has(user) && accounts.get(user) === text.slice(i + 1) ? user : undefined;
}

/**
 * `user`/`password`: the default account (fleet / s3cret), which url() uses. `users`: more
 * accounts, user → password; each may push, and reaches the hooks as REMOTE_USER.
 */
export async function startGitServer(opts: { user?: string; password?: string; users?: Record<string, string> } = {}): Promise<GitServer> {
  const root = tempDir('canopy-git-server-');
  const cgi = backend();
  const user = opts.user ?? 'fleet';
  const password = opts.password ?? 's3cret';
  const accounts = new Map<string, string>([[user, password], ...Object.entries(opts.users ?? {})]);
  const state = { requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests++;
    const remoteUser = authenticated(req.headers.authorization, accounts);
    if (remoteUser === undefined) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="canopy-test"' });
      res.end('authentication required\n');
      return;
    }
    const u = new URL(req.url ?? '/', 'http://x');
    const child = spawn(cgi, [], {
      env: {
        ...process.env,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(u.pathname),
        QUERY_STRING: u.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: remoteUser,
        REMOTE_ADDR: '127.0.0.1',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
      },
    });
    req.pipe(child.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const i = head.indexOf('\r\n\r\n');
      const j = i >= 0 ? i : head.indexOf('\n\n');
      if (j < 0) return;
      const sepLen = i >= 0 ? 4 : 2;
      const lines = head.subarray(0, j).toString().split(/\r?\n/);
      let status = 200;
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const k = l.indexOf(':');
        const name = l.slice(0, k).trim();
        const value = l.slice(k + 1).trim();
        if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      headersDone = true;
      res.write(head.subarray(j + sepLen));
    });
    child.stderr.on('data', () => undefined);
    child.on('close', () => res.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    root,
    port,
    get requests() {
      return state.requests;
    },
    url: (repo, auth = true) => `http://${auth ? `${user}:${password}@` : ''}127.0.0.1:${port}/${repo}.git`,
    urlAs(repo, as) {
      const pw = accounts.get(as);
      if (pw === undefined) throw new Error(`git server: no account ${as}`);
      return `http://${encodeURIComponent(as)}:${encodeURIComponent(pw)}@127.0.0.1:${port}/${repo}.git`;
    },
    publish(name, from) {
      const bare = path.join(root, `${name}.git`);
      mkdirSync(root, { recursive: true });
      execFileSync('git', ['clone', '-q', '--bare', from, bare]);
      execFileSync('git', ['-C', bare, 'config', 'http.receivepack', 'true']);
      return bare;
    },
    installHook(name, script, hook = 'pre-receive') {
      const file = path.join(root, `${name}.git`, 'hooks', hook);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, script);
      chmodSync(file, 0o755);
      return file;
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}
