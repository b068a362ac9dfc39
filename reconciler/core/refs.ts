// Names of the system-authored refs and the files in their commits, in one place.
export const MAIN = 'refs/heads/main';
export const NOTES_REF = 'refs/notes/canopy';
export const placementRef = (cluster: string) => `refs/canopy/placements/${cluster}`;
export const statusRef = (cluster: string) => `refs/canopy/status/${cluster}`;
export const PLACEMENT_FILE = 'placement.json';
export const STATUS_FILE = 'status.json';
/** Beside placement.json: the cluster's liveness as the root saw it (transitions only). */
export const LIVENESS = 'liveness.json';

export interface Liveness {
  state: 'online' | 'unreachable';
  since: string;
  lastHeard: string | null;
}
/** An air-gapped site's repository: the signed manifest of the last placement bundle imported (core/bundle-manifest.ts). */
export const bundleRef = (cluster: string) => `refs/canopy/bundle/${cluster}`;
/** An air-gapped site's repository: the tip of its status ref the root held when it exported the last bundle. */
export const ackedStatusRef = (cluster: string) => `refs/canopy/acked/status/${cluster}`;
export const MANIFEST_FILE = 'manifest.json';
/** Beside placement.json in an air-gapped site's placement commit: the note of the commit in force (cli/airgap/site-chains.ts). */
export const BUNDLE_NOTE_FILE = 'note.txt';
