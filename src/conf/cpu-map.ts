// libvirt's x86 CPU map (cpu_map/index.xml and the files it includes): every
// CPU feature libvirt knows with the CPUID/MSR bits that make it up, the CPU
// vendors, and the named CPU models as feature lists; and of the ppc64 map
// the vendors and models (ppc64 CPUs are compared by name). The data ships with
// libvirt (Debian package libvirt0) and is read at run time, never copied;
// without it the callers skip the checks that need it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { child, childrenNamed, parseXml } from '../util/xml.js';
import type { XmlElement } from '../util/xml.js';

export const DEFAULT_CPU_MAP_DIR = '/usr/share/libvirt/cpu_map';

export type X86Register = 'eax' | 'ebx' | 'ecx' | 'edx';
const REGISTERS: readonly X86Register[] = ['eax', 'ebx', 'ecx', 'edx'];

/** One bit of CPU data: a CPUID leaf/subleaf register bit, or an MSR bit (index in `leaf`, subleaf 0). */
export interface X86Bit {
  source: 'cpuid' | 'msr';
  leaf: number;
  subleaf: number;
  register: X86Register;
  bit: number;
}

export interface X86Feature {
  name: string;
  bits: readonly X86Bit[];
  /** a migratable CPU cannot have it (migratable='no': invtsc, xsaves) */
  nonMigratable?: true;
}

/** A CPUID family/model, and the steppings it covers (all when absent). */
export interface X86Signature {
  family: number;
  model: number;
  steppings?: ReadonlySet<number>;
}

export interface X86Model {
  name: string;
  /** libvirt's vendor name (Intel, AMD, Hygon) */
  vendor?: string;
  /** feature names, including those inherited from an ancestor model */
  features: readonly string[];
  /** features QEMU dropped from the model (removed='yes'): not part of its data */
  removedFeatures: readonly string[];
  signatures: readonly X86Signature[];
  /** may name a host CPU / a guest CPU when CPU data is decoded into a model */
  decodeHost: boolean;
  decodeGuest: boolean;
}

export interface X86CpuMap {
  /** in map order, which is the order libvirt lists features in messages */
  features: readonly X86Feature[];
  featureByName: ReadonlyMap<string, X86Feature>;
  models: ReadonlyMap<string, X86Model>;
  /** libvirt vendor name -> CPUID vendor string (AMD -> AuthenticAMD) */
  vendors: ReadonlyMap<string, string>;
}

/** A stable key for one bit, so CPU data can be a plain Set. */
export function bitKey(b: X86Bit): string {
  return `${b.source}:${b.leaf}:${b.subleaf}:${b.register}:${b.bit}`;
}

/** The bits of the named features (names the map does not know add nothing). */
export function featureBits(map: X86CpuMap, names: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const name of names) for (const b of map.featureByName.get(name)?.bits ?? []) out.add(bitKey(b));
  return out;
}

/** The data of a CPU given as a model plus required and disabled features (x86ModelFromCPU's sum). */
export function modelCpuBits(map: X86CpuMap, model: string, required: Iterable<string>, disabled: Iterable<string>): Set<string> {
  const data = featureBits(map, [...(map.models.get(model)?.features ?? []), ...required]);
  for (const k of featureBits(map, disabled)) data.delete(k);
  return data;
}

/** A feature is in CPU data when all of its bits are. */
function featureIn(feature: X86Feature, data: ReadonlySet<string>): boolean {
  return feature.bits.length > 0 && feature.bits.every((b) => data.has(bitKey(b)));
}

export function hasFeature(map: X86CpuMap, data: ReadonlySet<string>, name: string): boolean {
  const feature = map.featureByName.get(name);
  return feature !== undefined && featureIn(feature, data);
}

/** libvirt's x86FeatureNames: every feature in `data`, in map order. */
export function featureNamesIn(map: X86CpuMap, data: ReadonlySet<string>): string[] {
  return map.features.filter((f) => featureIn(f, data)).map((f) => f.name);
}

function parseNumber(text: string | undefined): number {
  return text === undefined ? 0 : Number(text);
}

function maskBits(source: X86Bit['source'], leaf: number, subleaf: number, el: XmlElement): X86Bit[] {
  const bits: X86Bit[] = [];
  for (const register of REGISTERS) {
    const mask = parseNumber(el.attrs[register]);
    for (let bit = 0; bit < 32; bit++) {
      if ((mask >>> bit) & 1) bits.push({ source, leaf, subleaf, register, bit });
    }
  }
  return bits;
}

function parseFeature(el: XmlElement): X86Feature {
  const bits: X86Bit[] = [];
  for (const c of el.children) {
    if (c.name === 'cpuid') bits.push(...maskBits('cpuid', parseNumber(c.attrs.eax_in), parseNumber(c.attrs.ecx_in), c));
    else if (c.name === 'msr') bits.push(...maskBits('msr', parseNumber(c.attrs.index), 0, c));
  }
  return { name: el.attrs.name ?? '', bits, ...(el.attrs.migratable === 'no' ? { nonMigratable: true as const } : {}) };
}

/** "0-3,5" (a stepping list) as numbers. */
function parseSteppings(text: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [from, to] = part.split('-').map((n) => Number(n.trim()));
    for (let i = from!; i <= (to ?? from!); i++) out.add(i);
  }
  return out;
}

/** A model; <model name='ancestor'/> inside it starts from the ancestor's vendor, signatures and features. */
function parseModel(el: XmlElement, ancestor: X86Model | undefined): X86Model {
  const features = childrenNamed(el, 'feature');
  const named = (removed: boolean) => features.filter((f) => (f.attrs.removed === 'yes') === removed).map((f) => f.attrs.name ?? '');
  const vendor = child(el, 'vendor')?.attrs.name ?? ancestor?.vendor;
  const signatures = childrenNamed(el, 'signature').map((sig) => ({
    family: Number(sig.attrs.family),
    model: Number(sig.attrs.model),
    ...(sig.attrs.stepping !== undefined ? { steppings: parseSteppings(sig.attrs.stepping) } : {}),
  }));
  const decode = child(el, 'decode');
  return {
    name: el.attrs.name ?? '',
    ...(vendor !== undefined ? { vendor } : {}),
    features: [...(ancestor?.features ?? []), ...named(false)],
    removedFeatures: [...(ancestor?.removedFeatures ?? []), ...named(true)],
    signatures: signatures.length > 0 ? signatures : (ancestor?.signatures ?? []),
    decodeHost: decode ? decode.attrs.host === 'on' : (ancestor?.decodeHost ?? false),
    decodeGuest: decode ? decode.attrs.guest === 'on' : (ancestor?.decodeGuest ?? false),
  };
}

/** The elements of one arch in index.xml with its <include>s expanded, in file order. */
function archElements(dir: string, arch: string): XmlElement[] {
  const index = parseXml(readFileSync(join(dir, 'index.xml'), 'utf8'));
  const section = childrenNamed(index, 'arch').find((a) => a.attrs.name === arch);
  const out: XmlElement[] = [];
  for (const el of section?.children ?? []) {
    if (el.name === 'include' && el.attrs.filename) out.push(...parseXml(readFileSync(join(dir, el.attrs.filename), 'utf8')).children);
    else out.push(el);
  }
  return out;
}

/** Reads the x86 part of a cpu_map folder; throws when a file is missing or malformed. */
export function parseX86CpuMap(dir: string): X86CpuMap {
  const features: X86Feature[] = [];
  const featureByName = new Map<string, X86Feature>();
  const models = new Map<string, X86Model>();
  const vendors = new Map<string, string>();
  for (const el of archElements(dir, 'x86')) {
    const name = el.attrs.name;
    if (!name) continue;
    if (el.name === 'vendor' && el.attrs.string) {
      vendors.set(name, el.attrs.string);
    } else if (el.name === 'feature') {
      const feature = parseFeature(el);
      features.push(feature);
      featureByName.set(name, feature);
    } else if (el.name === 'model') {
      models.set(name, parseModel(el, models.get(child(el, 'model')?.attrs.name ?? '')));
    }
  }
  return { features, featureByName, models, vendors };
}

/** The ppc64 part of the map: the vendors, and each model's vendor (when it names one). */
export interface Ppc64CpuMap {
  vendors: ReadonlySet<string>;
  models: ReadonlyMap<string, string | undefined>;
}

/** Reads the ppc64 part of a cpu_map folder; throws when a file is missing or malformed. */
export function parsePpc64CpuMap(dir: string): Ppc64CpuMap {
  const vendors = new Set<string>();
  const models = new Map<string, string | undefined>();
  for (const el of archElements(dir, 'ppc64')) {
    const name = el.attrs.name;
    if (!name) continue;
    if (el.name === 'vendor') vendors.add(name);
    else if (el.name === 'model') models.set(name, child(el, 'vendor')?.attrs.name);
  }
  return { vendors, models };
}

/** One parsed map per folder and process; undefined when the data is not installed (or unreadable). */
function cachedMap<T>(cache: Map<string, T | undefined>, dir: string, parse: (dir: string) => T): T | undefined {
  if (!cache.has(dir)) {
    let map: T | undefined;
    try {
      map = parse(dir);
    } catch {
      map = undefined;
    }
    cache.set(dir, map);
  }
  return cache.get(dir);
}

const loadedX86 = new Map<string, X86CpuMap | undefined>();
const loadedPpc64 = new Map<string, Ppc64CpuMap | undefined>();

/** The x86 CPU map from TSVIRT_CPU_MAP_DIR or libvirt's installed copy, read once per process. */
export function loadX86CpuMap(dir = process.env.TSVIRT_CPU_MAP_DIR || DEFAULT_CPU_MAP_DIR): X86CpuMap | undefined {
  return cachedMap(loadedX86, dir, parseX86CpuMap);
}

/** The ppc64 CPU map, as loadX86CpuMap. */
export function loadPpc64CpuMap(dir = process.env.TSVIRT_CPU_MAP_DIR || DEFAULT_CPU_MAP_DIR): Ppc64CpuMap | undefined {
  return cachedMap(loadedPpc64, dir, parsePpc64CpuMap);
}
