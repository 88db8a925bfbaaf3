// Storage Pool and Storage Volume commands (pool-*, vol-*).
import { StoragePool, StorageVolume } from '../../api/handles.js';
import type { StoragePoolInfo, StoragePoolRef, StorageVolRef } from '../../api/types.js';
import { escapeXml, formatXml, parseXml } from '../../util/xml.js';
import { CommandError, attempt } from '../errors.js';
import { editCycle, inactiveXml } from '../edit.js';
import { readInputFile } from '../files.js';
import { optPool, optVolume } from '../lookup.js';
import { byName } from '../order.js';
import { parseScaledBigInt, ScaleError, type Handler, type Invocation, type Shell } from '../shell.js';
import { formatTable } from '../table.js';
import { dumpXml } from './domain.js';
import { prettyCapacity } from './domain-monitor.js';

const POOL_STATES = ['inactive', 'building', 'running', 'degraded', 'inaccessible'];
const VOL_TYPES = ['file', 'block', 'dir', 'network', 'netdir', 'ploop'];
/** virStoragePoolType names in enum order, with their VIR_CONNECT_LIST_STORAGE_POOLS_* bit. */
const POOL_TYPE_FLAGS: Record<string, number> = {
  dir: 1 << 6, fs: 1 << 7, netfs: 1 << 8, logical: 1 << 9, disk: 1 << 10, iscsi: 1 << 11, 'iscsi-direct': 1 << 19,
  scsi: 1 << 12, mpath: 1 << 13, rbd: 1 << 14, sheepdog: 1 << 15, gluster: 1 << 16, zfs: 1 << 17, vstorage: 1 << 18,
};

const pretty2 = (bytes: number) => {
  const p = prettyCapacity(bytes);
  return `${p.value.toFixed(2)} ${p.unit}`;
};

const poolOf = (ctl: Shell, pool: StoragePoolRef) => new StoragePool(ctl.c, pool);

const poolList: Handler = async (ctl, cmd) => {
  const details = cmd.bool('details');
  cmd.exclusive('all', 'inactive');
  let flags = 2;
  if (cmd.bool('inactive')) flags = 1;
  if (cmd.bool('all')) flags = 3;
  if (cmd.bool('autostart')) flags |= 16;
  if (cmd.bool('no-autostart')) flags |= 32;
  if (cmd.bool('persistent')) flags |= 4;
  if (cmd.bool('transient')) flags |= 8;
  const uuid = cmd.bool('uuid');
  const name = cmd.bool('name');
  const type = cmd.string('type');
  cmd.exclusive('details', 'uuid');
  cmd.exclusive('details', 'name');
  if (type !== undefined) {
    for (const t of type.split(',')) {
      const bit = POOL_TYPE_FLAGS[t];
      if (bit === undefined) throw new CommandError([`Invalid pool type '${t}'`]);
      flags |= bit;
    }
  }
  const pools = byName(await attempt('Failed to list pools', ctl.c.invoke('connectListAllStoragePools', { need_results: 1, flags }).then((r) => r.pools)));
  const rows: string[][] = [];
  for (const pool of pools) {
    const autostart = await poolOf(ctl, pool).getAutostart().then(
      (a) => (a ? 'yes' : 'no'),
      () => 'no autostart',
    );
    let persistent = '';
    if (details) {
      persistent = await poolOf(ctl, pool).isPersistent().then(
        (p) => (p ? 'yes' : 'no'),
        () => 'unknown',
      );
    }
    let info: StoragePoolInfo | undefined;
    try {
      info = await poolOf(ctl, pool).getInfo();
    } catch {
      ctl.error('Could not retrieve pool information');
    }
    if (!details) {
      const state = info === undefined ? 'unknown' : (await poolOf(ctl, pool).isActive()) ? 'active' : 'inactive';
      rows.push([pool.name, state, autostart]);
      continue;
    }
    if (!info) {
      rows.push([pool.name, 'unknown', autostart, persistent, 'unknown', 'unknown', 'unknown']);
      continue;
    }
    const sized = info.state === 2 || info.state === 3;
    rows.push([
      pool.name,
      POOL_STATES[info.state] ?? 'unknown',
      autostart,
      persistent,
      sized ? pretty2(info.capacity) : '-',
      sized ? pretty2(info.allocation) : '-',
      sized ? pretty2(info.available) : '-',
    ]);
  }
  if (!details && (uuid || name)) {
    for (const pool of pools) {
      if (uuid) ctl.print(`${pool.uuid.padEnd(36)}${name ? ' ' : '\n'}`);
      if (name) ctl.print(`${pool.name.padEnd(20)}\n`);
    }
    return;
  }
  const header = details ? ['Name', 'State', 'Autostart', 'Persistent', 'Capacity', 'Allocation', 'Available'] : ['Name', 'State', 'Autostart'];
  ctl.print(formatTable(header, rows, !ctl.quiet));
};

const poolInfo: Handler = async (ctl, cmd) => {
  const { pool } = await optPool(ctl, cmd);
  const line = (label: string, value: string) => ctl.print(`${label.padEnd(15)} ${value}\n`);
  line('Name:', pool.name);
  line('UUID:', pool.uuid);
  const info = await poolOf(ctl, pool).getInfo();
  line('State:', POOL_STATES[info.state] ?? 'unknown');
  const persistent = await poolOf(ctl, pool).isPersistent().catch(() => undefined);
  line('Persistent:', persistent === undefined ? 'unknown' : persistent ? 'yes' : 'no');
  const autostart = await poolOf(ctl, pool).getAutostart().catch(() => undefined);
  line('Autostart:', autostart === undefined ? 'no autostart' : autostart ? 'yes' : 'no');
  if (info.state === 2 || info.state === 3) {
    const fmt = cmd.bool('bytes') ? String : pretty2;
    line('Capacity:', fmt(info.capacity));
    line('Allocation:', fmt(info.allocation));
    line('Available:', fmt(info.available));
  }
};

const poolDumpxml: Handler = async (ctl, cmd) => {
  const { pool } = await optPool(ctl, cmd);
  const xml = await poolOf(ctl, pool).getXMLDesc(cmd.bool('inactive') ? 1 : 0);
  dumpXml(ctl, xml, cmd.opts.find((o) => o.def.name === 'xpath')?.value || undefined, cmd.bool('wrap'));
};

const poolUuid: Handler = async (ctl, cmd) => {
  const { pool } = await optPool(ctl, cmd, 'pool', { name: true });
  ctl.print(`${pool.uuid}\n`);
};

const poolName: Handler = async (ctl, cmd) => {
  const { pool } = await optPool(ctl, cmd, 'pool', { uuid: true });
  ctl.print(`${pool.name}\n`);
};

/** virConnectFindStoragePoolSources with virsh's failure line. */
async function findSources(ctl: Shell, type: string, srcSpec: string | null): Promise<void> {
  const { xml } = await attempt(`Failed to find any ${type} pool sources`, ctl.c.invoke('connectFindStoragePoolSources', { type, srcSpec, flags: 0 }));
  ctl.print(xml);
}

const findPoolSources: Handler = async (ctl, cmd) => {
  const type = cmd.required('type');
  const file = cmd.string('srcSpec');
  await findSources(ctl, type, file === undefined ? null : readInputFile(file));
};

/** find-storage-pool-sources-as: the <source> document its --host, --port and --initiator describe. */
const findPoolSourcesAs: Handler = async (ctl, cmd) => {
  const type = cmd.required('type');
  const host = cmd.string('host');
  const port = cmd.string('port');
  const initiator = cmd.string('initiator');
  let spec: string | null = null;
  if (host !== undefined) {
    spec = `<source>\n  <host name='${host}'${port !== undefined ? ` port='${port}'` : ''}/>\n`;
    if (initiator !== undefined) spec += `  <initiator>\n    <iqn name='${initiator}'/>\n  </initiator>\n`;
    spec += '</source>\n';
  }
  await findSources(ctl, type, spec);
};

/** pool-define / pool-create from a file. */
function poolFromFile(call: 'defineStoragePool' | 'createStoragePool', verb: string, done: string, flagsOf: (cmd: Invocation) => number): Handler {
  return async (ctl, cmd) => {
    const file = cmd.required('file');
    const xml = readInputFile(file);
    const pool = await attempt(`Failed to ${verb} pool from ${file}`, ctl.c[call](xml, flagsOf(cmd)));
    ctl.printExtra(`Pool ${pool.name} ${done} from ${file}\n`);
  };
}

function buildFlags(cmd: Invocation): number {
  cmd.exclusive('overwrite', 'no-overwrite');
  let flags = 0;
  // VIR_STORAGE_POOL_CREATE_WITH_BUILD 1, _WITH_BUILD_OVERWRITE 2, _WITH_BUILD_NO_OVERWRITE 4
  if (cmd.bool('build')) flags |= 1;
  if (cmd.bool('overwrite')) flags |= 2;
  if (cmd.bool('no-overwrite')) flags |= 4;
  return flags;
}

/** virshBuildPoolXML: the pool document pool-define-as / pool-create-as describe. */
function poolXmlFromOptions(cmd: Invocation): { name: string; xml: string } {
  cmd.exclusive('secret-usage', 'secret-uuid');
  const opt = (n: string) => {
    const v = cmd.string(n);
    return v === undefined ? undefined : escapeXml(v);
  };
  const name = cmd.required('name');
  const type = cmd.required('type');
  const [host, path, dev, initiator, format, srcName] = ['source-host', 'source-path', 'source-dev', 'source-initiator', 'source-format', 'source-name'].map(opt);
  const [wwnn, wwpn, adapterName, parent, parentWwnn, parentWwpn, parentFabric] = ['adapter-wwnn', 'adapter-wwpn', 'adapter-name', 'adapter-parent', 'adapter-parent-wwnn', 'adapter-parent-wwpn', 'adapter-parent-fabric-wwn'].map(opt);
  const [authType, authUser, secretUsage, secretUuid, protoVer, target] = ['auth-type', 'auth-username', 'secret-usage', 'secret-uuid', 'source-protocol-ver', 'target'].map(opt);
  const lines = [`<pool type='${escapeXml(type)}'>`, `  <name>${escapeXml(name)}</name>`];
  if (host || path || dev || initiator || format || srcName || (wwnn && wwpn) || adapterName) {
    lines.push('  <source>');
    if (host) lines.push(`    <host name='${host}'/>`);
    if (path) lines.push(`    <dir path='${path}'/>`);
    if (dev) lines.push(`    <device path='${dev}'/>`);
    if (initiator) lines.push('    <initiator>', `      <iqn name='${initiator}'/>`, '    </initiator>');
    if (wwnn && wwpn) {
      let parentAttr = '';
      if (parent) parentAttr = ` parent='${parent}'`;
      else if (parentWwnn && parentWwpn) parentAttr = ` parent_wwnn='${parentWwnn}' parent_wwpn='${parentWwpn}'`;
      else if (parentFabric) parentAttr = ` parent_fabric_wwn='${parentFabric}'`;
      lines.push(`    <adapter type='fc_host'${parentAttr} wwnn='${wwnn}' wwpn='${wwpn}'/>`);
    } else if (adapterName) {
      lines.push(`    <adapter type='scsi_host' name='${adapterName}'/>`);
    }
    if (authType && authUser && (secretUsage || secretUuid)) {
      lines.push(`    <auth type='${authType}' username='${authUser}'>`);
      lines.push(secretUsage ? `      <secret usage='${secretUsage}'/>` : `      <secret uuid='${secretUuid}'/>`);
      lines.push('    </auth>');
    }
    if (format) lines.push(`    <format type='${format}'/>`);
    if (srcName) lines.push(`    <name>${srcName}</name>`);
    if (protoVer) lines.push(`    <protocol ver='${protoVer}'/>`);
    lines.push('  </source>');
  }
  if (target) lines.push('  <target>', `    <path>${target}</path>`, '  </target>');
  lines.push('</pool>');
  return { name, xml: lines.join('\n') + '\n' };
}

function poolFromOptions(call: 'defineStoragePool' | 'createStoragePool', verb: string, done: string, flagsOf: (cmd: Invocation) => number): Handler {
  return async (ctl, cmd) => {
    const { name, xml } = poolXmlFromOptions(cmd);
    if (cmd.bool('print-xml')) {
      ctl.print(xml);
      return;
    }
    await attempt(`Failed to ${verb} pool ${name}`, ctl.c[call](xml, flagsOf(cmd)));
    ctl.printExtra(`Pool ${name} ${done}\n`);
  };
}

/** Commands acting on one pool: "Pool X <done>" or "Failed to <verb> pool X". */
function poolAction(verb: string, done: string, call: (ctl: Shell, pool: StoragePoolRef, cmd: Invocation) => Promise<unknown>): Handler {
  return async (ctl, cmd) => {
    const { pool, name } = await optPool(ctl, cmd);
    await attempt(`Failed to ${verb} pool ${name}`, call(ctl, pool, cmd));
    ctl.printExtra(`Pool ${name} ${done}\n`);
  };
}

const poolAutostart: Handler = async (ctl, cmd) => {
  const { pool, name } = await optPool(ctl, cmd);
  const on = !cmd.bool('disable');
  await attempt(on ? `failed to mark pool ${name} as autostarted` : `failed to unmark pool ${name} as autostarted`, poolOf(ctl, pool).setAutostart(on));
  ctl.printExtra(on ? `Pool ${name} marked as autostarted\n` : `Pool ${name} unmarked as autostarted\n`);
};

/** virshVolSize: bytes with an optional unit suffix. */
function volSize(text: string): bigint {
  try {
    return parseScaledBigInt(text, 1);
  } catch (e) {
    throw new CommandError([`Malformed size ${text}`], e instanceof ScaleError ? e.reason : undefined);
  }
}

const volOf = (ctl: Shell, vol: StorageVolRef) => new StorageVolume(ctl.c, vol);

const volList: Handler = async (ctl, cmd) => {
  const { pool } = await optPool(ctl, cmd);
  const vols = byName(await attempt('Failed to list volumes', ctl.c.invoke('storagePoolListAllVolumes', { pool, need_results: 1, flags: 0 }).then((r) => r.vols)));
  const details = cmd.bool('details');
  const rows: string[][] = [];
  for (const vol of vols) {
    const path = await volOf(ctl, vol).getPath().catch(() => 'unknown');
    if (!details) {
      rows.push([vol.name, path]);
      continue;
    }
    const info = await volOf(ctl, vol).getInfo().catch(() => undefined);
    rows.push(info ? [vol.name, path, VOL_TYPES[info.type] ?? 'unknown', pretty2(info.capacity), pretty2(info.allocation)] : [vol.name, path, 'unknown', 'unknown', 'unknown']);
  }
  ctl.print(formatTable(details ? ['Name', 'Path', 'Type', 'Capacity', 'Allocation'] : ['Name', 'Path'], rows, !ctl.quiet));
};

const volInfo: Handler = async (ctl, cmd) => {
  const { vol } = await optVolume(ctl, cmd);
  ctl.print(`${'Name:'.padEnd(15)} ${vol.name}\n`);
  const physical = cmd.bool('physical');
  const info = await volOf(ctl, vol).getInfo(physical ? 1 : 0);
  ctl.print(`${'Type:'.padEnd(15)} ${VOL_TYPES[info.type] ?? 'unknown'}\n`);
  const allocLabel = physical ? 'Physical:' : 'Allocation:';
  if (cmd.bool('bytes')) {
    ctl.print(`${'Capacity:'.padEnd(15)} ${info.capacity} bytes\n${allocLabel.padEnd(15)} ${info.allocation} bytes\n`);
  } else {
    ctl.print(`${'Capacity:'.padEnd(15)} ${pretty2(info.capacity)}\n${allocLabel.padEnd(15)} ${pretty2(info.allocation)}\n`);
  }
};

const volCreateAs: Handler = async (ctl, cmd) => {
  const flags = cmd.bool('prealloc-metadata') ? 1 : 0;
  const { pool } = await optPool(ctl, cmd);
  const name = cmd.required('name');
  const capacity = volSize(cmd.required('capacity'));
  const allocationText = cmd.string('allocation');
  const allocation = allocationText === undefined ? undefined : volSize(allocationText);
  const format = cmd.string('format');
  const backing = cmd.string('backing-vol');
  const backingFormat = cmd.string('backing-vol-format');
  let xml = `<volume>\n  <name>${name}</name>\n  <capacity>${capacity}</capacity>\n`;
  if (allocation !== undefined) xml += `  <allocation>${allocation}</allocation>\n`;
  if (format) xml += `  <target>\n    <format type='${format}'/>\n  </target>\n`;
  if (backing) {
    const tries = [
      async () => (await ctl.c.invoke('storageVolLookupByName', { pool, name: backing })).vol,
      async () => (await ctl.c.invoke('storageVolLookupByKey', { key: backing })).vol,
      async () => (await ctl.c.invoke('storageVolLookupByPath', { path: backing })).vol,
    ];
    let found: StorageVolRef | undefined;
    for (const t of tries) if (!found) found = await t().catch(() => undefined);
    if (!found) throw new CommandError([`failed to get vol '${backing}'`]);
    const path = await volOf(ctl, found).getPath();
    xml += `  <backingStore>\n    <path>${path}</path>\n`;
    if (backingFormat) xml += `    <format type='${backingFormat}'/>\n`;
    xml += '  </backingStore>\n';
  }
  xml += '</volume>\n';
  if (cmd.bool('print-xml')) {
    ctl.print(xml);
    return;
  }
  await attempt(`Failed to create vol ${name}`, poolOf(ctl, pool).createVolume(xml, flags));
  ctl.printExtra(`Vol ${name} created\n`);
};

const volCreate: Handler = async (ctl, cmd) => {
  const { pool } = await optPool(ctl, cmd);
  const file = cmd.required('file');
  let flags = 0;
  if (cmd.bool('prealloc-metadata')) flags |= 1;
  if (cmd.bool('validate')) flags |= 4;
  const xml = readInputFile(file);
  const vol = await attempt(`Failed to create vol from ${file}`, poolOf(ctl, pool).createVolume(xml, flags));
  ctl.printExtra(`Vol ${vol.name} created from ${file}\n`);
};

const volClone: Handler = async (ctl, cmd) => {
  const { vol } = await optVolume(ctl, cmd);
  let flags = 0;
  if (cmd.bool('prealloc-metadata')) flags |= 1;
  if (cmd.bool('reflink')) flags |= 2;
  const pool = await volOf(ctl, vol).pool().catch(() => undefined);
  if (!pool) throw new CommandError(['failed to get parent pool']);
  const newName = cmd.required('newname');
  const doc = parseXml(await volOf(ctl, vol).getXMLDesc());
  const nameEl = doc.children.find((c) => c.name === 'name');
  if (nameEl) nameEl.text = newName;
  const xml = formatXml(doc);
  if (cmd.bool('print-xml')) {
    ctl.print(xml);
    return;
  }
  const created = await attempt(`Failed to clone vol from ${vol.name}`, pool.cloneVolume(xml, volOf(ctl, vol), flags));
  ctl.printExtra(`Vol ${created.name} cloned from ${vol.name}\n`);
};

const volCreateFrom: Handler = async (ctl, cmd) => {
  const { pool } = await optPool(ctl, cmd);
  let flags = 0;
  if (cmd.bool('prealloc-metadata')) flags |= 1;
  if (cmd.bool('reflink')) flags |= 2;
  if (cmd.bool('validate')) flags |= 4;
  const file = cmd.required('file');
  const { vol: input } = await optVolume(ctl, cmd, 'vol', 'inputpool');
  const xml = readInputFile(file);
  const created = await attempt(`Failed to create vol from ${file}`, poolOf(ctl, pool).cloneVolume(xml, volOf(ctl, input), flags));
  ctl.printExtra(`Vol ${created.name} created from input vol ${input.name}\n`);
};

/** virStorageVolWipeAlgorithm names, by value. */
const WIPE_ALGORITHMS = ['zero', 'nnsa', 'dod', 'bsi', 'gutmann', 'schneier', 'pfitzner7', 'pfitzner33', 'random', 'trim'];

const volWipe: Handler = async (ctl, cmd) => {
  const { vol, name } = await optVolume(ctl, cmd);
  const algorithmName = cmd.string('algorithm');
  const algorithm = algorithmName === undefined ? undefined : WIPE_ALGORITHMS.indexOf(algorithmName);
  if (algorithm === -1) throw new CommandError([`Unsupported algorithm '${algorithmName}'`]);
  const handle = volOf(ctl, vol);
  await attempt(`Failed to wipe vol ${name}`, algorithm === undefined ? handle.wipe() : handle.wipePattern(algorithm));
  ctl.printExtra(`Vol ${name} wiped\n`);
};

const volResize: Handler = async (ctl, cmd) => {
  let flags = 0;
  let delta = cmd.bool('delta');
  if (cmd.bool('allocate')) flags |= 1;
  if (cmd.bool('shrink')) flags |= 4;
  const { vol } = await optVolume(ctl, cmd);
  let text = cmd.required('capacity').trimStart();
  if (text.startsWith('-')) {
    if (!cmd.bool('shrink')) throw new CommandError(['negative size requires --shrink']);
    text = text.slice(1);
    delta = true;
  }
  if (delta) flags |= 2;
  const capacity = volSize(text);
  const how = delta ? 'by' : 'to';
  await attempt(`Failed to change size of volume '${vol.name}' ${how} ${text}`, volOf(ctl, vol).resize(capacity, flags));
  ctl.printExtra(`Size of volume '${vol.name}' successfully changed ${how} ${text}\n`);
};

const volDelete: Handler = async (ctl, cmd) => {
  const { vol, name } = await optVolume(ctl, cmd);
  const flags = cmd.bool('delete-snapshots') ? 2 : 0;
  await attempt(`Failed to delete vol ${name}`, volOf(ctl, vol).delete(flags));
  ctl.printExtra(`Vol ${name} deleted\n`);
};

const volDumpxml: Handler = async (ctl, cmd) => {
  const { vol } = await optVolume(ctl, cmd);
  dumpXml(ctl, await volOf(ctl, vol).getXMLDesc(), cmd.opts.find((o) => o.def.name === 'xpath')?.value || undefined, cmd.bool('wrap'));
};

const volPath: Handler = async (ctl, cmd) => {
  const { vol } = await optVolume(ctl, cmd);
  ctl.print(`${await volOf(ctl, vol).getPath()}\n`);
};

const volKey: Handler = async (ctl, cmd) => {
  const { vol } = await optVolume(ctl, cmd);
  ctl.print(`${vol.key}\n`);
};

const volName: Handler = async (ctl, cmd) => {
  const { vol } = await optVolume(ctl, cmd, 'vol', null, { uuid: true });
  ctl.print(`${vol.name}\n`);
};

const volPool: Handler = async (ctl, cmd) => {
  const { vol } = await optVolume(ctl, cmd, 'vol', null, { uuid: true });
  const pool = await volOf(ctl, vol).pool().catch(() => undefined);
  if (!pool) throw new CommandError(['failed to get parent pool']);
  ctl.print(`${cmd.bool('uuid') ? pool.uuid : pool.name}\n`);
};

const poolCapabilities: Handler = async (ctl) => {
  const { capabilities: caps } = await attempt('failed to get storage pool capabilities', ctl.c.invoke('connectGetStoragePoolCapabilities', { flags: 0 }));
  ctl.print(`${caps}\n`);
};

const poolEdit: Handler = async (ctl, cmd) => {
  const { pool } = await optPool(ctl, cmd);
  let edited: StoragePoolRef | undefined;
  const changed = await editCycle(ctl, {
    get: () => inactiveXml((flags) => poolOf(ctl, pool).getXMLDesc(flags)),
    define: async (text) => {
      edited = (await ctl.c.invoke('storagePoolDefineXML', { xml: text, flags: 0 })).pool;
    },
    notChanged: `Pool ${pool.name} XML configuration not changed.\n`,
  });
  if (changed) ctl.printExtra(`Pool ${edited!.name} XML configuration edited.\n`);
};

export const handlers: Record<string, Handler> = {
  'pool-edit': poolEdit,
  'pool-capabilities': poolCapabilities,
  'find-storage-pool-sources': findPoolSources,
  'find-storage-pool-sources-as': findPoolSourcesAs,
  'pool-list': poolList,
  'pool-info': poolInfo,
  'pool-dumpxml': poolDumpxml,
  'pool-uuid': poolUuid,
  'pool-name': poolName,
  'pool-define': poolFromFile('defineStoragePool', 'define', 'defined', (cmd) => (cmd.bool('validate') ? 1 : 0)),
  'pool-create': poolFromFile('createStoragePool', 'create', 'created', buildFlags),
  'pool-define-as': poolFromOptions('defineStoragePool', 'define', 'defined', () => 0),
  'pool-create-as': poolFromOptions('createStoragePool', 'create', 'created', buildFlags),
  // VIR_STORAGE_POOL_BUILD_OVERWRITE 8, _NO_OVERWRITE 4; virsh leaves their clash to the driver
  'pool-build': poolAction('build', 'built', (ctl, pool, cmd) => poolOf(ctl, pool).build((cmd.bool('overwrite') ? 8 : 0) | (cmd.bool('no-overwrite') ? 4 : 0))),
  'pool-start': poolAction('start', 'started', (ctl, pool, cmd) => poolOf(ctl, pool).create(buildFlags(cmd))),
  'pool-destroy': poolAction('destroy', 'destroyed', (ctl, pool) => poolOf(ctl, pool).destroy()),
  'pool-delete': poolAction('delete', 'deleted', (ctl, pool) => poolOf(ctl, pool).delete()),
  'pool-undefine': poolAction('undefine', 'has been undefined', (ctl, pool) => poolOf(ctl, pool).undefine()),
  'pool-refresh': poolAction('refresh', 'refreshed', (ctl, pool) => poolOf(ctl, pool).refresh()),
  'pool-autostart': poolAutostart,
  'vol-list': volList,
  'vol-info': volInfo,
  'vol-create-as': volCreateAs,
  'vol-create': volCreate,
  'vol-clone': volClone,
  'vol-resize': volResize,
  'vol-create-from': volCreateFrom,
  'vol-wipe': volWipe,
  'vol-delete': volDelete,
  'vol-dumpxml': volDumpxml,
  'vol-path': volPath,
  'vol-key': volKey,
  'vol-name': volName,
  'vol-pool': volPool,
};

