// One typed table per driver family, as libvirt's virConnectDriver bundles them:
// hypervisor, network, storage, interface, nodedev, secret, nwfilter. A driver is
// an object whose methods are procedure keys of its family; what it lacks is
// reported as libvirt's "not supported by the connection driver".
import type { Duplex } from 'node:stream';
import type { CloseReason } from '../rpc/close-reason.js';
import type { EventSource } from './events.js';

export { CloseReason } from '../rpc/close-reason.js';
import type { DriverFamily, FamilyKeys, ProcArgs, ProcKey, ProcRet, StreamKeys } from './procedures.js';

/**
 * A driver method: the procedure's XDR argument struct in, its XDR return struct
 * out. Stream procedures also get the stream the data flows through after the
 * reply: the driver reads from and/or writes to it and ends it when done.
 */
export type DriverMethod<K extends ProcKey> = K extends StreamKeys
  ? (args: ProcArgs<K>, stream: Duplex) => Promise<ProcRet<K>>
  : (args: ProcArgs<K>) => Promise<ProcRet<K>>;

export type FamilyDriver<F extends DriverFamily> = { readonly [K in FamilyKeys<F>]?: DriverMethod<K> };

export type HypervisorDriver = FamilyDriver<'hypervisor'>;
export type NetworkDriver = FamilyDriver<'network'>;
export type StorageDriver = FamilyDriver<'storage'>;
export type InterfaceDriver = FamilyDriver<'interface'>;
export type NodeDeviceDriver = FamilyDriver<'nodedev'>;
export type SecretDriver = FamilyDriver<'secret'>;
export type NWFilterDriver = FamilyDriver<'nwfilter'>;

/**
 * What the daemon's own drivers may ask of the secret driver beyond its public
 * calls: a secret's value, private ones included, as libvirt's drivers read it
 * under an elevated identity (virSecretGetSecretString). It is no procedure, so
 * no client reaches it.
 */
export interface SecretValues {
  secretValueFor(uuid: string): Promise<Buffer>;
}

/** The drivers one open connection talks to, by family (virConnect's driver pointers). */
export interface ConnectionDrivers {
  readonly hypervisor: HypervisorDriver;
  readonly network?: NetworkDriver;
  readonly storage?: StorageDriver;
  readonly interface?: InterfaceDriver;
  readonly nodedev?: NodeDeviceDriver;
  readonly secret?: SecretDriver;
  readonly nwfilter?: NWFilterDriver;
  /** The events of the connection's objects (domain lifecycle, ...), when the driver reports them; see events.ts. */
  readonly events?: EventSource;
  /**
   * Tells of the connection ending by itself, with virConnectCloseReason (a daemon
   * that hung up or stopped answering keepalive); returns the unsubscribe. Local
   * drivers never end that way and leave it out.
   */
  readonly onClose?: (listener: (reason: CloseReason) => void) => () => void;
  /**
   * Runs `fn` as one look at the domains: its state-only calls (state, activity,
   * persistence) answer from what the look read, as a daemon answers a command's
   * calls from memory, instead of re-checking each time what other processes
   * changed. An embedded driver that re-reads its folders per call offers it.
   */
  readonly readView?: <T>(fn: () => Promise<T>) => Promise<T>;
  /**
   * A shared family the connection opens when a call first needs it (an embedded
   * connection); absent for the families already present above.
   */
  readonly openFamily?: (family: Exclude<DriverFamily, 'hypervisor'>) => Promise<FamilyDriver<Exclude<DriverFamily, 'hypervisor'>> | undefined>;
  /** virConnectClose: releases what the connection holds. */
  close(): Promise<void>;
}
