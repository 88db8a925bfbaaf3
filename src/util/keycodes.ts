// Key codes of the codesets virDomainSendKey takes (virKeycodeSet), over the
// keycodemapdb table (keycode-table.ts): a key name's code in a codeset, and a
// code's translation from one codeset to another, as libvirt's virkeycode.c does.
import { KEYCODE_TABLE, KEYCODE_TABLE_SETS } from './keycode-table.js';

/** virKeycodeSet, in its numbering (VIR_KEYCODE_SET_RFB is QNUM's old name) */
export const KEYCODE_SET_NAMES = ['linux', 'xt', 'atset1', 'atset2', 'atset3', 'os_x', 'xt_kbd', 'usb', 'win32', 'qnum'] as const;
export const KEYCODE_SET_QNUM = 9;

/** The table column of each codeset: XT is AT set 1 (libvirt's mistake it keeps) */
const COLUMN_OF: readonly number[] = ['linux', 'atset1', 'atset1', 'atset2', 'atset3', 'osx', 'xtkbd', 'usb', 'win32', 'qnum'].map((s) => KEYCODE_TABLE_SETS.indexOf(s as (typeof KEYCODE_TABLE_SETS)[number]));
/** The name columns of the codesets with key names: Linux, OS X, Win32 */
const NAME_COLUMN: Partial<Record<number, number>> = { 0: KEYCODE_TABLE_SETS.length, 5: KEYCODE_TABLE_SETS.length + 1, 8: KEYCODE_TABLE_SETS.length + 2 };

/** virKeycodeSetTypeFromString: the codeset's number, or -1 */
export function keycodeSetFromName(name: string): number {
  return (KEYCODE_SET_NAMES as readonly string[]).indexOf(name);
}

/** virKeycodeValueFromString: the code of key `name` in `codeset`, or -1 (codesets without names have none). */
export function keycodeFromName(codeset: number, name: string): number {
  const nameColumn = NAME_COLUMN[codeset];
  if (nameColumn === undefined) return -1;
  const row = KEYCODE_TABLE.find((r) => r[nameColumn] === name);
  return row ? (row[COLUMN_OF[codeset]!] as number) : -1;
}

/** virKeycodeValueTranslate: the first key with `value` in `from`, as its code in `to`; -1 when none has it. */
export function translateKeycode(from: number, to: number, value: number): number {
  if (value < 0) return -1;
  const row = KEYCODE_TABLE.find((r) => r[COLUMN_OF[from]!] === value);
  return row ? (row[COLUMN_OF[to]!] as number) : -1;
}
