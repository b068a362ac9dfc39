// The root part: mirror (or open) the fleet repository, connect to the broker, run the root
// reconciler; for a remote repository, poll main and listen for push webhooks.
import { configureLogs } from '../../reconciler/core/log.js';
import { connectBus } from '../../reconciler/mqtt/bus.js';
import { rootIdentity } from '../../reconciler/core/identity.js';
import { createTelemetry } from '../../reconciler/core/telemetry.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import type { Logger } from '../../reconciler/core/log.js';
import { openRepo, resolveRef, type Repo } from '../../reconciler/git/repo.js';
import type { GitSync } from '../../reconciler/git/sync.js';
import { MAIN, NOTES_REF, statusRef } from '../../reconciler/core/refs.js';
import { fleetAtMain } from '../fleet-repo.js';
import { keepalive, timingsOf, type Running } from './running.js';
import { defaultCache, remoteRepo } from './remote.js';
import { partSecurity, type TlsFlags, warnUnsigned, type PartSecurity } from './security.js';
import { sameKey } from '../../reconciler/core/keys.js';
import { rootTrustView } from '../../reconciler/mqtt/trust.js';
import type { FleetDescriptor } from '../../schemas/model.js';

export interface RootPartOptions {
  /** A local repository, or a remote one (http(s) URL) mirrored into cacheDir. */
  repo: Repo | string;
  broker: string;
  log: Logger;
  cacheDir?: string;
  pollMs?: number;
  webhook?: { host: string; port: number; secret?: string };
  /** --identity FILE: its broker credential and signing key. */
  identityFile?: string;
  /** --tls-ca, --tls-cert, --tls-key */
  tls?: TlsFlags;
  /** --metrics-services N: services with replica series of their own. */
  metricsServices?: number;
  /** --ui HOST:PORT: serve the web dashboard (reconciler/report/ui-server.ts), with the token when given. */
  ui?: { host: string; port: number; token?: string };
}

export async function runRoot(o: RootPartOptions): Promise<Running & { webhookPort?: number; uiUrl?: string }> {
  const stops: Array<() => Promise<void> | void> = [];
  let repo: Repo;
  let sync: GitSync | undefined;
  const telemetry = createTelemetry();
  const r = typeof o.repo === 'string' ? await remoteRepo(o.repo) : undefined;
  const remote = r?.remote;
  if (r && remote) {
    const { openMirror, gitSync, lsRemote, fetchRef } = r;
    repo = await openMirror(o.cacheDir ?? defaultCache('root', remote.url), remote);
    sync = gitSync(repo, remote, o.log, telemetry);
    o.log.info(`fleet repository ${remote.url}, mirrored in ${repo.gitdir}`);
    await sync.pull([MAIN]);
    // Our own refs: take the remote's only when this mirror has none (a new cache directory).
    for (const [ref] of await lsRemote(remote, 'refs/canopy/placements/')) if (!(await resolveRef(repo, ref))) await fetchRef(repo, remote, ref);
    if (!(await resolveRef(repo, NOTES_REF))) await fetchRef(repo, remote, NOTES_REF);
  } else {
    repo = typeof o.repo === 'string' ? await openRepo(o.repo) : o.repo;
  }
  const { fleet } = await fleetAtMain(repo);
  const name = fleet.metadata.name;
  configureLogs({ fleet: name });
  // The MQTT keepalive is the heartbeat: the broker declares a silent client gone after 1.5 × it.
  const t = topics(name);
  const sec = partSecurity({
    file: o.identityFile,
    role: 'root',
    name: 'root',
    fleet: name,
    log: o.log,
    tls: o.tls,
    view: (st) => rootTrustView(st, t),
    peerOf: (tp) => {
      const p = t.parse(tp);
      return p?.level === 'cluster' && p.leaf === 'desired' ? `cluster:${p.cluster}` : undefined;
    },
  });
  checkRootKey(fleet, sec, o.log);
  const bus = await connectBus({
    ...sec.connection(o.broker),
    codec: sec.codec,
    identity: rootIdentity(name),
    telemetry,
    log: o.log,
    onlineTopic: `${t.root}/root/online`,
    keepaliveSeconds: keepalive(timingsOf(fleet).heartbeatMs),
  });
  const { startRoot } = await import('../../reconciler/root/root.js');
  const root = await startRoot({
    repo,
    bus,
    fleet: name,
    log: o.log,
    telemetry,
    metricsServices: o.metricsServices,
    trust: sec.trust,
    repoUrl: remote?.url,
    onWrite: sync ? (ref) => sync!.push(ref) : undefined,
  });
  if (!sec.trust.signed && !fleet.spec?.trust?.root) warnUnsigned(o.log, 'fleet.yaml declares no root key (spec.trust.root)');
  let webhookPort: number | undefined;
  if (sync) {
    // Learn of new commits: a cheap ls-remote poll, and at once on a webhook push.
    let pulling = false;
    let again = false;
    let failing = '';
    const pull = async () => {
      // A push announced while a fetch is running is fetched right after it, never dropped.
      if (pulling) {
        again = true;
        return;
      }
      pulling = true;
      try {
        do {
          again = false;
          const t = performance.now();
          const changed = await sync!.pull([MAIN]);
          // An air-gapped cluster's status, imported elsewhere (canopy bundle import --repo URL): only ever forward.
          const gapped = root.airGapped().map(statusRef);
          if (gapped.length) await sync!.pull(gapped, { fastForwardOnly: true });
          o.log.debug(`pulled main from ${remote!.url} in ${Math.round(performance.now() - t)} ms${changed.length ? ': moved' : ''}`);
        } while (again);
        if (failing) {
          o.log.info(`reached ${remote!.url} again`);
          failing = '';
        }
      } catch (e) {
        if ((e as Error).message !== failing) o.log.warn(`fetching main from ${remote!.url}: ${(e as Error).message}`);
        failing = (e as Error).message;
      } finally {
        pulling = false;
      }
    };
    const timer = setInterval(pull, o.pollMs ?? 10_000);
    stops.push(() => clearInterval(timer));
    if (o.webhook) {
      const { startWebhook } = await import('../../reconciler/root/webhook.js');
      const hook = await startWebhook({ ...o.webhook, branch: 'main', onPush: () => void pull(), log: o.log });
      webhookPort = hook.port;
      stops.push(() => hook.close());
    }
  }
  let uiUrl: string | undefined;
  if (o.ui) {
    const { startUiServer } = await import('../../reconciler/report/ui-server.js');
    const ui = await startUiServer({ repo, ...o.ui, log: o.log });
    uiUrl = ui.url;
    stops.unshift(() => ui.close());
  }
  return {
    webhookPort,
    uiUrl,
    telemetry,
    async stop() {
      for (const s of stops) await s();
      await root.stop();
      if (sync) {
        await sync.flush();
        sync.close();
      }
      await bus.close();
    },
  };
}

/**
 * A fleet that declares root keys is commanded only by a root holding one of them: without an
 * identity every cluster would drop what it sends. A key not (yet) declared is only warned
 * about: the commit that declares it may be on its way (a rotation).
 */
function checkRootKey(fleet: FleetDescriptor, sec: PartSecurity, log: Logger): void {
  const declared = fleet.spec?.trust?.root?.keys ?? [];
  if (!sec.identity) {
    if (declared.length)
      throw new Error('fleet.yaml declares root keys (spec.trust.root): start the root with --identity FILE (made by canopy identity create --root)');
    return;
  }
  const mine = sec.identity.signer.publicKey;
  if (declared.length && !declared.some((k) => sameKey(k, mine))) {
    log.warn(
      `this root's key (${sec.identity.signer.id}) is not among fleet.yaml's spec.trust.root keys on main: clusters will drop what it sends until a commit declares it`,
    );
  }
}
