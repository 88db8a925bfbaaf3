// A disk's I/O limits between libvirt's names (<iotune>, the blkdeviotune
// parameters) and QEMU's (query-block, block_set_io_throttle), and the limits a
// started QEMU takes from the definition (qemuProcessSetupDiskThrottling: with
// -blockdev they cannot go on the command line).
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import type { QemuJson } from '../../util/json.js';
import { child, childrenNamed, type XmlElement } from '../../util/xml.js';
import type { QmpClient } from './qmp.js';

/** libvirt's parameter names in its order, with QEMU's names (query-block / block_set_io_throttle). */
export const FIELDS: Array<[name: string, qemu: string]> = [
  ['total_bytes_sec', 'bps'], ['read_bytes_sec', 'bps_rd'], ['write_bytes_sec', 'bps_wr'],
  ['total_iops_sec', 'iops'], ['read_iops_sec', 'iops_rd'], ['write_iops_sec', 'iops_wr'],
  ['total_bytes_sec_max', 'bps_max'], ['read_bytes_sec_max', 'bps_rd_max'], ['write_bytes_sec_max', 'bps_wr_max'],
  ['total_iops_sec_max', 'iops_max'], ['read_iops_sec_max', 'iops_rd_max'], ['write_iops_sec_max', 'iops_wr_max'],
  ['size_iops_sec', 'iops_size'], ['group_name', 'group'],
  ['total_bytes_sec_max_length', 'bps_max_length'], ['read_bytes_sec_max_length', 'bps_rd_max_length'], ['write_bytes_sec_max_length', 'bps_wr_max_length'],
  ['total_iops_sec_max_length', 'iops_max_length'], ['read_iops_sec_max_length', 'iops_rd_max_length'], ['write_iops_sec_max_length', 'iops_wr_max_length'],
];
/** Limits by libvirt name; group_name is a string, the others counts. */
export type IoTune = Map<string, bigint | string>;

/** A disk's <iotune>, as limits. */
export function definedIoTune(disk: XmlElement): IoTune {
  const out: IoTune = new Map();
  for (const el of child(disk, 'iotune')?.children ?? []) {
    out.set(el.name, el.name === 'group_name' ? el.text.trim() : BigInt(el.text.trim() || '0'));
  }
  return out;
}

/** The disk's entry of query-block: its guest device path (qdev) and QEMU's current limits. */
export async function qemuThrottle(qmp: QmpClient, disk: XmlElement): Promise<{ qdev: string; tune: IoTune }> {
  const alias = child(disk, 'alias')?.attrs.name ?? '';
  const blocks = await qmp.execute<Array<{ qdev?: string; inserted?: Record<string, unknown> }>>('query-block');
  const entry = blocks.find((b) => b.qdev === alias || b.qdev?.startsWith(`/machine/peripheral/${alias}/`));
  if (!entry?.qdev || !entry.inserted) throw virError(ErrorCode.OPERATION_INVALID, `block I/O throttling is not supported for disk '${child(disk, 'target')?.attrs.dev ?? ''}'`, ErrorDomain.QEMU);
  const tune: IoTune = new Map();
  for (const [name, qemu] of FIELDS) {
    const v = entry.inserted[qemu];
    if (typeof v === 'number') tune.set(name, BigInt(v));
    if (typeof v === 'string') tune.set(name, v);
  }
  return { qdev: entry.qdev, tune };
}

/** block_set_io_throttle's arguments for the guest device `qdev`: every limit, the burst lengths only where set. */
export function throttleArgs(qdev: string, tune: IoTune): Record<string, QemuJson> {
  const args: Record<string, QemuJson> = { id: qdev };
  for (const [name, qemu] of FIELDS) {
    const v = tune.get(name);
    if (name === 'group_name') {
      if (typeof v === 'string' && v !== '') args[qemu] = v;
    } else if (!name.endsWith('_max_length') || (typeof v === 'bigint' && v > 0n)) {
      args[qemu] = Number(typeof v === 'bigint' ? v : 0n);
    }
  }
  return args;
}

/** A started QEMU takes each disk's <iotune>; disks without media or limits are left alone (qemuDiskConfigBlkdeviotuneEnabled). */
export async function applyDiskThrottling(qmp: QmpClient, live: XmlElement): Promise<void> {
  for (const disk of childrenNamed(child(live, 'devices') ?? live, 'disk')) {
    const tune = definedIoTune(disk);
    if (![...tune.values()].some((v) => v !== 0n && v !== '')) continue;
    const source = child(disk, 'source');
    if (!source || Object.keys(source.attrs).filter((a) => a !== 'index').length === 0) continue;
    const { qdev } = await qemuThrottle(qmp, disk);
    await qmp.execute('block_set_io_throttle', throttleArgs(qdev, tune));
  }
}
