// The migration cookie the two sides of a migration hand each other through
// the client (libvirt's <qemu-migration>): which domain and which host it comes
// from. A NUL-terminated XML text, as libvirt sends it.
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { childText, element, formatXml, parseXml } from '../../util/xml.js';

export interface MigrationCookie {
  name: string;
  uuid: string;
  hostname: string;
  hostUUID: string;
}

export function formatCookie(cookie: MigrationCookie): Buffer {
  const xml = formatXml(element('qemu-migration', {}, [
    element('name', {}, [], cookie.name),
    element('uuid', {}, [], cookie.uuid),
    element('hostname', {}, [], cookie.hostname),
    element('hostuuid', {}, [], cookie.hostUUID),
  ]));
  return Buffer.from(`${xml}\0`);
}

const cookieError = (message: string) => virError(ErrorCode.INTERNAL_ERROR, message, ErrorDomain.QEMU);

/**
 * qemuMigrationCookieXMLParse: the other side's cookie, checked against the
 * domain it is about and refused when it comes from this very host. An empty
 * one is no cookie (the version 2 protocol sends none): nothing to check.
 */
export function parseCookie(data: Buffer, domain: { name: string; uuid: string }, localHostUUID: string): MigrationCookie | undefined {
  if (data.length === 0) return undefined;
  if (data[data.length - 1] !== 0) throw cookieError('Migration cookie was not NULL terminated');
  const root = parseXml(data.subarray(0, data.length - 1).toString('utf8'));
  const name = childText(root, 'name');
  if (name === undefined) throw cookieError('missing name element in migration data');
  if (name !== domain.name) throw cookieError(`Incoming cookie data had unexpected name ${name} vs ${domain.name}`);
  const uuid = childText(root, 'uuid');
  if (uuid === undefined) throw cookieError('missing uuid element in migration data');
  if (uuid.toLowerCase() !== domain.uuid) throw cookieError(`Incoming cookie data had unexpected UUID ${uuid} vs ${domain.uuid}`);
  const hostname = childText(root, 'hostname');
  if (hostname === undefined) throw cookieError('missing hostname element in migration data');
  const hostUUID = childText(root, 'hostuuid');
  if (hostUUID === undefined) throw cookieError('missing hostuuid element in migration data');
  if (hostUUID.toLowerCase() === localHostUUID) throw cookieError(`Attempt to migrate guest to the same host ${hostUUID}`);
  return { name, uuid: uuid.toLowerCase(), hostname, hostUUID: hostUUID.toLowerCase() };
}
