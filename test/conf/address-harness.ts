// Test-side harness: measures the address engine on the conformance corpus
// without the rest of the define pipeline. It takes libvirt's output
// (expected.xml), removes what address assignment produced (addresses the
// input did not give, auto-added PCI controllers and hubs, filled-in PCI
// controller defaults; drive and CCID addresses stay, post-parse makes them),
// runs the engine, and compares the address maps with the corpus runner's
// identity rules.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { child, parseXml, type XmlElement } from '../../src/util/xml.js';
import { formatDeviceAddress, parseDeviceAddress } from '../../src/conf/device-address.js';
import { assignQemuAddresses, type AssignOptions } from '../../src/drivers/qemu/address-assign.js';
import { qemuCorpusDir } from '../helpers/corpus.js';

export const CORPUS = qemuCorpusDir() ?? '';

export function corpusAvailable(): boolean {
  return CORPUS !== '' && existsSync(CORPUS);
}

export function caseIds(filter: RegExp): string[] {
  return readdirSync(CORPUS).filter((id) => filter.test(id) && existsSync(join(CORPUS, id, 'meta.json'))).sort();
}

export interface CaseMeta { id: string; outcome: string; tags: string[] }

export function caseMeta(id: string): CaseMeta {
  return JSON.parse(readFileSync(join(CORPUS, id, 'meta.json'), 'utf8')) as CaseMeta;
}

function addressKey(dev: XmlElement, addr: XmlElement): string {
  const parsed = parseDeviceAddress(addr);
  if (parsed.type === 'pci') delete parsed.multifunction;
  const attrs = formatDeviceAddress(parsed).attrs;
  const bus = dev.name === 'disk' ? child(dev, 'target')?.attrs.bus ?? '' : '';
  return `${dev.name}|${bus}|${Object.entries(attrs).map(([k, v]) => `${k}=${v}`).join(' ')}`;
}

/** Index of every PCI controller of the input, unindexed ones numbered as libvirt does. */
function inputPciControllers(devices: XmlElement): Map<number, XmlElement> {
  const out = new Map<number, XmlElement>();
  const pci = devices.children.filter((c) => c.name === 'controller' && c.attrs.type === 'pci');
  for (const c of pci) if (c.attrs.index !== undefined) out.set(Number.parseInt(c.attrs.index, 10), c);
  for (const c of pci) {
    if (c.attrs.index !== undefined) continue;
    let i = 0;
    while (out.has(i)) i++;
    out.set(i, c);
  }
  return out;
}

/** Which expected device each input device is (disk target, MAC, controller type+index, or ordinal). */
function matchDevices(inDevices: XmlElement, devices: XmlElement): Map<XmlElement, XmlElement> {
  const out = new Map<XmlElement, XmlElement>();
  const key = (d: XmlElement, list: XmlElement[]): string | undefined => {
    if (d.name === 'disk') return `disk ${child(d, 'target')?.attrs.dev}`;
    if (d.name === 'interface' && child(d, 'mac') !== undefined) return `mac ${child(d, 'mac')!.attrs.address}`;
    if (d.name === 'controller') {
      let idx = d.attrs.index;
      if (idx === undefined) {
        const used = new Set(list.filter((o) => o.name === 'controller' && o.attrs.type === d.attrs.type && o.attrs.index !== undefined).map((o) => o.attrs.index));
        let i = 0;
        while (used.has(`${i}`)) i++;
        idx = `${i}`;
      }
      return `controller ${d.attrs.type} ${idx} ${d.attrs.type === 'usb' ? d.attrs.model : ''}`;
    }
    return undefined;
  };
  const exp = new Map<string, XmlElement>();
  for (const d of devices.children) {
    const k = key(d, devices.children);
    if (k !== undefined) exp.set(k, d);
  }
  for (const d of inDevices.children) {
    const k = key(d, inDevices.children);
    const e = k === undefined ? undefined : exp.get(k);
    if (e !== undefined) out.set(e, d);
  }
  for (const name of new Set(inDevices.children.map((c) => c.name))) {
    if (['disk', 'interface', 'controller'].includes(name)) continue;
    const a = inDevices.children.filter((c) => c.name === name);
    const b = devices.children.filter((c) => c.name === name);
    if (a.length === b.length) b.forEach((e, i) => out.set(e, a[i]!));
  }
  return out;
}

/** Rebuilds the tree address assignment starts from, out of libvirt's output. */
export function strippedDomain(input: XmlElement, expected: XmlElement): XmlElement {
  const inDevices = child(input, 'devices') ?? { name: 'devices', attrs: {}, children: [], text: '', line: 0 };
  const explicit = new Map<string, XmlElement>();
  for (const d of inDevices.children) {
    const a = child(d, 'address');
    if (a === undefined) continue;
    try {
      explicit.set(addressKey(d, a), a);
    } catch {
      // an address libvirt itself rejected; the case is a define error anyway
    }
  }
  const inPci = inputPciControllers(inDevices);
  const devices = child(expected, 'devices');
  if (devices === undefined) return expected;
  const inHubs = inDevices.children.filter((c) => c.name === 'hub').length;
  let hubs = 0;
  devices.children = devices.children.filter((d) => {
    if (d.name === 'hub' && ++hubs > inHubs) return false;
    if (d.name !== 'controller' || d.attrs.type !== 'pci') return true;
    const idx = Number.parseInt(d.attrs.index ?? '-1', 10);
    return idx === 0 || inPci.has(idx);
  });
  const matched = matchDevices(inDevices, devices);
  for (const d of devices.children) {
    const i = d.children.findIndex((c) => c.name === 'address');
    // drive and CCID addresses are post-parse's work (conf/devices), not assignment's: kept
    const postParse = i >= 0 && ['drive', 'ccid'].includes(d.children[i]!.attrs.type ?? '');
    if (i >= 0 && !postParse) {
      const orig = matched.get(d);
      let given: XmlElement | undefined;
      try {
        given = explicit.get(addressKey(d, d.children[i]!));
      } catch {
        given = undefined;
      }
      if (given === undefined && orig !== undefined) given = child(orig, 'address');
      if (given !== undefined) d.children[i] = given;
      else d.children.splice(i, 1);
    }
    if (d.name === 'controller' && d.attrs.type === 'pci') {
      const orig = inPci.get(Number.parseInt(d.attrs.index ?? '-1', 10));
      const origModel = orig === undefined ? undefined : child(orig, 'model');
      const origTarget = orig === undefined ? undefined : child(orig, 'target');
      d.children = d.children.filter((c) => {
        if (c.name === 'model') return origModel?.attrs.name !== undefined;
        if (c.name === 'target') {
          for (const k of ['chassisNr', 'chassis', 'port', 'busNr']) {
            if (origTarget?.attrs[k] === undefined) delete c.attrs[k];
          }
          return Object.keys(c.attrs).length > 0 || c.children.length > 0;
        }
        return true;
      });
    }
  }
  return expected;
}

/** The corpus runner's device identity → address map. */
export function addressMap(domain: XmlElement): Map<string, string> {
  const out = new Map<string, string>();
  const devs = child(domain, 'devices');
  if (devs === undefined) return out;
  const ordinal: Record<string, number> = {};
  for (const d of devs.children) {
    if (d.name === 'emulator') continue;
    let id: string;
    if (d.name === 'disk') id = `disk[dev=${child(d, 'target')?.attrs.dev ?? '?'}]`;
    else if (d.name === 'controller') {
      const a = d.attrs;
      id = `controller[type=${a.type ?? ''},index=${a.index ?? ''}${a.model ? ',model=' + a.model : ''}]`;
    } else if (d.name === 'interface') id = `interface[mac=${child(d, 'mac')?.attrs.address ?? '?'}]`;
    else {
      const k = ordinal[d.name] = (ordinal[d.name] ?? -1) + 1;
      const extra: string[] = [];
      for (const a of ['type', 'model', 'bus']) if (d.attrs[a]) extra.push(`${a}=${d.attrs[a]}`);
      const m = child(d, 'model');
      if (m?.attrs.type) extra.push(`model=${m.attrs.type}`);
      id = `${d.name}#${k}${extra.length ? '[' + extra.join(',') + ']' : ''}`;
    }
    let key = id;
    let dup = 1;
    while (out.has(key)) key = `${id}#dup${dup++}`;
    const a = child(d, 'address');
    out.set(key, a ? Object.keys(a.attrs).sort().map((k) => `${k}=${a.attrs[k]}`).join(' ') : '-');
  }
  return out;
}

export function diffMaps(expected: Map<string, string>, actual: Map<string, string>): string[] {
  const diffs: string[] = [];
  for (const [k, v] of expected) {
    if (!actual.has(k)) diffs.push(`missing ${k} -> ${v}`);
    else if (actual.get(k) !== v) diffs.push(`${k}: expected ${v}, got ${actual.get(k)}`);
  }
  for (const [k, v] of actual) if (!expected.has(k)) diffs.push(`unexpected ${k} -> ${v}`);
  return diffs;
}

export interface CaseResult { id: string; ok: boolean; detail?: string }

/** Runs one defined case through the engine; undefined when the case is not a defined one. */
export function runCase(id: string, options: AssignOptions = {}): CaseResult | undefined {
  const meta = caseMeta(id);
  if (meta.outcome === 'define-error') return undefined;
  const input = parseXml(readFileSync(join(CORPUS, id, 'input.xml'), 'utf8'));
  const expectedText = readFileSync(join(CORPUS, id, 'expected.xml'), 'utf8');
  const domain = strippedDomain(input, parseXml(expectedText));
  try {
    assignQemuAddresses(domain, options);
  } catch (e) {
    return { id, ok: false, detail: `threw ${(e as Error).message}` };
  }
  const diffs = diffMaps(addressMap(parseXml(expectedText)), addressMap(domain));
  return diffs.length === 0 ? { id, ok: true } : { id, ok: false, detail: diffs.slice(0, 3).join('; ') };
}

/**
 * Devices whose address differs between `spares` spare root ports and
 * libvirt's one; [] when nothing moved.
 */
export function movedWithSpares(id: string, spares: number): string[] | undefined {
  if (caseMeta(id).outcome === 'define-error') return undefined;
  const make = () => strippedDomain(
    parseXml(readFileSync(join(CORPUS, id, 'input.xml'), 'utf8')),
    parseXml(readFileSync(join(CORPUS, id, 'expected.xml'), 'utf8')),
  );
  const one = make();
  const more = make();
  assignQemuAddresses(one, { sparePciePorts: 1 });
  assignQemuAddresses(more, { sparePciePorts: spares });
  const after = addressMap(more);
  const plain = (v: string | undefined) => v?.replace(/ multifunction=on/, '');
  // only libvirt's spare root port itself may be missing (with 0 spares)
  return [...addressMap(one)]
    .filter(([k, v]) => (after.has(k) ? plain(after.get(k)) !== plain(v) : !k.includes('model=pcie-root-port')))
    .map(([k, v]) => `${id} ${k}: ${v} -> ${after.get(k)}`);
}
