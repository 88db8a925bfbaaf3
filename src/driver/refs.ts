// The protocol's object references (virDomainPtr, virNetworkPtr, ...) as calls carry
// them, named once for the API and every driver.
import type { ProcRet } from './procedures.js';

/** virDomainPtr's identity: id is -1 while the domain is inactive. */
export type DomainRef = ProcRet<'domainLookupByName'>['dom'];
/** virNetworkPtr */
export type NetworkRef = ProcRet<'networkLookupByName'>['net'];
/** virStoragePoolPtr */
export type StoragePoolRef = ProcRet<'storagePoolLookupByName'>['pool'];
/** virStorageVolPtr: name within its pool, globally unique key */
export type StorageVolRef = ProcRet<'storageVolLookupByName'>['vol'];
/** virInterfacePtr */
export type InterfaceRef = ProcRet<'interfaceLookupByName'>['iface'];
/** virDomainSnapshotPtr: its name and its domain */
export type SnapshotRef = ProcRet<'domainSnapshotLookupByName'>['snap'];
/** virDomainCheckpointPtr: its name and its domain */
export type CheckpointRef = ProcRet<'domainCheckpointLookupByName'>['checkpoint'];
/** virNodeDevicePtr: known by name only */
export type NodeDeviceRef = ProcRet<'nodeDeviceLookupByName'>['dev'];
/** virSecretPtr */
export type SecretRef = ProcRet<'secretLookupByUUID'>['secret'];
/** virNWFilterPtr */
export type NWFilterRef = ProcRet<'nwfilterLookupByName'>['nwfilter'];
