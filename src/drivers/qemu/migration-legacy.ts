// The older migration calls, for clients that predate extensible parameters:
// version 3 with fixed arguments (Begin3, Prepare3, Perform3, Finish3, Confirm3)
// and version 2 (the client calls Prepare2 on the destination, Perform on the
// source, Finish2 on the destination). Each turns its arguments into the
// parameters of the version 3 calls (migration.ts), as libvirt's qemu driver
// hands both forms to one implementation: xmlin/dom_xml = destination_xml,
// dname = destination_name, uri = migrate_uri, resource (MiB/s) = bandwidth.
// Version 2 carries no cookies and has no Confirm: Perform ends the source's
// guest itself once the stream is out. An offline version 3 migration's
// definition waits here from Prepare3 to Finish3.
import { MigrateFlags } from '../../driver/flags.js';
import type { ProcArgs, ProcRet } from '../../driver/procedures.js';
import { typedParam, type TypedParam } from '../../driver/typed-params.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { parseXml } from '../../util/xml.js';
import { domainName } from '../../conf/domain.js';
import { checkFlags, type QemuDriver } from './driver.js';
import { begin, confirm, finish, perform, prepare, SUPPORTED_FLAGS } from './migration.js';

/** The fixed arguments of the older calls; null or 0 where the client gave none. */
interface LegacyArguments {
  xml?: string | null;
  dname?: string | null;
  uri?: string | null;
  resource?: bigint;
}

function asParams({ xml, dname, uri, resource }: LegacyArguments): TypedParam[] {
  const params: TypedParam[] = [];
  if (typeof xml === 'string') params.push(typedParam.string('destination_xml', xml));
  if (typeof dname === 'string') params.push(typedParam.string('destination_name', dname));
  if (typeof uri === 'string') params.push(typedParam.string('migrate_uri', uri));
  // 0 leaves the domain's own limit (migrate-setspeed) in force
  if (resource) params.push(typedParam.ullong('bandwidth', resource));
  return params;
}

/** virCheckFlags on the older calls' 64-bit flags, under the older function's name; the flags as the params calls take them. */
function checkedFlags(flags: bigint, fn: string): number {
  checkFlags(flags, SUPPORTED_FLAGS, fn);
  return Number(flags);
}

/** Prepare2 and Prepare3 are never the way in of a tunnelled migration, PrepareTunnel is (a client error, as libvirt reports it). */
function refuseTunnel(flags: bigint): void {
  if (flags & BigInt(MigrateFlags.TUNNELLED)) throw virError(ErrorCode.INTERNAL_ERROR, 'Tunnelled migration requested but invalid RPC method called', ErrorDomain.QEMU);
}

// ---- version 3 --------------------------------------------------------------

export function begin3(driver: QemuDriver, { dom, xmlin, flags, dname, resource }: ProcArgs<'domainMigrateBegin3'>): Promise<ProcRet<'domainMigrateBegin3'>> {
  return begin(driver, dom, asParams({ xml: xmlin, dname, resource }), checkedFlags(flags, 'qemuDomainMigrateBegin3'));
}

/**
 * The definitions offline migrations brought to Prepare3, by destination name,
 * until their Finish3: the calls with parameters hand the XML to Finish again,
 * these do not (libvirt keeps the inactive domain object in between).
 */
const offlineDefinitions = new WeakMap<QemuDriver, Map<string, string>>();

function offlineDefinitionsOf(driver: QemuDriver): Map<string, string> {
  let map = offlineDefinitions.get(driver);
  if (!map) offlineDefinitions.set(driver, (map = new Map()));
  return map;
}

export async function prepare3(driver: QemuDriver, { cookie_in, uri_in, flags, dname, resource, dom_xml }: ProcArgs<'domainMigratePrepare3'>): Promise<ProcRet<'domainMigratePrepare3'>> {
  refuseTunnel(flags);
  const checked = checkedFlags(flags, 'qemuDomainMigratePrepare3');
  const prepared = await prepare(driver, asParams({ xml: dom_xml, dname, uri: uri_in, resource }), cookie_in, checked);
  if (checked & MigrateFlags.OFFLINE) offlineDefinitionsOf(driver).set(dname ?? domainName(parseXml(dom_xml)), dom_xml);
  return prepared;
}

/** dconnuri names the destination's daemon only for peer-to-peer migration (migration-p2p.ts). */
export async function perform3(driver: QemuDriver, { dom, xmlin, cookie_in, dconnuri, uri, flags, dname, resource }: ProcArgs<'domainMigratePerform3'>): Promise<ProcRet<'domainMigratePerform3'>> {
  const checked = checkedFlags(flags, 'qemuDomainMigratePerform3');
  const params = asParams({ xml: xmlin, dname, uri, resource });
  if (checked & MigrateFlags.PEER2PEER) return (await import('./migration-p2p.js')).performPeer2Peer(driver, dom, dconnuri, params, checked);
  return perform(driver, dom, params, cookie_in, checked);
}

export function finish3(driver: QemuDriver, { dname, flags, uri, cancelled }: ProcArgs<'domainMigrateFinish3'>): Promise<ProcRet<'domainMigrateFinish3'>> {
  const checked = checkedFlags(flags, 'qemuDomainMigrateFinish3');
  const offline = offlineDefinitionsOf(driver);
  const xml = checked & MigrateFlags.OFFLINE ? offline.get(dname) : undefined;
  offline.delete(dname);
  return finish(driver, asParams({ xml, dname, uri }), checked, cancelled !== 0);
}

export function confirm3(driver: QemuDriver, { dom, flags, cancelled }: ProcArgs<'domainMigrateConfirm3'>): Promise<void> {
  return confirm(driver, dom, [], checkedFlags(flags, 'qemuDomainMigrateConfirm3'), cancelled !== 0);
}

// ---- version 2 --------------------------------------------------------------

const NO_COOKIE = Buffer.alloc(0);

export async function prepare2(driver: QemuDriver, { uri_in, flags, dname, resource, dom_xml }: ProcArgs<'domainMigratePrepare2'>): Promise<ProcRet<'domainMigratePrepare2'>> {
  refuseTunnel(flags);
  const { uri_out } = await prepare(driver, asParams({ xml: dom_xml, dname, uri: uri_in, resource }), NO_COOKIE, checkedFlags(flags, 'qemuDomainMigratePrepare2'));
  // version 2 hands no cookie back: older daemons' cookie buffers were too small for it
  return { cookie: NO_COOKIE, uri_out };
}

/** The source's whole part of a version 2 migration: the stream out, then, with nobody left to confirm, the guest ends here (and its definition with VIR_MIGRATE_UNDEFINE_SOURCE). */
export async function performV2(driver: QemuDriver, { dom, cookie, uri, flags, dname, resource }: ProcArgs<'domainMigratePerform'>): Promise<void> {
  const checked = checkedFlags(flags, 'qemuDomainMigratePerform');
  // peer-to-peer: the URI is the destination daemon's, and the whole migration runs here (migration-p2p.ts)
  if (checked & MigrateFlags.PEER2PEER) {
    await (await import('./migration-p2p.js')).performPeer2Peer(driver, dom, uri, asParams({ dname, resource }), checked);
    return;
  }
  await perform(driver, dom, asParams({ dname, uri, resource }), cookie, checked);
  await confirm(driver, dom, [], checked, false);
}

export async function finish2(driver: QemuDriver, { dname, uri, flags, retcode }: ProcArgs<'domainMigrateFinish2'>): Promise<ProcRet<'domainMigrateFinish2'>> {
  const { dom } = await finish(driver, asParams({ dname, uri }), checkedFlags(flags, 'qemuDomainMigrateFinish2'), retcode !== 0);
  return { ddom: dom };
}
