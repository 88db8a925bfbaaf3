// The guest's filesystems frozen, thawed and trimmed through the guest agent
// (virDomainFSFreeze, virDomainFSThaw, virDomainFSTrim on the qemu driver).
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { jsonMember, type JsonNode } from '../../util/libvirt-json.js';
import { agentCommand, type GuestAgent } from './agent.js';
import { integer, malformed, withAgent } from './agent-api.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';

/** The count a freeze or thaw answers with. */
async function filesystemCount(agent: GuestAgent, cmd: JsonNode): Promise<number> {
  const count = integer(jsonMember(await agent.command(cmd), 'return'));
  if (count === undefined) throw malformed();
  return Number(count);
}

/** qemuDomainFSFreeze: every filesystem, or only the mount points named. */
export async function fsFreeze(driver: QemuDriver, dom: DomainRef, mountpoints: readonly string[], flags: number): Promise<number> {
  checkFlags(flags, 0, 'qemuDomainFSFreeze');
  return withAgent(driver, dom, (agent) => {
    if (mountpoints.length === 0) return filesystemCount(agent, agentCommand('guest-fsfreeze-freeze'));
    const list: JsonNode = { kind: 'array', items: mountpoints.map((m) => ({ kind: 'string', value: m })) };
    return filesystemCount(agent, {
      kind: 'object',
      members: [['execute', { kind: 'string', value: 'guest-fsfreeze-freeze-list' }], ['arguments', { kind: 'object', members: [['mountpoints', list]] }]],
    });
  });
}

/** qemuDomainFSThaw: the agent thaws all it froze; naming mount points is refused. */
export async function fsThaw(driver: QemuDriver, dom: DomainRef, mountpoints: readonly string[], flags: number): Promise<number> {
  checkFlags(flags, 0, 'qemuDomainFSThaw');
  if (mountpoints.length > 0) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, 'specifying mountpoints is not supported', ErrorDomain.QEMU);
  return withAgent(driver, dom, (agent) => filesystemCount(agent, agentCommand('guest-fsfreeze-thaw')));
}

/** qemuDomainFSTrim: all mounted filesystems; the agent's per-path results are not reported. */
export async function fsTrim(driver: QemuDriver, dom: DomainRef, mountPoint: string | null, minimum: bigint, flags: number): Promise<void> {
  checkFlags(flags, 0, 'qemuDomainFSTrim');
  if (mountPoint !== null) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, 'Specifying mount point is not supported for now', ErrorDomain.QEMU);
  await withAgent(driver, dom, (agent) => agent.command(agentCommand('guest-fstrim', { minimum })));
}
