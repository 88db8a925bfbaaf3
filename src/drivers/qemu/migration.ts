// Live migration between two qemu drivers, libvirt's version 3 protocol with
// extensible parameters as the client drives it (virDomainMigrateVersion3Full):
// Begin on the source (the migratable XML and a cookie), Prepare on the
// destination (QEMU started with -incoming defer, listening with
// migrate-incoming), Perform on the source (QEMU's migrate until it completed),
// Finish on the destination (the guest runs there), Confirm on the source (its
// QEMU ends). Each step is one call; the client carries the XML, cookies and URI.
import os from 'node:os';
import type { Duplex, Writable } from 'node:stream';
import { DomainState, MigrateFlags, RunningReason, ShutoffReason } from '../../driver/flags.js';
import { ResumedDetail, StoppedDetail } from '../../driver/event-numbers.js';
import type { ProcRet } from '../../driver/procedures.js';
import { TypedParamType, typedParamValue, type TypedParam } from '../../driver/typed-params.js';
import { validateTypedParams } from '../../driver/typed-params-validate.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childText, formatXml, parseXml, type XmlElement } from '../../util/xml.js';
import { domainName } from '../../conf/domain.js';
import { checkUnsupportedFeatures } from '../../conf/domain-core.js';
import type { DomainRef, QemuDriver } from './driver.js';
import { checkFlags } from './driver.js';
import { hostUUID } from './host-capabilities.js';
import { waitForMigration } from './lifecycle.js';
import { formatCookie, parseCookie } from './migration-cookie.js';
import { migrationBandwidth } from './migration-bandwidth.js';
import { qemuMigrateURI, withMigrationListen, type MigrationListen } from './migration-address.js';
import { asOutgoingMigration } from './migration-jobs.js';
import { streamTo } from './migration-stream.js';
import { tunnelIn } from './migration-tunnel.js';
import { savedDefinition } from './save-restore.js';

/** The virDomainMigrateFlags tsvirt carries out. */
export const SUPPORTED_FLAGS = [
  MigrateFlags.LIVE,
  MigrateFlags.PEER2PEER,
  MigrateFlags.TUNNELLED,
  MigrateFlags.PERSIST_DEST,
  MigrateFlags.UNDEFINE_SOURCE,
  MigrateFlags.PAUSED,
  MigrateFlags.CHANGE_PROTECTION,
  MigrateFlags.OFFLINE,
  MigrateFlags.ABORT_ON_ERROR,
].reduce((a, b) => a | b, 0);

/** The VIR_MIGRATE_PARAM_* tsvirt honours, with their types. */
const PARAMETERS = {
  migrate_uri: TypedParamType.STRING,
  destination_name: TypedParamType.STRING,
  destination_xml: TypedParamType.STRING,
  persistent_xml: TypedParamType.STRING,
  bandwidth: TypedParamType.ULLONG,
  listen_address: TypedParamType.STRING,
};
type ParamName = keyof typeof PARAMETERS;

const MiB = 1024n * 1024n;

export function checkMigration(params: readonly TypedParam[], flags: number, fn: string): void {
  checkFlags(flags, SUPPORTED_FLAGS, fn);
  validateTypedParams(params, PARAMETERS);
}

function param(params: readonly TypedParam[], name: ParamName): string | bigint | undefined {
  const p = params.find((q) => q.field === name);
  return p === undefined ? undefined : (typedParamValue(p) as string | bigint);
}
const stringParam = (params: readonly TypedParam[], name: ParamName) => param(params, name) as string | undefined;

async function localCookie(driver: QemuDriver, domain: { name: string; uuid: string }): Promise<Buffer> {
  return formatCookie({ ...domain, hostname: os.hostname(), hostUUID: await hostUUID(driver.paths.cacheDir) });
}

// ---- source ------------------------------------------------------------------

/**
 * qemuDomainMigrateBegin3Params: the XML the destination starts from (an
 * offline migration's: the persistent definition), and the source's cookie.
 */
export async function begin(driver: QemuDriver, dom: DomainRef, params: TypedParam[], flags: number): Promise<ProcRet<'domainMigrateBegin3Params'>> {
  checkMigration(params, flags, 'qemuDomainMigrateBegin3Params');
  if (flags & MigrateFlags.OFFLINE) {
    if (!(flags & MigrateFlags.PERSIST_DEST)) throw virError(ErrorCode.OPERATION_INVALID, 'offline migration must be specified with the persistent flag set', ErrorDomain.QEMU);
    const obj = await driver.objectOf(dom);
    const xml = stringParam(params, 'destination_xml') ?? driver.xml.format(obj.persistentDef, { secure: true, inactive: true });
    return { xml, cookie_out: await localCookie(driver, obj) };
  }
  return driver.runtime.withRunning(dom, async (obj, running) => {
    const xml = stringParam(params, 'destination_xml') ?? driver.xml.format(savedDefinition(running.live), { secure: true, inactive: true });
    return { xml, cookie_out: await localCookie(driver, obj) };
  }, { monitor: false });
}

/**
 * qemuDomainMigratePerform3Params's migration (peer-to-peer drives it from
 * migration-p2p.ts): QEMU migrates to the URI the destination listens on, or
 * into `tunnel`, within the domain's bandwidth limit; the guest ends paused,
 * which the source reports as a migration's pause.
 */
export async function perform(driver: QemuDriver, dom: DomainRef, params: TypedParam[], cookieIn: Buffer, flags: number, tunnel?: Writable): Promise<ProcRet<'domainMigratePerform3Params'>> {
  checkMigration(params, flags, 'qemuDomainMigratePerform3Params');
  const migrateURI = stringParam(params, 'migrate_uri');
  if (migrateURI === undefined && !tunnel) throw virError(ErrorCode.INVALID_ARG, 'migration URI is required', ErrorDomain.QEMU);
  const destination = tunnel || migrateURI === undefined ? undefined : qemuMigrateURI(migrateURI);
  return driver.runtime.withRunning(dom, async (obj, running) => {
    parseCookie(cookieIn, obj, await hostUUID(driver.paths.cacheDir));
    // tunnelled (migration-tunnel.ts): QEMU migrates to this daemon, which passes the bytes on
    const relay = tunnel && (await streamTo(() => tunnel, driver.runtime.security.qemuOwner(running.live)));
    const uri = relay?.uri ?? destination;
    const runtime = driver.runtime.runtime;
    const qmp = await runtime.ensureMonitor(running);
    const bandwidth = (param(params, 'bandwidth') as bigint | undefined) ?? (await migrationBandwidth(driver.paths.stateDir, obj.uuid));
    await qmp.execute('migrate-set-parameters', { 'max-bandwidth': bandwidth * MiB });
    running.migratingOut = true;
    try {
      await asOutgoingMigration(driver, obj.uuid, qmp, async () => {
        await qmp.execute('migrate', { uri });
        await waitForMigration(qmp, 'migration out');
        await relay?.written;
      });
      await runtime.pausedByMigration(obj.name);
    } finally {
      running.migratingOut = false;
      await relay?.close();
    }
    return { cookie_out: await localCookie(driver, obj) };
  });
}

/** qemuDomainMigrateConfirm3Params: the source's QEMU ends once the destination runs the guest, or the guest runs on here. */
export async function confirm(driver: QemuDriver, dom: DomainRef, params: TypedParam[], flags: number, cancelled: boolean): Promise<void> {
  checkMigration(params, flags, 'qemuDomainMigrateConfirm3Params');
  // an offline migration leaves any QEMU of the source alone
  const persistent = flags & MigrateFlags.OFFLINE ? (await driver.objectOf(dom)).persistent : await driver.runtime.withRunning(dom, async (obj, running) => {
    const runtime = driver.runtime.runtime;
    if (!cancelled) await runtime.stopFor(obj.name, ShutoffReason.MIGRATED, StoppedDetail.MIGRATED);
    else if (running.state === DomainState.PAUSED) await runtime.resumeAfter(obj.name, RunningReason.MIGRATION_CANCELED, ResumedDetail.MIGRATED);
    return obj.persistent;
  }, { monitor: false });
  if (!cancelled && persistent && flags & MigrateFlags.UNDEFINE_SOURCE) await driver.domainUndefineFlags({ dom, flags: 0 });
}

// ---- destination -------------------------------------------------------------

/** The definition under the name the destination gives the domain (dname), when that differs. */
function named(xml: string, name: string | undefined): string {
  const def = parseXml(xml);
  const element = child(def, 'name');
  if (name === undefined || element === undefined || element.text === name) return xml;
  element.text = name;
  return formatXml(def);
}

/**
 * The names the sources know renamed incoming guests by (libvirt's
 * priv->origname), by UUID, from Prepare to Finish: Finish's cookie carries
 * that name, which the source's Confirm checks.
 */
const incomingOrigNames = new Map<string, string>();

/** A PrepareTunnel call's stream, and the qemu driver function that was called (its errors name it). */
export interface TunnelPrepare {
  stream: Duplex;
  fn: 'qemuDomainMigratePrepareTunnel3Params' | 'qemuDomainMigratePrepareTunnel3' | 'qemuDomainMigratePrepareTunnel';
}

/**
 * qemuDomainMigratePrepare3Params: the guest's QEMU, waiting for the stream on
 * the address the client asked for or on a port it names (migration-address.ts);
 * with `tunnel` (PrepareTunnel's stream), on a unix socket this daemon feeds
 * from the tunnel (migration-tunnel.ts).
 */
export async function prepare(driver: QemuDriver, params: TypedParam[], cookieIn: Buffer, flags: number, tunnel?: TunnelPrepare): Promise<ProcRet<'domainMigratePrepare3Params'>> {
  checkMigration(params, flags, tunnel?.fn ?? 'qemuDomainMigratePrepare3Params');
  if (tunnel && !(flags & MigrateFlags.TUNNELLED)) throw virError(ErrorCode.INTERNAL_ERROR, 'PrepareTunnel called but no TUNNELLED flag set', ErrorDomain.QEMU);
  if (tunnel && flags & MigrateFlags.OFFLINE) throw virError(ErrorCode.OPERATION_INVALID, 'tunnelled offline migration does not make sense', ErrorDomain.QEMU);
  const xml = stringParam(params, 'destination_xml');
  if (xml === undefined) throw virError(ErrorCode.INTERNAL_ERROR, 'no domain XML passed', ErrorDomain.QEMU);
  const def = await driver.xml.parseNew(xml, { validateSchema: false });
  // the cookies keep the name the source knows (qemuMigrationAnyPrepareDef's origname)
  const origName = domainName(def);
  const dname = stringParam(params, 'destination_name');
  if (dname !== undefined) {
    child(def, 'name')!.text = dname;
    checkUnsupportedFeatures(def);
  }
  const uuid = (childText(def, 'uuid') ?? '').toLowerCase();
  parseCookie(cookieIn, { name: origName, uuid }, await hostUUID(driver.paths.cacheDir));
  const cookieOut = () => localCookie(driver, { name: origName, uuid });
  if (dname !== undefined) incomingOrigNames.set(uuid, origName);
  if (tunnel) {
    const relay = await tunnelIn(tunnel.stream, (await driver.runtime.processes()).security.qemuOwner(def));
    await startIncoming(driver, def, relay.uri).catch(async (e) => {
      await relay.abort(e as Error);
      throw e;
    });
    relay.connect();
    return { cookie_out: await cookieOut(), uri_out: relay.uri };
  }
  return withMigrationListen(driver.config, stringParam(params, 'migrate_uri'), stringParam(params, 'listen_address'), async (listen: MigrationListen, protocol) => {
    const memtune = child(def, 'memtune');
    if (protocol === 'rdma' && (!memtune || childText(memtune, 'hard_limit') === undefined)) {
      throw virError(ErrorCode.OPERATION_INVALID, 'cannot start RDMA migration with no memory hard limit set', ErrorDomain.QEMU);
    }
    // an offline migration brings the definition alone, at Finish
    if (!(flags & MigrateFlags.OFFLINE)) await startIncoming(driver, def, listen.incoming);
    return { cookie_out: await cookieOut(), uri_out: listen.uriOut ?? null };
  });
}

/** The destination's QEMU for `def`, paused, listening for the migration stream on `uri`. */
async function startIncoming(driver: QemuDriver, def: XmlElement, uri: string): Promise<void> {
  const name = domainName(def);
  await driver.withDriverLock(async () => {
    await driver.syncDomains();
    const existing = driver.store.checkAddable(def);
    if (existing && existing.id !== -1) throw virError(ErrorCode.OPERATION_INVALID, `domain '${name}' is already active`, ErrorDomain.QEMU);
    const { runtime } = await driver.runtime.processes();
    await driver.withDomainLock((childText(def, 'uuid') ?? '').toLowerCase(), async () => {
      runtime.release(await runtime.start(name, def, { paused: true, incoming: { uri, send: async () => undefined, pausedByUser: false, migration: true } }));
    });
    await driver.runtime.sync({ refresh: false });
  });
}

/** Finish after a failed Perform: libvirt's "no domain, as expected" (the client keeps Perform's error). */
const finishedCancelled = () => virError(ErrorCode.MIGRATE_FINISH_OK, undefined, ErrorDomain.QEMU);

/**
 * qemuDomainMigrateFinish3Params: once the stream is in, the guest is defined
 * here with VIR_MIGRATE_PERSIST_DEST, then runs (or stays paused with
 * VIR_MIGRATE_PAUSED); a cancelled or failed migration ends the waiting QEMU.
 */
export async function finish(driver: QemuDriver, params: TypedParam[], flags: number, cancelled: boolean): Promise<ProcRet<'domainMigrateFinish3Params'>> {
  checkMigration(params, flags, 'qemuDomainMigrateFinish3Params');
  const name = stringParam(params, 'destination_name') ?? '';
  if (flags & MigrateFlags.OFFLINE) {
    if (cancelled) throw finishedCancelled();
    const xml = stringParam(params, 'persistent_xml') ?? stringParam(params, 'destination_xml');
    if (xml === undefined) throw virError(ErrorCode.INTERNAL_ERROR, 'no domain XML passed', ErrorDomain.QEMU);
    const { dom } = await driver.domainDefineXMLFlags({ xml: named(xml, stringParam(params, 'destination_name')), flags: 0 });
    return { dom, cookie_out: await localCookie(driver, { name: domainName(parseXml(xml)), uuid: dom.uuid }) };
  }
  const { dom } = await driver.domainLookupByName({ name });
  const origName = incomingOrigNames.get(dom.uuid);
  incomingOrigNames.delete(dom.uuid);
  const { runtime } = await driver.runtime.processes();
  const persistentXml = await driver.runtime.withRunning(dom, async (obj, running) => {
    try {
      if (cancelled) throw finishedCancelled();
      await waitForMigration(await runtime.ensureMonitor(running), 'migration in');
    } catch (e) {
      await runtime.stopFor(obj.name, ShutoffReason.FAILED, StoppedDetail.FAILED);
      throw e;
    }
    return stringParam(params, 'persistent_xml') ?? driver.xml.format(savedDefinition(running.live), { secure: true, inactive: true });
  });
  // defined before the guest runs, as libvirt does (qemuMigrationDstPersist); the define takes the locks itself
  if (flags & MigrateFlags.PERSIST_DEST) await driver.domainDefineXMLFlags({ xml: named(persistentXml, stringParam(params, 'destination_name')), flags: 0 });
  return driver.runtime.withRunning(dom, async (obj, running) => {
    if (!(flags & MigrateFlags.PAUSED)) await runtime.resumeAfter(obj.name, RunningReason.MIGRATED, ResumedDetail.MIGRATED);
    return { dom: { name: obj.name, uuid: obj.uuid, id: running.id }, cookie_out: await localCookie(driver, { name: origName ?? obj.name, uuid: obj.uuid }) };
  }, { monitor: false });
}
