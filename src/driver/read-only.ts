// Which calls a read-only connection refuses, and with which words. The table
// says which public APIs always call virCheckReadOnlyGoto; the rules below are
// the APIs that refuse only for some flags or arguments.
import type { ProcArgs, ProcKey, ProcedureFacts } from './procedures.js';

/** VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_MIGRATABLE, *_XML_SECURE of snapshots, checkpoints, save images */
const SECURE_XML_FLAGS: Partial<Record<ProcKey, number>> = {
  domainGetXMLDesc: 1 | 8,
  domainSnapshotGetXMLDesc: 1,
  domainCheckpointGetXMLDesc: 1,
  domainManagedSaveGetXMLDesc: 1,
};

/** APIs that call virCheckReadOnlyGoto only when an argument asks the guest (it may lie or be slow). */
const CONDITIONAL: Partial<Record<ProcKey, (args: never) => boolean>> = {
  // VIR_DOMAIN_VCPU_GUEST
  domainGetVcpusFlags: (a: ProcArgs<'domainGetVcpusFlags'>) => (a.flags & 8) !== 0,
  // VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT
  domainInterfaceAddresses: (a: ProcArgs<'domainInterfaceAddresses'>) => a.source === 1,
};

/** libvirt's message when a read-only connection may not make this call; undefined when it may. */
export function readOnlyRefusal<K extends ProcKey>(key: K, info: ProcedureFacts, args: ProcArgs<K>): string | undefined {
  const secure = SECURE_XML_FLAGS[key];
  if (secure !== undefined) {
    return ((args as { flags: number }).flags & secure) !== 0 ? `${info.api} with secure flag` : undefined;
  }
  const conditional = CONDITIONAL[key] as ((a: ProcArgs<K>) => boolean) | undefined;
  const refused = conditional ? conditional(args) : info.readonlyRefused;
  return refused ? `read only access prevents ${info.api}` : undefined;
}
