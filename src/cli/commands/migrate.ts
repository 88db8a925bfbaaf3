// migrate itself and the migration tunables of a domain: migrate-setmaxdowntime/
// getmaxdowntime, migrate-setspeed/getspeed, migrate-compcache and
// migrate-postcopy, as virsh reads their options and prints their answers.
import { connect, type Connection, type Domain } from '../../api/connection.js';
import { MigrateFlags, MigrateParam } from '../../api/migrate.js';
import { typedParam, type TypedParam } from '../../api/types.js';
import { CommandError } from '../errors.js';
import { readInputFile } from '../files.js';
import { watchJob } from '../job-watch.js';
import type { Handler, Invocation } from '../shell.js';
import { prettyCapacity } from './domain-monitor.js';

/** VIR_DOMAIN_MIGRATE_MAX_SPEED_POSTCOPY */
const MAX_SPEED_POSTCOPY = 1 << 0;

const speedFlags = (postcopy: boolean) => (postcopy ? MAX_SPEED_POSTCOPY : 0);

/** migrate's boolean options and the VIR_MIGRATE_* flag each sets. */
const FLAG_OPTIONS: ReadonlyArray<readonly [string, MigrateFlags]> = [
  ['live', MigrateFlags.LIVE],
  ['p2p', MigrateFlags.PEER2PEER],
  ['tunnelled', MigrateFlags.TUNNELLED],
  ['persistent', MigrateFlags.PERSIST_DEST],
  ['undefinesource', MigrateFlags.UNDEFINE_SOURCE],
  ['suspend', MigrateFlags.PAUSED],
  ['copy-storage-all', MigrateFlags.NON_SHARED_DISK],
  ['copy-storage-inc', MigrateFlags.NON_SHARED_INC],
  ['copy-storage-synchronous-writes', MigrateFlags.NON_SHARED_SYNCHRONOUS_WRITES],
  ['change-protection', MigrateFlags.CHANGE_PROTECTION],
  ['unsafe', MigrateFlags.UNSAFE],
  ['compressed', MigrateFlags.COMPRESSED],
  ['auto-converge', MigrateFlags.AUTO_CONVERGE],
  ['rdma-pin-all', MigrateFlags.RDMA_PIN_ALL],
  ['offline', MigrateFlags.OFFLINE],
  ['abort-on-error', MigrateFlags.ABORT_ON_ERROR],
  ['postcopy', MigrateFlags.POSTCOPY],
  ['postcopy-resume', MigrateFlags.POSTCOPY_RESUME],
  ['zerocopy', MigrateFlags.ZEROCOPY],
  ['tls', MigrateFlags.TLS],
  ['parallel', MigrateFlags.PARALLEL],
];

const INT_MAX = 2 ** 31 - 1;

/** The typed parameters migrate's valued options make (doMigrate), in virsh's order. */
function migrateParams(cmd: Invocation): TypedParam[] {
  const params: TypedParam[] = [];
  const addString = (option: string, field: string) => {
    const v = cmd.string(option);
    if (v !== undefined) params.push(typedParam.string(field, v));
  };
  const addInt = (option: string, field: string) => {
    const v = cmd.number(option, -INT_MAX - 1, INT_MAX);
    if (v !== undefined) params.push(typedParam.int(field, v));
  };
  const addULLong = (option: string, field: string) => {
    const v = cmd.unsigned64(option);
    if (v !== undefined) params.push(typedParam.ullong(field, v));
  };
  const addList = (option: string, field: string) => {
    const v = cmd.string(option);
    if (v !== undefined) for (const item of v.split(',')) params.push(typedParam.string(field, item));
  };
  const addFile = (option: string, field: string) => {
    const path = cmd.string(option);
    if (path === undefined) return;
    try {
      params.push(typedParam.string(field, readInputFile(path)));
    } catch (e) {
      throw new CommandError([`cannot read file '${path}'`], e);
    }
  };
  addString('migrateuri', MigrateParam.URI);
  addString('graphicsuri', MigrateParam.GRAPHICS_URI);
  addString('listen-address', MigrateParam.LISTEN_ADDRESS);
  // virsh adds the disks port only when it is not 0
  const disksPort = cmd.number('disks-port', -INT_MAX - 1, INT_MAX);
  if (disksPort) params.push(typedParam.int(MigrateParam.DISKS_PORT, disksPort));
  addString('disks-uri', MigrateParam.DISKS_URI);
  addString('dname', MigrateParam.DEST_NAME);
  addList('migrate-disks', MigrateParam.MIGRATE_DISKS);
  addList('comp-methods', MigrateParam.COMPRESSION);
  addInt('comp-mt-level', MigrateParam.COMPRESSION_MT_LEVEL);
  addInt('comp-mt-threads', MigrateParam.COMPRESSION_MT_THREADS);
  addInt('comp-mt-dthreads', MigrateParam.COMPRESSION_MT_DTHREADS);
  addULLong('comp-xbzrle-cache', MigrateParam.COMPRESSION_XBZRLE_CACHE);
  addFile('xml', MigrateParam.DEST_XML);
  addFile('persistent-xml', MigrateParam.PERSIST_XML);
  addInt('auto-converge-initial', MigrateParam.AUTO_CONVERGE_INITIAL);
  addInt('auto-converge-increment', MigrateParam.AUTO_CONVERGE_INCREMENT);
  addULLong('postcopy-bandwidth', MigrateParam.BANDWIDTH_POSTCOPY);
  addInt('parallel-connections', MigrateParam.PARALLEL_CONNECTIONS);
  addULLong('bandwidth', MigrateParam.BANDWIDTH);
  addString('tls-destination', MigrateParam.TLS_DESTINATION);
  return params;
}

function migrateFlags(cmd: Invocation): number {
  if (cmd.bool('copy-storage-synchronous-writes') && !cmd.bool('copy-storage-all') && !cmd.bool('copy-storage-inc')) {
    throw new CommandError(["'--copy-storage-synchronous-writes' requires one of '--copy-storage-all', 'copy-storage-inc'"]);
  }
  return FLAG_OPTIONS.reduce((flags, [option, flag]) => (cmd.bool(option) ? flags | flag : flags), 0);
}

/** What virsh does when a live migration outlives --timeout: suspend the guest or switch to post-copy. */
function timeoutAction(cmd: Invocation, dom: Domain): () => Promise<unknown> {
  if (cmd.bool('timeout-postcopy')) return () => dom.connection.invoke('domainMigrateStartPostCopy', { dom: dom.ref, flags: 0 });
  return () => dom.suspend();
}

/** cmdMigrate: peer-to-peer and direct migrations are the source's to make; otherwise tsvirsh drives both daemons. */
const migrate: Handler = async (ctl, cmd) => {
  cmd.exclusive('live', 'offline');
  cmd.exclusive('timeout-suspend', 'timeout-postcopy');
  cmd.requireOption('postcopy-after-precopy', 'postcopy');
  cmd.requireOption('postcopy-resume', 'postcopy');
  cmd.requireOption('timeout-postcopy', 'postcopy');
  cmd.requireOption('persistent-xml', 'persistent');
  cmd.requireOption('tls-destination', 'tls');
  const { dom } = await ctl.domain(cmd);
  const timeout = cmd.number('timeout', 0, 2 ** 32 - 1) ?? 0;
  if (timeout > 0 && !cmd.bool('live')) throw new CommandError(['migrate: Unexpected timeout for offline migration']);
  if (timeout === 0 && (cmd.bool('timeout-suspend') || cmd.bool('timeout-postcopy'))) {
    throw new CommandError(['migrate: Unexpected --timeout-* option without --timeout']);
  }
  const desturi = cmd.required('desturi');
  const unmanaged = cmd.bool('p2p') || cmd.bool('direct');
  let dest: Connection | undefined;
  if (!unmanaged) dest = await connect(desturi);
  try {
    const params = migrateParams(cmd);
    const flags = migrateFlags(cmd);
    const job: Promise<unknown> = dest ? dom.migrate3(dest, params, flags) : dom.migrateToURI3(desturi, params, flags);
    await watchJob(ctl, dom, job, { label: 'Migration', verbose: cmd.bool('verbose'), timeoutSecs: timeout, onTimeout: timeoutAction(cmd, dom) });
  } finally {
    await dest?.close();
  }
};

const setMaxDowntime: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const downtime = cmd.unsigned64('downtime') ?? 0n;
  if (downtime < 1n) throw new CommandError(['migrate: Invalid downtime']);
  await dom.connection.invoke('domainMigrateSetMaxDowntime', { dom: dom.ref, downtime, flags: 0 });
};

const getMaxDowntime: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const { downtime } = await dom.connection.invoke('domainMigrateGetMaxDowntime', { dom: dom.ref, flags: 0 });
  ctl.print(`${downtime}\n`);
};

const compCache: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const size = cmd.unsigned64('size');
  if (size !== undefined) await dom.connection.invoke('domainMigrateSetCompressionCache', { dom: dom.ref, cacheSize: size, flags: 0 });
  const { cacheSize } = await dom.connection.invoke('domainMigrateGetCompressionCache', { dom: dom.ref, flags: 0 });
  const pretty = prettyCapacity(Number(cacheSize));
  ctl.print(`Compression cache: ${pretty.value.toFixed(3)} ${pretty.unit}`);
};

const setSpeed: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  // an unsigned long in virsh: "-1" wraps to its largest value
  const bandwidth = cmd.unsigned64('bandwidth', true) ?? 0n;
  await dom.connection.invoke('domainMigrateSetMaxSpeed', { dom: dom.ref, bandwidth, flags: speedFlags(cmd.bool('postcopy')) });
};

const getSpeed: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const { bandwidth } = await dom.connection.invoke('domainMigrateGetMaxSpeed', { dom: dom.ref, flags: speedFlags(cmd.bool('postcopy')) });
  ctl.print(`${bandwidth}\n`);
};

const postCopy: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  await dom.connection.invoke('domainMigrateStartPostCopy', { dom: dom.ref, flags: 0 });
};

export const handlers: Record<string, Handler> = {
  migrate,
  'migrate-setmaxdowntime': setMaxDowntime,
  'migrate-getmaxdowntime': getMaxDowntime,
  'migrate-compcache': compCache,
  'migrate-setspeed': setSpeed,
  'migrate-getspeed': getSpeed,
  'migrate-postcopy': postCopy,
};
