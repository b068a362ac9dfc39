// Rules for a service's `volumes` that their schema cannot say, and the names volumes go by:
// a name once per service, a container's path absolute, normalised and mounted once, and no
// variable of spec.env in the way of the CANOPY_VOLUME_<NAME> canopy sets.
import type { ServiceSpec } from '../../schemas/model.js';

export interface VolumeIssue {
  at: string[];
  message: string;
}

/** The variable that holds a process's volume directory: `data-2` → CANOPY_VOLUME_DATA_2. */
export function volumeEnvName(volume: string): string {
  return `CANOPY_VOLUME_${volume.toUpperCase().replace(/-/g, '_')}`;
}

export function volumeIssues(spec: Pick<ServiceSpec, 'runtime' | 'volumes' | 'env'>): VolumeIssue[] {
  const out: VolumeIssue[] = [];
  const names = new Map<string, number>();
  const paths = new Map<string, number>();
  (spec.volumes ?? []).forEach((v, i) => {
    const at = (k: string) => ['spec', 'volumes', String(i), k];
    const name = names.get(v.name);
    if (name !== undefined) out.push({ at: at('name'), message: `spec.volumes[${i}].name: volume "${v.name}" is listed twice (also spec.volumes[${name}])` });
    else names.set(v.name, i);
    const env = volumeEnvName(v.name);
    if (spec.env && env in spec.env) {
      out.push({ at: ['spec', 'env', env], message: `spec.env.${env}: canopy sets it to the directory of volume "${v.name}": use another name` });
    }
    if (spec.runtime !== 'container') return;
    const why = containerPathProblem(v.path);
    if (why) {
      out.push({ at: at('path'), message: `spec.volumes[${i}].path: ${why} (got "${v.path}")` });
      return;
    }
    const key = v.path.replace(/\/+$/, '');
    const same = paths.get(key);
    if (same !== undefined) out.push({ at: at('path'), message: `spec.volumes[${i}].path: ${key} is mounted twice (also spec.volumes[${same}])` });
    else paths.set(key, i);
  });
  return out;
}

/** Why a path cannot be a mount point in a container, if it cannot. */
export function containerPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must be an absolute path in the container, such as /data';
  if (/^\/+$/.test(path)) return 'cannot be / (the whole file system): mount it at a directory such as /data';
  if (path.split('/').some((p) => p === '.' || p === '..')) return 'must be a plain absolute path, without . or .. parts';
  if (/[:,\0]/.test(path)) return 'may not contain ":", "," or a NUL character';
  return undefined;
}
