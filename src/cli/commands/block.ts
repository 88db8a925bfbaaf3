// Block device commands on a running domain: blockresize, domblkthreshold, and the block jobs
// (blockcopy, blockcommit, blockpull, blockjob) with virsh's options, waiting
// and progress output.
import type { Domain } from '../../api/connection.js';
import { TypedParamType, type TypedParam } from '../../api/types.js';
import { escapeXml } from '../../util/xml.js';
import { CommandError, attempt } from '../errors.js';
import { readInputFile } from '../files.js';
import { printJobProgress } from '../progress.js';
import { parseScaledBigInt, ScaleError, type Handler, type Invocation, type Shell } from '../shell.js';
import { prettyCapacity } from './domain-monitor.js';

/** VIR_DOMAIN_BLOCK_RESIZE_BYTES */
const RESIZE_BYTES = 1;

const blockresize: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const path = cmd.required('path');
  const bytes = cmd.scaled('size', 1024)!;
  // virsh prefers the older KiB interface when the size allows it
  const [size, flags] = bytes % 1024 === 0 ? [bytes / 1024, 0] : [bytes, RESIZE_BYTES];
  await attempt(`Failed to resize block device '${path}'`, dom.connection.invoke('domainBlockResize', { dom: dom.ref, disk: path, size: BigInt(size), flags }));
  ctl.printExtra(`Block device '${path}' is resized`);
};

const domblkthreshold: Handler = async (ctl, cmd) => {
  const dev = cmd.required('dev');
  const text = cmd.required('threshold');
  let threshold: bigint;
  try {
    threshold = parseScaledBigInt(text, 1);
  } catch (e) {
    throw new CommandError([`Scaled numeric value '${text}' for <threshold> option is malformed or out of range`], e instanceof ScaleError ? e.reason : undefined);
  }
  const { dom } = await ctl.domain(cmd);
  await dom.connection.invoke('domainSetBlockThreshold', { dom: dom.ref, dev, threshold, flags: 0 });
};

// ---- block jobs ------------------------------------------------------------------

/** virDomainBlockJobType names as virsh shows them (virshDomainBlockJob). */
const JOB_LABELS = ['Unknown job', 'Block Pull', 'Block Copy', 'Block Commit', 'Active Block Commit', 'Backup'];
/** virConnectDomainEventBlockJobStatus */
const JOB_COMPLETED = 0;
const JOB_CANCELED = 2;
const JOB_READY = 3;
/** virDomainBlockJobAbortFlags */
const ABORT_ASYNC = 1;
const ABORT_PIVOT = 2;
/** VIR_DOMAIN_BLOCK_JOB_INFO_BANDWIDTH_BYTES == _SPEED_BANDWIDTH_BYTES */
const JOB_BYTES = 1;
const ULONG_MAX = 2n ** 64n - 1n;
/** virsh polls a job twice a second */
const POLL_MS = 500;

/** vshBlockJobOptionBandwidth: a (wrapping) unsigned long, else a scaled integer. */
function bandwidthOption(cmd: Invocation): bigint {
  const text = cmd.string('bandwidth');
  if (text === undefined) return 0n;
  if (/^\s*-?\d+$/.test(text)) return BigInt.asUintN(64, BigInt(text));
  try {
    const value = parseScaledBigInt(text, 1);
    if (value <= ULONG_MAX) return value;
  } catch {
    // reported below as virsh does
  }
  throw new CommandError([`Scaled numeric value '${text}' for <--bandwidth> option is malformed or out of range`]);
}

/** vshCommandOptTimeoutToMs */
function timeoutMs(cmd: Invocation): number {
  const seconds = cmd.number('timeout', 1, Math.floor(2 ** 31 / 1000));
  return seconds === undefined ? 0 : seconds * 1000;
}

interface JobWait {
  dom: Domain;
  path: string;
  label: string;
  verbose: boolean;
  timeout: number;
  async: boolean;
}

/**
 * virshBlockJobWait without events: the job's end shows as its disappearance
 * (completed), a two-phase job's mirroring phase as 100 % (ready). Returns the
 * virConnectDomainEventBlockJobStatus virsh goes on with.
 */
async function waitForJob(ctl: Shell, w: JobWait): Promise<number> {
  const start = Date.now();
  let last = { cur: -1n, end: -1n };
  let status: number;
  for (;;) {
    const info = await attempt(`failed to query job for disk ${w.path}`, w.dom.connection.invoke('domainGetBlockJobInfo', { dom: w.dom.ref, path: w.path, flags: 0 }));
    if (info.found === 0) {
      status = JOB_COMPLETED;
      break;
    }
    if (info.cur === info.end) {
      status = JOB_READY;
      break;
    }
    if (w.verbose && (info.cur !== last.cur || info.end !== last.end)) printJobProgress(ctl.output, w.label, info.end - info.cur, info.end);
    last = info;
    if (w.timeout && Date.now() - start > w.timeout) {
      await attempt(`failed to abort job for disk '${w.path}'`, w.dom.connection.invoke('domainBlockJobAbort', { dom: w.dom.ref, path: w.path, flags: w.async ? ABORT_ASYNC : 0 }));
      return JOB_CANCELED;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  if (w.verbose) printJobProgress(ctl.output, w.label, 0n, 1n);
  return status;
}

/** The checks virsh makes of --verbose/--async without a waiting option. */
function checkWaitOptions(cmd: Invocation, blocking: boolean, waiting: string): void {
  if (blocking) return;
  if (cmd.bool('verbose')) throw new CommandError([`--verbose requires at least one of --timeout, --wait, ${waiting}`]);
  if (cmd.bool('async')) throw new CommandError([`--async requires at least one of --timeout, --wait, ${waiting}`]);
}

const abortJob = (w: JobWait, flags: number) => w.dom.connection.invoke('domainBlockJobAbort', { dom: w.dom.ref, path: w.path, flags: flags | (w.async ? ABORT_ASYNC : 0) });

const blockcopy: Handler = async (ctl, cmd) => {
  const path = cmd.required('path');
  const dest = cmd.string('dest');
  const xml = cmd.string('xml');
  const format = cmd.string('format');
  const bytes = cmd.bool('bytes');
  let bandwidth = bandwidthOption(cmd);
  const granularity = cmd.number('granularity', 0, 2 ** 32 - 1);
  const bufSize = cmd.number('buf-size');
  const blockdev = cmd.bool('blockdev');
  const pivot = cmd.bool('pivot');
  const finish = cmd.bool('finish');
  const transient = cmd.bool('transient-job');
  const syncWrites = cmd.bool('synchronous-writes');
  const printXml = cmd.bool('print-xml');
  const timeout = timeoutMs(cmd);
  const blocking = cmd.bool('wait') || pivot || finish || timeout > 0;
  // some VIR_DOMAIN_BLOCK_REBASE_* and VIR_DOMAIN_BLOCK_COPY_* flags share their values
  let flags = (cmd.bool('shallow') ? 1 : 0) | (cmd.bool('reuse-external') ? 2 : 0) | (transient ? 4 : 0) | (syncWrites ? 8 : 0);
  const exclusive = (a: string, b: string, x: boolean, y: boolean) => {
    if (x && y) throw new CommandError([`Options --${a} and --${b} are mutually exclusive`]);
  };
  exclusive('dest', 'xml', dest !== undefined, xml !== undefined);
  exclusive('format', 'xml', format !== undefined, xml !== undefined);
  exclusive('blockdev', 'xml', blockdev, xml !== undefined);
  exclusive('pivot', 'finish', pivot, finish);
  if (dest === undefined && xml === undefined) throw new CommandError(['need either --dest or --xml']);
  checkWaitOptions(cmd, blocking, '--pivot, or --finish');
  const { dom } = await ctl.domain(cmd);
  const w: JobWait = { dom, path, label: 'Block Copy', verbose: cmd.bool('verbose'), timeout, async: cmd.bool('async') };
  if (granularity || bufSize || (format !== undefined && format !== 'raw') || xml !== undefined || transient || syncWrites || printXml) {
    // the newer API: the destination as XML, the tuning as typed parameters
    const params: TypedParam[] = [];
    if (bandwidth) {
      const limit = ULONG_MAX >> 20n;
      if (!bytes && bandwidth > limit) throw new CommandError([`bandwidth must be less than ${limit}`]);
      if (!bytes) bandwidth <<= 20n;
      params.push({ field: 'bandwidth', value: { type: TypedParamType.ULLONG, ul: bandwidth } });
    }
    if (granularity) params.push({ field: 'granularity', value: { type: TypedParamType.UINT, ui: granularity } });
    if (bufSize) params.push({ field: 'buf-size', value: { type: TypedParamType.ULLONG, ul: BigInt(bufSize) } });
    const destxml = xml !== undefined ? readInputFile(xml) : [
      `<disk type='${blockdev ? 'block' : 'file'}'>`,
      `  <source ${blockdev ? 'dev' : 'file'}='${escapeXml(dest!)}'/>`,
      ...(format !== undefined ? [`  <driver type='${escapeXml(format)}'/>`] : []),
      '</disk>',
      '',
    ].join('\n');
    if (printXml) return ctl.print(destxml);
    await (dom.connection.invoke('domainBlockCopy', { dom: dom.ref, path, destxml, params, flags }));
  } else {
    // the older API
    flags |= 1 << 3; // VIR_DOMAIN_BLOCK_REBASE_COPY
    if (blockdev) flags |= 1 << 5;
    if (format === 'raw') flags |= 1 << 2;
    if (bytes) flags |= 1 << 6;
    await (dom.connection.invoke('domainBlockRebase', { dom: dom.ref, path, base: dest!, bandwidth, flags }));
  }
  if (!blocking) return ctl.printExtra('Block Copy started');
  const status = await waitForJob(ctl, w);
  if (status === JOB_CANCELED) {
    ctl.printExtra('\nCopy aborted');
    throw new CommandError([]);
  }
  if (pivot) {
    await attempt(`failed to pivot job for disk ${path}`, abortJob(w, ABORT_PIVOT));
    ctl.printExtra('\nSuccessfully pivoted');
  } else if (finish) {
    await attempt(`failed to finish job for disk ${path}`, abortJob(w, 0));
    ctl.printExtra('\nSuccessfully copied');
  } else {
    ctl.printExtra('\nNow in mirroring phase');
  }
};

const blockcommit: Handler = async (ctl, cmd) => {
  cmd.exclusive('pivot', 'keep-overlay');
  const path = cmd.required('path');
  const base = cmd.string('base') ?? null;
  const top = cmd.string('top') ?? null;
  const bytes = cmd.bool('bytes');
  const bandwidth = bandwidthOption(cmd);
  const pivot = cmd.bool('pivot');
  const keepOverlay = cmd.bool('keep-overlay');
  const active = cmd.bool('active') || pivot || keepOverlay;
  const timeout = timeoutMs(cmd);
  const blocking = cmd.bool('wait') || pivot || keepOverlay || timeout > 0;
  const flags = (bytes ? 1 << 4 : 0) | (cmd.bool('shallow') ? 1 : 0) | (cmd.bool('delete') ? 2 : 0) | (active ? 4 : 0) | (cmd.bool('keep-relative') ? 8 : 0);
  checkWaitOptions(cmd, blocking, '--pivot, or --keep-overlay');
  const { dom } = await ctl.domain(cmd);
  const w: JobWait = { dom, path, label: 'Block commit', verbose: cmd.bool('verbose'), timeout, async: cmd.bool('async') };
  await (dom.connection.invoke('domainBlockCommit', { dom: dom.ref, disk: path, base, top, bandwidth, flags }));
  if (!blocking) return ctl.printExtra(active ? 'Active Block Commit started' : 'Block Commit started');
  const status = await waitForJob(ctl, w);
  if (status === JOB_CANCELED) {
    ctl.printExtra('\nCommit aborted');
    throw new CommandError([]);
  }
  if (!active) return ctl.printExtra('\nCommit complete');
  if (pivot) {
    await attempt(`failed to pivot job for disk ${path}`, abortJob(w, ABORT_PIVOT));
    ctl.printExtra('\nSuccessfully pivoted');
  } else if (keepOverlay) {
    await attempt(`failed to finish job for disk ${path}`, abortJob(w, 0));
    ctl.printExtra('\nCommit complete, overlay image kept');
  } else {
    ctl.printExtra('\nNow in synchronized phase');
  }
};

const blockpull: Handler = async (ctl, cmd) => {
  const path = cmd.required('path');
  const base = cmd.string('base') ?? null;
  const bytes = cmd.bool('bytes');
  const bandwidth = bandwidthOption(cmd);
  const timeout = timeoutMs(cmd);
  const blocking = cmd.bool('wait') || timeout > 0;
  if (!blocking) {
    if (cmd.bool('verbose')) throw new CommandError(['--verbose requires at least one of --timeout, --wait']);
    if (cmd.bool('async')) throw new CommandError(['--async requires at least one of --timeout, --wait']);
  }
  const { dom } = await ctl.domain(cmd);
  const w: JobWait = { dom, path, label: 'Block Pull', verbose: cmd.bool('verbose'), timeout, async: cmd.bool('async') };
  if (base !== null || cmd.bool('keep-relative')) {
    const flags = (cmd.bool('keep-relative') ? 1 << 4 : 0) | (bytes ? 1 << 6 : 0);
    await (dom.connection.invoke('domainBlockRebase', { dom: dom.ref, path, base, bandwidth, flags }));
  } else {
    await (dom.connection.invoke('domainBlockPull', { dom: dom.ref, path, bandwidth, flags: bytes ? 1 << 6 : 0 }));
  }
  if (!blocking) return ctl.printExtra('Block Pull started');
  const status = await waitForJob(ctl, w);
  if (status === JOB_CANCELED) {
    ctl.printExtra('\nPull aborted');
    throw new CommandError([]);
  }
  ctl.printExtra('\nPull complete');
};

const blockjob: Handler = async (ctl, cmd) => {
  const raw = cmd.bool('raw');
  const bytes = cmd.bool('bytes');
  const abort = cmd.bool('abort');
  const pivot = cmd.bool('pivot');
  const async = cmd.bool('async');
  const info = cmd.bool('info');
  const bandwidth = cmd.string('bandwidth') !== undefined;
  for (const [a, b, x, y] of [
    ['raw', 'abort', raw, abort], ['raw', 'pivot', raw, pivot], ['raw', 'async', raw, async], ['raw', 'bandwidth', raw, bandwidth],
    ['info', 'abort', info, abort], ['info', 'pivot', info, pivot], ['info', 'async', info, async], ['info', 'bandwidth', info, bandwidth],
    ['bytes', 'abort', bytes, abort], ['bytes', 'pivot', bytes, pivot], ['bytes', 'async', bytes, async],
  ] as const) {
    if (x && y) throw new CommandError([`Options --${a} and --${b} are mutually exclusive`]);
  }
  const { dom } = await ctl.domain(cmd);
  const path = cmd.required('path');
  if (bandwidth) {
    await (dom.connection.invoke('domainBlockJobSetSpeed', { dom: dom.ref, path, bandwidth: bandwidthOption(cmd), flags: bytes ? JOB_BYTES : 0 }));
    return;
  }
  if (abort || pivot || async) {
    await (dom.connection.invoke('domainBlockJobAbort', { dom: dom.ref, path, flags: (async ? ABORT_ASYNC : 0) | (pivot ? ABORT_PIVOT : 0) }));
    return;
  }
  // bytes/s unless --raw asks for the API's MiB/s
  const inBytes = bytes || !raw;
  const job = await (dom.connection.invoke('domainGetBlockJobInfo', { dom: dom.ref, path, flags: inBytes ? JOB_BYTES : 0 }));
  if (job.found === 0) {
    if (!raw) ctl.printExtra(`No current block job for ${path}`);
    return;
  }
  if (raw) {
    ctl.print(` type=${JOB_LABELS[job.type] ?? JOB_LABELS[0]}\n bandwidth=${job.bandwidth}\n cur=${job.cur}\n end=${job.end}\n`);
    return;
  }
  printJobProgress(ctl.output, JOB_LABELS[job.type] ?? JOB_LABELS[0]!, job.end - job.cur, job.end);
  if (job.bandwidth > 0n) {
    const p = prettyCapacity(Number(job.bandwidth));
    ctl.print(`    Bandwidth limit: ${job.bandwidth} bytes/s (${p.value.toFixed(3)} ${p.unit}/s)`);
  }
  ctl.print('\n');
};

export const handlers: Record<string, Handler> = { blockresize, domblkthreshold, blockcopy, blockcommit, blockpull, blockjob };
