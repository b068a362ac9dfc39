// A container replica's volumes: one Docker named volume per replica and volume, named after
// its container (`canopy_<fleet>_<node>_<app>_<svc>_<index>_<volume>`) and labelled like it
// (fleet, cluster, node, service, replica, volume, retain), created before the container and
// mounted at each volume's path. A new version of the replica mounts the same volumes; they go
// only when agents/steps/volumes.ts removes them (their service deleted, not retained).
import { OWNER_LABEL, ownerLabels } from './docker-labels.js';
import type { DockerEngine, ContainerCreate } from './docker-engine.js';
import type { DriverOptions, RuntimeDriver, StoredVolume, Workload } from './driver.js';
import { retainRecords, type RetainRecords } from './volume-records.js';

export const VOLUME_LABEL = { ...OWNER_LABEL, volume: 'canopy.volume', retain: 'canopy.retain' } as const;

/** `<container name>_<volume>`: volume names are DNS labels (no `_`), so names stay apart. */
export function dockerVolumeName(containerName: string, volume: string): string {
  return `${containerName}_${volume}`;
}

interface VolumeSummary {
  Name: string;
  Labels: Record<string, string> | null;
}

export function dockerVolumes(
  docker: DockerEngine,
  opts: DriverOptions,
): {
  /** Creates the replica's volumes (an existing one is kept as it is); the mounts for its container. */
  prepare(w: Workload, containerName: string): Promise<NonNullable<ContainerCreate['HostConfig']>['Mounts']>;
  api: NonNullable<RuntimeDriver['volumes']>;
} {
  let records: RetainRecords | undefined; // read on first use: an agent with no volumes never touches the file
  const retained = () => (records ??= retainRecords(opts.stateDir, 'docker'));
  return {
    async prepare(w, containerName) {
      const vols = w.spec.volumes ?? [];
      if (!vols.length) return undefined;
      const named = vols.map((v) => ({ ...v, name: dockerVolumeName(containerName, v.name), volume: v.name }));
      retained().set(named.map((v) => [v.name, v.retain === true]));
      for (const v of named) {
        const Labels = {
          ...ownerLabels(opts, w),
          [VOLUME_LABEL.volume]: v.volume,
          [VOLUME_LABEL.retain]: String(v.retain === true),
        };
        await docker.call('POST', '/volumes/create', { Name: v.name, Labels }); // an existing volume is returned as it is
      }
      return named.map((v) => ({ Type: 'volume' as const, Source: v.name, Target: v.path }));
    },
    api: {
      async list(): Promise<StoredVolume[]> {
        const filters = { label: [`${VOLUME_LABEL.fleet}=${opts.fleet}`, `${VOLUME_LABEL.node}=${opts.node}`] };
        const { Volumes } = await docker.call<{ Volumes: VolumeSummary[] | null }>('GET', `/volumes?filters=${encodeURIComponent(JSON.stringify(filters))}`);
        return (Volumes ?? []).flatMap((v) => {
          const l = v.Labels ?? {};
          if (!l[VOLUME_LABEL.service] || !l[VOLUME_LABEL.volume]) return [];
          const retain = retained().get(v.Name) ?? l[VOLUME_LABEL.retain] === 'true';
          return [{ name: v.Name, service: l[VOLUME_LABEL.service], replica: l[VOLUME_LABEL.replica] ?? '', volume: l[VOLUME_LABEL.volume], retain }];
        });
      },
      async remove(name) {
        try {
          await docker.call('DELETE', `/volumes/${encodeURIComponent(name)}`);
        } catch (err) {
          if ((err as { statusCode?: number }).statusCode !== 404) throw err; // 409: still in use, tried again later
        }
        retained().forget(name);
      },
    },
  };
}
