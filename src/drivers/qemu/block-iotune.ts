// Disk I/O throttling (virDomainGetBlockIoTune / virDomainSetBlockIoTune):
// the running domain's limits are QEMU's (query-block, block_set_io_throttle
// on the disk's guest device), the persistent ones the disk's <iotune>. A set
// changes the families it names and keeps the others, with libvirt's checks.
import { ModificationImpact } from '../../driver/flags.js';
import { typedParam, TypedParamType, type TypedParam } from '../../driver/typed-params.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childrenNamed, cloneElement, element, type XmlElement } from '../../util/xml.js';
import { oneDefinition } from '../../conf/objects/modification-impact.js';
import type { DomainRef, QemuDriver } from './driver.js';
import { checkFlags } from './driver.js';
import { definedIoTune, FIELDS, qemuThrottle, throttleArgs, type IoTune } from './disk-throttle.js';

/** VIR_TYPED_PARAM_STRING_OKAY */
const STRING_OKAY = 1 << 2;
/** QEMU_BLOCK_IOTUNE_MAX: QEMU refuses larger limits */
const IOTUNE_MAX = 1_000_000_000_000_000n;

/** The families a set replaces whole when it names one of their members. */
const FAMILIES = ['bytes_sec', 'iops_sec', 'bytes_sec_max', 'iops_sec_max', 'bytes_sec_max_length', 'iops_sec_max_length'];
const familyOf = (name: string) => FAMILIES.find((f) => name === `total_${f}` || name === `read_${f}` || name === `write_${f}`);

const invalidArg = (message: string) => virError(ErrorCode.INVALID_ARG, message, ErrorDomain.QEMU);
const unsupported = (message: string) => virError(ErrorCode.CONFIG_UNSUPPORTED, message, ErrorDomain.QEMU);

function diskByName(def: XmlElement, name: string, what = 'domain'): XmlElement {
  const disks = childrenNamed(child(def, 'devices') ?? def, 'disk');
  const found = disks.find((d) => child(d, 'target')?.attrs.dev === name) ?? disks.find((d) => child(d, 'source')?.attrs.file === name || child(d, 'source')?.attrs.dev === name);
  if (!found) throw invalidArg(what === 'domain' ? `disk '${name}' not found in domain` : `missing persistent configuration for disk '${name}'`);
  return found;
}

/** Writes `tune` as the disk's <iotune> (its non-zero limits, after <target>), or drops it when nothing is limited. */
function setDefinedIoTune(disk: XmlElement, tune: IoTune): void {
  const children = FIELDS.flatMap(([name]) => {
    const v = tune.get(name);
    return v === undefined || v === 0n || v === '' ? [] : [element(name, {}, [], String(v))];
  });
  const existing = child(disk, 'iotune');
  if (existing) disk.children.splice(disk.children.indexOf(existing), 1);
  if (children.length === 0) return;
  const target = child(disk, 'target');
  disk.children.splice(target ? disk.children.indexOf(target) + 1 : disk.children.length, 0, element('iotune', {}, children));
}

/** The typed parameters of `tune`, in libvirt's order; group_name only for callers that take strings. */
function paramsOf(tune: IoTune, strings: boolean): TypedParam[] {
  return FIELDS.flatMap(([name]): TypedParam[] => {
    if (name === 'group_name') return strings ? [typedParam.string(name, String(tune.get(name) ?? ''))] : [];
    const v = tune.get(name);
    return [typedParam.ullong(name, typeof v === 'bigint' ? v : 0n)];
  });
}

/**
 * The limits after a set: the families `given` names replace the old ones
 * whole (unnamed members become 0), everything else stays; then libvirt's
 * checks of the result.
 */
function mergedIoTune(old: IoTune, given: IoTune): IoTune {
  const out: IoTune = new Map(old);
  for (const name of given.keys()) {
    const family = familyOf(name);
    if (family) for (const side of ['total', 'read', 'write']) out.set(`${side}_${family}`, 0n);
  }
  for (const [name, v] of given) out.set(name, v);
  const n = (name: string) => (out.get(name) as bigint | undefined) ?? 0n;
  for (const base of ['total_bytes_sec', 'read_bytes_sec', 'write_bytes_sec', 'total_iops_sec', 'read_iops_sec', 'write_iops_sec']) {
    if (n(`${base}_max`) === 0n) continue;
    if (n(base) === 0n) {
      throw unsupported(given.has(base) ? `cannot reset '${base}' when '${base}_max' is set` : `value '${base}_max' cannot be set if '${base}' is not set`);
    }
    if (n(`${base}_max`) < n(base)) throw unsupported(`value '${base}_max' cannot be smaller than '${base}'`);
  }
  return out;
}

/** The limits a set names, checked as libvirt checks them before merging. */
function givenIoTune(params: TypedParam[]): IoTune {
  const given: IoTune = new Map();
  for (const p of params) {
    if (!FIELDS.some(([name]) => name === p.field)) throw invalidArg(`parameter '${p.field}' not supported`);
    if (p.field === 'group_name') {
      if (p.value.type !== TypedParamType.STRING) throw invalidArg(`invalid type for parameter '${p.field}', expected 'string'`);
      given.set(p.field, p.value.s);
      continue;
    }
    if (p.value.type !== TypedParamType.ULLONG) throw invalidArg(`invalid type for parameter '${p.field}', expected 'ullong'`);
    if (p.value.ul > IOTUNE_MAX) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, `block I/O throttle limit value must be no more than ${IOTUNE_MAX}`, ErrorDomain.QEMU);
    given.set(p.field, p.value.ul);
  }
  const set = (name: string) => ((given.get(name) as bigint | undefined) ?? 0n) > 0n;
  for (const family of ['bytes_sec', 'iops_sec', 'bytes_sec_max', 'iops_sec_max']) {
    if (set(`total_${family}`) && (set(`read_${family}`) || set(`write_${family}`))) {
      throw invalidArg(`total and read/write of ${family} cannot be set at the same time`);
    }
  }
  return given;
}

export async function getBlockIoTune(driver: QemuDriver, dom: DomainRef, disk: string | null, nparams: number, flags: number): Promise<{ params: TypedParam[]; nparams: number }> {
  checkFlags(flags, ModificationImpact.LIVE | ModificationImpact.CONFIG | STRING_OKAY, 'qemuDomainGetBlockIoTune');
  const strings = (flags & STRING_OKAY) !== 0;
  // the count alone needs no disk (virsh asks it first, without one)
  if (nparams === 0) return { params: [], nparams: paramsOf(new Map(), strings).length };
  if (disk === null) throw invalidArg('disk must not be NULL');
  const rt = driver.runtime;
  const tune = await rt.withDomain(dom, async (obj, running) => {
    const { def, live } = oneDefinition(obj, flags & (ModificationImpact.LIVE | ModificationImpact.CONFIG));
    const found = diskByName(def, disk);
    if (!live || !running) return definedIoTune(found);
    return (await qemuThrottle(await rt.runtime.ensureMonitor(running), found)).tune;
  });
  const params = paramsOf(tune, strings).slice(0, nparams);
  return { params, nparams: params.length };
}

export async function setBlockIoTune(driver: QemuDriver, dom: DomainRef, disk: string, params: TypedParam[], flags: number): Promise<void> {
  checkFlags(flags, ModificationImpact.LIVE | ModificationImpact.CONFIG, 'qemuDomainSetBlockIoTune');
  const given = givenIoTune(params);
  const rt = driver.runtime;
  await rt.withDomain(dom, async (obj, running) => {
    const { live, config } = rt.impact(flags, obj, running);
    const persistent = config ? cloneElement(obj.newDef ?? obj.def) : undefined;
    const persistentDisk = persistent ? diskByName(persistent, disk, 'config') : undefined;
    if (live && running) {
      const liveDisk = diskByName(running.live, disk);
      const qmp = await rt.runtime.ensureMonitor(running);
      // what is kept comes from the live definition, as libvirt keeps it (QEMU names a default group)
      const { qdev } = await qemuThrottle(qmp, liveDisk);
      const tune = mergedIoTune(definedIoTune(liveDisk), given);
      await qmp.execute('block_set_io_throttle', throttleArgs(qdev, tune));
      setDefinedIoTune(liveDisk, tune);
      await rt.runtime.saveStatus(running);
      // VIR_DOMAIN_EVENT_ID_TUNABLE: the disk as the caller named it, then what the caller set
      const changed = params.map((p) => ({ ...p, field: `blkdeviotune.${p.field}` }));
      rt.queueEvent({ key: 'domainEventCallbackTunable', body: { dom: running.ref(), params: [typedParam.string('blkdeviotune.disk', disk), ...changed] } });
    }
    if (persistent && persistentDisk) {
      setDefinedIoTune(persistentDisk, mergedIoTune(definedIoTune(persistentDisk), given));
      await rt.savePersistent(persistent);
    }
    await rt.sync({ refresh: false });
  });
}
