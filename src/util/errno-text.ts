// strerror's text for the errno codes Node reports, so that system errors read
// as libvirt's virReportSystemError prints them ("cannot open '...': No such file or directory").
import { ErrorCode, ErrorDomain, virError, type VirError } from './error.js';

const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EEXIST: 'File exists',
  ENOTEMPTY: 'Directory not empty',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EFBIG: 'File too large',
  ENOSPC: 'No space left on device',
  EINVAL: 'Invalid argument',
  ELOOP: 'Too many levels of symbolic links',
  EBUSY: 'Device or resource busy',
  EROFS: 'Read-only file system',
};

/** strerror text of a Node error's errno code; the error's own message for codes not listed. */
export function describeErrno(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return (code && STRERROR[code]) ?? (e instanceof Error ? e.message : String(e));
}

/** virReportSystemError: "MESSAGE: strerror". */
export function systemError(message: string, e: unknown, domain: ErrorDomain): VirError {
  return virError(ErrorCode.SYSTEM_ERROR, `${message}: ${describeErrno(e)}`, domain);
}
