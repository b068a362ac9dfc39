// Certificates for TLS tests, made with the openssl command line in a directory of the test's:
// a CA, a broker certificate for 127.0.0.1 and localhost, and client certificates whose CN is an
// MQTT user name. P-256 keys (quick to make), valid for two days. Fails loudly without openssl
// (scripts/setup.sh installs it).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface CertFiles {
  cert: string;
  key: string;
}

export interface TestCa extends CertFiles {
  /** A certificate and key for `cn`, signed by this CA; `san` makes it a server certificate. */
  issue(name: string, cn: string, san?: string): CertFiles;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') throw new Error('openssl is not installed: run scripts/setup.sh (apt-get install openssl)');
    throw new Error(`openssl ${args.join(' ')}: ${err.stderr?.toString() ?? err.message}`);
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A self-signed CA in dir, named `name` (files NAME.pem, NAME.key). */
export function makeCa(dir: string, name: string): TestCa {
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  openssl(['req', '-x509', ...EC, '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=canopy test ${name}`], dir);
  return {
    cert,
    key,
    issue(leaf, cn, san) {
      const c = path.join(dir, `${leaf}.pem`);
      const k = path.join(dir, `${leaf}.key`);
      const csr = path.join(dir, `${leaf}.csr`);
      openssl(['req', ...EC, '-keyout', k, '-out', csr, '-subj', `/CN=${cn}`], dir);
      const ext = path.join(dir, `${leaf}.ext`);
      writeFileSync(ext, san ? `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n` : 'extendedKeyUsage=clientAuth\n');
      openssl(['x509', '-req', '-in', csr, '-CA', cert, '-CAkey', key, '-CAcreateserial', '-out', c, '-days', '2', '-extfile', ext], dir);
      return { cert: c, key: k };
    },
  };
}
