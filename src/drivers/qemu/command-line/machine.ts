// The machine-wide options: -name, -machine, -accel, -uuid, -display,
// the monitor, -rtc, power management, -boot, -sandbox and -msg.
import { child, childrenNamed, childText } from '../../../util/xml.js';
import type { XmlElement } from '../../../util/xml.js';
import { escapeOptionValue } from '../../../util/qemu-option.js';
import { virError, ErrorCode, ErrorDomain } from '../../../util/error.js';
import type { BuildContext } from './context.js';
import { attrTristate, onOff } from './context.js';
import { pflashNodes } from './firmware.js';
import { hasHmat } from './memory.js';


export function buildName(ctx: BuildContext): void {
  ctx.cmd.add('-name', `guest=${escapeOptionValue(ctx.view.name)},debug-threads=on`);
}

export function buildMasterKey(ctx: BuildContext): void {
  ctx.cmd.json('-object', { 'qom-type': 'secret', id: 'masterKey0', format: 'raw', file: `${ctx.runtime.libDir}/master-key.aes` });
}

function timers(ctx: BuildContext): XmlElement[] {
  const clock = child(ctx.view.def, 'clock');
  return clock ? childrenNamed(clock, 'timer') : [];
}

export function buildMachine(ctx: BuildContext): void {
  const { view } = ctx;
  const parts = [view.machine, 'usb=off'];
  const vmport = onOff(view.feature('vmport')?.attrs.state);
  if (vmport) parts.push(`vmport=${vmport}`);
  const smm = view.feature('smm');
  if (smm) parts.push(`smm=${onOff(smm.attrs.state) ?? 'on'}`);
  const gic = view.feature('gic');
  if (gic && gic.attrs.version !== undefined) parts.push(`gic-version=${gic.attrs.version}`);
  const ioapic = view.feature('ioapic')?.attrs.driver;
  if (ioapic === 'qemu') parts.push('kernel_irqchip=split');
  else if (ioapic === 'kvm') parts.push('kernel_irqchip=on');
  const iommu = view.deviceList('iommu')[0];
  if (iommu?.attrs.model === 'smmuv3') parts.push('iommu=smmuv3');

  const memoryBacking = child(view.def, 'memoryBacking');
  const dump = onOff(child(view.def, 'memory')?.attrs.dumpCore) ?? 'off';
  parts.push(`dump-guest-core=${dump}`);
  if (memoryBacking && child(memoryBacking, 'nosharepages')) parts.push('mem-merge=off');
  if (view.deviceList('memory').some((m) => m.attrs.model === 'nvdimm')) parts.push('nvdimm=on');
  if (!hasNumaNodes(ctx)) {
    const ramId = view.defaultRamId(ctx.options.caps);
    if (ramId) parts.push(`memory-backend=${ramId}`);
  }
  for (const node of pflashNodes(ctx)) parts.push(`${node}=libvirt-${node}-format`);
  if (hasHmat(ctx)) parts.push('hmat=on');
  const bios = child(view.os, 'bios');
  if (bios?.attrs.useserial === 'yes') parts.push('graphics=off');
  ctx.cmd.add('-machine', parts.join(','));
}

export function hasNumaNodes(ctx: BuildContext): boolean {
  const cpu = child(ctx.view.def, 'cpu');
  const numa = cpu ? child(cpu, 'numa') : undefined;
  return numa !== undefined && childrenNamed(numa, 'cell').length > 0;
}

export function buildAccel(ctx: BuildContext): void {
  const { view } = ctx;
  if (view.virtType === 'kvm') {
    const kvm = view.feature('kvm');
    const ring = kvm ? child(kvm, 'dirty-ring') : undefined;
    ctx.cmd.add('-accel', ring?.attrs.state === 'on' ? `kvm,dirty-ring-size=${ring.attrs.size}` : 'kvm');
    return;
  }
  const tcg = view.feature('tcg');
  const cache = tcg ? child(tcg, 'tb-cache') : undefined;
  if (cache) {
    const kib = Number(cache.text.trim()) * unitFactor(cache.attrs.unit ?? 'MiB');
    ctx.cmd.add('-accel', `tcg,tb-size=${Math.floor(kib / 1024)}`);
    return;
  }
  ctx.cmd.add('-accel', view.virtType === 'hvf' ? 'hvf' : 'tcg');
}

/** KiB per unit, libvirt's scaled-integer units. */
export function unitFactor(unit: string): number {
  const u = unit.toLowerCase();
  const table: Record<string, number> = {
    b: 1 / 1024, bytes: 1 / 1024, k: 1, kib: 1, kb: 1000 / 1024, m: 1024, mib: 1024, mb: 1e6 / 1024,
    g: 1024 ** 2, gib: 1024 ** 2, gb: 1e9 / 1024, t: 1024 ** 3, tib: 1024 ** 3, tb: 1e12 / 1024,
  };
  return table[u] ?? 1;
}

export function buildUuid(ctx: BuildContext): void {
  ctx.cmd.add('-uuid', childText(ctx.view.def, 'uuid') ?? '');
}

export function buildNoGraphics(ctx: BuildContext): void {
  if (ctx.view.deviceList('graphics').length === 0) ctx.cmd.add('-display', 'none');
  ctx.cmd.add('-no-user-config', '-nodefaults');
}

export function buildMonitor(ctx: BuildContext): void {
  ctx.cmd.add('-chardev', `socket,id=charmonitor,path=${escapeOptionValue(`${ctx.runtime.libDir}/monitor.sock`)},server=on,wait=off`);
  ctx.cmd.add('-mon', 'chardev=charmonitor,id=monitor,mode=control');
}

/** QEMU's -rtc base=YYYY-MM-DDTHH:MM:SS, which has room for the years 1 to 9999 only. */
function formatDateTime(epochSeconds: number): string {
  const date = new Date(epochSeconds * 1000);
  const year = date.getUTCFullYear();
  if (!(year >= 1 && year <= 9999)) {
    // libvirt 9.0 writes base=(null) here, which QEMU refuses
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, `the guest clock would start outside the years 1 to 9999 (${epochSeconds} seconds since the epoch)`, ErrorDomain.QEMU);
  }
  return date.toISOString().slice(0, 19);
}

export function buildClock(ctx: BuildContext): void {
  const clock = child(ctx.view.def, 'clock');
  const offset = clock?.attrs.offset ?? 'utc';
  let rtc: string;
  switch (offset) {
    case 'utc': rtc = 'base=utc'; break;
    case 'localtime': case 'timezone': rtc = 'base=localtime'; break;
    case 'variable': {
      let adjustment = Number(clock?.attrs.adjustment ?? 0);
      if (clock?.attrs.basis === 'localtime') adjustment -= new Date().getTimezoneOffset() * 60;
      rtc = `base=${formatDateTime(Math.floor(Date.now() / 1000) + adjustment)}`;
      break;
    }
    case 'absolute': rtc = `base=${formatDateTime(Number(clock?.attrs.start ?? 0))}`; break;
    default:
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unsupported clock offset '${offset}'`, ErrorDomain.QEMU);
  }
  const rtcTimer = timers(ctx).find((t) => t.attrs.name === 'rtc');
  if (rtcTimer) {
    const track = { guest: 'vm', wall: 'host', realtime: 'rt' }[rtcTimer.attrs.track ?? ''];
    if (track) rtc += `,clock=${track}`;
    if (rtcTimer.attrs.tickpolicy === 'catchup') rtc += ',driftfix=slew';
  }
  ctx.cmd.add('-rtc', rtc);
  if (offset === 'timezone' && clock?.attrs.timezone) ctx.cmd.setEnv('TZ', clock.attrs.timezone);
  for (const t of timers(ctx)) {
    if (t.attrs.name === 'pit') {
      const policy = t.attrs.tickpolicy;
      if (policy === undefined || policy === 'delay') ctx.cmd.add('-global', 'kvm-pit.lost_tick_policy=delay');
      else if (policy === 'discard') ctx.cmd.add('-global', 'kvm-pit.lost_tick_policy=discard');
    } else if (t.attrs.name === 'hpet' && t.attrs.present === 'no') {
      ctx.cmd.add('-no-hpet');
    }
  }
}

export function buildPowerManagement(ctx: BuildContext): void {
  const { view } = ctx;
  ctx.cmd.add('-no-shutdown');
  if (onOff(view.feature('acpi')?.attrs.state ?? (view.feature('acpi') ? 'on' : undefined)) !== 'on') ctx.cmd.add('-no-acpi');
  const pm = child(view.def, 'pm');
  const object = view.family === 'q35' ? 'ICH9-LPC' : 'PIIX4_PM';
  for (const state of ['suspend-to-mem', 'suspend-to-disk'] as const) {
    const enabled = attrTristate(pm ? child(pm, state) : undefined, 'enabled');
    if (enabled === undefined) continue;
    ctx.cmd.add('-global', `${object}.disable_${state === 'suspend-to-mem' ? 's3' : 's4'}=${enabled ? 0 : 1}`);
  }
}

export function buildBoot(ctx: BuildContext): void {
  const { os } = ctx.view;
  const opts: string[] = [];
  const menu = child(os, 'bootmenu');
  const menuEnabled = attrTristate(menu, 'enable');
  if (menuEnabled !== undefined) opts.push(`menu=${menuEnabled ? 'on' : 'off'}`);
  const bios = child(os, 'bios');
  if (bios?.attrs.rebootTimeout !== undefined) opts.push(`reboot-timeout=${bios.attrs.rebootTimeout}`);
  if (menu?.attrs.timeout !== undefined) opts.push(`splash-time=${menu.attrs.timeout}`);
  opts.push('strict=on');
  ctx.cmd.add('-boot', opts.join(','));
  for (const [tag, option] of [['kernel', '-kernel'], ['initrd', '-initrd'], ['cmdline', '-append'], ['dtb', '-dtb']] as const) {
    const v = childText(os, tag);
    if (v !== undefined) ctx.cmd.add(option, v);
  }
  const acpi = child(os, 'acpi');
  const slic = acpi ? childrenNamed(acpi, 'table').find((t) => t.attrs.type === 'slic') : undefined;
  if (slic) ctx.cmd.add('-acpitable', `sig=SLIC,file=${escapeOptionValue(slic.text)}`);
}

/** libvirt's default qemu.conf: seccomp_sandbox = 1. */
export function buildSandbox(ctx: BuildContext): void {
  ctx.cmd.add('-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny');
}

/** libvirt's default qemu.conf: log_timestamp = 1. */
export function buildMessageTimestamps(ctx: BuildContext): void {
  ctx.cmd.add('-msg', 'timestamp=on');
}
