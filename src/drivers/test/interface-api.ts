// The test driver's host interface calls, with iface-begin/commit/rollback transactions.

import { formatInterfaceXML, interfaceMAC, interfaceName, parseInterfaceXML } from '../../conf/interface.js';
import type { InterfaceDriver } from '../../driver/families.js';
import type { ProcArgs, ProcRet } from '../../driver/procedures.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { TestObjects, checkFlags, flag, wanted } from './objects.js';
import { matchesInterfaceListFilter } from '../../conf/objects/list-filter.js';

export class InterfaceAPI extends TestObjects implements InterfaceDriver {
  async connectListAllInterfaces({ need_results, flags }: ProcArgs<'connectListAllInterfaces'>): Promise<ProcRet<'connectListAllInterfaces'>> {
    checkFlags(flags, 3, 'testConnectListAllInterfaces');
    const ifaces = this.node.interfaces
      .filter((i) => matchesInterfaceListFilter(i, flags))
      .map((i) => ({ name: interfaceName(i.def), mac: interfaceMAC(i.def) }));
    return { ifaces: wanted(ifaces, need_results), ret: ifaces.length };
  }
  async interfaceLookupByName({ name }: ProcArgs<'interfaceLookupByName'>): Promise<ProcRet<'interfaceLookupByName'>> {
    const obj = this.ifaceObj(name);
    return { iface: { name, mac: interfaceMAC(obj.def) } };
  }
  async interfaceLookupByMACString({ mac }: ProcArgs<'interfaceLookupByMACString'>): Promise<ProcRet<'interfaceLookupByMACString'>> {
    const matches = this.node.interfaces.filter((i) => interfaceMAC(i.def).toLowerCase() === mac.toLowerCase());
    if (matches.length === 0) throw virError(ErrorCode.NO_INTERFACE, `no interface with matching mac '${mac}'`, ErrorDomain.INTERFACE);
    if (matches.length > 1) throw virError(ErrorCode.MULTIPLE_INTERFACES, undefined, ErrorDomain.INTERFACE);
    return { iface: { name: interfaceName(matches[0]!.def), mac: interfaceMAC(matches[0]!.def) } };
  }
  async interfaceGetXMLDesc({ iface, flags }: ProcArgs<'interfaceGetXMLDesc'>): Promise<ProcRet<'interfaceGetXMLDesc'>> {
    checkFlags(flags, 0, 'testInterfaceGetXMLDesc');
    return { xml: formatInterfaceXML(this.ifaceObj(iface.name).def) };
  }
  async interfaceIsActive({ iface }: ProcArgs<'interfaceIsActive'>): Promise<ProcRet<'interfaceIsActive'>> {
    return { active: flag(this.ifaceObj(iface.name).active) };
  }
  async interfaceCreate({ iface, flags }: ProcArgs<'interfaceCreate'>): Promise<void> {
    checkFlags(flags, 0, 'testInterfaceCreate');
    const obj = this.ifaceObj(iface.name);
    if (obj.active) throw virError(ErrorCode.OPERATION_INVALID, undefined, ErrorDomain.INTERFACE);
    obj.active = true;
  }
  async interfaceDestroy({ iface, flags }: ProcArgs<'interfaceDestroy'>): Promise<void> {
    checkFlags(flags, 0, 'testInterfaceDestroy');
    const obj = this.ifaceObj(iface.name);
    if (!obj.active) throw virError(ErrorCode.OPERATION_INVALID, undefined, ErrorDomain.INTERFACE);
    obj.active = false;
  }
  /** virInterfaceObjListAssignDef: a known name gets the new definition, a new one starts inactive. */
  async interfaceDefineXML({ xml, flags }: ProcArgs<'interfaceDefineXML'>): Promise<ProcRet<'interfaceDefineXML'>> {
    checkFlags(flags, 1, 'testInterfaceDefineXML');
    const def = parseInterfaceXML(xml);
    const existing = this.node.interfaces.find((i) => interfaceName(i.def) === interfaceName(def));
    if (existing) existing.def = def;
    else this.node.interfaces.push({ def, active: false });
    return { iface: { name: interfaceName(def), mac: interfaceMAC(def) } };
  }
  async interfaceUndefine({ iface }: ProcArgs<'interfaceUndefine'>): Promise<void> {
    const obj = this.ifaceObj(iface.name);
    this.node.interfaces.splice(this.node.interfaces.indexOf(obj), 1);
  }
  async interfaceChangeBegin({ flags }: ProcArgs<'interfaceChangeBegin'>): Promise<void> {
    checkFlags(flags, 0, 'testInterfaceChangeBegin');
    if (this.node.interfaceBackup) throw virError(ErrorCode.OPERATION_INVALID, 'there is another transaction running.', ErrorDomain.INTERFACE);
    this.node.interfaceBackup = structuredClone(this.node.interfaces);
  }
  async interfaceChangeCommit({ flags }: ProcArgs<'interfaceChangeCommit'>): Promise<void> {
    checkFlags(flags, 0, 'testInterfaceChangeCommit');
    if (!this.node.interfaceBackup) throw virError(ErrorCode.OPERATION_INVALID, 'no transaction running, nothing to be committed.', ErrorDomain.INTERFACE);
    this.node.interfaceBackup = undefined;
  }
  async interfaceChangeRollback({ flags }: ProcArgs<'interfaceChangeRollback'>): Promise<void> {
    checkFlags(flags, 0, 'testInterfaceChangeRollback');
    if (!this.node.interfaceBackup) throw virError(ErrorCode.OPERATION_INVALID, 'no transaction running, nothing to rollback.', ErrorDomain.INTERFACE);
    this.node.interfaces = this.node.interfaceBackup;
    this.node.interfaceBackup = undefined;
  }
}
