// Which URIs the remote driver takes, decided without loading it: a tsvirsh
// connection to test:/// or a local qemu:///system then never reads the RPC client
// and codecs (dist/tsvirsh-remote.cjs, most of the remote driver's weight).
import { existsSync } from 'node:fs';
import type { ParsedURI } from '../../driver/uri.js';

/** tsvirtd's sockets on the host (libvirtd's /run/libvirt/libvirt-sock{,-ro} with "tsvirt"). */
export const SYSTEM_SOCKET = '/run/tsvirt/libvirt-sock';
export const SYSTEM_SOCKET_RO = '/run/tsvirt/libvirt-sock-ro';

/** The transport a URI names, or implies by naming a server (tls, libvirt's default); null for a local URI. */
export function transportOf(uri: ParsedURI): string | null {
  return uri.transport ?? (uri.host !== null ? 'tls' : null);
}

/** As libvirt's client library: a local qemu:///system goes to the daemon when one listens; embed never. */
export function daemonServesLocally(uri: ParsedURI): boolean {
  return uri.driver === 'qemu' && (uri.path === '/system' || uri.path === '/system/') && existsSync(SYSTEM_SOCKET);
}

/** Whether the remote driver would open `uri` rather than decline it. */
export function remoteClaims(uri: ParsedURI): boolean {
  return transportOf(uri) !== null || daemonServesLocally(uri);
}
