// libvirt-compatible error objects: every failure that reaches a user carries
// libvirt's numeric code, the domain (subsystem) that raised it, and the exact
// message text libvirt would print.

/** virErrorNumber values (libvirt include/libvirt/virterror.h). */
export enum ErrorCode {
  INTERNAL_ERROR = 1,
  NO_SUPPORT = 3,
  NO_CONNECT = 5,
  INVALID_CONN = 6,
  INVALID_DOMAIN = 7,
  INVALID_ARG = 8,
  OPERATION_FAILED = 9,
  OS_TYPE = 16,
  NO_SOURCE = 19,
  NO_TARGET = 20,
  NO_NAME = 21,
  NO_OS = 22,
  NO_DEVICE = 23,
  XML_ERROR = 27,
  DOM_EXIST = 28,
  OPERATION_DENIED = 29,
  OPEN_FAILED = 30,
  READ_FAILED = 31,
  PARSE_FAILED = 32,
  CONF_SYNTAX = 33,
  WRITE_FAILED = 34,
  XML_DETAIL = 35,
  INVALID_NETWORK = 36,
  NETWORK_EXIST = 37,
  SYSTEM_ERROR = 38,
  RPC = 39,
  NO_DOMAIN = 42,
  NO_NETWORK = 43,
  AUTH_FAILED = 45,
  INVALID_MAC = 44,
  INVALID_STORAGE_POOL = 46,
  INVALID_STORAGE_VOL = 47,
  NO_STORAGE_POOL = 49,
  NO_STORAGE_VOL = 50,
  NO_NODE_DEVICE = 53,
  OPERATION_INVALID = 55,
  NO_INTERFACE = 57,
  INVALID_INTERFACE = 58,
  CONFIG_UNSUPPORTED = 67,
  INVALID_SECRET = 65,
  NO_SECRET = 66,
  OPERATION_TIMEOUT = 68,
  INVALID_DOMAIN_SNAPSHOT = 71,
  NO_DOMAIN_SNAPSHOT = 72,
  ARGUMENT_UNSUPPORTED = 74,
  STORAGE_POOL_BUILT = 76,
  SNAPSHOT_REVERT_RISKY = 77,
  OPERATION_ABORTED = 78,
  MULTIPLE_INTERFACES = 79,
  NO_DOMAIN_METADATA = 80,
  OVERFLOW = 82,
  OPERATION_UNSUPPORTED = 84,
  BLOCK_COPY_ACTIVE = 85,
  AGENT_UNRESPONSIVE = 86,
  RESOURCE_BUSY = 87,
  ACCESS_DENIED = 88,
  STORAGE_VOL_EXIST = 90,
  CPU_INCOMPATIBLE = 91,
  XML_INVALID_SCHEMA = 92,
  MIGRATE_FINISH_OK = 93,
  DEVICE_MISSING = 99,
  NO_DOMAIN_CHECKPOINT = 103,
  NO_DOMAIN_BACKUP = 104,
  NETWORK_PORT_EXIST = 106,
  NO_NETWORK_PORT = 107,
  NO_HOSTNAME = 108,
  CHECKPOINT_INCONSISTENT = 109,
  MULTIPLE_DOMAINS = 110,
}

/** libvirt's virErrorDomain values (where an error comes from), the ones tsvirt raises. */
export enum ErrorDomain {
  NONE = 0,
  XML = 5,
  RPC = 7,
  CONF = 9,
  QEMU = 10,
  TEST = 12,
  REMOTE = 13,
  STORAGE = 18,
  NETWORK = 19,
  DOMAIN = 20,
  NODEDEV = 22,
  SECURITY = 24,
  INTERFACE = 26,
  SECRET = 30,
  CPU = 31,
  DOMAIN_SNAPSHOT = 35,
  STREAMS = 38,
  CAPABILITIES = 44,
  URI = 45,
  CGROUP = 54,
  DOMAIN_CHECKPOINT = 69,
  ACCESS = 55,
}

/**
 * libvirt formats most messages as "<prefix>: <detail>" where the prefix is
 * fixed by the error code (virErrorMsg). Codes absent here print the detail alone.
 */
const MESSAGE_PREFIX: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.INTERNAL_ERROR]: 'internal error',
  [ErrorCode.NO_SUPPORT]: 'this function is not supported by the connection driver',
  [ErrorCode.NO_NAME]: 'missing name information',
  [ErrorCode.OVERFLOW]: 'numerical overflow',
  [ErrorCode.BLOCK_COPY_ACTIVE]: 'block copy still active',
  [ErrorCode.INVALID_ARG]: 'invalid argument',
  [ErrorCode.OPERATION_FAILED]: 'operation failed',
  [ErrorCode.OPERATION_ABORTED]: 'operation aborted',
  [ErrorCode.XML_ERROR]: 'XML error',
  [ErrorCode.CONFIG_UNSUPPORTED]: 'unsupported configuration',
  [ErrorCode.OPERATION_INVALID]: 'Requested operation is not valid',
  [ErrorCode.NO_DOMAIN]: 'Domain not found',
  [ErrorCode.NO_NETWORK]: 'Network not found',
  [ErrorCode.NO_NETWORK_PORT]: 'network port not found',
  [ErrorCode.NO_HOSTNAME]: 'no hostname found',
  [ErrorCode.NO_STORAGE_POOL]: 'Storage pool not found',
  [ErrorCode.NO_STORAGE_VOL]: 'Storage volume not found',
  [ErrorCode.NO_INTERFACE]: 'Interface not found',
  [ErrorCode.NO_DOMAIN_SNAPSHOT]: 'Domain snapshot not found',
  [ErrorCode.NO_DOMAIN_CHECKPOINT]: 'Domain checkpoint not found',
  [ErrorCode.NO_DOMAIN_BACKUP]: 'Domain backup job id not found',
  [ErrorCode.CHECKPOINT_INCONSISTENT]: 'checkpoint inconsistent',
  [ErrorCode.NO_NODE_DEVICE]: 'Node device not found',
  [ErrorCode.NO_SECRET]: 'Secret not found',
  [ErrorCode.INVALID_SECRET]: 'Invalid secret',
  [ErrorCode.OPERATION_TIMEOUT]: 'Timed out during operation',
  [ErrorCode.CONF_SYNTAX]: 'configuration file syntax error',
  [ErrorCode.ARGUMENT_UNSUPPORTED]: 'argument unsupported',
  [ErrorCode.STORAGE_POOL_BUILT]: 'Storage pool already built',
  [ErrorCode.SNAPSHOT_REVERT_RISKY]: 'revert requires force',
  [ErrorCode.OPERATION_UNSUPPORTED]: 'Operation not supported',
  [ErrorCode.AGENT_UNRESPONSIVE]: 'Guest agent is not responding',
  [ErrorCode.INVALID_MAC]: 'invalid MAC address',
  [ErrorCode.RESOURCE_BUSY]: 'resource busy',
  [ErrorCode.DEVICE_MISSING]: 'device not found',
  [ErrorCode.INVALID_DOMAIN_SNAPSHOT]: 'Invalid snapshot',
  [ErrorCode.OPERATION_DENIED]: 'operation forbidden',
  [ErrorCode.NO_SOURCE]: 'missing source information for device',
  [ErrorCode.NO_TARGET]: 'missing target information for device',
  [ErrorCode.MULTIPLE_INTERFACES]: 'multiple matching interfaces found',
  [ErrorCode.NO_DOMAIN_METADATA]: 'metadata not found',
  [ErrorCode.XML_INVALID_SCHEMA]: 'XML document failed to validate against schema',
  [ErrorCode.MIGRATE_FINISH_OK]: 'migration successfully aborted',
  [ErrorCode.CPU_INCOMPATIBLE]: 'the CPU is incompatible with host CPU',
};

export class VirError extends Error {
  override readonly name = 'VirError';
  constructor(
    readonly code: ErrorCode,
    readonly domain: ErrorDomain,
    message: string,
  ) {
    super(message);
  }
}

/** Codes whose libvirt template puts the detail after a space ("... for device %s"), not ": ". */
const SPACE_JOINED: ReadonlySet<ErrorCode> = new Set([ErrorCode.NO_SOURCE, ErrorCode.NO_TARGET]);

/** Builds a VirError whose message carries libvirt's code-specific prefix. */
export function virError(code: ErrorCode, detail?: string, domain: ErrorDomain = ErrorDomain.DOMAIN): VirError {
  const prefix = MESSAGE_PREFIX[code];
  let message: string;
  if (prefix === undefined) message = detail ?? '';
  else if (detail === undefined || detail === '') message = prefix;
  else message = `${prefix}${SPACE_JOINED.has(code) ? ' ' : ': '}${detail}`;
  return new VirError(code, domain, message);
}

/**
 * libvirt's message template of a code as virRaiseErrorFull sends it in str1
 * ("Domain not found: %s"; the bare prefix when there is no detail; "%s" for
 * codes without a prefix), and the detail it formatted in (str2).
 */
export function errorTemplate(code: ErrorCode, message: string): { readonly template: string; readonly detail: string | null } {
  const prefix = MESSAGE_PREFIX[code];
  if (prefix === undefined) return { template: '%s', detail: message };
  if (message === prefix) return { template: prefix, detail: null };
  const joiner = SPACE_JOINED.has(code) ? ' ' : ': ';
  if (message.startsWith(prefix + joiner)) return { template: `${prefix}${joiner}%s`, detail: message.slice(prefix.length + joiner.length) };
  return { template: '%s', detail: message };
}

export function isVirError(e: unknown): e is VirError {
  return e instanceof VirError;
}
