// The logical pool backend (storage_backend_logical.c): a pool is an LVM volume
// group, built from its source devices (pvcreate, vgcreate), activated with
// vgchange, sized from vgs; its volumes are the group's logical volumes (lvs,
// lvcreate, lvremove). The LVM tools are run by the paths libvirt's Debian
// build names, so that their failures read exactly as libvirt reports them.
import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { StoragePoolDef } from '../../conf/storage-pool.js';
import type { StorageVolDef } from '../../conf/storage-vol.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { systemError } from '../../util/errno-text.js';

const exec = promisify(execFile);

const LVM = {
  pvcreate: '/sbin/pvcreate',
  pvremove: '/sbin/pvremove',
  pvs: '/sbin/pvs',
  vgcreate: '/sbin/vgcreate',
  vgchange: '/sbin/vgchange',
  vgremove: '/sbin/vgremove',
  vgscan: '/sbin/vgscan',
  vgs: '/sbin/vgs',
  lvs: '/sbin/lvs',
  lvcreate: '/sbin/lvcreate',
  lvchange: '/sbin/lvchange',
  lvremove: '/sbin/lvremove',
} as const;

/** virStoragePoolBuildFlags */
const BUILD_OVERWRITE = 8;

/** The blkid type of an LVM physical volume. */
const LVM_MEMBER = 'LVM2_member';

const storageError = (code: ErrorCode, message: string) => virError(code, message, ErrorDomain.STORAGE);

/** virCommandRun: the tool's output, or libvirt's error carrying its exit status and whatever it wrote on stderr. */
async function run(argv: readonly string[]): Promise<string> {
  try {
    // LVM warns about descriptors it inherits; libvirt's children inherit none
    const { stdout } = await exec(argv[0]!, argv.slice(1), { env: { ...process.env, LVM_SUPPRESS_FD_WARNINGS: '1' }, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const x = e as { code?: number | string; stderr?: string };
    if (typeof x.code === 'string') throw storageError(ErrorCode.INTERNAL_ERROR, `Cannot find '${argv[0]}' in path: No such file or directory`);
    throw storageError(ErrorCode.INTERNAL_ERROR, `Child process (${argv.join(' ')}) unexpected exit status ${x.code ?? 1}${x.stderr ? `: ${x.stderr}` : ''}`);
  }
}

function sourceName(def: StoragePoolDef): string {
  return def.source.find((c) => c.name === 'name')?.text ?? def.name;
}
function sourceDevices(def: StoragePoolDef): string[] {
  return def.source.filter((c) => c.name === 'device' && c.attrs.path).map((c) => c.attrs.path!);
}

/** One volume group as pvs reports it: its name and its physical volumes. */
export interface LogicalSource {
  readonly name: string;
  readonly devices: string[];
}

/** virStorageBackendLogicalGetPoolSources: vgscan (failures ignored), then the PVs that belong to a group. */
export async function logicalSources(): Promise<LogicalSource[]> {
  await run([LVM.vgscan]).catch(() => undefined);
  const out = await run([LVM.pvs, '--noheadings', '-o', 'pv_name,vg_name']);
  const groups: LogicalSource[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(line);
    if (!m) continue;
    const group = groups.find((g) => g.name === m[2]) ?? groups[groups.push({ name: m[2]!, devices: [] }) - 1]!;
    group.devices.push(m[1]!);
  }
  return groups;
}

/** virStoragePoolSourceListFormat for logical sources. */
export function formatLogicalSources(sources: readonly LogicalSource[]): string {
  let xml = '<sources>\n';
  for (const s of sources) {
    xml += '  <source>\n';
    for (const d of s.devices) xml += `    <device path='${d}'/>\n`;
    xml += `    <name>${s.name}</name>\n    <format type='lvm2'/>\n  </source>\n`;
  }
  return xml + '</sources>\n';
}

/** virStorageBackendLogicalMatchPoolSource: the group exists and holds at least one of the pool's devices. */
async function matchPoolSource(def: StoragePoolDef): Promise<void> {
  const name = sourceName(def);
  const group = (await logicalSources()).find((g) => g.name === name);
  if (!group) throw storageError(ErrorCode.CONFIG_UNSUPPORTED, `cannot find logical volume group name '${name}'`);
  const devices = sourceDevices(def);
  if (devices.length > 0 && !devices.some((d) => group.devices.includes(d))) {
    throw storageError(ErrorCode.CONFIG_UNSUPPORTED, `cannot find any matching source devices for logical volume group '${name}'`);
  }
}

/** Is a logical pool that was running still there? Its group still holds its devices. */
export async function logicalPoolStillActive(def: StoragePoolDef): Promise<boolean> {
  return matchPoolSource(def).then(
    () => true,
    () => false,
  );
}

/** virStorageBackendDeviceIsEmpty(path, "LVM2_member", writelabel=true): a device may become a PV when blkid finds nothing on it. */
async function checkDeviceEmpty(device: string): Promise<void> {
  const found = (await exec('blkid', ['-p', '-o', 'value', '-s', 'TYPE', device]).catch(() => ({ stdout: '' }))).stdout.trim();
  if (!found) return;
  if (found === LVM_MEMBER) throw storageError(ErrorCode.STORAGE_POOL_BUILT, `Device '${device}' already formatted using '${LVM_MEMBER}'`);
  throw storageError(ErrorCode.STORAGE_POOL_BUILT, `Format of device '${device}' does not match the expected format '${LVM_MEMBER}', forced overwrite is necessary`);
}

/** virStorageBackendZeroPartitionTable: the first and the last MiB of the device are zeroed, as LVM wants of a whole disk. */
async function zeroPartitionTable(device: string): Promise<void> {
  const MiB = 1024 * 1024;
  let handle;
  try {
    handle = await open(device, 'r+');
  } catch (e) {
    throw systemError(`Failed to open storage volume with path '${device}'`, e, ErrorDomain.STORAGE);
  }
  try {
    const size = (await handle.stat()).isBlockDevice() ? await blockDeviceSize(device) : (await handle.stat()).size;
    const zeros = Buffer.alloc(Math.min(MiB, size));
    await handle.write(zeros, 0, zeros.length, 0);
    await handle.write(zeros, 0, zeros.length, Math.max(0, size - zeros.length));
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function blockDeviceSize(device: string): Promise<number> {
  const { stdout } = await exec('blockdev', ['--getsize64', device]);
  return Number(stdout.trim());
}

/** virStorageBackendLogicalBuildPool: each device zeroed and made a PV, then the group; on failure the PVs made go again. */
export async function buildLogicalPool(def: StoragePoolDef, flags: number): Promise<void> {
  const made: string[] = [];
  try {
    for (const device of sourceDevices(def)) {
      if (!(flags & BUILD_OVERWRITE)) await checkDeviceEmpty(device);
      await zeroPartitionTable(device);
      await run([LVM.pvcreate, device]);
      made.push(device);
    }
    await run([LVM.vgcreate, sourceName(def), ...made]);
  } catch (e) {
    for (const device of made) await run([LVM.pvremove, device]).catch(() => undefined);
    throw e;
  }
}

/** virStorageBackendLogicalStartPool */
export async function startLogicalPool(def: StoragePoolDef): Promise<void> {
  await matchPoolSource(def);
  await run([LVM.vgchange, '-aly', sourceName(def)]);
}

/** virStorageBackendLogicalStopPool */
export async function stopLogicalPool(def: StoragePoolDef): Promise<void> {
  await run([LVM.vgchange, '-aln', sourceName(def)]);
}

/** virStorageBackendLogicalDeletePool: the group goes, then its PVs (failures there are only logged by libvirt). */
export async function deleteLogicalPool(def: StoragePoolDef): Promise<void> {
  await run([LVM.vgremove, '-f', sourceName(def)]);
  for (const device of sourceDevices(def)) await run([LVM.pvremove, device]).catch(() => undefined);
}

/** One line of `lvs --separator #`: name, origin, uuid, devices, segtype, stripes, seg_size, extent size, size, attributes. */
const LV_LINE = /^\s*(\S+)#(\S*)#(\S+)#(\S+)#(\S+)#([0-9]+)#(\S+)#([0-9]+)#([0-9]+)#(\S+)#?\s*$/;

/**
 * virStorageBackendLogicalMakeVol over lvs' lines: active LVs that are not thin
 * pools, as block volumes keyed by their LVM UUID; a snapshot ('s') is sparse and
 * its origin is its backing store. An LV with several segments is listed once.
 */
export function parseLogicalVolumes(lvsOutput: string, def: StoragePoolDef): StorageVolDef[] {
  const volumes: StorageVolDef[] = [];
  for (const line of lvsOutput.split('\n')) {
    const m = LV_LINE.exec(line);
    if (!m) continue;
    const [, name, origin, uuid, , , , , , size, attrs] = m as unknown as string[];
    if (attrs![4] !== 'a' || attrs![0] === 't' || volumes.some((v) => v.name === name)) continue;
    const vol: StorageVolDef = {
      name: name!,
      key: uuid!,
      type: 'block',
      targetPath: `${def.targetPath}/${name}`,
      capacity: BigInt(size!),
      allocation: BigInt(size!),
      targetExtras: [],
    };
    if (origin && !origin.startsWith('[')) vol.backingStore = { path: `${def.targetPath}/${origin}`, format: 'lvm2' };
    volumes.push(vol);
  }
  return volumes;
}

/** virStorageBackendLogicalRefreshPool: the LVs, then the group's size and free space from vgs. */
export async function refreshLogicalPool(def: StoragePoolDef): Promise<StorageVolDef[]> {
  const name = sourceName(def);
  const lvs = await run([LVM.lvs, '--separator', '#', '--noheadings', '--units', 'b', '--unbuffered', '--nosuffix', '--options', 'lv_name,origin,uuid,devices,segtype,stripes,seg_size,vg_extent_size,size,lv_attr', name]);
  const volumes = parseLogicalVolumes(lvs, def);
  const vgs = await run([LVM.vgs, '--separator', ':', '--noheadings', '--units', 'b', '--unbuffered', '--nosuffix', '--options', 'vg_size,vg_free', name]);
  const sizes = /^\s*(\S+):([0-9]+):?\s*$/m.exec(vgs);
  if (sizes) {
    def.capacity = BigInt(sizes[1]!);
    def.available = BigInt(sizes[2]!);
    def.allocation = def.capacity - def.available;
  }
  return volumes;
}

const kib = (bytes: bigint) => `${(bytes + 1023n) / 1024n}K`;

/** virStorageBackendLogicalLVCreate: a thin snapshot when the allocation is below the capacity, an LV of the group otherwise. */
export async function createLogicalVolume(def: StoragePoolDef, vol: StorageVolDef): Promise<void> {
  vol.type = 'block';
  vol.targetPath = `${def.targetPath}/${vol.name}`;
  const argv: string[] = [LVM.lvcreate, '--name', vol.name, '-L'];
  if (vol.capacity !== vol.allocation) argv.push(kib(vol.allocation || 1n), '--type', 'snapshot', '--virtualsize');
  argv.push(kib(vol.capacity));
  if (vol.backingStore) argv.push('-s', vol.backingStore.path);
  else argv.push(sourceName(def));
  argv.push('--yes');
  await run(argv);
}

/** virStorageBackendLogicalDeleteVol: lvremove, and when it fails a deactivation and one more try. */
export async function deleteLogicalVolume(vol: StorageVolDef): Promise<void> {
  const remove = [LVM.lvremove, '-f', vol.targetPath!];
  try {
    await run(remove);
  } catch {
    await run([LVM.lvchange, '-aln', vol.targetPath!]);
    await run(remove);
  }
}
