// A real image registry for tests and benchmarks: Debian's docker-registry (the distribution
// registry v2) on a free loopback port, plain HTTP (Docker allows 127.0.0.0/8 registries without
// TLS), with htpasswd (bcrypt) authentication. scripts/setup-registry.sh installs it when it is
// missing; a failed install fails loudly. Images go in with the docker CLI (a login of its own in a
// temporary DOCKER_CONFIG, so the machine's is untouched) and are removed locally afterwards, so
// the node has them only from the registry. Everything is removed when the process exits.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { atExit, tempDir } from './cleanup.js';
import { freePort } from './mosquitto.js';

const SETUP = fileURLToPath(new URL('../../../scripts/setup-registry.sh', import.meta.url));
export const BASE_IMAGE = 'canopy/busybox:1';
const BUILD_SCRIPT = fileURLToPath(new URL('../../../scripts/build-test-image.sh', import.meta.url));

export interface Registry {
  /** `127.0.0.1:PORT`: the registry host in image references. */
  host: string;
  username: string;
  password: string;
  /**
   * Make an image of its own from canopy/busybox:1 (one more layer, unique), push it as
   * `HOST/canopy/NAME:TAG` (with `randomMiB` of random bytes, so a pull takes a while), remove it
   * locally; returns its repository digest.
   */
  push(nameTag: string, o?: { randomMiB?: number }): string;
  stop(): void;
}

function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The test image, built offline when missing. */
export function requireBaseImage(): void {
  try {
    execFileSync('docker', ['image', 'inspect', BASE_IMAGE], { stdio: 'ignore' });
  } catch {
    execFileSync(BUILD_SCRIPT, { stdio: 'inherit' });
  }
}

/** `auth: false`: a registry anyone may pull from (and push to), for parts no credentials reach. */
export async function startRegistry(o: { username?: string; password?: string; auth?: boolean } = {}): Promise<Registry> {
  if (!have('docker-registry') || !have('htpasswd')) execFileSync('bash', [SETUP], { stdio: 'inherit' });
  if (!have('docker-registry')) throw new Error('docker-registry is not installed: run scripts/setup-registry.sh');
  const username = o.username ?? 'canopy';
  const password = o.password ?? `pw-${process.pid}-${Date.now().toString(36)}`;
  const dir = tempDir('canopy-registry-');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  writeFileSync(path.join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', username, password], { encoding: 'utf8' }));
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${path.join(dir, 'data')}`,
    'http:',
    `  addr: ${host}`,
    ...(o.auth === false ? [] : ['auth:', '  htpasswd:', '    realm: canopy-test', `    path: ${path.join(dir, 'htpasswd')}`]),
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'config.yml'), config);
  const child: ChildProcess = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  for (let i = 0; ; i++) {
    if (await canConnect(port)) break;
    if (child.exitCode !== null || i > 100) throw new Error(`docker-registry did not start on ${host}: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const dockerConfig = tempDir('canopy-docker-config-');
  const env = { ...process.env, DOCKER_CONFIG: dockerConfig };
  const docker = (args: string[], input?: string) => execFileSync('docker', args, { env, encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] }).trim();
  if (o.auth !== false) docker(['login', host, '-u', username, '--password-stdin'], password);
  const pushed: string[] = [];
  const removeImages = () => {
    for (const ref of pushed) {
      try {
        execFileSync('docker', ['rmi', '-f', ref], { stdio: 'ignore' });
      } catch {
        /* not there */
      }
    }
  };
  atExit(removeImages);
  return {
    host,
    username,
    password,
    push(nameTag, { randomMiB = 0 } = {}) {
      const ref = `${host}/canopy/${nameTag}`;
      const fill = randomMiB ? ` && head -c ${randomMiB}m /dev/urandom > /fill` : '';
      const box = docker(['create', BASE_IMAGE, 'sh', '-c', `echo ${ref} ${Date.now()} ${Math.random()} > /marker${fill}`]);
      try {
        docker(['start', '-a', box]);
        docker(['commit', box, ref]);
      } finally {
        docker(['rm', '-f', box]);
      }
      pushed.push(ref);
      docker(['push', ref]);
      const digest = docker(['image', 'inspect', '--format', '{{index .RepoDigests 0}}', ref]);
      docker(['rmi', ref]);
      return digest;
    },
    stop() {
      child.kill('SIGKILL');
      removeImages();
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
