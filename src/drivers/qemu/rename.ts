// virDomainRename in the qemu driver (qemuDomainRename): a shut-off persistent
// domain without a managed save takes a new name; its config file, autostart
// link, recorded shutoff reason and snapshot metadata move to the new name, and the domain's
// undefined/defined "renamed" events are queued.
import { rename as renameFile } from 'node:fs/promises';
import { DefinedDetail, DomainEventType, UndefinedDetail } from '../../driver/event-numbers.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { fsyncDir } from '../../util/atomic-file.js';
import { child, cloneElement } from '../../util/xml.js';
import { checkFlags, refOf, type DomainRef, type QemuDriver } from './driver.js';
import { shutoffReasonPath } from './status-file.js';

const invalid = (message: string) => virError(ErrorCode.OPERATION_INVALID, message, ErrorDomain.QEMU);

export async function renameDomain(driver: QemuDriver, dom: DomainRef, newName: string | null, flags: number): Promise<void> {
  checkFlags(flags, 0, 'qemuDomainRename');
  if (newName === null) throw virError(ErrorCode.INVALID_ARG, 'new_name in virDomainRename must not be NULL', ErrorDomain.DOMAIN);
  await driver.withDriverLock(async () => {
    const obj = await driver.objectOf(dom);
    await driver.withDomainLock(obj.uuid, async () => {
      await driver.syncDomains();
      if (obj.id !== -1) throw invalid('cannot rename active domain');
      if (!obj.persistent) throw invalid('cannot rename a transient domain');
      if (driver.hasManagedSave(obj.name)) throw invalid("domain with a managed saved state can't be renamed");
      // virDomainObjListRename
      if (obj.name === newName) throw invalid("Can't rename domain to itself");
      if (driver.store.findByName(newName)) throw virError(ErrorCode.OPERATION_INVALID, `domain with name '${newName}' already exists`, ErrorDomain.DOMAIN);
      if (newName.includes('/')) throw virError(ErrorCode.XML_ERROR, `name ${newName} cannot contain '/'`, ErrorDomain.QEMU);
      const oldRef = refOf(obj);
      const def = cloneElement(obj.def);
      child(def, 'name')!.text = newName;
      await driver.store.rename(obj, def);
      // why it last stopped goes with it (the file also names its UUID)
      const stateDir = driver.paths.stateDir;
      const moved = await renameFile(shutoffReasonPath(stateDir, oldRef.name), shutoffReasonPath(stateDir, newName)).then(() => true, (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return false;
        throw e;
      });
      if (moved) await fsyncDir(stateDir);
      await driver.snapshotMetadata.moveAll(oldRef.name, newName);
      await driver.checkpointMetadata.moveAll(oldRef.name, newName);
      driver.runtime.queueEvent({ key: 'domainEventCallbackLifecycle', body: { msg: { dom: oldRef, event: DomainEventType.UNDEFINED, detail: UndefinedDetail.RENAMED } } });
      driver.runtime.queueEvent({ key: 'domainEventCallbackLifecycle', body: { msg: { dom: refOf(obj), event: DomainEventType.DEFINED, detail: DefinedDetail.RENAMED } } });
    });
  });
}
