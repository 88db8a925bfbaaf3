// virNodeInfo as the drivers compute it, with the model as text (the wire's
// remote_node_get_info_ret carries it as a char array).

/** virNodeInfo; memory in KiB. */
export interface NodeInfo {
  model: string;
  /** KiB */
  memory: number;
  cpus: number;
  mhz: number;
  nodes: number;
  sockets: number;
  cores: number;
  threads: number;
}
