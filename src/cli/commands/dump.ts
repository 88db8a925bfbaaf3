// dump: a domain's core (memory only, or QEMU's whole state) to a file, as virsh's cmdDump.
import { CommandError, attempt } from '../errors.js';
import { watchJob } from '../job-watch.js';
import type { Handler } from '../shell.js';

/** virDomainCoreDumpFlags as virsh sets them from its options */
const DUMP_OPTIONS: Array<[option: string, flag: number]> = [['crash', 1], ['live', 2], ['bypass-cache', 4], ['reset', 8], ['memory-only', 16]];
/** virshDomainCoreDumpFormat: the index is virDomainCoreDumpFormat */
const FORMATS = ['elf', 'kdump-zlib', 'kdump-lzo', 'kdump-snappy', 'win-dmp'];
const MEMORY_ONLY = 16;

const dump: Handler = async (ctl, cmd) => {
  const { dom, name } = await ctl.domain(cmd);
  const to = cmd.required('file');
  const flags = DUMP_OPTIONS.reduce((f, [option, bit]) => (cmd.bool(option) ? f | bit : f), 0);
  let format = 0;
  const formatName = cmd.string('format');
  if (formatName !== undefined) {
    if (!(flags & MEMORY_ONLY)) throw new CommandError(['--format only works with --memory-only']);
    if (formatName !== '') {
      format = FORMATS.indexOf(formatName);
      if (format < 0) throw new CommandError([`format '${formatName}' is not supported, expecting 'kdump-zlib', 'kdump-lzo', 'kdump-snappy', 'win-dmp' or 'elf'`]);
    }
  }
  const call = format !== 0
    ? dom.connection.invoke('domainCoreDumpWithFormat', { dom: dom.ref, to, dumpformat: format, flags })
    : dom.connection.invoke('domainCoreDump', { dom: dom.ref, to, flags });
  await attempt(`Failed to core dump domain '${name}' to ${to}`, watchJob(ctl, dom, call, { label: 'Dump', verbose: cmd.bool('verbose') }));
  ctl.printExtra(`\nDomain '${name}' dumped to ${to}\n`);
};

export const handlers: Record<string, Handler> = { dump };
