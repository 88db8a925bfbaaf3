// A guest user's authorized SSH keys through the guest agent
// (virDomainAuthorizedSSHKeysGet/Set): qemu-ga reads and rewrites
// ~USER/.ssh/authorized_keys; the driver only picks the agent command.
import { jsonMember } from '../../util/libvirt-json.js';
import { agentCommand } from './agent.js';
import { items, malformed, text, withAgent } from './agent-api.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';

/** virDomainAuthorizedSSHKeysSetFlags */
const SSH_KEYS_SET_APPEND = 1 << 0;
const SSH_KEYS_SET_REMOVE = 1 << 1;

/** qemuAgentSSHGetAuthorizedKeys */
export async function authorizedSSHKeysGet(driver: QemuDriver, dom: DomainRef, user: string, flags: number): Promise<string[]> {
  checkFlags(flags, 0, 'qemuDomainAuthorizedSSHKeysGet');
  return withAgent(driver, dom, async (agent) => {
    const reply = await agent.command(agentCommand('guest-ssh-get-authorized-keys', { username: user }));
    const data = jsonMember(reply, 'return');
    const keys = (data && items(jsonMember(data, 'keys')))?.map(text);
    if (!keys || keys.some((k) => k === undefined)) throw malformed("qemu agent didn't return an array of keys");
    return keys as string[];
  });
}

/**
 * qemuDomainAuthorizedSSHKeysSet: removes the keys, or adds them to the file
 * (APPEND) or in place of what it held (neither flag: qemu-ga's reset).
 */
export async function authorizedSSHKeysSet(driver: QemuDriver, dom: DomainRef, user: string, keys: readonly string[], flags: number): Promise<void> {
  checkFlags(flags, SSH_KEYS_SET_APPEND | SSH_KEYS_SET_REMOVE, 'qemuDomainAuthorizedSSHKeysSet');
  await withAgent(driver, dom, async (agent) => {
    if (flags & SSH_KEYS_SET_REMOVE) await agent.command(agentCommand('guest-ssh-remove-authorized-keys', { username: user, keys }));
    else await agent.command(agentCommand('guest-ssh-add-authorized-keys', { username: user, keys, reset: (flags & SSH_KEYS_SET_APPEND) === 0 }));
  });
}
