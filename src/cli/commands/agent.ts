// The guest agent's commands: qemu-agent-command, guestinfo, set-user-password,
// get-user-sshkeys, set-user-sshkeys and guest-agent-timeout, printing what
// virsh prints.
import { plainParams } from '../../api/types.js';
import { formatLibvirtJson, JsonSyntaxError, parseJsonText } from '../../util/libvirt-json.js';
import { CommandError } from '../errors.js';
import { readInputFile } from '../files.js';
import type { Handler } from '../shell.js';

/** VIR_DOMAIN_QEMU_AGENT_COMMAND_* */
const AGENT_COMMAND_BLOCK = -2;
const AGENT_COMMAND_DEFAULT = -1;
const AGENT_COMMAND_NOWAIT = 0;
/** VIR_DOMAIN_PASSWORD_ENCRYPTED */
const PASSWORD_ENCRYPTED = 1;
/** virDomainAuthorizedSSHKeysSetFlags */
const SSH_KEYS_SET_APPEND = 1 << 0;
const SSH_KEYS_SET_REMOVE = 1 << 1;
/** virsh's guestinfo options and their virDomainGuestInfoTypes bits */
const GUEST_INFO_TYPES: Array<[string, number]> = [
  ['user', 1 << 0], ['os', 1 << 1], ['timezone', 1 << 2], ['hostname', 1 << 3], ['filesystem', 1 << 4], ['disk', 1 << 5], ['interface', 1 << 6],
];
const INT_MAX = 2 ** 31 - 1;

const qemuAgentCommand: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const command = cmd.argv('cmd').join(' ');
  let timeout = AGENT_COMMAND_DEFAULT;
  let chosen = 0;
  const given = cmd.number('timeout', -INT_MAX - 1, INT_MAX);
  if (given !== undefined) {
    if (given < 1) throw new CommandError(['timeout must be positive']);
    timeout = given;
    chosen++;
  }
  if (cmd.bool('async')) {
    timeout = AGENT_COMMAND_NOWAIT;
    chosen++;
  }
  if (cmd.bool('block')) {
    timeout = AGENT_COMMAND_BLOCK;
    chosen++;
  }
  if (chosen > 1) throw new CommandError(['timeout, async and block options are exclusive']);
  let { result } = await dom.connection.invoke('domainQemuAgentCommand', { dom: dom.ref, cmd: command, timeout, flags: 0 });
  if (result === null) throw new CommandError([]);
  if (cmd.bool('pretty')) {
    try {
      // virJSONValueToString(pretty) ends the document with a newline of its own
      result = `${formatLibvirtJson(parseJsonText(result), true)}\n`;
    } catch (e) {
      if (!(e instanceof JsonSyntaxError)) throw e;
    }
  }
  ctl.print(`${result}\n`);
};

const guestinfo: Handler = async (ctl, cmd) => {
  let types = 0;
  for (const [opt, bit] of GUEST_INFO_TYPES) if (cmd.bool(opt)) types |= bit;
  const { dom } = await ctl.domain(cmd);
  const { params } = await dom.connection.invoke('domainGetGuestInfo', { dom: dom.ref, types, flags: 0 });
  for (const p of plainParams(params)) {
    const value = typeof p.value === 'boolean' ? (p.value ? 'yes' : 'no') : String(p.value);
    ctl.print(`${p.field.padEnd(20)}: ${value}\n`);
  }
};

const setUserPassword: Handler = async (ctl, cmd) => {
  const user = cmd.required('user');
  const password = cmd.required('password');
  const { dom, name } = await ctl.domain(cmd);
  await dom.connection.invoke('domainSetUserPassword', { dom: dom.ref, user, password, flags: cmd.bool('encrypted') ? PASSWORD_ENCRYPTED : 0 });
  ctl.printExtra(`Password set successfully for ${user} in ${name}`);
};

const getUserSshkeys: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const user = cmd.required('user');
  const { keys } = await dom.connection.invoke('domainAuthorizedSSHKeysGet', { dom: dom.ref, user, flags: 0 });
  // virsh prints each key as the agent gives it, without a newline of its own
  ctl.print(keys.join(''));
};

const setUserSshkeys: Handler = async (ctl, cmd) => {
  cmd.requireOption('remove', 'file');
  cmd.exclusive('reset', 'remove');
  const { dom } = await ctl.domain(cmd);
  const user = cmd.required('user');
  const from = cmd.string('file');
  let flags = 0;
  if (cmd.bool('remove')) flags |= SSH_KEYS_SET_REMOVE;
  else if (!cmd.bool('reset')) {
    flags |= SSH_KEYS_SET_APPEND;
    if (from === undefined) throw new CommandError(['Option --file is required']);
  }
  let keys: string[] = [];
  if (from !== undefined) {
    const content = readInputFile(from);
    // g_strsplit: every line, the empty one after a final newline too; an empty file has none
    keys = content === '' ? [] : content.split('\n');
    if (keys.length === 0) throw new CommandError([`File ${from} contains no keys`]);
  }
  await dom.connection.invoke('domainAuthorizedSSHKeysSet', { dom: dom.ref, user, keys, flags });
};

const guestAgentTimeout: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  // no --timeout: wait forever (VIR_DOMAIN_AGENT_RESPONSE_TIMEOUT_BLOCK)
  const timeout = cmd.number('timeout', -INT_MAX - 1, INT_MAX) ?? AGENT_COMMAND_BLOCK;
  await dom.connection.invoke('domainAgentSetResponseTimeout', { dom: dom.ref, timeout, flags: 0 });
};

export const handlers: Record<string, Handler> = {
  'qemu-agent-command': qemuAgentCommand,
  guestinfo,
  'set-user-password': setUserPassword,
  'get-user-sshkeys': getUserSshkeys,
  'set-user-sshkeys': setUserSshkeys,
  'guest-agent-timeout': guestAgentTimeout,
};
