// Backup commands (backup-begin, backup-dumpxml), as virsh-backup.c prints them.
import type { Handler } from '../shell.js';
import { readInputFile } from '../files.js';
import { dumpXml } from './domain.js';

/** VIR_DOMAIN_BACKUP_BEGIN_REUSE_EXTERNAL */
const REUSE_EXTERNAL = 1;

const backupBegin: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const backupFrom = cmd.string('backupxml');
  const checkpointFrom = cmd.string('checkpointxml');
  await dom.connection.invoke('domainBackupBegin', {
    dom: dom.ref,
    backup_xml: backupFrom === undefined ? '<domainbackup/>' : readInputFile(backupFrom),
    checkpoint_xml: checkpointFrom === undefined ? null : readInputFile(checkpointFrom),
    flags: cmd.bool('reuse-external') ? REUSE_EXTERNAL : 0,
  });
  ctl.print('Backup started\n');
};

const backupDumpxml: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const { xml } = await dom.connection.invoke('domainBackupGetXMLDesc', { dom: dom.ref, flags: 0 });
  const xpath = cmd.opts.find((o) => o.def.name === 'xpath')?.value;
  dumpXml(ctl, xml, xpath || undefined, cmd.bool('wrap'));
};

export const handlers: Record<string, Handler> = {
  'backup-begin': backupBegin,
  'backup-dumpxml': backupDumpxml,
};
