// libvirt's port allocator (virPortAllocatorAcquire) for the ranges the qemu
// driver hands ports out of (display, websocket, migration): the lowest port of
// the range that no one here holds and that the host lets us bind.
import { ErrorCode, type ErrorDomain, virError } from '../../util/error.js';

export interface PortRange {
  /** libvirt's name of the range, for its error ("display", "webSocket", "migration") */
  name: string;
  min: number;
  max: number;
}

/** virPortAllocatorBindToPort: the port can be bound on the IPv4 and IPv6 wildcard addresses. */
async function bindable(port: number): Promise<boolean> {
  const tryListen = (host: string) => new Promise<boolean>((resolve) => {
    // node:net is loaded by a port search, not by every query that imports the driver
    const server = process.getBuiltinModule('node:net').createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'EADDRNOTAVAIL' || e.code === 'EAFNOSUPPORT'));
    server.listen({ port, host, ipv6Only: host === '::', exclusive: true }, () => server.close(() => resolve(true)));
  });
  return (await tryListen('0.0.0.0')) && (await tryListen('::'));
}

/** The lowest port of `range` that `taken` does not hold and the host can bind; libvirt's error when there is none. */
export async function acquirePort(range: PortRange, taken: (port: number) => boolean, errorDomain: ErrorDomain): Promise<number> {
  for (let port = range.min; port <= range.max; port++) {
    if (!taken(port) && (await bindable(port))) return port;
  }
  throw virError(ErrorCode.INTERNAL_ERROR, `Unable to find an unused port in range '${range.name}' (${range.min}-${range.max})`, errorDomain);
}
