// Firmware tables handed to the guest: SMBIOS (-smbios) from <sysinfo
// type='smbios'> when <smbios mode='sysinfo'/>, and fw_cfg entries.
import type { XmlElement } from '../../../util/xml.js';
import { child, childrenNamed } from '../../../util/xml.js';
import { escapeOptionValue } from '../../../util/qemu-option.js';
import { virError, ErrorCode, ErrorDomain } from '../../../util/error.js';
import type { BuildContext } from './context.js';

/** SMBIOS structure type of each <sysinfo> block. */
const SMBIOS_TYPES: Array<[string, number]> = [['bios', 0], ['system', 1], ['baseBoard', 2], ['chassis', 3]];

function entries(block: XmlElement): string {
  return childrenNamed(block, 'entry').map((e) => `,${e.attrs.name}=${escapeOptionValue(e.text)}`).join('');
}

export function buildSmbios(ctx: BuildContext): void {
  const smbios = child(ctx.view.os, 'smbios');
  if (smbios?.attrs.mode !== 'sysinfo') return;
  const sysinfo = childrenNamed(ctx.view.def, 'sysinfo').find((s) => s.attrs.type === 'smbios');
  if (!sysinfo) return;
  for (const [tag, type] of SMBIOS_TYPES) {
    const blocks = childrenNamed(sysinfo, tag);
    if (type === 2 && blocks.length > 1) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'qemu does not support more than one entry to Type 2 in SMBIOS table', ErrorDomain.QEMU);
    }
    for (const block of blocks) {
      const body = entries(block);
      if (body) ctx.cmd.add('-smbios', `type=${type}${body}`);
    }
  }
  const oem = child(sysinfo, 'oemStrings');
  if (oem) ctx.cmd.add('-smbios', `type=11${childrenNamed(oem, 'entry').map((e) => `,value=${escapeOptionValue(e.text)}`).join('')}`);
}

export function buildFwCfg(ctx: BuildContext): void {
  for (const sysinfo of childrenNamed(ctx.view.def, 'sysinfo').filter((s) => s.attrs.type === 'fwcfg')) {
    for (const e of childrenNamed(sysinfo, 'entry')) {
      const value = e.attrs.file !== undefined ? `file=${escapeOptionValue(e.attrs.file)}` : `string=${escapeOptionValue(e.text)}`;
      ctx.cmd.add('-fw_cfg', `name=${escapeOptionValue(e.attrs.name ?? '')},${value}`);
    }
  }
}
