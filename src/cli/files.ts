// Reading the XML files commands name (virFileReadAll with virsh's 10 MiB cap).
import { readFileSync } from 'node:fs';
import { CommandError } from './errors.js';

const MAX_XML_FILE = 10 * 1024 * 1024;

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
};

export function readInputFile(path: string): string {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const verb = code === 'EISDIR' ? 'read' : 'open';
    throw new CommandError([`Failed to ${verb} file '${path}': ${ERRNO_TEXT[code] ?? code}`]);
  }
  if (data.length > MAX_XML_FILE) throw new CommandError([`File '${path}' is too large`]);
  return data.toString('utf8');
}
