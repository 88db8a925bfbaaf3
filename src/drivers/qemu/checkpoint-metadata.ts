// The qemu driver's checkpoint metadata on disk, in libvirt's layout:
// CHECKPOINTDIR/DOMAIN/NAME.xml, each the checkpoint's secure XML with its
// <domain> (qemuCheckpointWriteMetadata). The files do not say which one is
// current: as libvirtd at startup (qemuDomainCheckpointLoad), the tip of the
// tree is current when the checkpoints form one chain.
import { CheckpointList, CheckpointXMLFlags, formatCheckpointXML, parseCheckpointXML, type Checkpoint } from '../../conf/checkpoint.js';
import { MomentFolder } from './moment-folder.js';

export class CheckpointMetadata extends MomentFolder {
  constructor(
    checkpointDir: string,
    private readonly warn: (message: string) => void,
  ) {
    super(checkpointDir, 'virsh checkpoint-edit');
  }

  async load(domain: string): Promise<CheckpointList> {
    const list = new CheckpointList();
    for (const { path, text } of await this.readAll(domain)) {
      try {
        list.add(parseCheckpointXML(text, true));
      } catch (e) {
        this.warn(`Failed to parse checkpoint XML from file '${path}': ${(e as Error).message}`);
      }
    }
    list.current = list.singleLeaf()?.name;
    return list;
  }

  async write(domain: string, chk: Checkpoint): Promise<void> {
    await this.writeOne(domain, chk.name, formatCheckpointXML(chk, CheckpointXMLFlags.SECURE));
  }
}
