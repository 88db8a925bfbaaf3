// The client side of migration (virDomainMigrate3, virDomainMigrateToURI3):
// which protocol both ends speak, asked through virConnectSupportsFeature as
// libvirt's client asks, then either the version 3 sequence the client drives
// between two connections (Begin, Prepare, Perform, Finish, Confirm; with params
// or, to a daemon without them, the older calls) or, for peer-to-peer, the one
// Perform call with which the source drives it itself.
import { DriverFeature } from '../driver/features.js';
import { DomainState, MigrateFlags } from '../driver/flags.js';
import type { DomainRef } from '../driver/refs.js';
import { replaceStringParam, TypedParamType, type TypedParam } from '../driver/typed-params.js';
import { parseURI } from '../driver/uri.js';
import { ErrorCode, ErrorDomain, isVirError, virError, VirError } from '../util/error.js';
import type { Connection } from './connection.js';

export { MigrateFlags };

/** VIR_MIGRATE_PARAM_*: the typed parameters' field names. */
export const MigrateParam = {
  URI: 'migrate_uri',
  DEST_NAME: 'destination_name',
  DEST_XML: 'destination_xml',
  PERSIST_XML: 'persistent_xml',
  BANDWIDTH: 'bandwidth',
  BANDWIDTH_POSTCOPY: 'bandwidth.postcopy',
  GRAPHICS_URI: 'graphics_uri',
  LISTEN_ADDRESS: 'listen_address',
  MIGRATE_DISKS: 'migrate_disks',
  DISKS_PORT: 'disks_port',
  DISKS_URI: 'disks_uri',
  COMPRESSION: 'compression',
  COMPRESSION_MT_LEVEL: 'compression.mt.level',
  COMPRESSION_MT_THREADS: 'compression.mt.threads',
  COMPRESSION_MT_DTHREADS: 'compression.mt.dthreads',
  COMPRESSION_XBZRLE_CACHE: 'compression.xbzrle.cache',
  AUTO_CONVERGE_INITIAL: 'auto_converge.initial',
  AUTO_CONVERGE_INCREMENT: 'auto_converge.increment',
  PARALLEL_CONNECTIONS: 'parallel.connections',
  TLS_DESTINATION: 'tls.destination',
} as const;

/** The parameters migration protocol 3 without params can carry. */
const V3_COMPATIBLE: ReadonlySet<string> = new Set([MigrateParam.URI, MigrateParam.DEST_NAME, MigrateParam.DEST_XML, MigrateParam.BANDWIDTH]);

const NO_COOKIE = Buffer.alloc(0);

/** virReportInvalidArg: libvirt formats these itself, without the code's prefix. */
const invalidArg = (message: string) => new VirError(ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN, message);

/** VIR_DRV_SUPPORTS_FEATURE: a driver that cannot be asked supports nothing. */
async function supports(conn: Connection, feature: DriverFeature): Promise<boolean> {
  if (!conn.drivers.hypervisor.connectSupportsFeature) return false;
  return (await conn.invoke('connectSupportsFeature', { feature })).supported !== 0;
}

async function requireFeature(conn: Connection, feature: DriverFeature, what: string): Promise<void> {
  if (!(await supports(conn, feature))) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, what);
}

function checkReadWrite(conn: Connection, api: string): void {
  if (conn.readonly) throw virError(ErrorCode.OPERATION_DENIED, `read only access prevents ${api}`);
}

/** VIR_EXCLUSIVE_FLAGS / VIR_REQUIRE_FLAG on the storage-copy flags, which every migration API checks. */
function checkStorageFlags(flags: number): void {
  if (flags & MigrateFlags.NON_SHARED_DISK && flags & MigrateFlags.NON_SHARED_INC) {
    throw invalidArg("Flags 'VIR_MIGRATE_NON_SHARED_DISK' and 'VIR_MIGRATE_NON_SHARED_INC' are mutually exclusive");
  }
  if (flags & MigrateFlags.NON_SHARED_SYNCHRONOUS_WRITES && !(flags & (MigrateFlags.NON_SHARED_DISK | MigrateFlags.NON_SHARED_INC))) {
    throw invalidArg("Flag 'VIR_MIGRATE_NON_SHARED_DISK | VIR_MIGRATE_NON_SHARED_INC' is required by flag 'VIR_MIGRATE_NON_SHARED_SYNCHRONOUS_WRITES'");
  }
}

function stringParam(params: readonly TypedParam[], field: string): string | undefined {
  const p = params.find((q) => q.field === field);
  return p?.value.type === TypedParamType.STRING ? p.value.s : undefined;
}

function ullongParam(params: readonly TypedParam[], field: string): bigint {
  const p = params.find((q) => q.field === field);
  return p?.value.type === TypedParamType.ULLONG ? p.value.ul : 0n;
}


function checkV3Compatible(params: readonly TypedParam[], message: string): void {
  if (params.some((p) => !V3_COMPATIBLE.has(p.field))) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, message);
}

/**
 * virDomainMigrate3: migrates `dom` of `source` to `dest`, the client driving
 * both daemons; the domain as the destination now has it.
 */
export async function migrate3(source: Connection, dom: DomainRef, dest: Connection, params: readonly TypedParam[], flags: number): Promise<DomainRef> {
  checkReadWrite(source, 'virDomainMigrate3');
  checkReadWrite(dest, 'virDomainMigrate3');
  checkStorageFlags(flags);
  if (flags & MigrateFlags.PEER2PEER) throw invalidArg('use virDomainMigrateToURI3 for peer-to-peer migration');
  if (flags & MigrateFlags.TUNNELLED) throw invalidArg('cannot perform tunnelled migration without using peer2peer flag');
  if (flags & MigrateFlags.OFFLINE) {
    await requireFeature(source, DriverFeature.MIGRATION_OFFLINE, 'offline migration is not supported by the source host');
    await requireFeature(dest, DriverFeature.MIGRATION_OFFLINE, 'offline migration is not supported by the destination host');
  }
  if (flags & MigrateFlags.CHANGE_PROTECTION) {
    await requireFeature(source, DriverFeature.MIGRATE_CHANGE_PROTECTION, 'cannot enforce change protection');
  }
  // the version 3 protocol adds it again for the source alone
  flags &= ~MigrateFlags.CHANGE_PROTECTION;
  if ((await supports(source, DriverFeature.MIGRATION_PARAMS)) && (await supports(dest, DriverFeature.MIGRATION_PARAMS))) {
    return migrateVersion3(paramsSteps(source, dom, dest), dom, params, flags);
  }
  checkV3Compatible(params, 'Migration APIs with extensible parameters are not supported but extended parameters were passed');
  if ((await supports(source, DriverFeature.MIGRATION_V3)) && (await supports(dest, DriverFeature.MIGRATION_V3))) {
    return migrateVersion3(legacySteps(source, dom, dest), dom, params, flags);
  }
  // protocols 2 and 1 predate every daemon tsvirt talks to
  throw virError(ErrorCode.NO_SUPPORT, 'virDomainMigrate3', ErrorDomain.DOMAIN);
}

/**
 * The five calls of migration protocol 3, in its params form or the older one
 * (which carries the four parameters it knows as arguments); `params` is the
 * list as completed so far.
 */
interface Version3Steps {
  changeProtection(): Promise<boolean>;
  begin(params: readonly TypedParam[], flags: number): Promise<{ cookie_out: Buffer; xml: string }>;
  /** the domain's state, to carry a paused guest over paused */
  state(): Promise<number>;
  prepare(params: readonly TypedParam[], cookie: Buffer, flags: number): Promise<{ cookie_out: Buffer; uri_out: string | null }>;
  perform(params: readonly TypedParam[], cookie: Buffer, flags: number): Promise<Buffer>;
  finish(params: readonly TypedParam[], cookie: Buffer, flags: number, cancelled: number): Promise<{ dom: DomainRef; cookie_out: Buffer }>;
  confirm(params: readonly TypedParam[], cookie: Buffer, flags: number, cancelled: number): Promise<void>;
}

function paramsSteps(source: Connection, dom: DomainRef, dest: Connection): Version3Steps {
  return {
    changeProtection: () => supports(source, DriverFeature.MIGRATE_CHANGE_PROTECTION),
    begin: (params, flags) => source.invoke('domainMigrateBegin3Params', { dom, params: [...params], flags }),
    state: async () => (await source.invoke('domainGetState', { dom, flags: 0 })).state,
    prepare: (params, cookie, flags) => dest.invoke('domainMigratePrepare3Params', { params: [...params], cookie_in: cookie, flags }),
    perform: async (params, cookie, flags) => (await source.invoke('domainMigratePerform3Params', { dom, dconnuri: null, params: [...params], cookie_in: cookie, flags })).cookie_out,
    finish: (params, cookie, flags, cancelled) => dest.invoke('domainMigrateFinish3Params', { params: [...params], cookie_in: cookie, flags, cancelled }),
    confirm: (params, cookie, flags, cancelled) => source.invoke('domainMigrateConfirm3Params', { dom, params: [...params], cookie_in: cookie, flags, cancelled }),
  };
}

function legacySteps(source: Connection, dom: DomainRef, dest: Connection): Version3Steps {
  const dname = (params: readonly TypedParam[]) => stringParam(params, MigrateParam.DEST_NAME) ?? null;
  const uri = (params: readonly TypedParam[]) => stringParam(params, MigrateParam.URI) ?? null;
  const resource = (params: readonly TypedParam[]) => ullongParam(params, MigrateParam.BANDWIDTH);
  return {
    changeProtection: () => supports(source, DriverFeature.MIGRATE_CHANGE_PROTECTION),
    begin: (params, flags) => source.invoke('domainMigrateBegin3', { dom, xmlin: stringParam(params, MigrateParam.DEST_XML) ?? null, flags: BigInt(flags), dname: dname(params), resource: resource(params) }),
    // older daemons may lack virDomainGetState
    state: async () => (await source.invoke('domainGetInfo', { dom })).state,
    prepare: (params, cookie, flags) =>
      dest.invoke('domainMigratePrepare3', { cookie_in: cookie, uri_in: uri(params), flags: BigInt(flags), dname: dname(params), resource: resource(params), dom_xml: stringParam(params, MigrateParam.DEST_XML) ?? '' }),
    perform: async (params, cookie, flags) =>
      (await source.invoke('domainMigratePerform3', { dom, xmlin: null, cookie_in: cookie, dconnuri: null, uri: uri(params), flags: BigInt(flags), dname: dname(params), resource: resource(params) })).cookie_out,
    finish: (params, cookie, flags, cancelled) => dest.invoke('domainMigrateFinish3', { dname: dname(params) ?? dom.name, cookie_in: cookie, dconnuri: null, uri: uri(params), flags: BigInt(flags), cancelled }),
    confirm: (_params, cookie, flags, cancelled) => source.invoke('domainMigrateConfirm3', { dom, cookie_in: cookie, flags: BigInt(flags), cancelled }),
  };
}

/** virDomainMigrateVersion3Full: each step's cookie goes to the next; failures undo what the earlier steps began. */
async function migrateVersion3(steps: Version3Steps, dom: DomainRef, params: readonly TypedParam[], flags: number): Promise<DomainRef> {
  const protection = (await steps.changeProtection()) ? MigrateFlags.CHANGE_PROTECTION : 0;
  const begun = await steps.begin(params, flags | protection);
  const state = await steps.state().catch(() => undefined);
  if (state === DomainState.PAUSED && !(flags & MigrateFlags.POSTCOPY_RESUME)) flags |= MigrateFlags.PAUSED;
  const destFlags = flags & ~(MigrateFlags.ABORT_ON_ERROR | MigrateFlags.AUTO_CONVERGE);
  const confirm = (p: readonly TypedParam[], cookie: Buffer, cancelled: number) =>
    // a failed Confirm leaves the guest paused at the source; nothing more can be done
    steps.confirm(p, cookie, flags | protection, cancelled).catch(() => undefined);

  let p = replaceStringParam(params, MigrateParam.DEST_XML, begun.xml);
  let prepared;
  try {
    prepared = await steps.prepare(p, begun.cookie_out, destFlags);
  } catch (e) {
    // with change protection Begin started a job on the source that only Confirm ends
    if (protection) await confirm(p, NO_COOKIE, 1);
    throw e;
  }

  let firstError: unknown;
  let cookie = prepared.cookie_out;
  let cancelled = 1;
  let notifySource = true;
  if (prepared.uri_out !== null) p = replaceStringParam(p, MigrateParam.URI, prepared.uri_out);
  if (prepared.uri_out === null && stringParam(p, MigrateParam.URI) === undefined) {
    firstError = virError(ErrorCode.INTERNAL_ERROR, 'domainMigratePrepare3 did not set uri');
  } else if (flags & MigrateFlags.OFFLINE) {
    cookie = NO_COOKIE;
    cancelled = 0;
  } else {
    try {
      cookie = await steps.perform(p, cookie, flags | protection);
      cancelled = 0;
    } catch (e) {
      firstError = e;
      cookie = NO_COOKIE;
      // the source has already given up its migration
      notifySource = false;
    }
  }

  if (stringParam(p, MigrateParam.DEST_NAME) === undefined) p = replaceStringParam(p, MigrateParam.DEST_NAME, dom.name);
  let migrated: DomainRef | undefined;
  try {
    const finished = await steps.finish(p, cookie, destFlags, cancelled);
    migrated = finished.dom;
    cookie = finished.cookie_out;
  } catch (e) {
    cookie = NO_COOKIE;
    // the destination's own account of a guest that died there says more than the source's "failed"
    if (cancelled && isQemuError(firstError, ErrorCode.OPERATION_FAILED) && isVirError(e) && e.domain === ErrorDomain.QEMU && e.code !== ErrorCode.MIGRATE_FINISH_OK) firstError = undefined;
    firstError ??= e;
  }
  if (notifySource) await confirm(p, cookie, migrated ? 0 : 1);
  if (!migrated) throw firstError;
  return migrated;
}

function isQemuError(e: unknown, code: ErrorCode): boolean {
  return isVirError(e) && e.domain === ErrorDomain.QEMU && e.code === code;
}

/**
 * virDomainMigrateToURI3: the source daemon migrates `dom` itself, to the
 * daemon at `dconnuri` (peer-to-peer) or straight to the hypervisor (direct).
 */
export async function migrateToURI3(source: Connection, dom: DomainRef, dconnuri: string | null, params: readonly TypedParam[], flags: number): Promise<void> {
  checkReadWrite(source, 'virDomainMigrateToURI3');
  if (flags & MigrateFlags.TUNNELLED && flags & MigrateFlags.PARALLEL) {
    throw invalidArg("Flags 'VIR_MIGRATE_TUNNELLED' and 'VIR_MIGRATE_PARALLEL' are mutually exclusive");
  }
  checkStorageFlags(flags);
  if (flags & MigrateFlags.OFFLINE) await requireFeature(source, DriverFeature.MIGRATION_OFFLINE, 'offline migration is not supported by the source host');
  const peer2peer = (flags & MigrateFlags.PEER2PEER) !== 0;
  if (peer2peer) await requireFeature(source, DriverFeature.MIGRATION_P2P, 'p2p migration is not supported by the source host');
  else await requireFeature(source, DriverFeature.MIGRATION_DIRECT, 'direct migration is not supported by the source host');
  if (!peer2peer) dconnuri = null;
  else if (dconnuri === null) throw invalidArg('dconnuri in virDomainMigrateToURI3 must not be NULL');
  else checkNotLocal(dconnuri);

  // virDomainMigrateUnmanagedParams
  if (peer2peer && (await supports(source, DriverFeature.MIGRATION_PARAMS))) {
    await source.invoke('domainMigratePerform3Params', { dom, dconnuri, params: [...params], cookie_in: NO_COOKIE, flags });
    return;
  }
  if (!(await supports(source, DriverFeature.MIGRATION_V3))) throw virError(ErrorCode.NO_SUPPORT, 'virDomainMigrateToURI3', ErrorDomain.DOMAIN);
  checkV3Compatible(params, 'Some parameters are not supported by migration protocol 3');
  await source.invoke('domainMigratePerform3', {
    dom,
    xmlin: stringParam(params, MigrateParam.DEST_XML) ?? null,
    cookie_in: NO_COOKIE,
    dconnuri,
    uri: stringParam(params, MigrateParam.URI) ?? null,
    flags: BigInt(flags),
    dname: stringParam(params, MigrateParam.DEST_NAME) ?? null,
    resource: ullongParam(params, MigrateParam.BANDWIDTH),
  });
}

/** virDomainMigrateCheckNotLocal: a peer-to-peer destination must name another host, or a socket of its own. */
function checkNotLocal(dconnuri: string): void {
  const uri = parseURI(dconnuri);
  if ((uri.host !== null && uri.host.startsWith('localhost')) || (uri.host === null && !uri.params.has('socket'))) {
    throw invalidArg('Attempt to migrate guest to the same host');
  }
}
