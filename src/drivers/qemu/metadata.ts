// virDomainGetMetadata / virDomainSetMetadata of the qemu driver: the
// description, title and namespaced <metadata> elements of the live definition
// (kept in the status file) and of the persistent one (the config file).
import { ModificationImpact } from '../../driver/flags.js';
import { domainMetadata, setDomainMetadata } from '../../conf/domain-metadata.js';
import { oneDefinition } from '../../conf/objects/modification-impact.js';
import { cloneElement } from '../../util/xml.js';
import type { ProcArgs } from '../../driver/procedures.js';
import type { QemuDriver } from './driver.js';
import { checkFlags } from './driver.js';

const IMPACT = ModificationImpact.LIVE | ModificationImpact.CONFIG;

export async function getMetadata(driver: QemuDriver, { dom, type, uri, flags }: ProcArgs<'domainGetMetadata'>): Promise<string> {
  checkFlags(flags, IMPACT, 'qemuDomainGetMetadata');
  const { def } = oneDefinition(await driver.objectOf(dom), flags);
  return domainMetadata(def, type, uri);
}

/** virDomainObjSetMetadata, then the METADATA_CHANGE event. */
export async function setMetadata(driver: QemuDriver, { dom, type, metadata, key, uri, flags }: ProcArgs<'domainSetMetadata'>): Promise<void> {
  checkFlags(flags, IMPACT, 'qemuDomainSetMetadata');
  const rt = driver.runtime;
  await rt.withDomain(dom, async (obj, running) => {
    const { live, config } = rt.impact(flags, obj, running);
    const persistent = config ? cloneElement(obj.newDef ?? obj.def) : undefined;
    if (persistent) setDomainMetadata(persistent, type, metadata, key, uri);
    if (live) {
      const changed = cloneElement(running!.live);
      setDomainMetadata(changed, type, metadata, key, uri);
      running!.live = changed;
      await rt.runtime.saveStatus(running!);
    }
    if (persistent) await rt.savePersistent(persistent);
    await rt.sync({ refresh: false });
    rt.queueEvent({ key: 'domainEventCallbackMetadataChange', body: { dom: { name: obj.name, uuid: obj.uuid, id: obj.id }, type, nsuri: uri } });
  }, { monitor: false });
}
