// QEMU picks the pty of a <serial|console|parallel|channel type='pty'> when it
// starts; libvirt asks it which one (query-chardev, qemuProcessRefreshChardev)
// and puts the path into the live XML, where `console` and ttyconsole find it.
import { child, element, type XmlElement } from '../../util/xml.js';

const CHARACTER_DEVICES = new Set(['serial', 'console', 'parallel', 'channel']);

/** One entry of QMP query-chardev. */
export interface QmpChardevInfo {
  label: string;
  filename: string;
}

/**
 * Fills `<source path='/dev/pts/N'/>` into every pty character device of a live
 * definition from QEMU's chardev list (chardev ids are "char" + the device
 * alias), and the legacy tty='...' attribute of the first console.
 */
export function fillPtyPaths(live: XmlElement, chardevs: readonly QmpChardevInfo[]): void {
  const ptyOf = new Map(chardevs.filter((c) => c.filename.startsWith('pty:')).map((c) => [c.label, c.filename.slice('pty:'.length)]));
  for (const device of child(live, 'devices')?.children ?? []) {
    if (!CHARACTER_DEVICES.has(device.name) || device.attrs.type !== 'pty') continue;
    const alias = child(device, 'alias')?.attrs.name;
    const pty = alias === undefined ? undefined : ptyOf.get(`char${alias}`);
    if (pty === undefined) continue;
    device.children = [element('source', { path: pty }), ...device.children.filter((c) => c.name !== 'source')];
    if (device.name === 'console' && (child(device, 'target')?.attrs.port ?? '0') === '0') {
      device.attrs = { type: 'pty', tty: pty, ...device.attrs };
    }
  }
}

/** The pty path of a live character device, once fillPtyPaths() ran. */
export function ptyPathOf(device: XmlElement): string | undefined {
  return device.attrs.type === 'pty' ? child(device, 'source')?.attrs.path : undefined;
}
