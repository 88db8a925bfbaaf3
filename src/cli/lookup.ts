// Looking up networks, pools, volumes and interfaces from a command argument
// the way virsh does: try the allowed interpretations in order, and on failure
// report "failed to get <kind> 'X'" followed by the library's last error.
import type { InterfaceRef, NetworkRef, StoragePoolRef, StorageVolRef } from '../api/types.js';
import { CommandError } from './errors.js';
import type { Invocation, LookupBy, Shell } from './shell.js';

const UUID_LENGTH = 36;

async function firstFound<T>(attempts: (() => Promise<T>)[], message: string): Promise<T> {
  let last: unknown;
  for (const attempt of attempts) {
    try {
      return await attempt();
    } catch (e) {
      last = e;
    }
  }
  throw new CommandError([message], last);
}

async function lookupNetwork(ctl: Shell, name: string, by: LookupBy = { uuid: true, name: true }): Promise<NetworkRef> {
  const tries: (() => Promise<NetworkRef>)[] = [];
  if (by.uuid && name.length === UUID_LENGTH) tries.push(async () => (await ctl.c.invoke('networkLookupByUUID', { uuid: name })).net);
  if (by.name) tries.push(async () => (await ctl.c.invoke('networkLookupByName', { name })).net);
  return firstFound(tries, `failed to get network '${name}'`);
}

export async function optNetwork(ctl: Shell, cmd: Invocation, by?: LookupBy): Promise<{ net: NetworkRef; name: string }> {
  const name = cmd.required('network');
  return { net: await lookupNetwork(ctl, name, by), name };
}

async function lookupPool(ctl: Shell, name: string, by: LookupBy = { uuid: true, name: true }): Promise<StoragePoolRef> {
  const tries: (() => Promise<StoragePoolRef>)[] = [];
  if (by.uuid && name.length === UUID_LENGTH) tries.push(async () => (await ctl.c.invoke('storagePoolLookupByUUID', { uuid: name })).pool);
  if (by.name) tries.push(async () => (await ctl.c.invoke('storagePoolLookupByName', { name })).pool);
  return firstFound(tries, `failed to get pool '${name}'`);
}

export async function optPool(ctl: Shell, cmd: Invocation, option = 'pool', by?: LookupBy): Promise<{ pool: StoragePoolRef; name: string }> {
  const name = cmd.required(option);
  return { pool: await lookupPool(ctl, name, by), name };
}

/** virshCommandOptVolBy: by name within --pool, then by key, then by path. */
export async function optVolume(
  ctl: Shell,
  cmd: Invocation,
  option = 'vol',
  poolOption: string | null = 'pool',
  by: LookupBy = { uuid: true, name: true },
): Promise<{ vol: StorageVolRef; name: string }> {
  const name = cmd.required(option);
  const poolName = poolOption ? cmd.string(poolOption) : undefined;
  let pool: StoragePoolRef | undefined;
  if (poolName !== undefined) {
    pool = await lookupPool(ctl, poolName, by);
    if (!(await ctl.c.invoke('storagePoolIsActive', { pool })).active) throw new CommandError([`pool '${poolName}' is not active`]);
  }
  const tries: (() => Promise<StorageVolRef>)[] = [];
  if (pool && by.name) tries.push(async () => (await ctl.c.invoke('storageVolLookupByName', { pool, name })).vol);
  if (by.uuid) {
    tries.push(async () => (await ctl.c.invoke('storageVolLookupByKey', { key: name })).vol);
    tries.push(async () => (await ctl.c.invoke('storageVolLookupByPath', { path: name })).vol);
  }
  const message = pool || !poolOption ? `failed to get vol '${name}'` : `failed to get vol '${name}', specifying --${poolOption} might help`;
  const vol = await firstFound(tries, message);
  if (pool) {
    const owner = await ctl.c.invoke('storagePoolLookupByVolume', { vol }).then((r) => r.pool, () => undefined);
    if (owner && owner.name !== pool.name) throw new CommandError([`Requested volume '${name}' is not in pool '${pool.name}'`]);
  }
  return { vol, name };
}

/** virshCommandOptInterfaceBy: by MAC when the text looks like one, else by name. */
export async function optInterface(ctl: Shell, cmd: Invocation, option = 'interface', by: { name?: boolean; mac?: boolean } = { name: true, mac: true }): Promise<{ iface: InterfaceRef; name: string }> {
  const name = cmd.required(option);
  const looksLikeMac = /^([0-9a-fA-F]{1,2}[:-]){5}[0-9a-fA-F]{1,2}$/.test(name);
  const tries: (() => Promise<InterfaceRef>)[] = [];
  if (by.name && !looksLikeMac) tries.push(async () => (await ctl.c.invoke('interfaceLookupByName', { name })).iface);
  if (by.mac && looksLikeMac) tries.push(async () => (await ctl.c.invoke('interfaceLookupByMACString', { mac: name })).iface);
  return { iface: await firstFound(tries, `failed to get interface '${name}'`), name };
}
