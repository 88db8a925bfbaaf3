// virDomainPMSuspendForDuration on the qemu driver (libvirt's
// qemuDomainPMSuspendForDuration): the guest agent suspends the guest to RAM,
// disk or both, refused where QEMU's machine cannot wake a guest up or the
// domain's <pm> disables the state.
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child } from '../../util/xml.js';
import { agentCommand } from './agent.js';
import { withAgent } from './agent-api.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';

/** virNodeSuspendTarget, by number: the agent's command for it */
const SUSPEND_COMMANDS = ['guest-suspend-ram', 'guest-suspend-disk', 'guest-suspend-hybrid'];
const TARGET_MEM = 0;
const TARGET_DISK = 1;
const TARGET_HYBRID = 2;

export async function pmSuspendForDuration(driver: QemuDriver, dom: DomainRef, target: number, duration: bigint, flags: number): Promise<void> {
  checkFlags(flags, 0, 'qemuDomainPMSuspendForDuration');
  if (duration !== 0n) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, 'Duration not supported. Use 0 for now', ErrorDomain.QEMU);
  const command = SUSPEND_COMMANDS[target];
  if (command === undefined) throw virError(ErrorCode.INVALID_ARG, `Unknown suspend target: ${target}`, ErrorDomain.QEMU);
  await withAgent(driver, dom, async (agent, running) => {
    const qmp = await driver.runtime.runtime.ensureMonitor(running);
    const machine = await qmp.execute<{ 'wakeup-suspend-support'?: boolean }>('query-current-machine');
    if (!machine['wakeup-suspend-support']) throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'Domain does not have suspend support', ErrorDomain.QEMU);
    const pm = child(running.live, 'pm');
    const disabled = (state: string) => pm !== undefined && child(pm, state)?.attrs.enabled === 'no';
    if (disabled('suspend-to-mem') && (target === TARGET_MEM || target === TARGET_HYBRID)) {
      throw virError(ErrorCode.INTERNAL_ERROR, 'S3 state is disabled for this domain', ErrorDomain.QEMU);
    }
    if (disabled('suspend-to-disk') && target === TARGET_DISK) throw virError(ErrorCode.INTERNAL_ERROR, 'S4 state is disabled for this domain', ErrorDomain.QEMU);
    await agent.command(agentCommand(command));
  });
}
