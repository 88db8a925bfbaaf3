// Peer-to-peer migration (VIR_MIGRATE_PEER2PEER), as libvirt's
// qemuMigrationSrcPerformPeer2Peer3 runs it: the client calls Perform on the
// source alone; the source's driver opens its own connection to the
// destination URI and drives the version 3 steps there (Prepare, Finish)
// around its own Begin, Perform and Confirm. The connection comes from the
// composer (OpenOptions.openPeer), so this driver never imports the remote one.
import { dispatch, type DispatchTarget } from '../../driver/dispatch.js';
import { DriverFeature } from '../../driver/features.js';
import { DomainState, MigrateFlags } from '../../driver/flags.js';
import type { ConnectionDrivers } from '../../driver/families.js';
import type { ProcRet } from '../../driver/procedures.js';
import { replaceStringParam, type TypedParam } from '../../driver/typed-params.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import type { DomainRef, QemuDriver } from './driver.js';
import { begin, checkMigration, confirm, perform } from './migration.js';
import { outgoingMigration } from './migration-jobs.js';
import { tunnelOut } from './migration-tunnel.js';

/** What the destination is told of the source's flags: its own options stay here (qemuMigrationSrcPerformPeer2Peer3's destflags). */
const SOURCE_ONLY_FLAGS = MigrateFlags.ABORT_ON_ERROR | MigrateFlags.CHANGE_PROTECTION;

async function supports(target: DispatchTarget, feature: DriverFeature): Promise<boolean> {
  return (await dispatch(target, 'connectSupportsFeature', { feature })).supported === 1;
}

/** The destination must speak peer-to-peer and the version 3 protocol with parameters, the one tsvirt's source drives. */
async function checkDestination(target: DispatchTarget, flags: number): Promise<void> {
  if (!(await supports(target, DriverFeature.MIGRATION_P2P))) {
    throw virError(ErrorCode.OPERATION_FAILED, 'Destination libvirt does not support peer-to-peer migration protocol', ErrorDomain.QEMU);
  }
  if (!(await supports(target, DriverFeature.MIGRATION_V3)) || !(await supports(target, DriverFeature.MIGRATION_PARAMS))) {
    throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, 'peer-to-peer migration to a destination without migration protocol 3 with parameters is not supported by tsvirt', ErrorDomain.QEMU);
  }
  if (flags & MigrateFlags.OFFLINE && !(await supports(target, DriverFeature.MIGRATION_OFFLINE))) {
    throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, 'offline migration is not supported by the destination host', ErrorDomain.QEMU);
  }
}

/**
 * qemuDomainMigratePerform3Params with VIR_MIGRATE_PEER2PEER: the whole
 * migration to the libvirt at `dconnuri`; the client gets no cookie back.
 */
export async function performPeer2Peer(driver: QemuDriver, dom: DomainRef, dconnuri: string | null, params: TypedParam[], flags: number): Promise<ProcRet<'domainMigratePerform3Params'>> {
  checkMigration(params, flags, 'qemuDomainMigratePerform3Params');
  if (dconnuri === null) throw virError(ErrorCode.INVALID_ARG, 'dconnuri in virDomainMigratePerform3Params must not be NULL', ErrorDomain.QEMU);
  if (flags & MigrateFlags.TUNNELLED && params.some((p) => p.field === 'migrate_uri')) {
    throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, 'migration URI is not supported by tunnelled migration', ErrorDomain.QEMU);
  }
  if (!driver.openPeer) throw virError(ErrorCode.NO_SUPPORT, 'peer-to-peer migration needs connections to other hosts, which this driver was opened without', ErrorDomain.QEMU);
  // the order matters: the destination is set up before the source is touched
  const dconn = await driver.openPeer(dconnuri);
  try {
    const target: DispatchTarget = { drivers: dconn, readonly: false };
    await checkDestination(target, flags);
    await migrateTo(driver, dom, dconn, params, flags);
  } finally {
    await dconn.close().catch(() => undefined);
  }
  return { cookie_out: Buffer.alloc(0) };
}

/** Begin here, Prepare there, Perform here, Finish there, Confirm here; the first error is the one reported. */
async function migrateTo(driver: QemuDriver, dom: DomainRef, dconn: ConnectionDrivers, params: TypedParam[], flags: number): Promise<void> {
  const target: DispatchTarget = { drivers: dconn, readonly: false };
  const begun = await begin(driver, dom, params, flags);
  const offline = (flags & MigrateFlags.OFFLINE) !== 0;
  // a paused guest stays paused at the destination
  if (!offline && (await driver.domainGetState({ dom, flags: 0 })).state === DomainState.PAUSED) flags |= MigrateFlags.PAUSED;
  const destFlags = flags & ~SOURCE_ONLY_FLAGS;
  let destParams = replaceStringParam(params, 'destination_xml', begun.xml);
  const prepareArgs = { params: destParams, cookie_in: begun.cookie_out, flags: destFlags };
  // tunnelled (migration-tunnel.ts): QEMU's stream goes through the Prepare call's stream, not to a URI of the destination
  const tunnel = flags & MigrateFlags.TUNNELLED ? tunnelOut() : undefined;
  const prepared: { cookie_out: Buffer; uri_out?: string | null } = await (tunnel ? dispatch(target, 'domainMigratePrepareTunnel3Params', prepareArgs, tunnel.peer) : dispatch(target, 'domainMigratePrepare3Params', prepareArgs)).catch((e) => {
    tunnel?.abort(e as Error);
    throw e;
  });

  let cookie = prepared.cookie_out;
  let failure: unknown;
  // the destination's connection dying ends the migration, as libvirt's close callback does
  let lost = false;
  const unwatch = dconn.onClose?.(() => {
    lost = true;
    void outgoingMigration(driver, dom.uuid)?.qmp.execute('migrate_cancel').catch(() => undefined);
  });
  const lostConnection = () => virError(ErrorCode.OPERATION_FAILED, 'Lost connection to destination host', ErrorDomain.QEMU);
  if (!offline) {
    try {
      if (lost) throw lostConnection();
      if (tunnel) {
        cookie = (await perform(driver, dom, destParams, cookie, flags & ~MigrateFlags.PEER2PEER, tunnel.local)).cookie_out;
        await tunnel.answered;
      } else {
        // the destination names its address, unless it listens where the caller's URI says
        if (prepared.uri_out) destParams = replaceStringParam(destParams, 'migrate_uri', prepared.uri_out);
        else if (!destParams.some((p) => p.field === 'migrate_uri')) throw virError(ErrorCode.INTERNAL_ERROR, 'domainMigratePrepare3 did not set uri', ErrorDomain.QEMU);
        cookie = (await perform(driver, dom, destParams, cookie, flags & ~MigrateFlags.PEER2PEER)).cookie_out;
      }
    } catch (e) {
      failure = lost ? lostConnection() : e;
      tunnel?.abort(e as Error);
    } finally {
      unwatch?.();
    }
  }

  // the destination hears whether all came through; it ends its QEMU if not
  if (!destParams.some((p) => p.field === 'destination_name')) destParams = replaceStringParam(destParams, 'destination_name', dom.name);
  let finished = false;
  try {
    await dispatch(target, 'domainMigrateFinish3Params', { params: destParams, cookie_in: cookie, flags: destFlags, cancelled: failure === undefined ? 0 : 1 });
    finished = failure === undefined;
  } catch (e) {
    failure ??= e;
  }
  try {
    await confirm(driver, dom, params, flags, !finished);
  } catch (e) {
    // libvirt only warns when the guest runs at the destination (it may stay paused here)
    if (!finished) failure ??= e;
  }
  if (failure !== undefined) throw failure;
}
