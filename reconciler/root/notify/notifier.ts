// The root's notifications: the steps emit an event where it happens (validate, record,
// convergence, liveness, rollouts); the notifier turns it into requests for the targets the
// good commit's fleet.yaml names (spec.notifications, spec.commitStatus) and hands them to the
// outbox, which delivers them off the reconcile loop. Emitting never waits and never throws.
import path from 'node:path';
import type { FleetDescriptor } from '../../../schemas/model.js';
import { openJournal } from '../../core/journal.js';
import type { Logger } from '../../core/log.js';
import type { Telemetry } from '../../core/telemetry.js';
import type { CanopyEvent } from './events.js';
import { missingCredential, requestsFor } from './deliveries.js';
import { Outbox, type OutboxOptions } from './outbox.js';

export interface NotifyPort {
  emit(e: CanopyEvent): void;
}

export interface Notifier extends NotifyPort {
  readonly outbox: Outbox;
  stop(): Promise<void>;
}

export interface NotifierOptions {
  fleet: string;
  log: Logger;
  telemetry: Telemetry;
  /** fleet.yaml in force (the last accepted commit's): its targets are used. */
  config: () => FleetDescriptor | undefined;
  /** The repository's gitdir: the outbox is journaled in its canopy/ directory. */
  stateDir?: string;
  /** The root's --repo URL (default repository of commit statuses). */
  repoUrl?: string;
  now?: () => Date;
  /** Outbox tuning (tests). */
  outbox?: Partial<OutboxOptions>;
}

export async function startNotifier(o: NotifierOptions): Promise<Notifier> {
  const counter = o.telemetry.counter('canopy_notifications_total', 'Notifications (webhooks, commit statuses) by target and result');
  const journal = o.stateDir ? openJournal(path.join(o.stateDir, 'canopy')) : undefined;
  const outbox = new Outbox({ log: o.log, counter, journal, ...o.outbox });
  const env = o.outbox?.env ?? process.env;
  await outbox.load();
  const said = new Set<string>();
  const once = (m: string) => {
    if (said.has(m)) return;
    said.add(m);
    o.log.warn(`notifications: ${m}`);
  };
  return {
    outbox,
    emit(e) {
      try {
        const spec = o.config()?.spec;
        if (!spec?.notifications?.length && !spec?.commitStatus) return;
        const config = { fleet: o.fleet, webhooks: spec.notifications ?? [], commitStatus: spec.commitStatus, repoUrl: o.repoUrl };
        const { requests, problems } = requestsFor(e, config, (o.now ?? (() => new Date()))());
        for (const p of problems) once(p);
        for (const r of requests) {
          const missing = missingCredential(r, env);
          if (missing) {
            once(`${missing}: ${r.target === 'webhook' ? `webhook ${r.url}` : `${r.target} commit statuses`} not sent`);
            counter.inc({ target: r.target, result: 'skipped' });
          } else outbox.add(r);
        }
      } catch (err) {
        o.log.warn(`notifications: ${e.event}: ${(err as Error).message}`);
      }
    },
    stop: () => outbox.stop(),
  };
}
