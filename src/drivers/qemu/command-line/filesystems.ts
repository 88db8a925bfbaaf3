// Shared folders: virtio-9p (-fsdev + -device).
import { child } from '../../../util/xml.js';
import { escapeOptionValue } from '../../../util/qemu-option.js';
import type { BuildContext } from './context.js';
import { props } from './context.js';
import { addAddressProps, addVirtioOptions, virtioModel } from './address.js';

export function buildFilesystems(ctx: BuildContext): void {
  for (const fs of ctx.view.deviceList('filesystem')) {
    const alias = ctx.view.alias(fs);
    const driver = child(fs, 'driver');
    const type = driver?.attrs.type ?? 'path';
    if (type === 'virtiofs') {
      // virtiofsd listens on the given socket, or on the one libvirt starts it with.
      const chardev = `chr-vu-${alias}`;
      const socket = child(fs, 'source')?.attrs.socket ?? `${ctx.runtime.libDir}/${alias}-fs.sock`;
      ctx.cmd.add('-chardev', `socket,id=${chardev},path=${escapeOptionValue(socket)}`);
      const out = props(['driver', virtioModel(fs, 'vhost-user-fs', fs.attrs.model)]);
      addVirtioOptions(fs, out);
      Object.assign(out, props(['id', alias], ['chardev', chardev],
        ['queue-size', driver?.attrs.queue !== undefined ? Number(driver.attrs.queue) : undefined], ['tag', child(fs, 'target')?.attrs.dir ?? '']));
      addAddressProps(ctx.view, fs, out);
      ctx.cmd.json('-device', out);
      continue;
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
