// The address a VNC or SPICE display of a running domain listens on, as
// libvirt shows it in the live XML (qemuProcessGraphicsSetupListen): a
// <listen type='address'/> without an address gets qemu.conf's vnc_listen /
// spice_listen (127.0.0.1, what the command line uses too), and the first
// address is mirrored into <graphics listen=...>.
import { child, type XmlElement } from '../../util/xml.js';

/** qemu.conf's default vnc_listen and spice_listen. */
export const DEFAULT_GRAPHICS_LISTEN = '127.0.0.1';

export function fillGraphicsListen(live: XmlElement): void {
  for (const graphics of child(live, 'devices')?.children ?? []) {
    if (graphics.name !== 'graphics' || (graphics.attrs.type !== 'vnc' && graphics.attrs.type !== 'spice')) continue;
    const listen = child(graphics, 'listen');
    if (listen?.attrs.type !== 'address') continue;
    const address = listen.attrs.address ?? graphics.attrs.listen ?? DEFAULT_GRAPHICS_LISTEN;
    listen.attrs = { ...listen.attrs, address };
    graphics.attrs = { ...graphics.attrs, listen: address };
  }
}
