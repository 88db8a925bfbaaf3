// The two ends of a stream procedure's data stream (virStreamPtr): the driver
// gets one, the caller the other. Node's duplexPair leaves a side open when its
// peer is destroyed; a stream session ends for both at once, with the error that
// ended it.
import { duplexPair, type Duplex } from 'node:stream';

/** `sparse`: the procedure's stream carries StreamHoles between its Buffers (object mode). */
export function streamPair(sparse = false): [driverSide: Duplex, callerSide: Duplex] {
  const [driverSide, callerSide] = duplexPair({ objectMode: sparse });
  const link = (from: Duplex, to: Duplex) =>
    from.once('close', () => {
      if (!to.destroyed) to.destroy(from.errored ?? undefined);
    });
  link(driverSide, callerSide);
  link(callerSide, driverSide);
  // the driver learns of a caller's failure through 'close'; an error must not also crash it
  driverSide.on('error', () => undefined);
  return [driverSide, callerSide];
}
