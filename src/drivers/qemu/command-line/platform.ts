// Platform devices without a bus of their own: IOMMU, floppy controller
// boot order, pvpanic, VM generation id, vmcoreinfo, and the qemu:commandline
// passthrough of the qemu XML namespace.
import { child } from '../../../util/xml.js';
import type { BuildContext } from './context.js';
import { props } from './context.js';
import { addAddressProps } from './address.js';
import { diskBootIndexes } from './disks.js';

export function buildIommu(ctx: BuildContext): void {
  const iommu = ctx.view.deviceList('iommu')[0];
  if (!iommu) return;
  const driver = child(iommu, 'driver');
  const onOff = (v: string | undefined) => (v === 'on' || v === 'off' ? v : undefined);
  const bool = (v: string | undefined) => (v === 'on' ? true : v === 'off' ? false : undefined);
  if (iommu.attrs.model === 'intel') {
    const awBits = driver?.attrs.aw_bits !== undefined ? Number(driver.attrs.aw_bits) : undefined;
    ctx.cmd.json('-device', props(['driver', 'intel-iommu'], ['id', ctx.view.alias(iommu)], ['intremap', onOff(driver?.attrs.intremap)],
      ['caching-mode', bool(driver?.attrs.caching_mode)], ['eim', onOff(driver?.attrs.eim)], ['device-iotlb', bool(driver?.attrs.iotlb)],
      ['aw-bits', awBits && awBits > 0 ? awBits : undefined]));
  } else if (iommu.attrs.model === 'virtio') {
    const out = props(['driver', 'virtio-iommu'], ['id', ctx.view.alias(iommu)]);
    addAddressProps(ctx.view, iommu, out);
    ctx.cmd.json('-device', out);
  }
}

/** Floppy boot order lives on the controller: implicit on i440fx (-global), a -device on q35. */
export function buildFloppyController(ctx: BuildContext): void {
  const floppies = ctx.view.deviceList('disk').filter((d) => child(d, 'target')?.attrs.bus === 'fdc');
  if (floppies.length === 0) return;
  const boot = diskBootIndexes(ctx);
  let a: number | undefined;
  let b: number | undefined;
  for (const f of floppies) {
    if (Number(child(f, 'address')?.attrs.unit ?? 0)) b = boot.get(f);
    else a = boot.get(f);
  }
  if (ctx.view.family === 'q35') {
    ctx.cmd.json('-device', props(['driver', 'isa-fdc'], ['bootindexA', a], ['bootindexB', b]));
    return;
  }
  if (a) ctx.cmd.add('-global', `isa-fdc.bootindexA=${a}`);
  if (b) ctx.cmd.add('-global', `isa-fdc.bootindexB=${b}`);
}

export function buildPanic(ctx: BuildContext): void {
  for (const panic of ctx.view.deviceList('panic')) {
    if ((panic.attrs.model ?? 'isa') !== 'isa') continue;
    const addr = child(panic, 'address');
    ctx.cmd.json('-device', props(['driver', 'pvpanic'], ['ioport', addr?.attrs.type === 'isa' ? Number(addr.attrs.iobase ?? 0) : undefined]));
  }
}

export function buildVMGenID(ctx: BuildContext): void {
  const genid = child(ctx.view.def, 'genid');
  if (genid) ctx.cmd.json('-device', props(['driver', 'vmgenid'], ['guid', genid.text.trim()], ['id', 'vmgenid0']));
}

export function buildVMCoreInfo(ctx: BuildContext): void {
  const feature = ctx.view.feature('vmcoreinfo');
  if (feature && feature.attrs.state !== 'off') ctx.cmd.json('-device', { driver: 'vmcoreinfo' });
}

/** <qemu:commandline>: extra arguments and environment, added verbatim as libvirt does. */
export function buildQemuNamespace(ctx: BuildContext): void {
  const block = ctx.view.def.children.find((c) => c.name.endsWith(':commandline'));
  if (!block) return;
  for (const el of block.children) {
    if (el.name.endsWith(':arg') && el.attrs.value !== undefined) ctx.cmd.add(el.attrs.value);
    else if (el.name.endsWith(':env') && el.attrs.name !== undefined) ctx.cmd.setEnv(el.attrs.name, el.attrs.value ?? '');
  }
}


/** SMM's extended TSEG size on q35 (qemuBuildTSEGCommandLine). */
export function buildTseg(ctx: BuildContext): void {
  const tseg = child(ctx.view.feature('smm') ?? ctx.view.def, 'tseg');
  if (!tseg || ctx.view.family !== 'q35') return;
  const units: Record<string, number> = { b: 1 / (1024 * 1024), bytes: 1 / (1024 * 1024), kib: 1 / 1024, k: 1 / 1024, mib: 1, m: 1, gib: 1024, g: 1024 };
  const mib = Number(tseg.text.trim()) * (units[(tseg.attrs.unit ?? 'MiB').toLowerCase()] ?? 1);
  ctx.cmd.add('-global', `mch.extended-tseg-mbytes=${mib}`);
}

/** A vsock device: the guest CID; the vhost fd is opened by whoever runs QEMU. */
export function buildVsock(ctx: BuildContext): void {
  const vsock = ctx.view.deviceList('vsock')[0];
  if (!vsock) return;
  const cid = child(vsock, 'cid');
  const out = props(['driver', `vhost-vsock${child(vsock, 'address')?.attrs.type === 'ccw' ? '-ccw' : '-pci'}`], ['id', ctx.view.alias(vsock)],
    ['guest-cid', Number(cid?.attrs.address ?? 0)], ['vhostfd', '-1']);
  addAddressProps(ctx.view, vsock, out);
  ctx.cmd.json('-device', out);
}
