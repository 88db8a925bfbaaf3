// The qemu driver's snapshot metadata on disk, in libvirt's layout: one file
// per snapshot, SNAPSHOTDIR/DOMAIN/NAME.xml, holding the <domainsnapshot> with
// its embedded <domain> and <active>1</active> on the current snapshot
// (qemuDomainSnapshotWriteMetadata, qemuDomainSnapshotLoad). There is no
// daemon holding the tree in memory: every call reads the folder again.
import { parseDocument } from '../../conf/document.js';
import { formatSnapshotXML, parseSnapshotRedefine, SnapshotList, type Snapshot } from '../../conf/snapshot.js';
import { MomentFolder } from './moment-folder.js';

export class SnapshotMetadata extends MomentFolder {
  constructor(
    snapshotDir: string,
    private readonly warn: (message: string) => void,
  ) {
    super(snapshotDir, 'virsh snapshot-edit');
  }

  /** The domain's snapshot tree; a file that does not parse is reported and skipped, as libvirtd does at startup. */
  async load(domain: string): Promise<SnapshotList> {
    const list = new SnapshotList();
    for (const { path, text } of await this.readAll(domain)) {
      try {
        const root = parseDocument(text, path, 'domainsnapshot');
        const { snap, current } = parseSnapshotRedefine(root, (el) => el);
        list.add(snap);
        if (current) list.current = snap.name;
      } catch (e) {
        this.warn(`Failed to parse snapshot XML from file '${path}': ${(e as Error).message}`);
      }
    }
    return list;
  }

  /** Writes one snapshot's file, with <active> telling whether it is the current one. */
  async write(domain: string, uuid: string, snap: Snapshot, current: boolean): Promise<void> {
    await this.writeOne(domain, snap.name, formatSnapshotXML(snap, uuid, true, current));
  }
}
