// tsvirt's public library entry point.
export { connect, Connection, Domain, LIBRARY_VERSION } from './api/connection.js';
export type { CallArgs, ConnectOptions } from './api/connection.js';
export { DomainSnapshot, HostInterface, Network, StoragePool, StorageVolume } from './api/handles.js';
export * from './api/types.js';
export { MigrateParam } from './api/migrate.js';
export { VirError, ErrorCode, ErrorDomain } from './util/error.js';
