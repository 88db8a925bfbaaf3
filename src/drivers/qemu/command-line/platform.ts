// Platform devices without a bus of their own: IOMMU, floppy controller
// boot order, pvpanic, VM generation id, vmcoreinfo, and the qemu:commandline
// passthrough of the qemu XML namespace.
import { dirname } from 'node:path';
import { child } from '../../../util/xml.js';
import { escapeOptionValue } from '../../../util/qemu-option.js';
import { unitFactor } from './machine.js';
import type { BuildContext } from './context.js';
import { props } from './context.js';
import { addAddressProps } from './address.js';
import { diskBootIndexes } from './disks.js';
import { deviceAddressOf } from '../../../conf/device-address.js';

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
    const addr = deviceAddressOf(f);
    if (addr?.type === 'drive' && addr.unit !== 0) b = boot.get(f);
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
    const addr = deviceAddressOf(panic);
    ctx.cmd.json('-device', props(['driver', 'pvpanic'], ['ioport', addr?.type === 'isa' ? addr.iobase : undefined]));
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

/** Inter-VM shared memory: a shared file backend (plain) or a doorbell server socket. */
export function buildShmems(ctx: BuildContext): void {
  for (const shmem of ctx.view.deviceList('shmem')) {
    const alias = ctx.view.alias(shmem);
    const name = shmem.attrs.name ?? '';
    const model = child(shmem, 'model')?.attrs.type ?? 'ivshmem-plain';
    if (model === 'ivshmem-plain') {
      const size = child(shmem, 'size');
      const bytes = size ? Math.round(Number(size.text.trim()) * unitFactor(size.attrs.unit ?? 'B') * 1024) : 4 * 1024 * 1024;
      ctx.cmd.json('-object', { 'qom-type': 'memory-backend-file', id: `shmmem-${alias}`, 'mem-path': `/dev/shm/${name}`, size: bytes, share: true });
      const role = shmem.attrs.role;
      const out = props(['driver', 'ivshmem-plain'], ['id', alias], ['memdev', `shmmem-${alias}`], ['master', role === 'master' ? 'on' : role === 'peer' ? 'off' : undefined]);
      addAddressProps(ctx.view, shmem, out);
      ctx.cmd.json('-device', out);
      continue;
    }
    const msi = child(shmem, 'msi');
    const out = props(['driver', model], ['id', alias], ['chardev', `char${alias}`],
      ['vectors', msi?.attrs.vectors !== undefined ? Number(msi.attrs.vectors) : undefined],
      ['ioeventfd', msi?.attrs.ioeventfd === 'on' ? true : msi?.attrs.ioeventfd === 'off' ? false : undefined]);
    addAddressProps(ctx.view, shmem, out);
    ctx.cmd.json('-device', out);
    // The server socket defaults to libvirt's state folder (LOCALSTATEDIR/lib/libvirt/shmem-NAME-sock).
    const path = child(shmem, 'server')?.attrs.path ?? `${dirname(ctx.options.paths.libDir)}/shmem-${name}-sock`;
    ctx.cmd.add('-chardev', `socket,id=char${alias},path=${escapeOptionValue(path)}`);
  }
}

const DEPRECATED_INPUT: Record<string, string | undefined> = { omit: undefined, reject: 'reject', crash: 'crash' };

/** <qemu:deprecation behavior>: how QEMU treats deprecated interfaces (-compat). */
export function buildCompatDeprecated(ctx: BuildContext): void {
  const behavior = ctx.view.def.children.find((c) => c.name.endsWith(':deprecation'))?.attrs.behavior;
  if (!behavior || behavior === 'none' || !(behavior in DEPRECATED_INPUT)) return;
  ctx.cmd.json('-compat', props(['deprecated-output', 'hide'], ['deprecated-input', DEPRECATED_INPUT[behavior]]));
}
