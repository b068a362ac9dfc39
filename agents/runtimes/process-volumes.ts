// A process replica's volumes: one directory per replica and volume in the agent's state
// directory (<stateDir>/volumes/<app>_<svc>_<index>_<volume>), made before the process starts and
// handed to it in CANOPY_VOLUME_<NAME>. A new version of the replica gets the same directories;
// they go only when agents/steps/volumes.ts removes them (their service deleted, not retained).
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseReplicaId, replicaId, serviceId } from '../../reconciler/core/ids.js';
import { volumeEnvName } from '../../reconciler/core/volume-rules.js';
import type { DriverOptions, RuntimeDriver, StoredVolume, Workload } from './driver.js';
import { retainRecords, type RetainRecords } from './volume-records.js';

const DIR_NAME = /^([a-z0-9-]+)_([a-z0-9-]+)_([0-9]+)_([a-z0-9-]+)$/;

/** `shop/db#0` and `data` → `shop_db_0_data` (parts are DNS labels: `_` keeps them apart). */
export function processVolumeDir(id: string, volume: string): string {
  const r = parseReplicaId(id);
  if (!r) throw new Error(`not a replica id: ${id}`);
  return `${r.service.replace('/', '_')}_${r.index}_${volume}`;
}

export function processVolumes(opts: DriverOptions): {
  /** Makes the replica's directories (kept when they exist); the variables that name them. */
  prepare(w: Workload): Record<string, string>;
  api: NonNullable<RuntimeDriver['volumes']>;
} {
  const root = join(opts.stateDir, 'volumes');
  let records: RetainRecords | undefined;
  const retained = () => (records ??= retainRecords(opts.stateDir, 'process'));
  return {
    prepare(w) {
      const vols = w.spec.volumes ?? [];
      if (!vols.length) return {};
      const named = vols.map((v) => ({ ...v, dir: processVolumeDir(w.id, v.name) }));
      retained().set(named.map((v) => [v.dir, v.retain === true]));
      const env: Record<string, string> = {};
      for (const v of named) {
        const dir = join(root, v.dir);
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        env[volumeEnvName(v.name)] = dir;
      }
      return env;
    },
    api: {
      async list(): Promise<StoredVolume[]> {
        let names: string[];
        try {
          names = readdirSync(root);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
          throw err;
        }
        return names.flatMap((name) => {
          const m = DIR_NAME.exec(name);
          if (!m) return [];
          const service = serviceId(m[1], m[2]);
          return [{ name, service, replica: replicaId(service, Number(m[3])), volume: m[4], retain: retained().get(name) ?? false }];
        });
      },
      async remove(name) {
        if (!DIR_NAME.test(name)) throw new Error(`not a volume directory: ${name}`);
        rmSync(join(root, name), { recursive: true, force: true });
        retained().forget(name);
      },
    },
  };
}
