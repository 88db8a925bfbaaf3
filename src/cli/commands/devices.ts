// Device hotplug commands: attach-device/detach-device, attach-disk/detach-disk,
// attach-interface/detach-interface. The XML they build is virsh's, byte for byte.
import { statSync } from 'node:fs';
import type { Domain } from '../../api/connection.js';
import { child, childrenNamed, parseXml, type XmlElement } from '../../util/xml.js';
import { CommandError, attempt } from '../errors.js';
import { readInputFile } from '../files.js';
import type { Handler, Invocation } from '../shell.js';
import { xmlEscape } from './virsh.js';
import { normaliseMac } from './domain-monitor.js';

/** --config/--live/--persistent/--current → flags, and whether the *Flags API must be used. */
function impact(cmd: Invocation): { flags: number; useFlags: boolean; persistent: boolean } {
  cmd.exclusive('persistent', 'current');
  cmd.exclusive('current', 'live');
  cmd.exclusive('current', 'config');
  const persistent = cmd.bool('persistent');
  let flags = 0;
  if (cmd.bool('config') || persistent) flags |= 2;
  if (cmd.bool('live')) flags |= 1;
  return { flags, useFlags: flags !== 0 || cmd.bool('current'), persistent };
}

/** virDomainAttachDevice(Flags) / virDomainDetachDevice(Flags), chosen as virsh chooses. */
async function changeDevice(dom: Domain, kind: 'Attach' | 'Detach', xml: string, cmd: Invocation): Promise<void> {
  const { flags: f, useFlags, persistent } = impact(cmd);
  let flags = f;
  if (persistent && (await dom.isActive().catch(() => false))) flags |= 1;
  const c = dom.connection;
  if (useFlags || flags) {
    const args = { dom: dom.ref, xml, flags };
    await (kind === 'Attach' ? c.invoke('domainAttachDeviceFlags', args) : c.invoke('domainDetachDeviceFlags', args));
  } else {
    const args = { dom: dom.ref, xml };
    await (kind === 'Attach' ? c.invoke('domainAttachDevice', args) : c.invoke('domainDetachDevice', args));
  }
}

function deviceFromFile(kind: 'Attach' | 'Detach'): Handler {
  const verb = kind === 'Attach' ? 'attach' : 'detach';
  return async (ctl, cmd) => {
    impact(cmd);
    const { dom } = await ctl.domain(cmd);
    const file = cmd.required('file');
    const xml = readInputFile(file);
    await attempt(`Failed to ${verb} device from ${file}`, changeDevice(dom, kind, xml, cmd));
    ctl.printExtra(`Device ${verb}ed successfully\n`);
  };
}

/** detach-device-alias: virDomainDetachDeviceAlias, which does not wait for the guest to release the device. */
const detachDeviceAlias: Handler = async (ctl, cmd) => {
  const { flags } = impact(cmd);
  const { dom } = await ctl.domain(cmd);
  const alias = cmd.required('alias');
  await attempt(`Failed to detach device with alias ${alias}`, dom.connection.invoke('domainDetachDeviceAlias', { dom: dom.ref, alias, flags }));
  ctl.printExtra('Device detach request sent successfully\n');
};

/** An element with the attributes that are set, as virXMLFormatElement writes it (nothing when empty). */
function element(name: string, attrs: [string, string | undefined][], children = ''): string {
  const a = attrs
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}='${xmlEscape(v!)}'`)
    .join('');
  if (!a && !children) return '';
  return children ? `<${name}${a}>\n${children}</${name}>\n` : `<${name}${a}/>\n`;
}

const indent = (text: string) => text.replace(/^(?=.)/gm, '  ');

const SOURCE_TYPES = ['none', 'file', 'block', 'network'];

type AddressType = 'pci' | 'sata' | 'ide' | 'scsi' | 'ccw' | 'usb';

/** Reads the numbers of "type:a.b.c" in `radix`, each after one separator (virshAddressParse). */
function addressFields(rest: string, count: number, radix: 16 | 10): number[] | undefined {
  const digits = radix === 16 ? /^\s*(?:0x)?([0-9a-f]+)/i : /^\s*(\d+)/;
  const out: number[] = [];
  let text = rest;
  for (let i = 0; i < count; i++) {
    if (i > 0) text = text.slice(1); // the separator, whatever it is
    const m = digits.exec(text);
    if (!m) return undefined;
    out.push(parseInt(m[1]!, radix));
    text = text.slice(m[0].length);
  }
  return out;
}

/** An <address> element for "pci:D.B.S.F", "sata|ide|scsi:C.B.U", "ccw:C.S.D" or "usb:B.P" (virshAddressFormat). */
function addressXml(text: string, multifunction: boolean): { type: AddressType; xml: string } | undefined {
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  const type = text.slice(0, colon) as AddressType;
  const rest = text.slice(colon);
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  switch (type) {
    case 'pci': {
      const f = addressFields(rest.slice(1), 4, 16);
      if (!f) return undefined;
      const [d, b, s, fn] = f as [number, number, number, number];
      return { type, xml: `<address type='pci' domain='0x${h(d, 4)}' bus='0x${h(b, 2)}' slot='0x${h(s, 2)}' function='0x${h(fn, 1)}'${multifunction ? " multifunction='on'" : ''}/>\n` };
    }
    case 'sata':
    case 'ide':
    case 'scsi': {
      const f = addressFields(rest.slice(1), 3, 10);
      return f && { type, xml: `<address type='drive' controller='${f[0]}' bus='${f[1]}' unit='${f[2]}'/>\n` };
    }
    case 'ccw': {
      const f = addressFields(rest.slice(1), 3, 16);
      return f && { type, xml: `<address type='ccw' cssid='0x${h(f[0]!, 2)}' ssid='0x${h(f[1]!, 1)}' devno='0x${h(f[2]!, 4)}'/>\n` };
    }
    case 'usb': {
      const f = addressFields(rest.slice(1), 2, 10);
      return f && { type, xml: `<address type='usb' bus='${f[0]}' port='${f[1]}'/>\n` };
    }
    default:
      return undefined;
  }
}

/** The disk's --address, checked against the target's bus the way virsh checks it. */
function diskAddressXml(text: string, target: string, multifunction: boolean): string {
  const addr = addressXml(text, multifunction);
  if (!addr) throw new CommandError(['Invalid address.']);
  if (target.startsWith('vd') && addr.type !== 'pci' && addr.type !== 'ccw') throw new CommandError(['expecting a pci:0000.00.00.00 or ccw:00.0.0000 address.']);
  if (target.startsWith('sd') && !['scsi', 'usb', 'sata'].includes(addr.type)) throw new CommandError(['expecting a scsi:00.00.00 or usb:00.00 or sata:00.00.00 address.']);
  if (target.startsWith('hd') && addr.type !== 'ide') throw new CommandError(['expecting an ide:00.00.00 address.']);
  return addr.xml;
}

const attachDisk: Handler = async (ctl, cmd) => {
  impact(cmd);
  cmd.requireOption('source-host-name', 'source-protocol');
  cmd.requireOption('source-host-transport', 'source-protocol');
  cmd.requireOption('source-host-socket', 'source-protocol');
  cmd.requireOption('source-host-socket', 'source-host-transport');
  cmd.exclusive('source-host-name', 'source-host-socket');
  const opt = (n: string) => cmd.string(n);
  const source = opt('source');
  const target = cmd.required('target');
  const driver = opt('driver');
  const mode = opt('mode');
  const protocol = opt('source-protocol');
  const stype = opt('sourcetype');
  let type = 0;
  if (stype !== undefined) {
    type = SOURCE_TYPES.indexOf(stype);
    if (type < 0) throw new CommandError([`Unknown source type: '${stype}'`]);
  }
  if (type === 0) {
    if (protocol) type = 3;
    else if (driver !== 'file' && driver !== 'tap' && source && isBlockDevice(source)) type = 2;
    else type = 1;
  }
  if ((type === 3) !== !!protocol) throw new CommandError(['--source-protocol option requires --sourcetype network']);
  if (mode && mode !== 'readonly' && mode !== 'shareable') throw new CommandError([`No support for ${mode} in command 'attach-disk'`]);
  let children = element('driver', [['name', driver], ['type', opt('subdriver')], ['iothread', opt('iothread')], ['cache', opt('cache')], ['io', opt('io')]]);
  if (type === 1) children += element('source', [['file', source]]);
  else if (type === 2) children += element('source', [['dev', source]]);
  else {
    const hostName = opt('source-host-name');
    const [host, port] = hostName === undefined ? [undefined, undefined] : hostName.split(/:(.*)/s);
    const hostXml = element('host', [['transport', opt('source-host-transport')], ['socket', opt('source-host-socket')], ['name', host], ['port', port || undefined]]);
    children += element('source', [['protocol', protocol], ['name', source]], indent(hostXml));
  }
  children += `<target dev='${target}'${opt('targetbus') ? ` bus='${opt('targetbus')}'` : ''}/>\n`;
  if (mode) children += `<${mode}/>\n`;
  if (opt('serial')) children += `<serial>${opt('serial')}</serial>\n`;
  if (opt('alias')) children += `<alias name='${opt('alias')}'/>\n`;
  if (opt('wwn')) children += `<wwn>${opt('wwn')}</wwn>\n`;
  const address = opt('address');
  if (address !== undefined) children += diskAddressXml(address, target, cmd.bool('multifunction'));
  const xml = element('disk', [['type', SOURCE_TYPES[type]], ['device', opt('type')], ['rawio', cmd.bool('rawio') ? 'yes' : undefined]], indent(children));
  if (cmd.bool('print-xml')) {
    ctl.print(xml);
    return;
  }
  const { dom } = await ctl.domain(cmd);
  await attempt('Failed to attach disk', changeDevice(dom, 'Attach', xml, cmd));
  ctl.printExtra('Disk attached successfully\n');
};

function isBlockDevice(path: string): boolean {
  try {
    return statSync(path).isBlockDevice();
  } catch {
    return false;
  }
}

/** "average,peak,burst,floor" (virshParseRateStr). */
function parseRate(text: string): number[] {
  const parts = text.split(',');
  if (parts.length > 4 || parts.some((p) => p !== '' && !/^\d+$/.test(p))) throw new CommandError(['inbound rate format is incorrect']);
  return [0, 1, 2, 3].map((i) => Number(parts[i] || 0));
}

const attachInterface: Handler = async (ctl, cmd) => {
  impact(cmd);
  const type = cmd.required('type');
  const source = cmd.required('source');
  const opt = (n: string) => cmd.string(n);
  let xml = `<interface type='${type}'${cmd.bool('managed') ? " managed='yes'" : ''}>\n`;
  if (type === 'network' || type === 'bridge') xml += `  <source ${type}='${source}'/>\n`;
  else if (type === 'direct') xml += `  <source dev='${source}'/>\n`;
  else if (type === 'hostdev') {
    const addr = addressXml(`pci:${source}`, false);
    if (!addr) throw new CommandError([`cannot parse pci address '${source}' for network interface`]);
    xml += `  <source>\n    ${addr.xml}  </source>\n`;
  }
  else if (type === 'vhostuser') {
    const sourceMode = opt('source-mode');
    if (sourceMode !== 'server' && sourceMode !== 'client') throw new CommandError(['source-mode is mandatory']);
    xml += `  <source type='unix' path='${source}' mode='${sourceMode}'/>\n`;
  } else throw new CommandError([`No support for ${type} in command 'attach-interface'`]);
  if (opt('target') !== undefined) xml += `  <target dev='${opt('target')}'/>\n`;
  if (opt('mac') !== undefined) xml += `  <mac address='${opt('mac')}'/>\n`;
  if (opt('script') !== undefined) xml += `  <script path='${opt('script')}'/>\n`;
  if (opt('model') !== undefined) xml += `  <model type='${opt('model')}'/>\n`;
  if (opt('alias') !== undefined) xml += `  <alias name='${opt('alias')}'/>\n`;
  const inbound = opt('inbound') === undefined ? undefined : parseRate(opt('inbound')!);
  const outbound = opt('outbound') === undefined ? undefined : parseRate(opt('outbound')!);
  if (inbound && inbound[0] === 0 && inbound[3] === 0) throw new CommandError(['either inbound average or floor is mandatory']);
  if (outbound && outbound[0] === 0) throw new CommandError(['outbound average is mandatory']);
  if (outbound && outbound[3]) throw new CommandError(['outbound floor is unsupported yet']);
  if (inbound || outbound) {
    const rate = (name: string, [average, peak, burst, floor]: number[]) =>
      `    <${name}${average ? ` average='${average}'` : ''}${peak ? ` peak='${peak}'` : ''}${burst ? ` burst='${burst}'` : ''}${floor ? ` floor='${floor}'` : ''}/>\n`;
    xml += '  <bandwidth>\n';
    if (inbound) xml += rate('inbound', inbound);
    if (outbound) xml += rate('outbound', outbound);
    xml += '  </bandwidth>\n';
  }
  xml += '</interface>\n';
  if (cmd.bool('print-xml')) {
    ctl.print(xml);
    return;
  }
  const { dom } = await ctl.domain(cmd);
  await attempt('Failed to attach interface', changeDevice(dom, 'Attach', xml, cmd));
  ctl.printExtra('Interface attached successfully\n');
};

/**
 * libxml2's serialisation of a device node cut from the domain document
 * (virXMLNodeToString): the node's own whitespace is kept, so its children stay
 * indented for the depth they had there (libvirt writes 2 spaces per level).
 */
function nodeXml(el: XmlElement, depth: number): string {
  const attrs = Object.entries(el.attrs)
    .map(([k, v]) => ` ${k}="${v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')}"`)
    .join('');
  if (el.children.length === 0) return el.text.trim() ? `<${el.name}${attrs}>${xmlEscape(el.text)}</${el.name}>` : `<${el.name}${attrs}/>`;
  const inner = '  '.repeat(depth + 1);
  return `<${el.name}${attrs}>${el.children.map((c) => `\n${inner}${nodeXml(c, depth + 1)}`).join('')}\n${'  '.repeat(depth)}</${el.name}>`;
}

/** Depth of a device element in the domain document: <domain><devices><disk>. */
const DEVICE_DEPTH = 2;

async function domainDevices(dom: Domain, inactive: boolean): Promise<XmlElement> {
  const root = parseXml(await dom.getXMLDesc(inactive ? 2 : 0));
  return child(root, 'devices') ?? root;
}

const detachDisk: Handler = async (ctl, cmd) => {
  const { flags } = impact(cmd);
  const { dom } = await ctl.domain(cmd);
  const target = cmd.required('target');
  const devices = await domainDevices(dom, flags === 2);
  const disk = childrenNamed(devices, 'disk').find((d) => {
    const src = child(d, 'source');
    return child(d, 'target')?.attrs.dev === target || (src && ['file', 'dev', 'dir', 'name'].some((a) => src.attrs[a] === target));
  });
  if (!disk) throw new CommandError([`No disk found whose source path or target is ${target}`]);
  const xml = nodeXml(disk, DEVICE_DEPTH);
  if (cmd.bool('print-xml')) {
    ctl.print(xml);
    return;
  }
  await attempt('Failed to detach disk', changeDevice(dom, 'Detach', xml, cmd));
  ctl.printExtra('Disk detached successfully\n');
};

/** virshDomainDetachInterface: the one interface of that type (and MAC) to unplug. */
function findInterface(devices: XmlElement, type: string, mac: string | undefined): XmlElement {
  const nics = childrenNamed(devices, 'interface').filter((n) => n.attrs.type === type);
  if (nics.length === 0) throw new CommandError([`No interface found whose type is ${type}`]);
  if (mac === undefined) {
    if (nics.length > 1) throw new CommandError([`Domain has ${nics.length} interfaces. Please specify which one to detach using --mac`]);
    return nics[0]!;
  }
  const wanted = normaliseMac(mac) || mac.toLowerCase();
  const matches = nics.filter((n) => normaliseMac(child(n, 'mac')?.attrs.address ?? '') === wanted);
  if (matches.length > 1) {
    throw new CommandError([`Domain has multiple interfaces matching MAC address ${mac}. You must use detach-device and specify the device pci address to remove it.`]);
  }
  if (matches.length === 0) throw new CommandError([`No interface with MAC address ${mac} was found`]);
  return matches[0]!;
}

const detachInterface: Handler = async (ctl, cmd) => {
  const { flags } = impact(cmd);
  const { dom } = await ctl.domain(cmd);
  const type = cmd.required('type');
  const mac = cmd.string('mac');
  try {
    const devices = await domainDevices(dom, flags === 2);
    const xml = nodeXml(findInterface(devices, type, mac), DEVICE_DEPTH);
    if (cmd.bool('print-xml')) {
      ctl.print(xml);
      return;
    }
    await changeDevice(dom, 'Detach', xml, cmd);
  } catch (e) {
    if (e instanceof CommandError) throw new CommandError([...e.lines, 'Failed to detach interface'], e.reason);
    throw new CommandError(['Failed to detach interface'], e);
  }
  ctl.printExtra('Interface detached successfully\n');
};

export const handlers: Record<string, Handler> = {
  'attach-device': deviceFromFile('Attach'),
  'detach-device': deviceFromFile('Detach'),
  'detach-device-alias': detachDeviceAlias,
  'attach-disk': attachDisk,
  'attach-interface': attachInterface,
  'detach-disk': detachDisk,
  'detach-interface': detachInterface,
};

