// tsvirsh's process output, written to descriptors 1 and 2 with write(2). On Linux
// process.stdout and process.stderr write synchronously to files, pipes and
// terminals alike, so nothing changes order; a short command is spared creating
// those stream objects, which for a pipe (a script reading tsvirsh's output) load
// net and the streams: ~4 ms of a query's CPU.
import { writeSync } from 'node:fs';
import type { Output } from './shell.js';

function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  for (let done = 0; done < bytes.length; ) {
    try {
      done += writeSync(fd, bytes, done);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // the reader is gone (`tsvirsh list | head`): end as virsh does, killed by SIGPIPE (Node ignores the signal)
      if (code === 'EPIPE') process.exit(128 + 13);
      // a descriptor another process made non-blocking: retried until the reader takes more
      if (code !== 'EAGAIN') throw e;
    }
  }
}

export const fdOutput: Output = {
  out: (text) => writeAll(1, text),
  err: (text) => writeAll(2, text),
  outBytes: (data) => writeAll(1, data),
};
