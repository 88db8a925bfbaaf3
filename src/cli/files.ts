// Reading the XML files commands name (virFileReadAll with virsh's 10 MiB cap).
import { closeSync, openSync, readSync } from 'node:fs';
import { CommandError } from './errors.js';

const MAX_XML_FILE = 10 * 1024 * 1024;

/** strerror() texts for the errno codes file commands meet. */
export const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
};

export function readInputFile(path: string): string {
  return readInputBytes(path, MAX_XML_FILE).toString('utf8');
}

/** virFileReadAll(path, limit): the file's bytes, virsh's error when it cannot be read or is larger than `limit`. */
export function readInputBytes(path: string, limit: number): Buffer {
  let data: Buffer;
  try {
    data = readAtMost(path, limit + 1);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const verb = code === 'EISDIR' ? 'read' : 'open';
    throw new CommandError([`Failed to ${verb} file '${path}': ${ERRNO_TEXT[code] ?? code}`]);
  }
  // virFileReadAll fails with EOVERFLOW past the cap
  if (data.length > limit) throw new CommandError([`Failed to read file '${path}': Value too large for defined data type`]);
  return data;
}

/** Reads at most `limit` bytes: a huge file (or /dev/zero) never gets loaded whole. */
function readAtMost(path: string, limit: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(limit);
    let length = 0;
    for (let n = 1; n > 0 && length < limit; length += n) n = readSync(fd, buf, length, limit - length, null);
    return buf.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}
