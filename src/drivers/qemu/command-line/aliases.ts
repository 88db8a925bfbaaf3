// Device ids ("aliases") as libvirt's qemuAssignDeviceAliases names them:
// QEMU sees them as -device id=..., and they are stable guest-visible names
// (monitor commands, migration), so they must match libvirt exactly.
import type { XmlElement } from '../../../util/xml.js';
import { child } from '../../../util/xml.js';
import type { DomainView } from './context.js';
import { deviceAddressOf } from '../../../conf/device-address.js';

/** virDiskNameToIndex: "vda" → 0, "sdb" → 1, "hdaa" → 26. */
export function diskNameToIndex(dev: string): number {
  const m = /^(?:fd|hd|vd|sd|xvd|ubd)([a-z]+)\d*$/.exec(dev);
  if (!m) return -1;
  let idx = 0;
  [...m[1]!].forEach((c, i) => {
    idx = (idx + (i < 1 ? 0 : 1)) * 26 + (c.charCodeAt(0) - 97);
  });
  return idx;
}

function userAlias(el: XmlElement): string | undefined {
  return child(el, 'alias')?.attrs.name;
}

function controllerAlias(view: DomainView, c: XmlElement): string {
  const type = c.attrs.type ?? '';
  const index = Number(c.attrs.index ?? 0);
  const model = c.attrs.model;
  if (type === 'pci') return model === 'pcie-root' ? `pcie.${index}` : `pci.${index}`;
  if (type === 'ide' && index === 0 && view.hasBuiltinIde) return 'ide';
  if (type === 'sata' && index === 0 && view.family === 'q35') return 'ide';
  if (type === 'usb' && index === 0) return 'usb';
  if (type === 'scsi' && index === 0 && model === 'ncr53c90') return 'scsi';
  return `${type}${index}`;
}

function diskAlias(view: DomainView, disk: XmlElement): string {
  const bus = child(disk, 'target')?.attrs.bus ?? '';
  const addr = deviceAddressOf(disk);
  if (addr?.type === 'drive') {
    const scsiModel = bus === 'scsi' ? view.controller('scsi', addr.controller)?.attrs.model : undefined;
    if (bus !== 'scsi' || scsiModel === 'lsilogic') return `${bus}${addr.controller}-${addr.bus}-${addr.unit}`;
    return `${bus}${addr.controller}-${addr.bus}-${addr.target}-${addr.unit}`;
  }
  return `${bus}-disk${diskNameToIndex(child(disk, 'target')?.attrs.dev ?? '')}`;
}

/** The highest N used as "<prefix>N" among `els`, plus one (libvirt's "next free index"). */
function nextIndex(aliases: Map<XmlElement, string>, els: XmlElement[], prefix: string): number {
  let next = 0;
  for (const el of els) {
    const a = aliases.get(el);
    const m = a === undefined ? null : new RegExp(`^${prefix}(\\d+)$`).exec(a);
    if (m && Number(m[1]) >= next) next = Number(m[1]) + 1;
  }
  return next;
}

export function assignAliases(view: DomainView): Map<XmlElement, string> {
  const aliases = new Map<XmlElement, string>();
  const set = (el: XmlElement, make: () => string) => aliases.set(el, userAlias(el) ?? make());
  const list = (tag: string) => view.deviceList(tag);

  for (const d of list('disk')) set(d, () => diskAlias(view, d));
  const nets = list('interface');
  const hostdevs = list('hostdev');
  for (const n of nets) {
    set(n, () => (n.attrs.type === 'hostdev'
      ? `hostdev${Math.max(nextIndex(aliases, hostdevs, 'hostdev'), nextIndex(aliases, nets, 'hostdev'))}`
      : `net${nextIndex(aliases, nets, 'net')}`));
  }
  const fss = list('filesystem');
  for (const f of fss) set(f, () => `fs${nextIndex(aliases, fss, 'fs')}`);
  list('sound').forEach((s, i) => set(s, () => `sound${i}`));
  for (const h of hostdevs) {
    set(h, () => `hostdev${Math.max(nextIndex(aliases, hostdevs, 'hostdev'), nextIndex(aliases, nets, 'hostdev'))}`);
  }
  list('redirdev').forEach((r, i) => set(r, () => `redir${i}`));
  list('video').forEach((v, i) => set(v, () => `video${i}`));
  for (const c of view.controllers()) set(c, () => controllerAlias(view, c));
  list('input').forEach((d, i) => set(d, () => `input${i}`));
  list('parallel').forEach((d, i) => set(d, () => `parallel${i}`));
  const serials = list('serial');
  serials.forEach((d, i) => set(d, () => `serial${i}`));
  list('channel').forEach((d, i) => set(d, () => `channel${i}`));
  list('console').forEach((d, i) => {
    // The first console on a serial target is the first serial port itself.
    const first = serials[0];
    const isSerialCopy = i === 0 && first !== undefined && (child(d, 'target')?.attrs.type ?? 'serial') === 'serial';
    set(d, () => (isSerialCopy ? aliases.get(first)! : `console${i}`));
  });
  list('hub').forEach((d, i) => set(d, () => `hub${i}`));
  list('shmem').forEach((d, i) => set(d, () => `shmem${i}`));
  list('smartcard').forEach((d, i) => set(d, () => `smartcard${i}`));
  for (const w of list('watchdog')) set(w, () => 'watchdog0');
  for (const b of list('memballoon')) if (b.attrs.model !== 'none') set(b, () => 'balloon0');
  const rngs = list('rng');
  for (const r of rngs) set(r, () => `rng${nextIndex(aliases, rngs, 'rng')}`);
  list('tpm').forEach((d, i) => set(d, () => `tpm${i}`));
  const mems = list('memory');
  for (const m of mems) {
    const model = m.attrs.model ?? '';
    const prefix = { dimm: 'dimm', nvdimm: 'nvdimm', 'virtio-pmem': 'virtiopmem', 'virtio-mem': 'virtiomem', 'sgx-epc': 'epc' }[model] ?? model;
    const addr = deviceAddressOf(m);
    const slot = addr?.type === 'dimm' ? addr.slot : undefined;
    set(m, () => (['dimm', 'nvdimm'].includes(prefix) && slot !== undefined ? `${prefix}${slot}` : `${prefix}${nextIndex(aliases, mems, prefix)}`));
  }
  for (const v of list('vsock')) set(v, () => 'vsock0');
  for (const i of list('iommu')) set(i, () => 'iommu0');
  return aliases;
}
