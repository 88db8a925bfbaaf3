// libvirt-qemu's commands: qemu-monitor-command (QMP, with virsh's wrapping of a
// bare command name and arguments, or HMP) and its output forms.
import { formatLibvirtJson, jsonMember, JsonSyntaxError, parseJsonText } from '../../util/libvirt-json.js';
import { ErrorCode, virError } from '../../util/error.js';
import { CommandError } from '../errors.js';
import type { Handler } from '../shell.js';

/** VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP */
const MONITOR_COMMAND_HMP = 1;

function tryParse(text: string): ReturnType<typeof parseJsonText> | undefined {
  try {
    return parseJsonText(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) return undefined;
    throw e;
  }
}

/**
 * cmdQemuMonitorCommandQMPWrap: a JSON object is sent as typed; otherwise the
 * first word is the command and the rest its arguments, either one JSON object
 * or `"key":value` pieces that are joined into one.
 */
export function wrapQmpCommand(words: string[]): string {
  const full = words.join(' ');
  if (tryParse(full)?.kind === 'object') return full;
  const [name = '', ...rest] = words;
  const argsText = rest.join(' ');
  let args = argsText === '' ? undefined : tryParse(argsText);
  if (argsText !== '' && args?.kind !== 'object') {
    args = tryParse(`{${rest.join(',')}}`);
    if (!args) throw new CommandError([`failed to wrap arguments '${argsText}' into a QMP command wrapper`]);
  }
  const command = { kind: 'object' as const, members: [['execute', { kind: 'string' as const, value: name }] as const, ...(args ? [['arguments', args] as const] : [])] };
  return formatLibvirtJson(command, false);
}

const qemuMonitorCommand: Handler = async (ctl, cmd) => {
  cmd.exclusive('hmp', 'pretty');
  cmd.exclusive('hmp', 'return-value');
  const { dom } = await ctl.domain(cmd);
  const hmp = cmd.bool('hmp');
  const words = cmd.argv('cmd');
  const monitorCmd = hmp ? words.join(' ') : wrapQmpCommand(words);
  // Node cannot hand file descriptors to QEMU (no SCM_RIGHTS), so no connection of tsvirt passes them
  if (cmd.string('pass-fds') !== undefined) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, 'fd passing is not supported by this connection');
  const result = await dom.qemuMonitorCommand(monitorCmd, hmp ? MONITOR_COMMAND_HMP : 0);
  const pretty = cmd.bool('pretty');
  const returnValue = cmd.bool('return-value');
  const parsed = returnValue || pretty ? tryParse(result) : undefined;
  if (returnValue && !parsed) throw new CommandError(['failed to parse JSON returned by qemu']);
  if (!parsed) {
    ctl.print(`${result}\n`);
    return;
  }
  const shown = returnValue ? jsonMember(parsed, 'return') : parsed;
  if (!shown) throw new CommandError(["'return' member missing"]);
  ctl.print(formatLibvirtJson(shown, pretty).trim());
};

export const handlers: Record<string, Handler> = { 'qemu-monitor-command': qemuMonitorCommand };
