// libvirt's capabilities documents: <capabilities> (virsh capabilities,
// virCapabilitiesFormatXML) and <domainCapabilities> (virsh domcapabilities,
// virDomainCapsFormat). Models and formatters only; drivers fill in the data.

import { escapeXml } from '../util/xml.js';

export interface HostCpu {
  arch: string;
  vendor?: string;
  microcode?: number;
  signature?: { family: number; model: number; stepping: number };
  topology?: { sockets: number; dies: number; cores: number; threads: number };
  maxPhysAddrBits?: number;
  /** page sizes in KiB, ascending */
  pageSizes: number[];
}

export interface NumaCell {
  id: number;
  memoryKiB: number;
  /** [size KiB, count] for each page size */
  pages: Array<[number, number]>;
  distances: Array<{ id: number; value: number }>;
  cpus: Array<{ id: number; socketId: number; dieId: number; coreId: number; siblings: string }>;
}

export interface CacheBank {
  id: number;
  level: number;
  type: string;
  /** bytes */
  size: number;
  cpus: string;
}

export interface SecModel {
  model: string;
  doi: string;
  baseLabels: Array<{ type: string; label: string }>;
}

export interface GuestMachine {
  name: string;
  /** set on alias entries: the machine the alias stands for */
  canonical?: string;
  maxCpus: number;
  deprecated?: boolean;
}

export interface GuestFeature {
  name: string;
  default?: 'on' | 'off';
  toggle?: 'yes' | 'no';
}

export interface GuestCaps {
  osType: string;
  arch: string;
  wordsize: number;
  emulator: string;
  machines: GuestMachine[];
  domainTypes: string[];
  features: GuestFeature[];
}

export interface Capabilities {
  hostUUID: string;
  cpu: HostCpu;
  iommu: boolean;
  /** migration URI transports; absent when the driver cannot migrate */
  migrationTransports?: string[];
  cells: NumaCell[];
  caches: CacheBank[];
  secModels: SecModel[];
  guests: GuestCaps[];
}

/** virFormatIntPretty: the largest binary unit that divides the value exactly. */
export function prettySize(bytes: number): { value: number; unit: string } {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let value = bytes;
  let i = 0;
  while (value !== 0 && value % 1024 === 0 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return { value, unit: units[i]! };
}

const attr = (name: string, value: string | number) => ` ${name}='${escapeXml(String(value))}'`;

function formatHostCpu(cpu: HostCpu, out: string[]): void {
  out.push('    <cpu>', `      <arch>${escapeXml(cpu.arch)}</arch>`);
  if (cpu.vendor) out.push(`      <vendor>${escapeXml(cpu.vendor)}</vendor>`);
  if (cpu.microcode !== undefined) out.push(`      <microcode${attr('version', cpu.microcode)}/>`);
  const s = cpu.signature;
  if (s) out.push(`      <signature${attr('family', s.family)}${attr('model', s.model)}${attr('stepping', s.stepping)}/>`);
  const t = cpu.topology;
  if (t) out.push(`      <topology${attr('sockets', t.sockets)}${attr('dies', t.dies)}${attr('cores', t.cores)}${attr('threads', t.threads)}/>`);
  if (cpu.maxPhysAddrBits !== undefined) out.push(`      <maxphysaddr mode='emulate'${attr('bits', cpu.maxPhysAddrBits)}/>`);
  for (const size of cpu.pageSizes) out.push(`      <pages unit='KiB'${attr('size', size)}/>`);
  out.push('    </cpu>');
}

function formatTopology(cells: NumaCell[], out: string[]): void {
  if (cells.length === 0) return;
  out.push('    <topology>', `      <cells${attr('num', cells.length)}>`);
  for (const cell of cells) {
    out.push(`        <cell${attr('id', cell.id)}>`, `          <memory unit='KiB'>${cell.memoryKiB}</memory>`);
    for (const [size, count] of cell.pages) out.push(`          <pages unit='KiB'${attr('size', size)}>${count}</pages>`);
    if (cell.distances.length > 0) {
      out.push('          <distances>');
      for (const d of cell.distances) out.push(`            <sibling${attr('id', d.id)}${attr('value', d.value)}/>`);
      out.push('          </distances>');
    }
    out.push(`          <cpus${attr('num', cell.cpus.length)}>`);
    for (const c of cell.cpus) {
      out.push(`            <cpu${attr('id', c.id)}${attr('socket_id', c.socketId)}${attr('die_id', c.dieId)}${attr('core_id', c.coreId)}${attr('siblings', c.siblings)}/>`);
    }
    out.push('          </cpus>', '        </cell>');
  }
  out.push('      </cells>', '    </topology>');
}

function formatGuest(g: GuestCaps, out: string[]): void {
  out.push('  <guest>', `    <os_type>${escapeXml(g.osType)}</os_type>`, `    <arch${attr('name', g.arch)}>`);
  out.push(`      <wordsize>${g.wordsize}</wordsize>`, `      <emulator>${escapeXml(g.emulator)}</emulator>`);
  for (const m of g.machines) {
    const canonical = m.canonical ? attr('canonical', m.canonical) : '';
    const deprecated = m.deprecated ? " deprecated='yes'" : '';
    out.push(`      <machine${canonical}${attr('maxCpus', m.maxCpus)}${deprecated}>${escapeXml(m.name)}</machine>`);
  }
  for (const t of g.domainTypes) out.push(`      <domain${attr('type', t)}/>`);
  out.push('    </arch>');
  if (g.features.length > 0) {
    out.push('    <features>');
    for (const f of g.features) {
      out.push(`      <${f.name}${f.default ? attr('default', f.default) : ''}${f.toggle ? attr('toggle', f.toggle) : ''}/>`);
    }
    out.push('    </features>');
  }
  out.push('  </guest>');
}

/** virCapabilitiesFormatXML, including its blank lines between sections. */
export function formatCapabilitiesXML(caps: Capabilities): string {
  const out: string[] = ['<capabilities>', '', '  <host>', `    <uuid>${caps.hostUUID}</uuid>`];
  formatHostCpu(caps.cpu, out);
  out.push('    <power_management/>', `    <iommu support='${caps.iommu ? 'yes' : 'no'}'/>`);
  if (caps.migrationTransports) {
    out.push('    <migration_features>', '      <live/>');
    if (caps.migrationTransports.length > 0) {
      out.push('      <uri_transports>');
      for (const t of caps.migrationTransports) out.push(`        <uri_transport>${escapeXml(t)}</uri_transport>`);
      out.push('      </uri_transports>');
    }
    out.push('    </migration_features>');
  }
  formatTopology(caps.cells, out);
  if (caps.caches.length > 0) {
    out.push('    <cache>');
    for (const b of caps.caches) {
      const { value, unit } = prettySize(b.size);
      out.push(`      <bank${attr('id', b.id)}${attr('level', b.level)}${attr('type', b.type)}${attr('size', value)}${attr('unit', unit)}${attr('cpus', b.cpus)}/>`);
    }
    out.push('    </cache>');
  }
  for (const m of caps.secModels) {
    out.push('    <secmodel>', `      <model>${escapeXml(m.model)}</model>`, `      <doi>${escapeXml(m.doi)}</doi>`);
    for (const l of m.baseLabels) out.push(`      <baselabel${attr('type', l.type)}>${escapeXml(l.label)}</baselabel>`);
    out.push('    </secmodel>');
  }
  out.push('  </host>', '');
  for (const g of caps.guests) {
    formatGuest(g, out);
    out.push('');
  }
  out.push('</capabilities>');
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// <domainCapabilities>

/** An <enum name=...> with its values; printed even when empty, as libvirt does. */
export interface CapsEnum {
  name: string;
  values: string[];
}

/** A device or feature block: <NAME supported='yes|no'> with enums. */
export interface CapsBlock {
  name: string;
  supported: boolean;
  enums: CapsEnum[];
}

export interface DomainCapabilities {
  path: string;
  domain: string;
  machine?: string;
  arch: string;
  maxVcpus?: number;
  iothreads: boolean;
  os: { supported: boolean; firmware: string[]; loader?: { values: string[]; enums: CapsEnum[] } };
  cpu: {
    hostPassthrough: boolean;
    /** enum values of hostPassthroughMigratable, listed when mode 'host-passthrough' is supported */
    hostPassthroughMigratable?: string[];
    /** enum values of maximumMigratable, when mode 'maximum' is supported */
    maximum?: string[];
    /** vendor: the CPU map's vendor of the model, printed 'unknown' when absent */
    customModels: Array<{ name: string; usable: 'yes' | 'no' | 'unknown'; vendor?: string; deprecated?: boolean }>;
    /** mode 'host-model': the CPU model host-model guests are based on, when the hypervisor has one */
    hostModel?: { model: string; fallback: 'allow' | 'forbid'; vendor?: string; features: ReadonlyArray<{ name: string; policy: string }> };
  };
  memoryBacking: { supported: boolean; sourceTypes: string[] };
  devices: CapsBlock[];
  features: CapsBlock[];
}

function formatEnums(enums: CapsEnum[], indent: string, out: string[]): void {
  for (const e of enums) {
    if (e.values.length === 0) {
      out.push(`${indent}<enum${attr('name', e.name)}/>`);
      continue;
    }
    out.push(`${indent}<enum${attr('name', e.name)}>`);
    for (const v of e.values) out.push(`${indent}  <value>${escapeXml(v)}</value>`);
    out.push(`${indent}</enum>`);
  }
}

function formatBlock(b: CapsBlock, indent: string, out: string[]): void {
  const open = `${indent}<${b.name} supported='${b.supported ? 'yes' : 'no'}'`;
  if (!b.supported || b.enums.length === 0) {
    out.push(`${open}/>`);
    return;
  }
  out.push(`${open}>`);
  formatEnums(b.enums, `${indent}  `, out);
  out.push(`${indent}</${b.name}>`);
}

/** virDomainCapsFormat. */
export function formatDomainCapabilitiesXML(c: DomainCapabilities): string {
  const out: string[] = ['<domainCapabilities>', `  <path>${escapeXml(c.path)}</path>`, `  <domain>${escapeXml(c.domain)}</domain>`];
  if (c.machine) out.push(`  <machine>${escapeXml(c.machine)}</machine>`);
  out.push(`  <arch>${escapeXml(c.arch)}</arch>`);
  if (c.maxVcpus !== undefined) out.push(`  <vcpu${attr('max', c.maxVcpus)}/>`);
  out.push(`  <iothreads supported='${c.iothreads ? 'yes' : 'no'}'/>`);

  if (!c.os.supported) out.push("  <os supported='no'/>");
  else {
    out.push("  <os supported='yes'>");
    formatEnums([{ name: 'firmware', values: c.os.firmware }], '    ', out);
    if (c.os.loader) {
      out.push("    <loader supported='yes'>");
      for (const v of c.os.loader.values) out.push(`      <value>${escapeXml(v)}</value>`);
      formatEnums(c.os.loader.enums, '      ', out);
      out.push('    </loader>');
    } else out.push("    <loader supported='no'/>");
    out.push('  </os>');
  }

  out.push('  <cpu>');
  if (c.cpu.hostPassthrough && c.cpu.hostPassthroughMigratable) {
    out.push("    <mode name='host-passthrough' supported='yes'>");
    formatEnums([{ name: 'hostPassthroughMigratable', values: c.cpu.hostPassthroughMigratable }], '      ', out);
    out.push('    </mode>');
  } else out.push(`    <mode name='host-passthrough' supported='${c.cpu.hostPassthrough ? 'yes' : 'no'}'/>`);
  if (c.cpu.maximum) {
    out.push("    <mode name='maximum' supported='yes'>");
    formatEnums([{ name: 'maximumMigratable', values: c.cpu.maximum }], '      ', out);
    out.push('    </mode>');
  } else out.push("    <mode name='maximum' supported='no'/>");
  const hostModel = c.cpu.hostModel;
  if (!hostModel) out.push("    <mode name='host-model' supported='no'/>");
  else {
    out.push("    <mode name='host-model' supported='yes'>", `      <model${attr('fallback', hostModel.fallback)}>${escapeXml(hostModel.model)}</model>`);
    if (hostModel.vendor !== undefined) out.push(`      <vendor>${escapeXml(hostModel.vendor)}</vendor>`);
    for (const f of hostModel.features) out.push(`      <feature${attr('policy', f.policy)}${attr('name', f.name)}/>`);
    out.push('    </mode>');
  }
  if (c.cpu.customModels.length === 0) out.push("    <mode name='custom' supported='no'/>");
  else {
    out.push("    <mode name='custom' supported='yes'>");
    for (const m of c.cpu.customModels) {
      const deprecated = m.deprecated ? " deprecated='yes'" : '';
      out.push(`      <model usable='${m.usable}'${deprecated}${attr('vendor', m.vendor ?? 'unknown')}>${escapeXml(m.name)}</model>`);
    }
    out.push('    </mode>');
  }
  out.push('  </cpu>');

  formatBlock({ name: 'memoryBacking', supported: c.memoryBacking.supported, enums: [{ name: 'sourceType', values: c.memoryBacking.sourceTypes }] }, '  ', out);
  out.push('  <devices>');
  for (const d of c.devices) formatBlock(d, '    ', out);
  out.push('  </devices>', '  <features>');
  for (const f of c.features) formatBlock(f, '    ', out);
  out.push('  </features>', '</domainCapabilities>');
  return out.join('\n') + '\n';
}
