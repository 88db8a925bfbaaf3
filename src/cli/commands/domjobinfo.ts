// domjobinfo: a domain's job as virsh's cmdDomjobinfo prints it, from the job
// statistics (virDomainGetJobStats), or the older job info where the server
// has no statistics.
import { TypedParamType, typedParamValue, type TypedParam } from '../../api/types.js';
import { ErrorCode } from '../../util/error.js';
import { CommandError } from '../errors.js';
import type { Handler } from '../shell.js';
import { prettyCapacity } from './domain-monitor.js';

/** virDomainJobType as virsh names it */
const JOB_TYPES = ['None', 'Bounded', 'Unbounded', 'Completed', 'Failed', 'Cancelled'];
/** virDomainJobOperation as virsh names it */
const OPERATIONS = ['Unknown', 'Start', 'Save', 'Restore', 'Incoming migration', 'Outgoing migration', 'Snapshot', 'Snapshot revert', 'Dump', 'Backup', 'Snapshot delete'];
const JOB_BOUNDED = 1;
const JOB_UNBOUNDED = 2;
const JOB_COMPLETED = 3;
/** VIR_DOMAIN_JOB_STATS_COMPLETED, VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED */
const STATS_COMPLETED = 1;
const STATS_KEEP_COMPLETED = 2;

/** virDomainJobInfo's figures, by the statistics field each comes from */
const INFO_FIELDS = {
  timeElapsed: 'time_elapsed', timeRemaining: 'time_remaining',
  dataTotal: 'data_total', dataProcessed: 'data_processed', dataRemaining: 'data_remaining',
  memTotal: 'memory_total', memProcessed: 'memory_processed', memRemaining: 'memory_remaining',
  fileTotal: 'disk_total', fileProcessed: 'disk_processed', fileRemaining: 'disk_remaining',
} as const;
type JobInfo = Record<keyof typeof INFO_FIELDS, bigint>;

/** virTypedParameterToString, for --rawstats: booleans as 1/0, doubles as %g */
function rawText(p: TypedParam): string {
  const v = typedParamValue(p);
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number' && p.value.type === TypedParamType.DOUBLE) return String(Number(v.toPrecision(6)));
  return String(v);
}

/** One statistic as a number (unsigned long long or int fields), if the server sent it. */
function numberOf(params: readonly TypedParam[], field: string): bigint | undefined {
  const v = params.find((p) => p.field === field)?.value;
  if (v?.type === TypedParamType.ULLONG) return v.ul;
  if (v?.type === TypedParamType.INT) return BigInt(v.i);
  return undefined;
}

const label = (text: string) => text.padEnd(17);
const size = (bytes: bigint) => {
  const { value, unit } = prettyCapacity(Number(bytes));
  return `${value.toFixed(3)} ${unit}`;
};

/** The lines after "Operation:" for a running job (or any, with --anystats), in virsh's order. */
function statisticsLines(type: number, info: JobInfo, params: readonly TypedParam[]): string[] {
  const lines: string[] = [];
  const stat = (field: string) => numberOf(params, field);
  /** "%-17s %-Wllu SUFFIX" (padding kept) when the server sent the field */
  const count = (text: string, field: string, suffix = '', width = 12) => {
    const v = stat(field);
    if (v !== undefined) lines.push(`${label(text)} ${String(v).padEnd(width)}${suffix}`);
  };
  const bytes = (text: string, field: string, perSecond = false) => {
    const v = stat(field);
    // virsh leaves out a bandwidth of 0, not other sizes
    if (v !== undefined && !(perSecond && v === 0n)) lines.push(`${label(text)} ${size(v)}${perSecond ? '/s' : ''}`);
  };
  lines.push(`${label('Time elapsed:')} ${String(info.timeElapsed).padEnd(12)} ms`);
  count('Time elapsed w/o network:', 'time_elapsed_net', ' ms');
  if (type === JOB_BOUNDED) lines.push(`${label('Time remaining:')} ${String(info.timeRemaining).padEnd(12)} ms`);
  const triple = (what: string, processed: bigint, remaining: bigint, total: bigint) => {
    if (!total && !remaining && !processed) return false;
    lines.push(`${label(`${what} processed:`)} ${size(processed)}`, `${label(`${what} remaining:`)} ${size(remaining)}`, `${label(`${what} total:`)} ${size(total)}`);
    return true;
  };
  triple('Data', info.dataProcessed, info.dataRemaining, info.dataTotal);
  if (triple('Memory', info.memProcessed, info.memRemaining, info.memTotal)) {
    bytes('Memory bandwidth:', 'memory_bps', true);
    count('Dirty rate:', 'memory_dirty_rate', ' pages/s');
    count('Page size:', 'memory_page_size', ' bytes');
    count('Iteration:', 'memory_iteration');
    count('Postcopy requests:', 'memory_postcopy_requests');
  }
  if (triple('File', info.fileProcessed, info.fileRemaining, info.fileTotal)) bytes('File bandwidth:', 'disk_bps', true);
  count('Constant pages:', 'memory_constant');
  count('Normal pages:', 'memory_normal');
  bytes('Normal data:', 'memory_normal_bytes');
  count(type === JOB_COMPLETED ? 'Total downtime:' : 'Expected downtime:', 'downtime', ' ms');
  count('Downtime w/o network:', 'downtime_net', ' ms');
  count('Setup time:', 'setup_time', ' ms');
  bytes('Compression cache:', 'compression_cache');
  bytes('Compressed data:', 'compression_bytes');
  count('Compressed pages:', 'compression_pages', '', 13);
  count('Compression cache misses:', 'compression_cache_misses', '', 13);
  count('Compression overflows:', 'compression_overflow', '', 13);
  count('Auto converge throttle:', 'auto_converge_throttle', '', 13);
  bytes('Temporary disk space use:', 'disk_temp_used');
  bytes('Temporary disk space total:', 'disk_temp_total');
  const error = params.find((p) => p.field === 'errmsg')?.value;
  if (error?.type === TypedParamType.STRING) lines.push(`${label('Error message:')} ${error.s}`);
  return lines;
}

const domjobinfo: Handler = async (ctl, cmd) => {
  cmd.requireOption('keep-completed', 'completed');
  const { dom } = await ctl.domain(cmd);
  const flags = (cmd.bool('completed') ? STATS_COMPLETED : 0) | (cmd.bool('keep-completed') ? STATS_KEEP_COMPLETED : 0);
  const rawstats = cmd.bool('rawstats');
  let type: number;
  let params: readonly TypedParam[] = [];
  let info: JobInfo;
  try {
    ({ type, params } = await dom.connection.invoke('domainGetJobStats', { dom: dom.ref, flags }));
    info = Object.fromEntries(Object.entries(INFO_FIELDS).map(([key, field]) => [key, numberOf(params, field) ?? 0n])) as JobInfo;
  } catch (e) {
    if ((e as { code?: number }).code !== ErrorCode.NO_SUPPORT) throw e;
    if (flags !== 0 || rawstats) throw new CommandError(['Optional flags or --rawstats are not supported by the daemon']);
    ({ type, ...info } = await dom.connection.invoke('domainGetJobInfo', { dom: dom.ref }));
  }
  if (rawstats) {
    ctl.print(`Job type: ${type}\n\n${params.map((p) => `${p.field}: ${rawText(p)}\n`).join('')}`);
    return;
  }
  const lines = [`${label('Job type:')} ${(JOB_TYPES[type] ?? 'unknown').padEnd(12)}`];
  if (type !== 0) {
    lines.push(`${label('Operation:')} ${(OPERATIONS[Number(numberOf(params, 'operation') ?? 0n)] ?? 'unknown').padEnd(12)}`);
    const running = type === JOB_BOUNDED || type === JOB_UNBOUNDED || (flags & STATS_COMPLETED && type === JOB_COMPLETED);
    if (running || cmd.bool('anystats')) lines.push(...statisticsLines(type, info, params));
  }
  ctl.print(lines.map((l) => `${l}\n`).join(''));
};

export const handlers: Record<string, Handler> = { domjobinfo };
