// Start each part (root, cluster, agent) with its own MQTT identity. Used by the single-part
// commands, as they run on real sites, and by `canopy up`, which starts them all in one process.
// Each part lives in its own file so that a part's command loads only what that part needs
// (`canopy agent` imports parts/agent.js, never Git or YAML); this file gathers them for `up`
// and the tests.
export { type Running, type Timings, keepalive, timingsOf } from './parts/running.js';
export { runRoot, type RootPartOptions } from './parts/root.js';
export { runCluster, clusterFileAtMain, type ClusterPartOptions } from './parts/cluster.js';
export { runAgent, type AgentPartOptions } from './parts/agent.js';
