// A hole in a sparse data stream (virStreamSendHole / virStreamRecvHole): the
// streams of sparse-capable procedures (volume upload and download) run in object
// mode and carry, in order, Buffers of data and StreamHoles of skipped bytes.

export class StreamHole {
  constructor(readonly length: bigint) {}
}

export function isStreamHole(chunk: unknown): chunk is StreamHole {
  return chunk instanceof StreamHole;
}
