// The host UUID a daemon is configured with (libvirtd.conf host_uuid,
// virSetHostUUIDStr). It wins over the SMBIOS one; two daemons on one host
// need different ones, or each takes a migration to the other for one to itself.
import { parseUUID } from './uuid.js';

let configured: string | undefined;

/** Sets the process's host UUID; refuses a malformed one and one of a single repeated byte (virUUIDIsValid). */
export function setConfiguredHostUUID(text: string): void {
  const uuid = parseUUID(text);
  if (uuid === undefined || /^(..)\1{15}$/.test(uuid.replaceAll('-', ''))) throw new Error(`invalid host UUID: ${text}`);
  configured = uuid;
}

/** The configured host UUID, if the daemon set one. */
export function configuredHostUUID(): string | undefined {
  return configured;
}
