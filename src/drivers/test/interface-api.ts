// The test driver's host interface calls, with iface-begin/commit/rollback transactions.

import { formatInterfaceXML, interfaceMAC, interfaceName, parseInterfaceXML } from '../../conf/interface.js';
import type { InterfaceRef } from '../../api/types.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { TestObjects, checkFlags } from './objects.js';
import { matchesInterfaceListFilter } from '../../conf/objects/list-filter.js';

export class InterfaceAPI extends TestObjects {

  async connectListAllInterfaces(flags: number): Promise<InterfaceRef[]> {
    checkFlags(flags, 3, 'testConnectListAllInterfaces');
    return this.node.interfaces
      .filter((i) => matchesInterfaceListFilter(i, flags))
      .map((i) => ({ name: interfaceName(i.def), mac: interfaceMAC(i.def) }));
  }
  async interfaceLookupByName(name: string): Promise<InterfaceRef> {
    const obj = this.ifaceObj(name);
    return { name, mac: interfaceMAC(obj.def) };
  }
  async interfaceLookupByMACString(mac: string): Promise<InterfaceRef> {
    const matches = this.node.interfaces.filter((i) => interfaceMAC(i.def).toLowerCase() === mac.toLowerCase());
    if (matches.length === 0) throw virError(ErrorCode.NO_INTERFACE, `no interface with matching mac '${mac}'`, ErrorDomain.INTERFACE);
    if (matches.length > 1) throw virError(ErrorCode.MULTIPLE_INTERFACES, undefined, ErrorDomain.INTERFACE);
    return { name: interfaceName(matches[0]!.def), mac: interfaceMAC(matches[0]!.def) };
  }
  async interfaceGetXMLDesc(iface: InterfaceRef, flags = 0): Promise<string> {
    checkFlags(flags, 0, 'testInterfaceGetXMLDesc');
    return formatInterfaceXML(this.ifaceObj(iface.name).def);
  }
  async interfaceIsActive(iface: InterfaceRef): Promise<boolean> {
    return this.ifaceObj(iface.name).active;
  }
  async interfaceCreate(iface: InterfaceRef, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testInterfaceCreate');
    const obj = this.ifaceObj(iface.name);
    if (obj.active) throw virError(ErrorCode.OPERATION_INVALID, undefined, ErrorDomain.INTERFACE);
    obj.active = true;
  }
  async interfaceDestroy(iface: InterfaceRef, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testInterfaceDestroy');
    const obj = this.ifaceObj(iface.name);
    if (!obj.active) throw virError(ErrorCode.OPERATION_INVALID, undefined, ErrorDomain.INTERFACE);
    obj.active = false;
  }
  /** virInterfaceObjListAssignDef: a known name gets the new definition, a new one starts inactive. */
  async interfaceDefineXML(xml: string, flags = 0): Promise<InterfaceRef> {
    checkFlags(flags, 1, 'testInterfaceDefineXML');
    const def = parseInterfaceXML(xml);
    const existing = this.node.interfaces.find((i) => interfaceName(i.def) === interfaceName(def));
    if (existing) existing.def = def;
    else this.node.interfaces.push({ def, active: false });
    return { name: interfaceName(def), mac: interfaceMAC(def) };
  }
  async interfaceUndefine(iface: InterfaceRef): Promise<void> {
    const obj = this.ifaceObj(iface.name);
    this.node.interfaces.splice(this.node.interfaces.indexOf(obj), 1);
  }
  async interfaceChangeBegin(flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testInterfaceChangeBegin');
    if (this.node.interfaceBackup) throw virError(ErrorCode.OPERATION_INVALID, 'there is another transaction running.', ErrorDomain.INTERFACE);
    this.node.interfaceBackup = structuredClone(this.node.interfaces);
  }
  async interfaceChangeCommit(flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testInterfaceChangeCommit');
    if (!this.node.interfaceBackup) throw virError(ErrorCode.OPERATION_INVALID, 'no transaction running, nothing to be committed.', ErrorDomain.INTERFACE);
    this.node.interfaceBackup = undefined;
  }
  async interfaceChangeRollback(flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testInterfaceChangeRollback');
    if (!this.node.interfaceBackup) throw virError(ErrorCode.OPERATION_INVALID, 'no transaction running, nothing to rollback.', ErrorDomain.INTERFACE);
    this.node.interfaces = this.node.interfaceBackup;
    this.node.interfaceBackup = undefined;
  }
}
