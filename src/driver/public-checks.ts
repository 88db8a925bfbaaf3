// The argument checks libvirt's public API makes before any driver sees a call
// (src/libvirt-domain.c's VIR_EXCLUSIVE_FLAGS_GOTO / VIR_REQUIRE_FLAG_GOTO, and
// value checks such as libvirt-storage.c's on a resize to zero), made
// once here for every driver and every caller (the API and the daemon alike).
import type { ProcArgs, ProcKey } from './procedures.js';
import { ErrorCode, ErrorDomain, VirError } from '../util/error.js';

type FlagRule = readonly [kind: 'exclusive' | 'requires', flag: number, name: string, other: number, otherName: string];

const AFFECT_LIVE_CONFIG: FlagRule = ['exclusive', 1, 'VIR_DOMAIN_AFFECT_LIVE', 2, 'VIR_DOMAIN_AFFECT_CONFIG'];
const SAVE_RUNNING_PAUSED: FlagRule = ['exclusive', 2, 'VIR_DOMAIN_SAVE_RUNNING', 4, 'VIR_DOMAIN_SAVE_PAUSED'];

/** The flag rules of each public API, by procedure key; checked in the order libvirt checks them. */
const FLAG_RULES: Partial<Record<ProcKey, readonly FlagRule[]>> = {
  domainGetMemoryParameters: [AFFECT_LIVE_CONFIG],
  domainGetBlkioParameters: [AFFECT_LIVE_CONFIG],
  domainGetSchedulerParametersFlags: [AFFECT_LIVE_CONFIG],
  domainGetVcpusFlags: [AFFECT_LIVE_CONFIG],
  domainGetVcpuPinInfo: [AFFECT_LIVE_CONFIG],
  domainGetEmulatorPinInfo: [AFFECT_LIVE_CONFIG],
  domainGetIOThreadInfo: [AFFECT_LIVE_CONFIG],
  domainGetMetadata: [AFFECT_LIVE_CONFIG],
  domainGetBlockIoTune: [AFFECT_LIVE_CONFIG],
  domainSetVcpusFlags: [
    ['requires', 4, 'VIR_DOMAIN_VCPU_MAXIMUM', 2, 'VIR_DOMAIN_AFFECT_CONFIG'],
    ['exclusive', 8, 'VIR_DOMAIN_VCPU_GUEST', 2, 'VIR_DOMAIN_AFFECT_CONFIG'],
  ],
  domainSaveFlags: [SAVE_RUNNING_PAUSED],
  domainRestoreFlags: [SAVE_RUNNING_PAUSED],
  domainSaveImageDefineXML: [SAVE_RUNNING_PAUSED],
  domainManagedSave: [SAVE_RUNNING_PAUSED],
  // libvirt-domain-snapshot.c
  domainSnapshotCreateXML: [
    ['requires', 2, 'VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT', 1, 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE'],
    ['exclusive', 1, 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE', 4, 'VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA'],
    ['exclusive', 1, 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE', 8, 'VIR_DOMAIN_SNAPSHOT_CREATE_HALT'],
  ],
  domainRevertToSnapshot: [['exclusive', 1, 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING', 2, 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED']],
  domainSnapshotDelete: [['exclusive', 1, 'VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN', 4, 'VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY']],
};

/** VIR_KEYCODE_SET_LAST, VIR_DOMAIN_SEND_KEY_MAX_KEYS */
const KEYCODE_SET_LAST = 10;
const SEND_KEY_MAX_KEYS = 16;

/** Checks of argument values the public API makes (virReportInvalidArg: no "invalid argument: " prefix). */
const VALUE_CHECKS: { readonly [K in ProcKey]?: (args: ProcArgs<K>) => void } = {
  domainSendKey: ({ codeset, keycodes }) => {
    const invalid = (message: string) => new VirError(ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN, message);
    if (keycodes.length === 0) throw invalid('nkeycodes in virDomainSendKey must be greater than zero');
    if (codeset >= KEYCODE_SET_LAST) throw invalid(`Unsupported codeset '${codeset}'`);
    if (keycodes.length > SEND_KEY_MAX_KEYS) throw invalid(`nkeycodes must be <= ${SEND_KEY_MAX_KEYS}`);
  },
  storageVolResize: ({ capacity, flags }) => {
    // VIR_STORAGE_VOL_RESIZE_DELTA | VIR_STORAGE_VOL_RESIZE_SHRINK
    if (capacity === 0n && !(flags & (2 | 4))) {
      throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.STORAGE, "capacity in virStorageVolResize cannot be zero without 'delta' or 'shrink' flags set");
    }
  },
  nodeAllocPages: ({ pageSizes, cellCount }) => {
    const zero = (name: string) => new VirError(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `${name} in virNodeAllocPages must not be zero`);
    if (pageSizes.length === 0) throw zero('npages');
    if (cellCount === 0) throw zero('cellCount');
  },
  // an empty value reaches libvirtd as a NULL pointer, which virSecretSetValue refuses
  secretSetValue: ({ value }) => {
    if (value.length === 0) throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.SECRET, 'value in virSecretSetValue must not be NULL');
  },
};

/** Throws libvirt's error when `args` break a rule of the public API behind `key`. */
export function checkPublicArgs<K extends ProcKey>(key: K, args: ProcArgs<K>): void {
  (VALUE_CHECKS[key] as ((a: ProcArgs<K>) => void) | undefined)?.(args);
  const rules = FLAG_RULES[key];
  if (!rules) return;
  const { flags } = args as { flags: number };
  for (const [kind, flag, name, other, otherName] of rules) {
    // virReportInvalidArg: the text as is, without the usual "invalid argument: " prefix
    if (kind === 'exclusive' && flags & flag && flags & other) {
      throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN, `Flags '${name}' and '${otherName}' are mutually exclusive`);
    }
    if (kind === 'requires' && flags & flag && !(flags & other)) {
      throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN, `Flag '${otherName}' is required by flag '${name}'`);
    }
  }
}
