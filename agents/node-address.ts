// The address other nodes reach this node at: given (`canopy agent --address IP`), or the local
// address of its connection to the broker (the interface the site's other nodes most likely reach
// it through), else loopback. Workloads learn it as CANOPY_NODE_ADDRESS; its status carries it.
import { isIP } from 'node:net';

export const LOOPBACK = '127.0.0.1';

/** Why `text` is not an IP address literal (IPv4 or IPv6), or undefined when it is one. */
export function addressProblem(text: string): string | undefined {
  return isIP(text) ? undefined : 'expected an IPv4 or IPv6 address, e.g. 192.168.1.20 or fd00::20';
}

/** The node's address when none was given: the broker connection's local address (an IPv4-mapped one as IPv4), else loopback. */
export function defaultNodeAddress(socketLocal: string | undefined): string {
  if (!socketLocal || !isIP(socketLocal)) return LOOPBACK;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(socketLocal);
  return mapped ? mapped[1] : socketLocal;
}
