// The test driver's in-memory world: every object it holds and how it is loaded,
// either from libvirt's built-in default node or from a node file
// (test:///ABSOLUTE/PATH.xml) whose elements may point at other files with file=.

import path from 'node:path';
import { readdirSync } from 'node:fs';
import { parseDocument, parseDocumentFile } from '../../conf/document.js';
import { parseInterfaceElement, type InterfaceDef } from '../../conf/interface.js';
import { parseNetworkElement } from '../../conf/network.js';
import { NamedObjectList, VolumeList } from '../../conf/objects/object-list.js';
import { networkList, type NetworkObj } from '../../conf/objects/network-object.js';
import { parseStoragePoolElement, type StoragePoolDef } from '../../conf/storage-pool.js';
import { parseStorageVolElement, type StorageVolDef } from '../../conf/storage-vol.js';
import { EventHub } from '../../driver/events.js';
import { DomainState } from '../../driver/flags.js';
import { DomainObject } from '../../conf/objects/domain-object.js';
import { DomainObjectList } from '../../conf/objects/domain-list.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { childText, childrenNamed, type XmlElement } from '../../util/xml.js';
import { extractTestNamespace, generateIfnames, parseTestDomainElement, TEST_NAMESPACE } from './domain-xml.js';
import { defaultCells, defaultNodeInfo, parseNodeInfo, type NodeInfo, type TestCell } from './host.js';
import { parseSnapshotRedefine, SnapshotList } from '../../conf/snapshot.js';

/** A test domain: the shared object plus what only the test driver keeps. */
export class DomainObj extends DomainObject {
  hasManagedSave = false;
  snapshots = new SnapshotList();
  /** Guest time reported by domtime (the test driver's fixed epoch). */
  seconds = 627319920;

  /** A new, shut off domain object around `def`. */
  constructor(def: XmlElement, persistent: boolean) {
    super(textOf(def, 'name'), textOf(def, 'uuid'), def, persistent);
  }
}

export type { NetworkObj };

export interface PoolObj {
  def: StoragePoolDef;
  active: boolean;
  /** Transient pools (pool-create) have no config file: no autostart, removed on destroy. */
  persistent: boolean;
  autostart: boolean;
  volumes: VolumeList<StorageVolDef>;
}

export interface InterfaceObj {
  def: InterfaceDef;
  active: boolean;
}

/** A host device (virNodeDeviceObj): what listing and lookups need. */
export interface NodeDeviceObj {
  name: string;
  parent?: string;
  /** Capability names as in virNodeDevCap, nested fc_host/vports included. */
  caps: string[];
}

export class TestNode {
  nodeInfo: NodeInfo = defaultNodeInfo();
  cells: TestCell[] = [];
  domains = new DomainObjectList<DomainObj>();
  networks = networkList<NetworkObj>();
  interfaces: InterfaceObj[] = [];
  /** The interfaces as they were when iface-begin opened a transaction. */
  interfaceBackup?: InterfaceObj[];
  pools = new NamedObjectList<PoolObj>((p) => p.def.name, (p) => p.def.uuid);
  nodeDevices: NodeDeviceObj[] = [];
  /** What happens to the node's objects, seen by every connection that shares it (testDriver's eventState). */
  readonly events = new EventHub();
  /** Domain ids start at 1 and only grow (g_atomic_int_add on nextDomID). */
  private nextDomID = 1;

  allocateDomainID(): number {
    return this.nextDomID++;
  }

  /**
   * virDomainObjListAdd's rules: a UUID may only come back under its own name,
   * a name only with its own UUID; returns the object the definition replaces.
   * `checkLive` refuses a domain that already runs (create).
   */
  findDomainForAdd(def: XmlElement, checkLive: boolean): DomainObj | undefined {
    const name = textOf(def, 'name');
    const existing = this.domains.checkAddable(name, textOf(def, 'uuid'));
    if (existing && checkLive && existing.id !== -1) throw virError(ErrorCode.OPERATION_INVALID, `domain '${name}' is already active`, ErrorDomain.DOMAIN);
    if (existing && checkLive && !existing.persistent) throw virError(ErrorCode.OPERATION_INVALID, `domain '${name}' is already being started`, ErrorDomain.DOMAIN);
    return existing;
  }
}

export function textOf(dom: XmlElement, name: string): string {
  return dom.children.find((c) => c.name === name)?.text ?? '';
}

/** libvirt's defaultConnXML (src/test/test_driver.c). */
const DEFAULT_NODE_XML = `<node>
<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory>8388608</memory>
  <currentMemory>2097152</currentMemory>
  <vcpu>2</vcpu>
  <os>
    <type>hvm</type>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default' bridge='virbr0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x1' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x2' function='0x0'/>
    </memballoon>
  </devices>
</domain>
<network>
  <name>default</name>
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
  <bridge name='virbr0'/>
  <forward/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
<interface type="ethernet" name="eth1">
  <start mode="onboot"/>
  <mac address="aa:bb:cc:dd:ee:ff"/>
  <mtu size="1492"/>
  <protocol family="ipv4">
    <ip address="192.168.0.5" prefix="24"/>
    <route gateway="192.168.0.1"/>
  </protocol>
</interface>
<pool type='dir'>
  <name>default-pool</name>
  <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>
  <target>
    <path>/default-pool</path>
  </target>
</pool>
<device>
  <name>computer</name>
  <capability type='system'>
    <hardware>
      <vendor>Libvirt</vendor>
      <version>Test driver</version>
      <serial>123456</serial>
      <uuid>11111111-2222-3333-4444-555555555555</uuid>
    </hardware>
    <firmware>
      <vendor>Libvirt</vendor>
      <version>Test Driver</version>
      <release_date>01/22/2007</release_date>
    </firmware>
  </capability>
</device>
<device>
  <name>scsi_host1</name>
  <parent>computer</parent>
  <capability type='scsi_host'>
    <host>1</host>
    <unique_id>0</unique_id>
    <capability type='fc_host'>
      <wwnn>2000000012341234</wwnn>
      <wwpn>1000000012341234</wwpn>
      <fabric_wwn>2000000043214321</fabric_wwn>
    </capability>
    <capability type='vport_ops'>
      <max_vports>127</max_vports>
      <vports>1</vports>
    </capability>
  </capability>
</device>
<device>
  <name>scsi_host2</name>
  <parent>computer</parent>
  <capability type='scsi_host'>
    <host>2</host>
    <unique_id>1</unique_id>
    <capability type='fc_host'>
      <wwnn>2000000056785678</wwnn>
      <wwpn>1000000056785678</wwpn>
      <fabric_wwn>2000000087658765</fabric_wwn>
    </capability>
    <capability type='vport_ops'>
      <max_vports>127</max_vports>
      <vports>0</vports>
    </capability>
  </capability>
</device>
<device>
  <name>scsi_host11</name>
  <parent>scsi_host1</parent>
  <capability type='scsi_host'>
    <host>11</host>
    <unique_id>10</unique_id>
    <capability type='fc_host'>
      <wwnn>2000000034563456</wwnn>
      <wwpn>1000000034563456</wwpn>
      <fabric_wwn>2000000043214321</fabric_wwn>
    </capability>
  </capability>
</device>
</node>`;

/** testStoragePoolObjSetDefaults: every pool claims 100 GiB, whatever its XML says. */
export const DEFAULT_POOL_CAPACITY = 100n * 1024n * 1024n * 1024n;

export function resetPoolSizes(def: StoragePoolDef): void {
  def.capacity = DEFAULT_POOL_CAPACITY;
  def.allocation = 0n;
  def.available = DEFAULT_POOL_CAPACITY;
}

/** testOpenDefault: the shared default node with its two NUMA cells. */
export function loadDefaultNode(): TestNode {
  const node = new TestNode();
  node.cells = defaultCells();
  loadObjects(node, parseDocument(DEFAULT_NODE_XML, '(test driver)', 'node'), undefined);
  return node;
}

/** testOpenFromFile: a node file; relative file= references resolve against its folder. */
export function loadNodeFile(file: string): TestNode {
  const node = new TestNode();
  const root = parseDocumentFile(file, 'node', ErrorDomain.TEST);
  node.nodeInfo = parseNodeInfo(root);
  loadObjects(node, root, file);
  return node;
}

/** testParseXMLDocFromFile: an element with file= is replaced by that file's root element. */
function resolveExternal(el: XmlElement, file: string | undefined): XmlElement {
  const rel = el.attrs.file;
  if (rel === undefined) return el;
  const abs = path.isAbsolute(rel) || file === undefined ? rel : `${path.dirname(file)}/${rel}`;
  return parseDocumentFile(abs, el.name, ErrorDomain.TEST);
}

function loadObjects(node: TestNode, root: XmlElement, file: string | undefined): void {
  const prefixes = Object.entries(root.attrs)
    .filter(([k, v]) => k.startsWith('xmlns:') && v === TEST_NAMESPACE)
    .map(([k]) => k.slice(6));
  // one loader per object kind, run kind by kind in testOpenParse's order
  const loaders: Array<[string, (el: XmlElement) => void]> = [
    ['domain', (el) => loadDomain(node, el, prefixes, file)],
    ['network', (el) => node.networks.add({ def: parseNetworkElement(el), active: true, persistent: true, autostart: false })],
    ['interface', (el) => node.interfaces.push({ def: parseInterfaceElement(el), active: true })],
    ['pool', (el) => node.pools.add(loadPool(el, file))],
    ['device', (el) => node.nodeDevices.push(parseNodeDevice(el))],
  ];
  for (const [kind, load] of loaders) for (const raw of childrenNamed(root, kind)) load(resolveExternal(raw, file));
}

/** A <pool> of the node file with its <volume>s, sizes summed from them. */
function loadPool(el: XmlElement, file: string | undefined): PoolObj {
  const def = parseStoragePoolElement(el);
  resetPoolSizes(def);
  const pool: PoolObj = { def, active: true, persistent: true, autostart: false, volumes: new VolumeList() };
  for (const volRaw of childrenNamed(el, 'volume')) {
    const vol = parseStorageVolElement(resolveExternal(volRaw, file), def.type);
    vol.targetPath ??= `${def.targetPath}/${vol.name}`;
    vol.key ??= vol.targetPath;
    pool.volumes.add(vol);
    def.allocation += vol.allocation;
    def.available = def.capacity - def.allocation;
  }
  return pool;
}

/** The name, parent and capability names of a <device> (virNodeDeviceDefParseXML's essentials). */
function parseNodeDevice(el: XmlElement): NodeDeviceObj {
  const name = childText(el, 'name');
  if (name === undefined) throw virError(ErrorCode.XML_ERROR, 'missing device name', ErrorDomain.NODEDEV);
  const caps: string[] = [];
  for (const cap of childrenNamed(el, 'capability')) {
    if (cap.attrs.type === undefined) throw virError(ErrorCode.XML_ERROR, 'missing capability type', ErrorDomain.NODEDEV);
    caps.push(cap.attrs.type);
    for (const nested of childrenNamed(cap, 'capability')) {
      if (nested.attrs.type === 'fc_host') caps.push('fc_host');
      if (nested.attrs.type === 'vport_ops') caps.push('vports');
    }
  }
  if (caps.length === 0) throw virError(ErrorCode.INTERNAL_ERROR, `no device capabilities for '${name}'`, ErrorDomain.NODEDEV);
  return { name, parent: childText(el, 'parent'), caps };
}

/** testParseDomains for one <domain>: runtime state comes from the test namespace. */
function loadDomain(node: TestNode, el: XmlElement, prefixes: string[], file: string | undefined): void {
  const copy = { ...el, attrs: { ...el.attrs }, children: [...el.children] };
  const ns = extractTestNamespace(copy, prefixes);
  const def = parseTestDomainElement(copy);
  generateIfnames(def);
  const existing = node.findDomainForAdd(def, false);
  const dom = existing ?? new DomainObj(def, !ns.transient);
  if (existing) existing.def = def;
  else node.domains.add(dom);
  dom.persistent = !ns.transient;
  dom.hasManagedSave = ns.hasManagedSave;
  for (const snapEl of ns.snapshots) {
    const { snap, current } = parseSnapshotRedefine(resolveExternal(snapEl, file), parseTestDomainElement);
    dom.snapshots.add(snap);
    if (current) {
      if (dom.snapshots.current !== undefined) throw internal('more than one snapshot claims to be active');
      dom.snapshots.current = snap.name;
    }
  }
  dom.snapshots.checkRelations(textOf(def, 'name'));
  if (ns.runstate !== DomainState.SHUTOFF) {
    dom.id = node.allocateDomainID();
    dom.hasManagedSave = false;
    if (dom.persistent) dom.newDef = structuredClone(def);
  }
  dom.state = ns.runstate;
  dom.reason = 0;
}


function internal(detail: string) {
  return virError(ErrorCode.INTERNAL_ERROR, detail, ErrorDomain.TEST);
}

/** virCapabilitiesHostInitIOMMU: IOMMU support is reported when the host has IOMMU groups. */
export function hostHasIOMMU(): boolean {
  try {
    return readdirSync('/sys/kernel/iommu_groups').length > 0;
  } catch {
    return false;
  }
}
