// send-key: keys by number or by name in the chosen codeset, as virsh reads them.
import { keycodeFromName, keycodeSetFromName } from '../../util/keycodes.js';
import { CommandError } from '../errors.js';
import type { Handler } from '../shell.js';

/** VIR_DOMAIN_SEND_KEY_MAX_KEYS */
const SEND_KEY_MAX_KEYS = 16;

/** virshKeyCodeGetInt: decimal, 0x hex or 0 octal, at most 0xffff; -1 otherwise. */
function keycodeNumber(text: string): number {
  const m = /^\s*(?:0x([0-9a-f]+)|0([0-7]*)|([1-9]\d*))$/i.exec(text);
  if (!m) return -1;
  const value = m[1] !== undefined ? Number.parseInt(m[1], 16) : m[2] !== undefined ? Number.parseInt(m[2] || '0', 8) : Number(m[3]);
  return value > 0xffff ? -1 : value;
}

const sendKey: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  let codesetName = cmd.string('codeset') ?? 'linux';
  const holdtime = cmd.number('holdtime', 0, 2 ** 32 - 1) ?? 0;
  // the qnum codeset was called rfb before
  if (codesetName === 'rfb') codesetName = 'qnum';
  const codeset = keycodeSetFromName(codesetName);
  if (codeset < 0) throw new CommandError([`unknown codeset: '${codesetName}'`]);
  const keycodes: number[] = [];
  for (const key of cmd.argv('keycode')) {
    if (keycodes.length === SEND_KEY_MAX_KEYS) throw new CommandError(['too many keycodes']);
    let code = keycodeNumber(key);
    if (code < 0) code = keycodeFromName(codeset, key);
    if (code < 0) throw new CommandError([`invalid keycode: '${key}'`]);
    keycodes.push(code);
  }
  await dom.connection.invoke('domainSendKey', { dom: dom.ref, codeset, holdtime, keycodes, flags: 0 });
};

export const handlers: Record<string, Handler> = { 'send-key': sendKey };
