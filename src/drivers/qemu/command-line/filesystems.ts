// Shared folders: virtio-9p (-fsdev + -device).
import { child } from '../../../util/xml.js';
import { escapeOptionValue } from '../../../util/qemu-option.js';
import { virError, ErrorCode, ErrorDomain } from '../../../util/error.js';
import type { BuildContext } from './context.js';
import { props } from './context.js';
import { addAddressProps, addVirtioOptions, virtioModel } from './address.js';

export function buildFilesystems(ctx: BuildContext): void {
  for (const fs of ctx.view.deviceList('filesystem')) {
    const alias = ctx.view.alias(fs);
    const driver = child(fs, 'driver');
    const type = driver?.attrs.type ?? 'path';
    if (type === 'virtiofs') {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'virtiofs needs a running virtiofsd', ErrorDomain.QEMU);
    }
    let opt: string;
    if (type === 'path') {
      opt = 'local';
      const mode = fs.attrs.accessmode ?? 'passthrough';
      opt += `,security_model=${mode === 'squash' ? 'none' : mode}`;
      if (fs.attrs.multidevs && fs.attrs.multidevs !== 'default') opt += `,multidevs=${fs.attrs.multidevs}`;
      if (fs.attrs.fmode) opt += `,fmode=${fs.attrs.fmode}`;
      if (fs.attrs.dmode) opt += `,dmode=${fs.attrs.dmode}`;
    } else {
      opt = type;
    }
    if (driver?.attrs.wrpolicy) opt += `,writeout=${driver.attrs.wrpolicy}`;
    opt += `,id=fsdev-${alias},path=${escapeOptionValue(child(fs, 'source')?.attrs.dir ?? '')}`;
    if (child(fs, 'readonly')) opt += ',readonly';
    ctx.cmd.add('-fsdev', opt);
    const out = props(['driver', virtioModel(fs, 'virtio-9p', fs.attrs.model)]);
    addVirtioOptions(fs, out);
    Object.assign(out, props(['id', alias], ['fsdev', `fsdev-${alias}`], ['mount_tag', child(fs, 'target')?.attrs.dir ?? '']));
    addAddressProps(ctx.view, fs, out);
    ctx.cmd.json('-device', out);
  }
}
