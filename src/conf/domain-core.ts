// Domain-level (non-device) parsing rules, defaults and checks that libvirt
// applies to every domain whatever the driver (virDomainDefParseXML's
// domain-level parts, virDomainDefPostParseCommon, virDomainDefValidate).
// Each function edits the canonical tree in place; messages are libvirt's.

import { ErrorCode, virError } from '../util/error.js';
import { generateUUID, parseUUID } from '../util/uuid.js';
import { element, child, childrenNamed, type XmlElement } from '../util/xml.js';
import { formatBitmap, parseBitmap } from '../util/bitmap.js';
import { formatIntPretty, parseScaledValue } from './units.js';
import { propEnum, propOnOff, propUInt, propYesNo } from './xml-props.js';
import { parseNuma, parseNumatune } from './numa.js';
import { parseCputune } from './cputune.js';
import { parseMemory, postParseHugepages, postParseMemory, validateHugepages } from './domain-memory.js';
import { parseSeclabels } from './seclabel.js';
import { ensureChild, removeChildren } from './tree.js';
import { parseOsFirmware, postParseOsFirmware, validateOsFirmware } from './domain-os.js';

const VIRT_TYPES = ['none', 'qemu', 'kqemu', 'kvm', 'xen', 'lxc', 'uml', 'openvz', 'test', 'vmware', 'hyperv', 'vbox', 'phyp', 'parallels', 'bhyve', 'vz', 'hvf'];
const OS_TYPES = ['hvm', 'xen', 'linux', 'exe', 'uml'];
export const ARCHES = [
  'i686', 'x86_64', 'aarch64', 'armv6l', 'armv7l', 'armv7b', 'alpha', 'cris', 'lm32', 'm68k', 'microblaze', 'microblazeel',
  'mips', 'mipsel', 'mips64', 'mips64el', 'openrisc', 'parisc', 'parisc64', 'ppc', 'ppcle', 'ppc64', 'ppc64le', 'ppcemb',
  'riscv32', 'riscv64', 's390', 's390x', 'sh4', 'sh4eb', 'sparc', 'sparc64', 'unicore32', 'xtensa', 'xtensaeb', 'loongarch64',
];
const LIFECYCLE_ACTIONS = ['destroy', 'restart', 'rename-restart', 'preserve', 'coredump-destroy', 'coredump-restart'];
const LOCK_FAILURE_ACTIONS = ['default', 'poweroff', 'restart', 'pause', 'ignore'];
const CLOCK_OFFSETS = ['utc', 'localtime', 'variable', 'timezone', 'absolute'];
const BOOT_DEVS = ['fd', 'cdrom', 'hd', 'network'];

function setText(parent: XmlElement, name: string, text: string, attrs: Record<string, string> = {}): XmlElement {
  const c = ensureChild(parent, name);
  c.attrs = { ...c.attrs, ...attrs };
  c.text = text;
  return c;
}

/** All `name` children of the domain after the first are ignored by libvirt (XPath "[1]"). */
function keepFirst(dom: XmlElement, name: string): void {
  let seen = false;
  dom.children = dom.children.filter((c) => {
    if (c.name !== name) return true;
    if (seen) return false;
    seen = true;
    return true;
  });
}

// ---- parse-time rules (virDomainDefParseXML) ----

/**
 * Parse-time checks and normalisations of the domain-level elements, in
 * libvirt's order. `defaultSecurityModel` is the driver's first security
 * model (xmlopt defSecModel), given to a lone <seclabel> without one.
 */
export function parseDomainCore(dom: XmlElement, defaultSecurityModel?: string): void {
  parseIDs(dom);
  parseCaps(dom);
  parseTitle(dom);
  parseSeclabels(dom, defaultSecurityModel);
  parseSysinfo(dom);
  parseMemory(dom);
  parseVcpus(dom);
  parseCputune(dom);
  parseCpu(dom);
  parseNumatune(dom);
  parseFeatures(dom);
  parseLifecycle(dom);
  parseClock(dom);
  parseBoot(dom);
}

function parseIDs(dom: XmlElement): void {
  delete dom.attrs['id'];
  for (const n of ['name', 'uuid', 'title', 'description', 'os', 'clock', 'cpu', 'features', 'vcpu', 'memory', 'currentMemory', 'maxMemory']) {
    keepFirst(dom, n);
  }
  const name = child(dom, 'name');
  if (!name) throw virError(ErrorCode.NO_NAME);
  const uuid = child(dom, 'uuid');
  if (uuid) {
    const parsed = parseUUID(uuid.text);
    if (parsed === undefined) throw virError(ErrorCode.INTERNAL_ERROR, 'malformed uuid element');
    uuid.text = parsed;
  } else {
    dom.children.push(element('uuid', { generated: 'yes' }, [], generateUUID()));
  }
  const genids = childrenNamed(dom, 'genid');
  if (genids.length > 1) throw virError(ErrorCode.XML_ERROR, "element 'genid' can only appear once");
  for (const g of genids) {
    // An empty <genid/> asks for a generated one.
    if (g.text.trim() === '') {
      g.text = generateUUID();
      continue;
    }
    const parsed = parseUUID(g.text);
    if (parsed === undefined) throw virError(ErrorCode.INTERNAL_ERROR, 'malformed genid element');
    g.text = parsed;
  }
}

function parseCaps(dom: XmlElement): void {
  const virtType = dom.attrs['type'];
  if (virtType === undefined) throw virError(ErrorCode.INTERNAL_ERROR, 'missing domain type attribute');
  if (!VIRT_TYPES.includes(virtType) || virtType === 'none') {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, `invalid domain type ${virtType}`);
  }
  const os = child(dom, 'os');
  const type = os ? child(os, 'type') : undefined;
  if (!type) {
    if (child(dom, 'bootloader') === undefined) throw virError(ErrorCode.XML_ERROR, 'an os <type> must be specified');
    setText(ensureChild(dom, 'os'), 'type', 'xen');
    return;
  }
  const osType = type.text;
  if (!OS_TYPES.includes(osType)) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unknown OS type '${osType}'`);
  if (osType === 'linux' && virtType === 'xen') type.text = 'xen';
  const arch = type.attrs['arch'];
  if (arch !== undefined && !ARCHES.includes(arch)) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `Unknown architecture ${arch}`);
}

function parseTitle(dom: XmlElement): void {
  const title = child(dom, 'title');
  if (title && /[\n]/.test(title.text)) throw virError(ErrorCode.XML_ERROR, "Domain title can't contain newlines");
}

/** Checks of virSysinfoParseXML: BIOS date format, system UUID agreeing with (or supplying) the domain's. */
function parseSysinfo(dom: XmlElement): void {
  const uuid = child(dom, 'uuid')!;
  const generated = uuid.attrs['generated'] === 'yes';
  delete uuid.attrs['generated'];
  for (const sysinfo of childrenNamed(dom, 'sysinfo')) {
    if (sysinfo.attrs['type'] !== 'smbios') continue;
    const entry = (block: string, name: string) =>
      childrenNamed(child(sysinfo, block) ?? element('x'), 'entry').find((e) => e.attrs['name'] === name);
    const date = entry('bios', 'date')?.text;
    if (date !== undefined) {
      const m = /^\s*([+-]?\d+)\/\s*([+-]?\d+)\/\s*([+-]?\d+)$/.exec(date);
      const [month, day, year] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, -1];
      if (!m || month < 1 || month > 12 || day < 1 || day > 31 || year < 0 || (year >= 100 && year < 1900)) {
        throw virError(ErrorCode.XML_DETAIL, "Invalid BIOS 'date' format");
      }
    }
    const sysUUID = entry('system', 'uuid');
    if (sysUUID) {
      const parsed = parseUUID(sysUUID.text);
      if (parsed === undefined) throw virError(ErrorCode.XML_DETAIL, 'malformed <sysinfo> uuid element');
      if (generated) uuid.text = parsed;
      else if (parsed !== uuid.text) throw virError(ErrorCode.XML_DETAIL, 'UUID mismatch between <uuid> and <sysinfo>');
      sysUUID.text = parsed;
    }
  }
}

function parseVcpus(dom: XmlElement): void {
  let vcpu = child(dom, 'vcpu');
  let max = 1;
  if (vcpu) {
    if (!/^\s*[+-]?\d+$/.test(vcpu.text) || Number(vcpu.text) > 0xffffffff || Number(vcpu.text) < 0) {
      throw virError(ErrorCode.XML_ERROR, 'maximum vcpus count must be an integer');
    }
    max = Number(vcpu.text);
    const current = propUInt(vcpu, 'current');
    const placement = propEnum(vcpu, 'placement', ['static', 'auto']) ?? 'static';
    vcpu.attrs['placement'] = placement;
    if (placement === 'auto') delete vcpu.attrs['cpuset'];
    const cpuset = vcpu.attrs['cpuset'];
    if (cpuset !== undefined) {
      const set = parseBitmap(cpuset);
      if (set === undefined) throw virError(ErrorCode.INVALID_ARG, `Failed to parse bitmap '${cpuset}'`);
      if (set.size === 0) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `Invalid value of 'cpuset': ${cpuset}`);
      vcpu.attrs['cpuset'] = formatBitmap(set);
    }
    if (current !== undefined) {
      if (current > max) {
        throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'maximum vCPU count must not be less than current vCPU count');
      }
      if (current === max) delete vcpu.attrs['current'];
      else vcpu.attrs['current'] = String(current);
    }
    vcpu.text = String(max);
  } else {
    vcpu = element('vcpu', { placement: 'static' }, [], '1');
    dom.children.push(vcpu);
  }
  const vcpus = child(dom, 'vcpus');
  if (vcpus) {
    let online = 0;
    for (const v of childrenNamed(vcpus, 'vcpu')) {
      const id = propUInt(v, 'id', 10, { required: true })!;
      if (id >= max) throw virError(ErrorCode.XML_ERROR, `vcpu id '${id}' is out of range of maximum vcpu count`);
      const enabled = propYesNo(v, 'enabled', { required: true });
      propYesNo(v, 'hotpluggable');
      propUInt(v, 'order');
      if (enabled === 'yes') online++;
    }
    if (online !== max) vcpu.attrs['current'] = String(online);
    else delete vcpu.attrs['current'];
  }
}

const CPU_MODES = ['custom', 'host-model', 'host-passthrough', 'maximum'];
const CPU_MATCHES = ['minimum', 'exact', 'strict'];
const CPU_CHECKS = ['default', 'none', 'partial', 'full'];
const CPU_FALLBACKS = ['allow', 'forbid'];
const CPU_FEATURE_POLICIES = ['force', 'require', 'optional', 'disable', 'forbid'];

function parseCpu(dom: XmlElement): void {
  const cpu = child(dom, 'cpu');
  if (!cpu) return;
  const mode = cpu.attrs['mode'] ?? 'custom';
  if (!CPU_MODES.includes(mode)) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `Invalid mode attribute '${mode}'`);
  if (cpu.attrs['migratable'] !== undefined) {
    if (mode !== 'host-passthrough' && mode !== 'maximum') {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, "Attribute migratable is only allowed for 'host-passthrough' / 'maximum' CPU mode");
    }
    propOnOff(cpu, 'migratable');
  }
  const model = child(cpu, 'model');
  const hasModel = model !== undefined && model.text.trim() !== '';
  if (mode === 'custom') {
    if (cpu.attrs['mode'] !== undefined || hasModel) cpu.attrs['mode'] = 'custom';
    const match = propEnum(cpu, 'match', CPU_MATCHES);
    if (hasModel && match === undefined) cpu.attrs['match'] = 'exact';
  } else {
    cpu.attrs['mode'] = mode;
    delete cpu.attrs['match'];
  }
  // check='default' is the unset value: accepted, not printed.
  if (propEnum(cpu, 'check', CPU_CHECKS) === 'default') delete cpu.attrs['check'];
  // virCPUDefFormatBuf prints <model> for custom/host-model CPUs with a name or vendor_id.
  const formatModel = mode === 'custom' || mode === 'host-model';
  if (model) {
    const fallback = model.attrs['fallback'];
    if (fallback !== undefined && !CPU_FALLBACKS.includes(fallback)) throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'Invalid fallback attribute');
    if (!formatModel || (!hasModel && model.attrs['vendor_id'] === undefined)) removeChildren(cpu, 'model');
    else if (hasModel) model.attrs['fallback'] = fallback ?? 'allow';
    else delete model.attrs['fallback'];
  }
  if (!formatModel) removeChildren(cpu, 'vendor');
  const featureNames = new Set<string>();
  for (const feature of childrenNamed(cpu, 'feature')) {
    const policy = feature.attrs['policy'] ?? 'require';
    if (!CPU_FEATURE_POLICIES.includes(policy)) throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'Invalid CPU feature policy');
    feature.attrs['policy'] = policy;
    const name = feature.attrs['name'];
    if (name === undefined || name === '') throw virError(ErrorCode.XML_ERROR, 'Invalid CPU feature name');
    if (featureNames.has(name)) throw virError(ErrorCode.XML_ERROR, `CPU feature '${name}' specified more than once`);
    featureNames.add(name);
  }
  const topology = child(cpu, 'topology');
  if (topology) {
    const counts = parseCpuTopology(topology);
    for (const level of CPU_TOPOLOGY_LEVELS) topology.attrs[level] = String(counts[level]);
  }
  const numa = child(cpu, 'numa');
  if (numa) parseNuma(numa);
}

const CPU_TOPOLOGY_LEVELS = ['sockets', 'dies', 'cores', 'threads'] as const;

/** virCPUDefParseXML's <topology>: sockets, cores and threads required, dies optional (1), none of them zero. */
export function parseCpuTopology(topology: XmlElement): Record<(typeof CPU_TOPOLOGY_LEVELS)[number], number> {
  const required = { required: true, nonzero: true };
  return {
    sockets: propUInt(topology, 'sockets', 10, required)!,
    dies: propUInt(topology, 'dies', 10, { nonzero: true }) ?? 1,
    cores: propUInt(topology, 'cores', 10, required)!,
    threads: propUInt(topology, 'threads', 10, required)!,
  };
}

/** Features that print as a bare element when on (libvirt's old-style booleans). */
const BARE_FEATURES = ['acpi', 'pae', 'viridian', 'privnet'];
/** Features that always print their state (an element without one means on). */
const STATE_FEATURES = ['vmcoreinfo', 'hap', 'pmu', 'pvspinlock', 'vmport', 'htm', 'nested-hv', 'ccf-assist', 'smm'];

function parseFeatures(dom: XmlElement): void {
  const features = child(dom, 'features');
  if (!features) return;
  for (const f of features.children) {
    if (BARE_FEATURES.includes(f.name)) delete f.attrs['state'];
    if (STATE_FEATURES.includes(f.name)) f.attrs['state'] = propOnOff(f, 'state') ?? 'on';
    if (f.name === 'hyperv') parseHyperv(f);
    if (f.name === 'apic') propOnOff(f, 'eoi');
    if (f.name === 'gic') propEnum(f, 'version', ['none', '2', '3', 'host'], { nonzero: true });
  }
  const tseg = child(child(features, 'smm') ?? element('x'), 'tseg');
  if (tseg) {
    if (child(features, 'smm')?.attrs['state'] !== 'on') removeChildren(child(features, 'smm')!, 'tseg');
    const bytes = parseScaledValue(tseg.text, tseg.attrs['unit'], './features/smm/tseg', 1024n * 1024n, 0xffffffffffffffffn);
    const pretty = formatIntPretty(bytes);
    tseg.attrs = { unit: pretty.unit };
    tseg.text = pretty.value.toString();
  }
}

/** virDomainFeaturesHyperVDefParse: every enlightenment has a state; spinlocks and vendor_id their values. */
function parseHyperv(hyperv: XmlElement): void {
  hyperv.attrs['mode'] = propEnum(hyperv, 'mode', ['none', 'custom', 'passthrough'], { nonzero: true }) ?? 'custom';
  for (const f of hyperv.children) {
    const state = propOnOff(f, 'state', { required: true });
    if (f.name === 'stimer') for (const d of f.children) propOnOff(d, 'state', { required: true });
    if (state !== 'on') continue;
    if (f.name === 'spinlocks') {
      const retries = propUInt(f, 'retries', 0, { required: true })!;
      if (retries < 0xfff) throw virError(ErrorCode.XML_ERROR, 'HyperV spinlock retry count must be at least 4095');
      f.attrs['retries'] = String(retries);
    }
    if (f.name === 'vendor_id') {
      const value = f.attrs['value'];
      if (value === undefined) throw virError(ErrorCode.XML_ERROR, "missing 'value' attribute for HyperV feature 'vendor_id'");
      if (value.length > 12) throw virError(ErrorCode.XML_ERROR, 'HyperV vendor_id value must not be more than 12 characters.');
      if (value.includes(',')) throw virError(ErrorCode.XML_ERROR, 'HyperV vendor_id value is invalid');
    }
  }
}

function parseLifecycle(dom: XmlElement): void {
  const rules: [string, string, string[]][] = [
    ['on_reboot', 'restart', LIFECYCLE_ACTIONS],
    ['on_poweroff', 'destroy', LIFECYCLE_ACTIONS],
    ['on_crash', 'destroy', LIFECYCLE_ACTIONS],
  ];
  for (const [name, dflt, values] of rules) {
    keepFirst(dom, name);
    const el = child(dom, name);
    if (!el) {
      dom.children.push(element(name, {}, [], dflt));
    } else if (!values.includes(el.text)) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unknown ${name} action: ${el.text}`);
    }
  }
  keepFirst(dom, 'on_lockfailure');
  const lock = child(dom, 'on_lockfailure');
  if (lock) {
    if (!LOCK_FAILURE_ACTIONS.includes(lock.text)) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unknown on_lockfailure action: ${lock.text}`);
    if (lock.text === 'default') removeChildren(dom, 'on_lockfailure');
  }
  const pm = child(dom, 'pm');
  if (pm) {
    // A state without enabled= stays unset and is not printed.
    pm.children = pm.children.filter((c) => propYesNo(c, 'enabled') !== undefined);
  }
  parsePerf(dom);
  parseKeywrap(dom);
}

/** virPerfEvent, in libvirt's (printing) order. */
const PERF_EVENTS = [
  'cmt', 'mbmt', 'mbml', 'cpu_cycles', 'instructions', 'cache_references', 'cache_misses', 'branch_instructions',
  'branch_misses', 'bus_cycles', 'stalled_cycles_frontend', 'stalled_cycles_backend', 'ref_cpu_cycles', 'cpu_clock',
  'task_clock', 'page_faults', 'context_switches', 'cpu_migrations', 'page_faults_min', 'page_faults_maj',
  'alignment_faults', 'emulation_faults',
];

/** Children of `parent` named `name`, each keyed by its `key` attribute, printed in `order`. */
function sortByKey(parent: XmlElement, name: string, key: string, order: readonly string[]): void {
  const rank = (el: XmlElement) => order.indexOf(el.attrs[key] ?? '');
  const sorted = childrenNamed(parent, name).sort((a, b) => rank(a) - rank(b));
  let i = 0;
  parent.children = parent.children.map((c) => (c.name === name ? sorted[i++]! : c));
}

/** virDomainPerfDefParseXML: each event once, printed in enum order. */
function parsePerf(dom: XmlElement): void {
  const perf = child(dom, 'perf');
  if (!perf) return;
  const seen = new Set<string>();
  for (const event of childrenNamed(perf, 'event')) {
    const name = propEnum(event, 'name', PERF_EVENTS, { required: true })!;
    propYesNo(event, 'enabled', { required: true });
    if (seen.has(name)) throw virError(ErrorCode.XML_ERROR, `perf event '${name}' was already specified`);
    seen.add(name);
  }
  sortByKey(perf, 'event', 'name', PERF_EVENTS);
}

const KEYWRAP_CIPHERS = ['aes', 'dea'];

/** virDomainKeyWrapDefParseXML: one setting per cipher, aes before dea. */
function parseKeywrap(dom: XmlElement): void {
  const keywrap = child(dom, 'keywrap');
  if (!keywrap) return;
  const seen = new Set<string>();
  for (const cipher of childrenNamed(keywrap, 'cipher')) {
    const name = propEnum(cipher, 'name', KEYWRAP_CIPHERS, { required: true })!;
    propOnOff(cipher, 'state', { required: true });
    if (seen.has(name)) {
      throw virError(ErrorCode.INTERNAL_ERROR, `A domain definition can have no more than one cipher node with name ${name}`);
    }
    seen.add(name);
  }
  sortByKey(keywrap, 'cipher', 'name', KEYWRAP_CIPHERS);
}

const TIMER_NAMES = ['platform', 'pit', 'rtc', 'hpet', 'tsc', 'kvmclock', 'hypervclock', 'armvtimer'];
const TIMER_TICKPOLICIES = ['none', 'delay', 'catchup', 'merge', 'discard'];
const TIMER_TRACKS = ['none', 'boot', 'guest', 'wall', 'realtime'];
const TIMER_MODES = ['none', 'auto', 'native', 'emulate', 'paravirt', 'smpsafe'];

/** virXMLPropULongLong: an unsigned 64-bit attribute, rewritten in canonical form. */
function unsignedLongAttr(el: XmlElement, name: string): void {
  const v = el.attrs[name];
  if (v === undefined) return;
  if (!/^\s*\+?\d+$/.test(v) || BigInt(v.trim()) > 0xffffffffffffffffn) {
    throw virError(ErrorCode.XML_ERROR, `Invalid value for attribute '${name}' in element '${el.name}': '${v}'. Expected non-negative integer value`);
  }
  el.attrs[name] = BigInt(v.trim()).toString();
}

/** virDomainDefClockParse: the offset with the attributes it uses, and the timers. */
function parseClock(dom: XmlElement): void {
  const clock = ensureChild(dom, 'clock');
  const offset = clock.attrs['offset'] ?? 'utc';
  if (!CLOCK_OFFSETS.includes(offset)) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unknown clock offset '${offset}'`);
  const { adjustment, basis, timezone, start } = clock.attrs;
  // virStrToLong_ll: a signed 64-bit integer, anything else (overflow included) is no number
  const integer = (v: string | undefined) => {
    if (v === undefined || !/^\s*[+-]?\d+$/.test(v)) return undefined;
    const n = BigInt(v.trim());
    return n >= -(2n ** 63n) && n < 2n ** 63n ? n.toString() : undefined;
  };
  if (offset === 'utc' || offset === 'localtime') {
    if (adjustment === undefined || adjustment === 'reset') {
      clock.attrs = adjustment === undefined ? { offset } : { offset, adjustment };
    } else {
      const value = integer(adjustment);
      if (value === undefined) throw virError(ErrorCode.XML_ERROR, `unknown clock adjustment '${adjustment}'`);
      clock.attrs = { offset: 'variable', adjustment: value, basis: offset };
    }
  } else if (offset === 'variable') {
    if (basis !== undefined && basis !== 'utc' && basis !== 'localtime') {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unknown clock basis '${basis}'`);
    }
    clock.attrs = { offset, adjustment: integer(adjustment) ?? '0', basis: basis ?? 'utc' };
  } else if (offset === 'timezone') {
    if (timezone === undefined) throw virError(ErrorCode.INTERNAL_ERROR, "missing 'timezone' attribute for clock with offset='timezone'");
    clock.attrs = { offset, timezone };
  } else {
    if (start === undefined || !/^\s*\+?\d+$/.test(start)) {
      throw virError(ErrorCode.INTERNAL_ERROR, "missing 'start' attribute for clock with offset='absolute'");
    }
    clock.attrs = { offset, start: BigInt(start.trim()).toString() };
  }
  for (const timer of childrenNamed(clock, 'timer')) {
    propEnum(timer, 'name', TIMER_NAMES, { required: true });
    propYesNo(timer, 'present');
    propEnum(timer, 'tickpolicy', TIMER_TICKPOLICIES, { nonzero: true });
    propEnum(timer, 'track', TIMER_TRACKS, { nonzero: true });
    unsignedLongAttr(timer, 'frequency');
    propEnum(timer, 'mode', TIMER_MODES, { nonzero: true });
    const catchup = child(timer, 'catchup');
    for (const a of catchup ? ['threshold', 'slew', 'limit'] : []) {
      unsignedLongAttr(catchup!, a);
      // Zero means unset: not printed, and an empty <catchup/> disappears (omitEmpty).
      if (catchup!.attrs[a] === '0') delete catchup!.attrs[a];
    }
  }
}

/** virDomainDefParseBootXML: at most four boot devices, the menu timeout only when enabled. */
function parseBoot(dom: XmlElement): void {
  const os = child(dom, 'os');
  if (!os) return;
  parseOsFirmware(os);
  let boots = 0;
  os.children = os.children.filter((c) => c.name !== 'boot' || boots++ < BOOT_DEVS.length);
  for (const boot of childrenNamed(os, 'boot')) propEnum(boot, 'dev', BOOT_DEVS, { required: true });
  const bootmenu = child(os, 'bootmenu');
  if (bootmenu) {
    const enable = propYesNo(bootmenu, 'enable');
    const timeout = enable === 'yes' ? propUInt(bootmenu, 'timeout') : undefined;
    if (timeout === undefined) delete bootmenu.attrs['timeout'];
    else bootmenu.attrs['timeout'] = String(timeout);
    if (enable === undefined) removeChildren(os, 'bootmenu');
  }
  const bios = child(os, 'bios');
  if (bios) {
    const rebootTimeout = bios.attrs['rebootTimeout'];
    if (rebootTimeout !== undefined) {
      if (!/^\s*[+-]?\d+$/.test(rebootTimeout)) {
        throw virError(ErrorCode.XML_ERROR, `Invalid value for attribute 'rebootTimeout' in element 'bios': '${rebootTimeout}'. Expected integer value`);
      }
      bios.attrs['rebootTimeout'] = String(Number(rebootTimeout));
    }
    if (Object.keys(bios.attrs).length === 0) removeChildren(os, 'bios');
  }
}

/** virDomainDefBootValidate. */
function validateBoot(os: XmlElement): void {
  if (Number(child(os, 'bootmenu')?.attrs['timeout'] ?? 0) > 65535) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'invalid value for boot menu timeout, must be in range [0,65535]');
  }
  const rebootTimeout = child(os, 'bios')?.attrs['rebootTimeout'];
  if (rebootTimeout !== undefined && (Number(rebootTimeout) < -1 || Number(rebootTimeout) > 65535)) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'invalid value for rebootTimeout, must be in range [-1,65535]');
  }
}

// ---- generic post-parse (virDomainDefPostParseCommon, domain-level parts) ----

export function domainPostParseCommon(dom: XmlElement): void {
  postParseVcpus(dom);
  postParseMemory(dom);
  postParseOs(dom);
  postParseHugepages(dom);
  postParseBootOrder(dom);
  postParseTimers(dom);
  postParseCpu(dom);
}

function postParseVcpus(dom: XmlElement): void {
  const vcpus = child(dom, 'vcpus');
  for (const v of vcpus ? childrenNamed(vcpus, 'vcpu') : []) {
    const enabled = v.attrs['enabled'] === 'yes';
    const hot = v.attrs['hotpluggable'];
    if (hot === undefined) v.attrs['hotpluggable'] = enabled ? 'no' : 'yes';
    else if (hot === 'no' && !enabled) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `vcpu '${v.attrs['id']}' is both offline and not hotpluggable`);
    }
  }
}

function postParseOs(dom: XmlElement): void {
  const os = child(dom, 'os');
  if (os) postParseOsFirmware(os);
}

/** Whether any device carries a per-device <boot order=.../>. */
function hasDeviceBootOrder(dom: XmlElement): boolean {
  const devices = child(dom, 'devices');
  return (devices?.children ?? []).some((d) => child(d, 'boot') !== undefined);
}

function postParseBootOrder(dom: XmlElement): void {
  const os = child(dom, 'os');
  if (!os || child(os, 'type')?.text !== 'hvm') return;
  const osBoots = childrenNamed(os, 'boot').length;
  const deviceBoots = hasDeviceBootOrder(dom);
  if (osBoots > 0 && deviceBoots) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'per-device boot elements cannot be used together with os/boot elements');
  }
  if (osBoots === 0 && !deviceBoots) os.children.push(element('boot', { dev: 'hd' }));
}

function postParseTimers(dom: XmlElement): void {
  const clock = child(dom, 'clock');
  for (const timer of clock ? childrenNamed(clock, 'timer') : []) {
    const name = timer.attrs['name'] ?? '';
    const unsupported = (what: string) => virError(ErrorCode.CONFIG_UNSUPPORTED, `timer ${name} doesn't support setting of timer ${what}`);
    if ((name === 'kvmclock' || name === 'hypervclock') && timer.attrs['tickpolicy'] !== undefined) throw unsupported('tickpolicy');
    const catchup = child(timer, 'catchup');
    if (timer.attrs['tickpolicy'] !== 'catchup' && catchup && Object.keys(catchup.attrs).length > 0) {
      throw virError(ErrorCode.XML_ERROR, "setting of timer catchup policies is only supported with tickpolicy='catchup'");
    }
    if (name !== 'tsc') {
      if (timer.attrs['frequency'] !== undefined) throw unsupported('frequency');
      if (timer.attrs['mode'] !== undefined) throw unsupported('mode');
    }
    if (name !== 'platform' && name !== 'rtc' && timer.attrs['track'] !== undefined) throw unsupported('track');
  }
}

function postParseCpu(dom: XmlElement): void {
  const cpu = child(dom, 'cpu');
  if (!cpu) return;
  const hasModel = (child(cpu, 'model')?.text.trim() ?? '') !== '';
  if ((cpu.attrs['mode'] ?? 'custom') === 'custom' && !hasModel) {
    if (cpu.attrs['check'] !== undefined) throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'check attribute specified for CPU with no model');
    // A CPU that only gives topology, cache or NUMA cells prints no attributes.
    cpu.attrs = {};
  }
  if (cpu.attrs['mode'] !== 'host-passthrough' && cpu.attrs['mode'] !== 'maximum') delete cpu.attrs['migratable'];
}

/**
 * virDomainDefPostParseCheckFeatures: what the driver does not support,
 * checked once addresses are assigned: neither tsvirt driver accepts '/' in names.
 */
export function checkUnsupportedFeatures(dom: XmlElement): void {
  const name = child(dom, 'name')?.text ?? '';
  if (name.includes('/')) throw virError(ErrorCode.XML_ERROR, `name ${name} cannot contain '/'`);
}

// ---- generic validation (virDomainDefValidate, domain-level parts) ----

export function validateDomainCore(dom: XmlElement): void {
  validateHugepages(dom);
  const os = child(dom, 'os');
  if (os) {
    validateBoot(os);
    validateOsFirmware(os);
  }
}
