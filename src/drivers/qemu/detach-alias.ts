// virDomainDetachDeviceAlias on the qemu driver (libvirt's
// qemuDomainDetachDeviceAliasLiveAndConfig): the device of that alias leaves
// the persistent definition at once, and the running guest is asked to
// release it. libvirt returns without waiting and drops the device from the
// live XML when QEMU's DEVICE_DELETED comes; tsvirt has nobody listening after
// an embedded call, so it waits for the guest as long as detach-device does
// (a guest that takes longer keeps the device until the next call finds it gone).
import { ModificationImpact } from '../../driver/flags.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, cloneElement, type XmlElement } from '../../util/xml.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';

/** virDomainDefFindDevice: any device of the definition carrying that alias. */
function deviceWithAlias(def: XmlElement, alias: string): XmlElement {
  const device = (child(def, 'devices')?.children ?? []).find((d) => child(d, 'alias')?.attrs.name === alias);
  if (!device) throw virError(ErrorCode.INTERNAL_ERROR, `no device found with alias ${alias}`, ErrorDomain.QEMU);
  return device;
}

export async function detachDeviceAlias(driver: QemuDriver, dom: DomainRef, alias: string, flags: number): Promise<void> {
  checkFlags(flags, ModificationImpact.LIVE | ModificationImpact.CONFIG, 'qemuDomainDetachDeviceAliasLiveAndConfig');
  const rt = driver.runtime;
  await rt.withDomain(dom, async (obj, running) => {
    const { live, config } = rt.impact(flags, obj, running);
    let persistent: XmlElement | undefined;
    if (config) {
      persistent = cloneElement(obj.newDef ?? obj.def);
      const gone = deviceWithAlias(persistent, alias);
      const devices = child(persistent, 'devices')!;
      devices.children = devices.children.filter((d) => d !== gone);
    }
    if (live) await rt.hotplug.detach(running!, deviceWithAlias(running!.live, alias));
    if (persistent) await rt.savePersistent(persistent);
    await rt.sync({ refresh: false });
  });
}
