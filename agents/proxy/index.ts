// The node-local service proxy: see service-proxy.ts.
export { ServiceProxy, type ServiceProxyOptions } from './service-proxy.js';
export { formatAddr, parseAddr, type Policy, type Protocol, type ProxyLog, type ProxyRoute, type ProxyStats, type RouteEndpoint } from './types.js';
