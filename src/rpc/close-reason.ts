// virConnectCloseReason on its own: the driver contract and the public API name
// it without loading the RPC client (node:net, the XDR codec) into an embedded connection.

/** virConnectCloseReason: why a connection ended */
export enum CloseReason {
  /** an I/O error */
  ERROR = 0,
  /** the server hung up */
  EOF = 1,
  /** the server stopped answering keepalive */
  KEEPALIVE = 2,
  /** this side closed it */
  CLIENT = 3,
}
