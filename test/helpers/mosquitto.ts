// A real Mosquitto per test suite, on a free loopback port, with TCP_NODELAY. Fails loudly when
// mosquitto is not installed (.ci/run and scripts/setup.sh install it).
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { tempDir } from './cleanup.js';

export interface Mosquitto {
  url: string;
  port: number;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** What Mosquitto logged (to stderr): with `conf` only, where it logs every connection; for failures. */
  log(): string;
}

export interface MosquittoOptions {
  /**
   * Configuration lines in place of the default (`listener PORT 127.0.0.1`, `allow_anonymous
   * true`): they must listen on the port (e.g. `listener PORT 127.0.0.1` and `include_dir DIR` of
   * canopy broker-config's output). Run as root, Mosquitto then keeps root's rights (`user root`):
   * it reads password and ACL files after dropping them, and a test's files are under a 0700
   * temporary directory.
   */
  conf?: string[];
  /** The URL's scheme: mqtts when the listener speaks TLS. */
  scheme?: 'mqtt' | 'mqtts';
  /** With `conf`: log nothing (benchmarks), instead of every connection to stderr. */
  quiet?: boolean;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function binary(): string {
  for (const p of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto']) {
    try {
      execFileSync(p, ['-h'], { stdio: 'ignore' });
      return p;
    } catch (e) {
      if ((e as { status?: number }).status !== undefined) return p;
    }
  }
  throw new Error('mosquitto is not installed: run scripts/setup.sh (apt-get install mosquitto)');
}

export async function startMosquitto(port?: number, opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const bin = binary();
  const p = port ?? (await freePort());
  const dir = tempDir('canopy-mqtt-'); // its configuration; removed, and the broker killed, at exit
  const conf = path.join(dir, 'mosquitto.conf');
  const lines = opts.conf
    ? [
        ...(process.getuid?.() === 0 ? ['user root'] : []),
        ...opts.conf,
        'persistence false',
        ...(opts.quiet ? ['log_dest none'] : ['log_dest stderr', 'log_type all']),
      ]
    : [`listener ${p} 127.0.0.1`, 'allow_anonymous true', 'set_tcp_nodelay true', 'persistence false', 'log_dest none'];
  writeFileSync(conf, [...lines, ''].join('\n'));
  let child: ChildProcess | undefined;
  let err = '';
  const start = async () => {
    child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d) => {
      err += d;
    });
    for (let i = 0; i < 100; i++) {
      if (await canConnect(p)) return;
      if (child.exitCode !== null) throw new Error(`mosquitto exited (${child.exitCode}): ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`mosquitto did not listen on ${p}: ${err}`);
  };
  const stop = async () => {
    if (!child || child.exitCode !== null) return;
    const c = child;
    const done = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]);
    if (c.exitCode === null) c.kill('SIGKILL');
  };
  await start();
  return {
    url: `${opts.scheme ?? 'mqtt'}://127.0.0.1:${p}`,
    port: p,
    log: () => err,
    stop,
    restart: async () => {
      await stop();
      await start();
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
