// How the bus reaches its broker: mqtt:// over TCP or mqtts:// over TLS (a CA file, and a client
// certificate as an alternative to a password), with which credential, and what to tell the
// user when the broker or the TLS handshake says no. Every socket is TCP_NODELAY.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { MqttClient } from 'mqtt';

/** TLS files (paths), read once when the bus connects. */
export interface BusTls {
  /** The CA that signed the broker's certificate (default: the system's CAs). */
  ca?: string;
  /** A client certificate and its key: the broker may take it instead of a password. */
  cert?: string;
  key?: string;
}

export interface EndpointOptions {
  url: string;
  tls?: BusTls;
  /** Take precedence over credentials in the URL. */
  username?: string;
  password?: string;
}

export interface Endpoint {
  host: string;
  port: number;
  secure: boolean;
  username?: string;
  password?: string;
  /** The URL without its password, for messages and logs. */
  shown: string;
  tls?: BusTls;
  /** A new connection to the broker (MQTT.js calls it for every (re)connect). */
  connect(): Duplex;
}

/** How long connectBus waits for a first connection to a broker that does not answer. */
export const FIRST_CONNECT_MS = 5000;

export function endpointOf(o: EndpointOptions): Endpoint {
  let u: URL;
  try {
    u = new URL(o.url);
  } catch {
    throw new Error(`broker URL ${o.url}: expected mqtt://HOST:PORT or mqtts://HOST:PORT`);
  }
  const secure = u.protocol === 'mqtts:';
  if (!secure && u.protocol !== 'mqtt:' && u.protocol !== 'tcp:')
    throw new Error(`broker URL ${o.url}: only mqtt://HOST:PORT and mqtts://HOST:PORT are supported`);
  // A TLS file with a plain URL is a mistake to point out, never a reason to send in the clear.
  if (!secure && o.tls && (o.tls.ca || o.tls.cert || o.tls.key)) {
    throw new Error(`broker URL ${shownUrl(u)}: TLS files are given, but mqtt:// connects without TLS: use mqtts://HOST:PORT`);
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const port = Number(u.port || (secure ? 8883 : 1883));
  const username = o.username ?? (u.username ? decodeURIComponent(u.username) : undefined);
  const password = o.password ?? (u.password ? decodeURIComponent(u.password) : undefined);
  const shown = shownUrl(u);
  if (!secure) return { host, port, secure, username, password, shown, connect: () => net.createConnection({ host, port, noDelay: true }) };
  const secureContext = secureContextOf(o.tls);
  // SNI carries host names only (RFC 6066); the certificate is checked against the host either way.
  const servername = net.isIP(host) ? undefined : host;
  const connect = () => {
    const s = tls.connect({ host, port, servername, secureContext });
    s.setNoDelay(true);
    return s;
  };
  return { host, port, secure, username, password, shown, tls: o.tls, connect };
}

function shownUrl(u: URL): string {
  const c = new URL(u.href);
  if (c.password) c.password = '***';
  return c.href.replace(/\/$/, '');
}

/** The CA and client certificate, read once: a file that cannot be read or used fails here, naming it. */
function secureContextOf(t: BusTls | undefined): tls.SecureContext {
  if (Boolean(t?.cert) !== Boolean(t?.key)) throw new Error('TLS: a client certificate needs its key: give both --tls-cert and --tls-key');
  const read = (what: string, f: string) => {
    try {
      return readFileSync(f);
    } catch (e) {
      throw new Error(`TLS: cannot read the ${what} ${f} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  };
  const ca = t?.ca ? read('CA file (--tls-ca)', t.ca) : undefined;
  const cert = t?.cert ? read('client certificate (--tls-cert)', t.cert) : undefined;
  const key = t?.key ? read('client key (--tls-key)', t.key) : undefined;
  try {
    return tls.createSecureContext({ ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) });
  } catch (e) {
    const files = [t?.ca, t?.cert, t?.key].filter(Boolean).join(', ');
    throw new Error(`TLS: cannot use ${files}: ${(e as Error).message} (PEM files expected, and the key must be the certificate's)`);
  }
}

/** CONNACK return codes of MQTT 3.1.1 that no retry will change. */
const REFUSED: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client id rejected',
  4: 'bad user name or password',
  5: 'not authorized',
};

/** The broker's certificate is not signed by a CA this client trusts. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'INVALID_CA',
]);

/**
 * What an error of the connection means and what to do about it; `fatal` when retrying cannot
 * help (the broker refused the credential, the certificates do not fit). Undefined for the
 * errors of a broker that is not there (yet): those are retried.
 */
export function explainConnectError(e: Error & { code?: unknown }, ep: Endpoint): { fatal: boolean; message: string } | undefined {
  const at = `the MQTT broker at ${ep.shown}`;
  if (typeof e.code === 'number' && REFUSED[e.code]) return { fatal: true, message: `${at} refused ${refusedWho(ep)}: ${REFUSED[e.code]}; ${refusedHint(ep)}` };
  const code = typeof e.code === 'string' ? e.code : '';
  const fatal = (message: string) => ({ fatal: true, message: `TLS to ${ep.shown}: ${message}` });
  if (UNTRUSTED.has(code)) {
    return fatal(
      ep.tls?.ca
        ? `certificate verify failed (${e.message}): is --tls-ca ${ep.tls.ca} the CA that signed the broker's certificate?`
        : `certificate verify failed (${e.message}): no CA of this machine signed the broker's certificate: give --tls-ca with the CA that did`,
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return fatal(`${e.message}: connect by a name the broker's certificate lists, or issue it with ${ep.host} in its subjectAltName`);
  if (code === 'CERT_HAS_EXPIRED') return fatal("the broker's certificate has expired: renew it, or check this machine's clock");
  if (code === 'CERT_NOT_YET_VALID') return fatal("the broker's certificate is not valid yet: check this machine's clock");
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG')
    return fatal(`the broker did not answer in TLS: is port ${ep.port} its TLS listener? (mqtt:// for a plain one)`);
  if (/CERTIFICATE_REQUIRED/.test(code) || (!ep.tls?.cert && /ALERT_HANDSHAKE_FAILURE/.test(code)))
    return fatal('the broker requires a client certificate: give --tls-cert and --tls-key (its CN is the MQTT user name)');
  if (/^ERR_SSL_.*ALERT_/.test(code) && ep.tls?.cert) {
    const alert = /alert ([a-z ]+?)(?::|$)/m.exec(e.message)?.[1] ?? code;
    return fatal(
      `the broker did not accept the client certificate ${ep.tls.cert} (TLS alert: ${alert}): is it signed by the CA in the broker's cafile, and still valid?`,
    );
  }
  // Retried (a broker restarting resets connections too), but say what a reset at once may mean.
  if (code === 'ECONNRESET' && !ep.secure)
    return { fatal: false, message: `the broker reset the connection (${e.message}): if port ${ep.port} is a TLS listener, use mqtts://` };
  return undefined;
}

function refusedWho(ep: Endpoint): string {
  if (ep.username) return `user ${ep.username}`;
  if (ep.tls?.cert) return `the client certificate ${ep.tls.cert}`;
  return 'a client without credentials';
}

function refusedHint(ep: Endpoint): string {
  if (ep.username) {
    return "is the password the one in the broker's password_file? (canopy broker-config writes it from the identity files; reload Mosquitto with SIGHUP after a change)";
  }
  if (ep.tls?.cert) return 'is the certificate’s CN a user the broker knows (the MQTT user name, e.g. demo.cluster.munich)?';
  return 'the broker refuses anonymous clients: give a credential (--identity FILE, or mqtt://USER:PASSWORD@HOST:PORT) or a client certificate';
}

/**
 * Resolves on the client's first connection. Fails at once when the broker refuses the
 * credential or the TLS handshake cannot succeed, and after FIRST_CONNECT_MS when the broker does
 * not answer (saying what went wrong last); the client is ended then.
 */
export function firstConnection(client: MqttClient, ep: Endpoint): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let last = '';
    const finish = (err?: Error) => {
      clearTimeout(timer);
      client.removeListener('connect', ok);
      client.removeListener('error', onError);
      if (!err) return resolve();
      client.end(true);
      reject(err);
    };
    const ok = () => finish();
    const onError = (e: Error) => {
      const why = explainConnectError(e, ep);
      if (why?.fatal) finish(new Error(why.message));
      else last = why?.message ?? e.message;
    };
    const timer = setTimeout(() => {
      const seen = last ? ` (${last})` : '';
      finish(
        new Error(
          `could not reach the MQTT broker at ${ep.shown} within ${FIRST_CONNECT_MS / 1000} s${seen}: is it running? (canopy up embeds one when --broker is not given)`,
        ),
      );
    }, FIRST_CONNECT_MS);
    client.once('connect', ok);
    client.on('error', onError);
  });
}
