// virDomainGet/SetBlkioParameters of the qemu driver (blkiotune): the guest's
// block I/O weight, live from its blkio (v2: io) cgroup, and the per-device
// weights and throttles of <blkiotune>, which a live change writes to the
// cgroup as well (read back as the kernel kept them).
import { ModificationImpact } from '../../driver/flags.js';
import { typedParam, TypedParamType, type TypedParam } from '../../driver/typed-params.js';
import { validateTypedParams } from '../../driver/typed-params-validate.js';
import { reorder } from '../../conf/domain.js';
import { ErrorCode, ErrorDomain, VirError, virError } from '../../util/error.js';
import { child, childrenNamed, cloneElement, element, type XmlElement } from '../../util/xml.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';
import type { RunningDomain } from './lifecycle.js';
import { privileged } from './security/identity.js';
import type { BlkioDeviceKind, GuestCgroup } from './security/guest-cgroup.js';

const IMPACT = ModificationImpact.LIVE | ModificationImpact.CONFIG;
const TYPED_PARAM_STRING_OKAY = 1 << 2;

/** The per-device parameters: field, <device> child, cgroup setting, and the largest value (uint or ullong). */
const DEVICE_PARAMS = [
  { field: 'device_weight', element: 'weight', kind: 'weight', max: 2n ** 32n - 1n },
  { field: 'device_read_iops_sec', element: 'read_iops_sec', kind: 'riops', max: 2n ** 32n - 1n },
  { field: 'device_write_iops_sec', element: 'write_iops_sec', kind: 'wiops', max: 2n ** 32n - 1n },
  { field: 'device_read_bytes_sec', element: 'read_bytes_sec', kind: 'rbps', max: 2n ** 64n - 1n },
  { field: 'device_write_bytes_sec', element: 'write_bytes_sec', kind: 'wbps', max: 2n ** 64n - 1n },
] as const;
type DeviceParam = (typeof DEVICE_PARAMS)[number];
type DeviceValues = Partial<Record<DeviceParam['element'], bigint>>;

/** virBlkioDevice */
interface BlkioDevice {
  path: string;
  values: DeviceValues;
}

/** virDomainBlkiotune as a definition holds it. */
interface Blkiotune {
  weight: number;
  devices: BlkioDevice[];
}

function requirePrivileged(): void {
  if (!privileged()) throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'Block I/O tuning is not available in session mode', ErrorDomain.QEMU);
}

async function blkioCgroup(driver: QemuDriver, running: RunningDomain): Promise<GuestCgroup> {
  const cgroup = await driver.runtime.security.guestCgroup(running.pid);
  if (!cgroup?.has('blkio')) throw virError(ErrorCode.OPERATION_INVALID, "blkio cgroup isn't mounted", ErrorDomain.QEMU);
  return cgroup;
}

export function readBlkiotune(def: XmlElement): Blkiotune {
  const tune = child(def, 'blkiotune');
  const number = (el: XmlElement | undefined, name: string) => BigInt(child(el ?? def, name)?.text.trim() || 0);
  return {
    weight: Number(tune ? number(tune, 'weight') : 0n),
    devices: childrenNamed(tune ?? element('x'), 'device').map((d) => ({
      path: child(d, 'path')?.text.trim() ?? '',
      values: Object.fromEntries(DEVICE_PARAMS.map((p) => [p.element, number(d, p.element)])),
    })),
  };
}

/** virDomainDefFormatBlkiotune: the weight if set, each device with any setting, no element when empty. */
function writeBlkiotune(def: XmlElement, tune: Blkiotune): void {
  const children: XmlElement[] = [];
  if (tune.weight) children.push(element('weight', {}, [], String(tune.weight)));
  for (const d of tune.devices) {
    const set = DEVICE_PARAMS.filter((p) => (d.values[p.element] ?? 0n) !== 0n);
    if (set.length === 0) continue;
    children.push(element('device', {}, [element('path', {}, [], d.path), ...set.map((p) => element(p.element, {}, [], String(d.values[p.element])))]));
  }
  def.children = def.children.filter((c) => c.name !== 'blkiotune');
  if (children.length > 0) def.children.push(element('blkiotune', {}, children));
  reorder(def);
}

/** virDomainGetBlkioParametersAssignFromDef: "path,value,..." of the devices with this setting. */
function deviceList(tune: Blkiotune, p: DeviceParam): string {
  return tune.devices.flatMap((d) => ((d.values[p.element] ?? 0n) !== 0n ? [`${d.path},${d.values[p.element]}`] : [])).join(',');
}

export async function getBlkioParameters(driver: QemuDriver, dom: DomainRef, nparams: number, flags: number): Promise<{ params: TypedParam[]; nparams: number }> {
  checkFlags(flags, IMPACT | TYPED_PARAM_STRING_OKAY, 'qemuDomainGetBlkioParameters');
  await driver.objectOf(dom);
  requirePrivileged();
  if (nparams === 0) return { params: [], nparams: 1 + DEVICE_PARAMS.length };
  const rt = driver.runtime;
  return rt.withDomain(dom, async (obj, running) => {
    const { live } = rt.impact(flags & IMPACT, obj, running);
    let tune: Blkiotune;
    if (live && running) {
      const cgroup = await blkioCgroup(driver, running);
      tune = { ...readBlkiotune(running.live), weight: await cgroup.blkioWeight() };
    } else {
      tune = readBlkiotune(obj.newDef ?? obj.def);
    }
    const params = [typedParam.uint('weight', tune.weight), ...DEVICE_PARAMS.map((p) => typedParam.string(p.field, deviceList(tune, p)))].slice(0, nparams);
    return { params, nparams: params.length };
  }, { monitor: false });
}

/** virDomainDriverParseBlkioDeviceStr: "path,value[,path,value...]". */
function parseDeviceString(text: string, p: DeviceParam): { path: string; value: bigint }[] {
  if (text === '') return [];
  const parts = text.split(',');
  // an even number of fields: an odd number of commas
  if (parts.length % 2 !== 0) throw virError(ErrorCode.INVALID_ARG, `unable to parse blkio device '${p.field}' '${text}'`, ErrorDomain.NONE);
  const devices: { path: string; value: bigint }[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    const [path, valueText] = [parts[i]!, parts[i + 1]!];
    const digits = /^\s*\+?\d+/.exec(valueText)?.[0];
    const value = digits === undefined ? undefined : BigInt(digits.trim());
    if (value === undefined || value > p.max) {
      throw virError(ErrorCode.INVALID_ARG, `invalid value '${parts.slice(i + 1).join(',')}' for parameter '${p.field}' of device '${path}'`, ErrorDomain.NONE);
    }
    if (digits!.length !== valueText.length) throw virError(ErrorCode.INVALID_ARG, `unable to parse blkio device '${p.field}' '${text}'`, ErrorDomain.NONE);
    devices.push({ path, value });
  }
  return devices;
}

/** virDomainDriverMergeBlkioDevice: a listed device gets the value; a new one only when it sets something. */
function mergeDevices(tune: Blkiotune, p: DeviceParam, given: { path: string; value: bigint }[]): void {
  for (const { path, value } of given) {
    const existing = tune.devices.find((d) => d.path === path);
    if (existing) existing.values[p.element] = value;
    else if (value !== 0n) tune.devices.push({ path, values: { [p.element]: value } });
  }
}

/**
 * Applies the parameters to one definition (and with `cgroup`, to the
 * guest's cgroup first). Like libvirt it goes on after a failed parameter
 * and reports the last failure once all were tried.
 */
async function applyParams(tune: Blkiotune, params: TypedParam[], cgroup: GuestCgroup | undefined): Promise<VirError | undefined> {
  let failure: VirError | undefined;
  for (const param of params) {
    try {
      if (param.field === 'weight') {
        const weight = (param.value as { ui: number }).ui;
        if (cgroup) {
          await cgroup.setBlkioWeight(weight);
          tune.weight = await cgroup.blkioWeight();
        } else {
          tune.weight = weight;
        }
        continue;
      }
      const p = DEVICE_PARAMS.find((d) => d.field === param.field)!;
      const given = parseDeviceString((param.value as { s: string }).s, p);
      if (cgroup) for (const device of given) device.value = await cgroup.setupBlkioDevice(device.path, p.kind as BlkioDeviceKind, device.value);
      mergeDevices(tune, p, given);
    } catch (e) {
      if (!(e instanceof VirError)) throw e;
      failure = e;
    }
  }
  return failure;
}

export async function setBlkioParameters(driver: QemuDriver, dom: DomainRef, params: TypedParam[], flags: number): Promise<void> {
  checkFlags(flags, IMPACT, 'qemuDomainSetBlkioParameters');
  validateTypedParams(params, { weight: TypedParamType.UINT, ...Object.fromEntries(DEVICE_PARAMS.map((p) => [p.field, TypedParamType.STRING])) });
  await driver.objectOf(dom);
  requirePrivileged();
  const rt = driver.runtime;
  await rt.withDomain(dom, async (obj, running) => {
    const { live, config } = rt.impact(flags, obj, running);
    const cgroup = live && running ? await blkioCgroup(driver, running) : undefined;
    if (live && running && cgroup) {
      const tune = readBlkiotune(running.live);
      const failure = await applyParams(tune, params, cgroup);
      writeBlkiotune(running.live, tune);
      await rt.runtime.saveStatus(running);
      if (failure) throw failure;
    }
    if (config) {
      const persistent = cloneElement(obj.newDef ?? obj.def);
      const tune = readBlkiotune(persistent);
      const failure = await applyParams(tune, params, undefined);
      writeBlkiotune(persistent, tune);
      await rt.savePersistent(persistent);
      if (failure) throw failure;
    }
    await rt.sync({ refresh: false });
  }, { monitor: false });
}

/** virDomainCgroupSetupBlkioCgroup: the weight and device settings of <blkiotune> at start. */
export async function applyBlkiotune(cgroup: GuestCgroup, def: XmlElement): Promise<void> {
  const tune = readBlkiotune(def);
  if (!cgroup.has('blkio')) {
    if (tune.weight || tune.devices.length > 0) throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'Block I/O tuning is not available on this host', ErrorDomain.QEMU);
    return;
  }
  if (tune.weight) await cgroup.setBlkioWeight(tune.weight);
  for (const d of tune.devices) {
    for (const p of DEVICE_PARAMS) {
      const value = d.values[p.element] ?? 0n;
      if (value !== 0n) d.values[p.element] = await cgroup.setupBlkioDevice(d.path, p.kind, value);
    }
  }
}
