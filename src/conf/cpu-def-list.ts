// libvirt's virCPUDefParseXML and virCPUDefListParse: the CPU definitions a
// caller hands to the baseline and comparison APIs, each a lone <cpu>
// document. A host CPU names its architecture and lists features without
// policies; with 'auto' a <cpu> is a host CPU when it has an <arch>, a guest
// CPU otherwise. Only what a baseline reads is kept; the checks are libvirt's
// (signature, topology and cache included), in libvirt's order.

import { parseDocument } from './document.js';
import { ARCHES, parseCpuTopology } from './domain-core.js';
import { parseUnsigned, propEnum, propInt, propUInt, propULongLong, propYesNo, UINT_MAX } from './xml-props.js';
import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import { child, childrenNamed, type XmlElement } from '../util/xml.js';

export type CpuDefType = 'host' | 'guest';
export type CpuFeaturePolicy = 'force' | 'require' | 'optional' | 'disable' | 'forbid';

const MODES = ['custom', 'host-model', 'host-passthrough', 'maximum'];
const MATCHES = ['minimum', 'exact', 'strict'];
const CHECKS = ['default', 'none', 'partial', 'full'];
const FALLBACKS = ['allow', 'forbid'];
const POLICIES: readonly CpuFeaturePolicy[] = ['force', 'require', 'optional', 'disable', 'forbid'];
/** VIR_CPU_VENDOR_ID_LENGTH */
const VENDOR_ID_LENGTH = 12;
const CACHE_MODES = ['emulate', 'passthrough', 'disable'];
const MAX_PHYS_ADDR_MODES = ['emulate', 'passthrough'];

export interface CpuDefFeature {
  name: string;
  /** absent for a host CPU: its features are all present */
  policy?: CpuFeaturePolicy;
}

export interface CpuDef {
  type: CpuDefType;
  /** a host CPU's architecture */
  arch?: string;
  model?: string;
  vendor?: string;
  features: CpuDefFeature[];
}

function cpuError(code: ErrorCode, message: string): Error {
  return virError(code, message, ErrorDomain.CPU);
}

/** virXPathString: the text of the first such child, absent when empty. */
function firstText(cpu: XmlElement, name: string): string | undefined {
  const text = child(cpu, name)?.text;
  return text ? text : undefined;
}

/** A host CPU's microcode version, CPUID signature and TSC counter: checked, not kept. */
function checkHostIdentity(cpu: XmlElement): void {
  const microcode = child(cpu, 'microcode')?.attrs.version;
  if (microcode !== undefined) {
    const version = parseUnsigned(microcode);
    if (version === undefined || version > UINT_MAX) throw cpuError(ErrorCode.CONFIG_UNSUPPORTED, 'invalid microcode version');
  }
  const signature = child(cpu, 'signature');
  if (signature) {
    propUInt(signature, 'family', 10, { required: true, nonzero: true });
    propUInt(signature, 'model', 10, { required: true });
    propUInt(signature, 'stepping', 10, { required: true });
  }
  const tsc = childrenNamed(cpu, 'counter').find((c) => c.attrs.name === 'tsc');
  if (tsc) {
    propULongLong(tsc, 'frequency', { required: true });
    propYesNo(tsc, 'scaling');
  }
}

/** At most one <cache> (level 1 to 3, a mode required), and <maxphysaddr>. */
function checkCacheAndPhysAddr(cpu: XmlElement): void {
  const caches = childrenNamed(cpu, 'cache');
  if (caches.length > 1) throw cpuError(ErrorCode.XML_ERROR, 'at most one CPU cache element may be specified');
  const cache = caches[0];
  if (cache) {
    const level = propInt(cache, 'level', { nonnegative: true });
    if (level !== undefined && (level < 1 || level > 3)) throw cpuError(ErrorCode.XML_ERROR, 'invalid CPU cache level, must be in range [1,3]');
    propEnum(cache, 'mode', CACHE_MODES, { required: true });
  }
  const maxPhysAddr = child(cpu, 'maxphysaddr');
  if (maxPhysAddr) {
    propEnum(maxPhysAddr, 'mode', MAX_PHYS_ADDR_MODES, { required: true });
    propInt(maxPhysAddr, 'bits', { nonnegative: true });
  }
}

function parseFeatures(cpu: XmlElement, type: CpuDefType): CpuDefFeature[] {
  const features: CpuDefFeature[] = [];
  for (const node of childrenNamed(cpu, 'feature')) {
    let policy: CpuFeaturePolicy | undefined;
    if (type === 'guest') {
      const given = node.attrs.policy ?? 'require';
      if (!POLICIES.includes(given as CpuFeaturePolicy)) throw cpuError(ErrorCode.CONFIG_UNSUPPORTED, 'Invalid CPU feature policy');
      policy = given as CpuFeaturePolicy;
    }
    const name = node.attrs.name;
    if (!name) throw cpuError(ErrorCode.XML_ERROR, 'Invalid CPU feature name');
    if (features.some((f) => f.name === name)) throw cpuError(ErrorCode.XML_ERROR, `CPU feature '${name}' specified more than once`);
    features.push({ name, ...(policy !== undefined ? { policy } : {}) });
  }
  return features;
}

/** virCPUDefParseXML for one <cpu> document. */
export function parseCpuDef(xml: string, as: CpuDefType | 'auto'): CpuDef {
  const cpu = parseDocument(xml, '(CPU_definition)');
  if (cpu.name !== 'cpu') throw cpuError(ErrorCode.XML_ERROR, "XML does not contain expected 'cpu' element");
  let type = as;
  if (type === 'auto') {
    if (child(cpu, 'arch') && cpu.attrs.match !== undefined) {
      throw cpuError(ErrorCode.XML_ERROR, "'arch' element cannot be used inside 'cpu' element with 'match' attribute'");
    }
    type = child(cpu, 'arch') ? 'host' : 'guest';
  }
  const modeAttr = cpu.attrs.mode;
  if (modeAttr !== undefined) {
    if (type === 'host') throw cpuError(ErrorCode.CONFIG_UNSUPPORTED, 'Attribute mode is only allowed for guest CPU');
    if (!MODES.includes(modeAttr)) throw cpuError(ErrorCode.CONFIG_UNSUPPORTED, `Invalid mode attribute '${modeAttr}'`);
  }
  const mode = type === 'host' ? undefined : (modeAttr ?? 'custom');
  const anyModel = mode === 'host-passthrough' || mode === 'maximum';
  if (cpu.attrs.migratable !== undefined && !anyModel) {
    throw cpuError(ErrorCode.CONFIG_UNSUPPORTED, "Attribute migratable is only allowed for 'host-passthrough' / 'maximum' CPU mode");
  }
  if (type === 'guest') {
    propEnum(cpu, 'match', MATCHES);
    propEnum(cpu, 'check', CHECKS);
  }
  let arch: string | undefined;
  if (type === 'host') {
    arch = firstText(cpu, 'arch');
    if (arch === undefined) throw cpuError(ErrorCode.XML_ERROR, 'Missing CPU architecture');
    if (!ARCHES.includes(arch)) throw cpuError(ErrorCode.CONFIG_UNSUPPORTED, `Unknown architecture ${arch}`);
    checkHostIdentity(cpu);
  }
  const model = firstText(cpu, 'model');
  if (!model && type === 'host') throw cpuError(ErrorCode.XML_ERROR, 'Missing CPU model name');
  const modelNode = child(cpu, 'model');
  if (type === 'guest' && !anyModel && modelNode) {
    const fallback = modelNode.attrs.fallback;
    if (fallback && !FALLBACKS.includes(fallback)) throw cpuError(ErrorCode.CONFIG_UNSUPPORTED, 'Invalid fallback attribute');
    const vendorId = modelNode.attrs.vendor_id;
    if (vendorId) {
      if (vendorId.length !== VENDOR_ID_LENGTH) throw cpuError(ErrorCode.XML_ERROR, `vendor_id must be exactly ${VENDOR_ID_LENGTH} characters long`);
      if (vendorId.includes(',')) throw cpuError(ErrorCode.XML_ERROR, 'vendor id is invalid');
    }
  }
  const vendor = firstText(cpu, 'vendor');
  if (vendor && !model) throw cpuError(ErrorCode.XML_ERROR, 'CPU vendor specified without CPU model');
  const topology = child(cpu, 'topology');
  if (topology) parseCpuTopology(topology);
  if (childrenNamed(cpu, 'feature').length > 0 && !model && mode === 'custom') {
    throw cpuError(ErrorCode.XML_ERROR, 'Non-empty feature list specified without CPU model');
  }
  const features = parseFeatures(cpu, type);
  checkCacheAndPhysAddr(cpu);
  return {
    type,
    ...(arch !== undefined ? { arch } : {}),
    ...(model !== undefined ? { model } : {}),
    ...(vendor !== undefined ? { vendor } : {}),
    features,
  };
}

/** virCPUDefListParse: every document parsed as `as`; an empty list is refused. */
export function parseCpuDefList(xmls: readonly string[], as: CpuDefType | 'auto'): CpuDef[] {
  if (xmls.length === 0) throw virError(ErrorCode.INVALID_ARG, 'no CPUs given', ErrorDomain.CPU);
  return xmls.map((xml) => parseCpuDef(xml, as));
}
