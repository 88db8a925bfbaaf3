// The guest's own view of its vCPUs through the guest agent (virDomainGetGuestVcpus,
// virDomainSetGuestVcpus on the qemu driver): which logical CPUs it has, which are
// online and which it may take offline; setting asks the agent to change some.
import type { ProcRet } from '../../driver/procedures.js';
import { typedParam } from '../../driver/typed-params.js';
import { formatBitmap, parseBitmap } from '../../util/bitmap.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { jsonMember, type JsonNode } from '../../util/libvirt-json.js';
import { agentCommand, type GuestAgent } from './agent.js';
import { integer, items, malformed, withAgent } from './agent-api.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';

/** QEMU_GUEST_VCPU_MAX_ID: the highest logical CPU id libvirt accepts, plus one. */
const GUEST_VCPU_MAX_ID = 4096;

interface GuestVcpu {
  id: number;
  online: boolean;
  offlinable: boolean;
  /** to be sent in the next guest-set-vcpus */
  modified: boolean;
}

const bool = (node: JsonNode | undefined): boolean | undefined => (node?.kind === 'literal' && (node.text === 'true' || node.text === 'false') ? node.text === 'true' : undefined);

/** qemuAgentGetVCPUs */
async function guestVcpus(agent: GuestAgent): Promise<GuestVcpu[]> {
  const list = items(jsonMember(await agent.command(agentCommand('guest-get-vcpus')), 'return'));
  if (!list) throw malformed('guest-get-vcpus reply was missing return data');
  return list.map((entry) => {
    if (entry.kind !== 'object') throw malformed('array element missing in guest-get-vcpus return value');
    const id = integer(jsonMember(entry, 'logical-id'));
    if (id === undefined || id < 0n) throw malformed("'logical-id' missing in reply of guest-get-vcpus");
    const online = bool(jsonMember(entry, 'online'));
    if (online === undefined) throw malformed("'online' missing in reply of guest-get-vcpus");
    const offlinable = bool(jsonMember(entry, 'can-offline'));
    if (offlinable === undefined) throw malformed("'can-offline' missing in reply of guest-get-vcpus");
    return { id: Number(id), online, offlinable, modified: false };
  });
}

/** qemuDomainGetGuestVcpus: three CPU lists, as typed parameters. */
export async function getGuestVcpus(driver: QemuDriver, dom: DomainRef, flags: number): Promise<ProcRet<'domainGetGuestVcpus'>> {
  checkFlags(flags, 0, 'qemuDomainGetGuestVcpus');
  return withAgent(driver, dom, async (agent) => {
    const vcpus = await guestVcpus(agent);
    const outOfRange = vcpus.find((v) => v.id >= GUEST_VCPU_MAX_ID);
    if (outOfRange) throw virError(ErrorCode.INTERNAL_ERROR, `vcpu id '${outOfRange.id}' reported by guest agent is out of range`, ErrorDomain.QEMU);
    const ids = (keep: (v: GuestVcpu) => boolean) => formatBitmap(new Set(vcpus.filter(keep).map((v) => v.id)));
    return {
      params: [
        typedParam.string('vcpus', ids(() => true)),
        typedParam.string('online', ids((v) => v.online)),
        typedParam.string('offlinable', ids((v) => v.offlinable)),
      ],
    };
  });
}

/** qemuDomainSetGuestVcpus: the listed vCPUs on (state 1) or off (state 0); all must exist in the guest. */
export async function setGuestVcpus(driver: QemuDriver, dom: DomainRef, cpumap: string, state: number, flags: number): Promise<void> {
  checkFlags(flags, 0, 'qemuDomainSetGuestVcpus');
  if (state !== 0 && state !== 1) throw virError(ErrorCode.INVALID_ARG, 'unsupported state value', ErrorDomain.QEMU);
  const wanted = parseBitmap(cpumap, GUEST_VCPU_MAX_ID);
  if (!wanted) throw virError(ErrorCode.INVALID_ARG, `Failed to parse bitmap '${cpumap}'`, ErrorDomain.NONE);
  await withAgent(driver, dom, async (agent) => {
    const vcpus = await guestVcpus(agent);
    for (const vcpu of vcpus) {
      if (!wanted.has(vcpu.id)) continue;
      if (!state && !vcpu.offlinable) throw virError(ErrorCode.OPERATION_UNSUPPORTED, `vCPU '${vcpu.id}' is not offlinable`, ErrorDomain.QEMU);
      vcpu.online = state === 1;
      vcpu.modified = true;
      wanted.delete(vcpu.id);
    }
    if (wanted.size > 0) throw virError(ErrorCode.INVALID_ARG, `guest is missing vCPUs '${formatBitmap(wanted)}'`, ErrorDomain.QEMU);
    await applyVcpus(agent, vcpus);
  });
}

/** qemuAgentSetVCPUs: the agent may set only the first few asked for; the rest are asked again. */
async function applyVcpus(agent: GuestAgent, vcpus: GuestVcpu[]): Promise<void> {
  for (;;) {
    const pending = vcpus.filter((v) => v.modified);
    if (pending.length === 0) return;
    const list: JsonNode = {
      kind: 'array',
      items: pending.map((v): JsonNode => ({ kind: 'object', members: [['logical-id', { kind: 'literal', text: String(v.id) }], ['online', { kind: 'literal', text: String(v.online) }]] })),
    };
    const reply = await agent.command({ kind: 'object', members: [['execute', { kind: 'string', value: 'guest-set-vcpus' }], ['arguments', { kind: 'object', members: [['vcpus', list]] }]] });
    const done = integer(jsonMember(reply, 'return'));
    if (done === undefined || done <= 0n || done > BigInt(pending.length)) throw malformed('guest agent returned malformed or invalid return value');
    for (const v of pending.slice(0, Number(done))) v.modified = false;
  }
}
