// Domain Management commands: define/create/undefine, lifecycle, identifiers,
// XML dumps, memory and vCPU settings, descriptions.
import type { Domain } from '../../api/connection.js';
import { StorageVolume } from '../../api/handles.js';
import type { DomainRef, StorageVolRef } from '../../api/types.js';
import { parseXml } from '../../util/xml.js';
import { ErrorCode } from '../../util/error.js';
import { CommandError, attempt } from '../errors.js';
import { editCycle } from '../edit.js';
import { readInputFile } from '../files.js';
import { watchJob } from '../job-watch.js';
import type { Handler, Invocation, Shell } from '../shell.js';
import { xpathDump } from '../xpath.js';
import { domainDescription } from './domain-monitor.js';
import { splitCommaList } from './virsh.js';


function errorCode(e: unknown): number | undefined {
  return (e as { code?: number } | undefined)?.code;
}

/** Prints an XML document, or the nodes an --xpath selects from it (virshDumpXML). */
export function dumpXml(ctl: Shell, xml: string, xpath: string | undefined, wrap: boolean): void {
  if (xpath === undefined) {
    ctl.print(xml);
    return;
  }
  ctl.print(xpathDump(parseXml(xml), xpath, wrap));
}

const define: Handler = async (ctl, cmd) => {
  const file = cmd.required('file');
  const flags = cmd.bool('validate') ? 1 : 0;
  const xml = readInputFile(file);
  const dom = await attempt(`Failed to define domain from ${file}`, ctl.c.defineDomain(xml, flags));
  ctl.printExtra(`Domain '${dom.name}' defined from ${file}\n`);
};

const create: Handler = async (ctl, cmd) => {
  const file = cmd.required('file');
  const xml = readInputFile(file);
  let flags = 0;
  if (cmd.bool('paused')) flags |= 1;
  if (cmd.bool('autodestroy')) flags |= 2;
  if (cmd.bool('validate')) flags |= 1 << 4;
  if (cmd.bool('reset-nvram')) flags |= 1 << 5;
  const dom = await attempt(`Failed to create domain from ${file}`, ctl.c.createDomain(xml, flags));
  ctl.printExtra(`Domain '${dom.name}' created from ${file}\n`);
};

const start: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd, { name: true, uuid: true });
  if (dom.id !== -1) throw new CommandError(['Domain is already active']);
  let flags = 0;
  if (cmd.bool('paused')) flags |= 1;
  if (cmd.bool('autodestroy')) flags |= 2;
  if (cmd.bool('bypass-cache')) flags |= 4;
  if (cmd.bool('reset-nvram')) flags |= 1 << 5;
  const call = (f: number) => dom.create(f);
  if (cmd.bool('force-boot')) {
    try {
      await call(flags | 8);
      ctl.printExtra(`Domain '${dom.name}' started\n`);
      return;
    } catch (e) {
      if (errorCode(e) !== ErrorCode.NO_SUPPORT && errorCode(e) !== ErrorCode.INVALID_ARG) throw e;
      const saved = await dom.hasManagedSaveImage().catch(() => false);
      if (saved) await dom.managedSaveRemove();
    }
  }
  await attempt(`Failed to start domain '${dom.name}'`, () => call(flags));
  ctl.printExtra(`Domain '${dom.name}' started\n`);
};

const SHUTDOWN_MODES: Record<string, number> = { acpi: 1, agent: 2, initctl: 4, signal: 8, paravirt: 16 };

function modeFlags(cmd: Invocation): number {
  const mode = cmd.string('mode');
  let flags = 0;
  for (const m of mode === undefined ? [] : mode.split(',')) {
    const bit = SHUTDOWN_MODES[m];
    if (bit === undefined) {
      throw new CommandError([`Unknown mode ${m} value, expecting 'acpi', 'agent', 'initctl', 'signal', or 'paravirt'`]);
    }
    flags |= bit;
  }
  return flags;
}

const shutdown: Handler = async (ctl, cmd) => {
  const flags = modeFlags(cmd);
  const { dom, name } = await ctl.domain(cmd);
  await attempt(`Failed to shutdown domain '${name}'`, dom.shutdown(flags));
  ctl.printExtra(`Domain '${name}' is being shutdown\n`);
};

const reboot: Handler = async (ctl, cmd) => {
  const flags = modeFlags(cmd);
  const { dom, name } = await ctl.domain(cmd);
  await attempt(`Failed to reboot domain '${name}'`, dom.reboot(flags));
  ctl.printExtra(`Domain '${name}' is being rebooted\n`);
};

/** A command that calls one domain API and reports "Domain 'x' <done>" or "Failed to <verb> domain 'x'". */
function simpleAction(verb: string, done: string, act: (dom: Domain, cmd: Invocation) => Promise<void>): Handler {
  return async (ctl, cmd) => {
    const { dom, name } = await ctl.domain(cmd);
    await attempt(`Failed to ${verb} domain '${name}'`, () => act(dom, cmd));
    ctl.printExtra(`Domain '${name}' ${done}\n`);
  };
}

const destroy = simpleAction('destroy', 'destroyed', (dom, cmd) => {
  let flags = 0;
  if (cmd.bool('graceful')) flags |= 1;
  if (cmd.bool('remove-logs')) flags |= 2;
  return dom.destroy(flags);
});
const reset = simpleAction('reset', 'was reset', (dom) => dom.reset(0));
const suspend = simpleAction('suspend', 'suspended', (dom) => dom.suspend());
const resume = simpleAction('resume', 'resumed', (dom) => dom.resume());

const autostart: Handler = async (ctl, cmd) => {
  const { dom, name } = await ctl.domain(cmd);
  const on = !cmd.bool('disable');
  await attempt(on ? `Failed to mark domain '${name}' as autostarted` : `Failed to unmark domain '${name}' as autostarted`, dom.setAutostart(on));
  ctl.printExtra(on ? `Domain '${name}' marked as autostarted\n` : `Domain '${name}' unmarked as autostarted\n`);
};

const managedsaveRemove: Handler = async (ctl, cmd) => {
  const { dom, name } = await ctl.domain(cmd);
  const has = await attempt('Failed to check for domain managed save image', dom.hasManagedSaveImage());
  if (!has) {
    ctl.printExtra(`Domain '${name}' has no manage save image; removal skipped`);
    return;
  }
  await attempt(`Failed to remove managed save image for domain '${name}'`, dom.managedSaveRemove());
  ctl.printExtra(`Removed managedsave image for domain '${name}'`);
};

const UNDEFINE_FLAGS: [string, number][] = [
  ['managed-save', 1],
  ['snapshots-metadata', 2],
  ['nvram', 4],
  ['keep-nvram', 8],
  ['checkpoints-metadata', 16],
  ['tpm', 32],
  ['keep-tpm', 64],
];

/** Whether a call failed only because the driver lacks it or the flags (then virsh falls back). */
function isUnsupported(e: unknown): boolean {
  return errorCode(e) === ErrorCode.NO_SUPPORT || errorCode(e) === ErrorCode.INVALID_ARG;
}

const undefine: Handler = async (ctl, cmd) => {
  cmd.requireOption('delete-storage-volume-snapshots', 'remove-all-storage');
  cmd.exclusive('nvram', 'keep-nvram');
  cmd.exclusive('tpm', 'keep-tpm');
  const volumeList = cmd.string('storage');
  const removeAll = cmd.bool('remove-all-storage');
  const wipe = cmd.bool('wipe-storage');
  if (volumeList === undefined && !removeAll && wipe) {
    throw new CommandError(["'--wipe-storage' requires '--storage <string>' or '--remove-all-storage'"]);
  }
  let flags = 0;
  for (const [opt, bit] of UNDEFINE_FLAGS) if (cmd.bool(opt)) flags |= bit;
  const managedSave = cmd.bool('managed-save');
  const snapshotsMetadata = cmd.bool('snapshots-metadata');
  const { dom, name } = await ctl.domain(cmd);
  const snapshotNum = async (flags: number) => (await dom.connection.invoke('domainSnapshotNum', { dom: dom.ref, flags })).num;
  const running = await dom.isActive();
  let hasManagedSave = false;
  let snapshots = 0;
  let snapshotsMeta = 0;
  let managedSaveSafe = managedSave;
  let snapshotsSafe = snapshotsMetadata;
  const countOrZero = async <T>(call: Promise<T>, zero: T): Promise<T> => {
    try {
      return await call;
    } catch (e) {
      if (errorCode(e) !== ErrorCode.NO_SUPPORT) throw e;
      return zero;
    }
  };
  if (!running) {
    hasManagedSave = await countOrZero(dom.hasManagedSaveImage(), false);
    snapshots = await countOrZero(snapshotNum(0), 0);
    if (snapshots) {
      try {
        snapshotsMeta = await snapshotNum(1 << 1);
        managedSaveSafe = snapshotsSafe = true;
      } catch {
        snapshotsMeta = snapshots;
      }
    }
  }
  if (!hasManagedSave) {
    flags &= ~1;
    managedSaveSafe = true;
  }
  if (snapshots === 0) snapshotsSafe = true;
  if (snapshotsMeta === 0) {
    flags &= ~2;
    snapshotsSafe = true;
  }
  const volumes = volumeList !== undefined || removeAll ? await storageToRemove(ctl, dom, running, volumeList, removeAll) : [];
  const undefined_ = async () => {
    ctl.printExtra(`Domain '${name}' has been undefined\n`);
    await removeVolumes(ctl, volumes, wipe, cmd.bool('delete-storage-volume-snapshots') ? 2 : 0);
  };
  const failed = `Failed to undefine domain '${name}'`;
  if ((managedSaveSafe && snapshotsSafe) || cmd.bool('nvram')) {
    let done = false;
    try {
      await dom.undefine(flags);
      done = true;
    } catch (e) {
      if (cmd.bool('nvram') || !isUnsupported(e)) throw new CommandError([failed], e);
    }
    if (done) {
      await undefined_();
      return;
    }
  }
  if (hasManagedSave) {
    if (!managedSave) throw new CommandError(['Refusing to undefine while domain managed save image exists']);
    await dom.managedSaveRemove();
  }
  if (snapshotsMeta) {
    throw new CommandError([
      snapshotsMetadata ? `Unable to remove metadata of ${snapshotsMeta} snapshots` : `Refusing to undefine while ${snapshotsMeta} snapshots exist`,
    ]);
  }
  await attempt(failed, dom.undefine(0));
  await undefined_();
};

interface VolumeToRemove {
  vol: StorageVolRef;
  target: string;
  source: string;
}

/** The domain's disks backed by managed volumes that undefine --storage/--remove-all-storage names. */
async function storageToRemove(ctl: Shell, dom: Domain, running: boolean, list: string | undefined, all: boolean): Promise<VolumeToRemove[]> {
  if (running) throw new CommandError(['Storage volume deletion is supported only on stopped domains']);
  if (list !== undefined && all) throw new CommandError(['Specified both --storage and --remove-all-storage']);
  const wanted: (string | undefined)[] | undefined = list === undefined ? undefined : splitCommaList(list);
  const devices = parseXml(await dom.getXMLDesc(0)).children.find((c) => c.name === 'devices');
  const out: VolumeToRemove[] = [];
  for (const disk of devices?.children.filter((c) => c.name === 'disk') ?? []) {
    const target = disk.children.find((c) => c.name === 'target')?.attrs.dev;
    if (target === undefined) throw new CommandError(['Failed to get domain disk target']);
    const src = disk.children.find((c) => c.name === 'source');
    const key = src && Object.keys(src.attrs).find((k) => ['file', 'dir', 'name', 'dev', 'volume'].includes(k));
    if (!src || !key) continue;
    const source = src.attrs[key]!;
    if (wanted) {
      const i = wanted.findIndex((w) => w === target || w === source);
      if (i < 0) continue;
      wanted[i] = undefined;
    }
    let vol: StorageVolRef | undefined;
    if (src.attrs.pool !== undefined) {
      const pool = await ctl.c.invoke('storagePoolLookupByName', { name: src.attrs.pool }).then((r) => r.pool, () => undefined);
      if (!pool) {
        ctl.error(`Storage pool '${src.attrs.pool}' for volume '${target}' not found.`);
        continue;
      }
      vol = await ctl.c.invoke('storageVolLookupByName', { pool, name: source }).then((r) => r.vol, () => undefined);
    } else {
      vol = await ctl.c.invoke('storageVolLookupByPath', { path: source }).then((r) => r.vol, () => undefined);
    }
    if (!vol) {
      ctl.error(`Storage volume '${target}'(${source}) is not managed by libvirt. Remove it manually.\n`);
      continue;
    }
    out.push({ vol, target, source });
  }
  const missing = (wanted ?? []).filter((w): w is string => w !== undefined);
  if (missing.length) throw new CommandError(missing.map((w) => `Volume '${w}' was not found in domain's definition.\n`));
  return out;
}

/** Wipes (optionally) and deletes the volumes after the domain is gone; failures are reported per volume. */
async function removeVolumes(ctl: Shell, volumes: VolumeToRemove[], wipe: boolean, deleteFlags: number): Promise<void> {
  let ok = true;
  let lastError: unknown;
  for (const { vol, target, source } of volumes) {
    if (wipe) {
      ctl.printExtra(`Wiping volume '${target}'(${source}) ... `);
      try {
        await new StorageVolume(ctl.c, vol).wipe();
        ctl.printExtra('Done.\n');
      } catch (e) {
        lastError = e;
        ctl.error('Failed! Volume not removed.');
        ok = false;
        continue;
      }
    }
    try {
      await new StorageVolume(ctl.c, vol).delete(deleteFlags);
      ctl.printExtra(`Volume '${target}'(${source}) removed.\n`);
    } catch (e) {
      lastError = e;
      ctl.error(`Failed to remove storage volume '${target}'(${source})`);
      ok = false;
    }
  }
  if (!ok) throw new CommandError([], lastError);
}

const domid: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd, { name: true, uuid: true });
  ctl.print(`${dom.id === -1 ? '-' : dom.id}\n`);
};

const domname: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd, { id: true, uuid: true });
  ctl.print(`${dom.name}\n`);
};

const domuuid: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd, { id: true, name: true });
  ctl.print(`${dom.uuid}\n`);
};

const dumpxml: Handler = async (ctl, cmd) => {
  let flags = 0;
  if (cmd.bool('inactive')) flags |= 2;
  if (cmd.bool('security-info')) flags |= 1;
  if (cmd.bool('update-cpu')) flags |= 4;
  if (cmd.bool('migratable')) flags |= 8;
  const { dom } = await ctl.domain(cmd);
  const xpath = cmd.opts.find((o) => o.def.name === 'xpath')?.value;
  dumpXml(ctl, await dom.getXMLDesc(flags), xpath || undefined, cmd.bool('wrap'));
};

const domxmlToNative: Handler = async (ctl, cmd) => {
  const format = cmd.required('format');
  const file = cmd.string('xml');
  if (cmd.bool('domain') && file !== undefined) throw new CommandError(['Options --domain and --xml are mutually exclusive']);
  let xml: string;
  if (cmd.bool('domain')) xml = await (await ctl.domain(cmd)).dom.getXMLDesc(0);
  else if (file !== undefined) xml = readInputFile(file);
  else throw new CommandError(['need either domain or domain XML']);
  ctl.print(await ctl.c.domainXMLToNative(format, xml, 0));
};

const domhostname: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const source = cmd.string('source');
  let flags = 0;
  if (source !== undefined) {
    const bit = { agent: 2, lease: 1 }[source];
    if (bit === undefined) throw new CommandError([`Unknown data source '${source}'`]);
    flags |= bit;
  }
  const { hostname: host } = await attempt('failed to get hostname', dom.connection.invoke('domainGetHostname', { dom: dom.ref, flags }));
  ctl.print(`${host}\n`);
};

const dompmwakeup: Handler = async (ctl, cmd) => {
  const { dom, name } = await ctl.domain(cmd);
  await attempt(`Domain '${name}' could not be woken up`, dom.connection.invoke('domainPMWakeup', { dom: dom.ref, flags: 0 }));
  ctl.printExtra(`Domain '${name}' successfully woken up`);
};

/** virshNodeSuspendTarget: the index is virNodeSuspendTarget */
const SUSPEND_TARGETS = ['mem', 'disk', 'hybrid'];

const dompmsuspend: Handler = async (ctl, cmd) => {
  const { dom, name } = await ctl.domain(cmd);
  const duration = BigInt(cmd.number('duration') ?? 0);
  const target = SUSPEND_TARGETS.indexOf(cmd.required('target'));
  if (target < 0) throw new CommandError(['Invalid target']);
  await attempt(`Domain '${name}' could not be suspended`, dom.connection.invoke('domainPMSuspendForDuration', { dom: dom.ref, target, duration, flags: 0 }));
  ctl.printExtra(`Domain '${name}' successfully suspended`);
};

/** virshDomainDirtyRateCalcMode: the virDomainDirtyRateCalcFlags bit of each mode */
const DIRTY_RATE_MODES: Record<string, number> = { 'page-sampling': 0, 'dirty-bitmap': 1, 'dirty-ring': 2 };

const domdirtyrateCalc: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const seconds = cmd.number('seconds', -(2 ** 31), 2 ** 31 - 1) ?? 1;
  const mode = cmd.string('mode');
  let flags = 0;
  if (mode !== undefined) {
    if (!Object.hasOwn(DIRTY_RATE_MODES, mode)) throw new CommandError([`Unknown calculation mode '${mode}'`]);
    flags = DIRTY_RATE_MODES[mode]!;
  }
  await dom.connection.invoke('domainStartDirtyRateCalc', { dom: dom.ref, seconds, flags });
  ctl.printExtra("Start to calculate domain's memory dirty rate successfully.\n");
};

/** virsh's inject-nmi: silent on success, the error as it comes. */
const injectNmi: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  await dom.connection.invoke('domainInjectNMI', { dom: dom.ref, flags: 0 });
};

/** Memory flags of setmem/setmaxmem (VIR_DOMAIN_AFFECT_*). */
function memoryFlags(cmd: Invocation, defaultFlags: number): number {
  cmd.exclusive('current', 'live');
  cmd.exclusive('current', 'config');
  const config = cmd.bool('config');
  const live = cmd.bool('live');
  if (!config && !live && !cmd.bool('current')) return defaultFlags;
  return (config ? 2 : 0) | (live ? 1 : 0);
}

/** KiB from a scaled size (bytes default scale KiB), rounded up like VIR_DIV_UP. */
function sizeKiB(cmd: Invocation): number {
  return Math.ceil(cmd.scaled('size', 1024, 1024 * 0xffffffffffff)! / 1024);
}

const setmem: Handler = async (ctl, cmd) => {
  const flags = memoryFlags(cmd, 1);
  const { dom } = await ctl.domain(cmd);
  await dom.connection.invoke('domainSetMemoryFlags', { dom: dom.ref, memory: BigInt(sizeKiB(cmd)), flags });
};

const setmaxmem: Handler = async (ctl, cmd) => {
  const flags = memoryFlags(cmd, 0);
  const { dom } = await ctl.domain(cmd);
  const kib = sizeKiB(cmd);
  await attempt('Unable to change MaxMemorySize', dom.connection.invoke('domainSetMemoryFlags', { dom: dom.ref, memory: BigInt(kib), flags: flags | 4 }));
};

const setvcpus: Handler = async (ctl, cmd) => {
  cmd.exclusive('current', 'live');
  cmd.exclusive('current', 'config');
  cmd.exclusive('guest', 'config');
  cmd.requireOption('maximum', 'config');
  let flags = 0;
  if (cmd.bool('config')) flags |= 2;
  if (cmd.bool('live')) flags |= 1;
  if (cmd.bool('guest')) flags |= 8;
  if (cmd.bool('maximum')) flags |= 4;
  if (cmd.bool('hotpluggable')) flags |= 16;
  const { dom } = await ctl.domain(cmd);
  const count = cmd.number('count', 0, 0xffffffff)!;
  if (count === 0) throw new CommandError(["Can't set 0 processors for a VM"]);
  if (!cmd.bool('current') && flags === 0) await dom.connection.invoke('domainSetVcpus', { dom: dom.ref, nvcpus: count });
  else await dom.connection.invoke('domainSetVcpusFlags', { dom: dom.ref, nvcpus: count, flags });
};

/** virshCPUCountCollect: a vCPU count, or undefined when it does not apply (domain state). */
async function cpuCount(dom: Domain, flags: number, checkState: boolean): Promise<number | undefined> {
  if (checkState && ((flags & 1 && !(await dom.isActive())) || (flags & 2 && !(await dom.isPersistent())))) return undefined;
  try {
    return (await dom.connection.invoke('domainGetVcpusFlags', { dom: dom.ref, flags })).num;
  } catch (e) {
    if (!isUnsupported(e)) throw e;
    if (flags & 8) throw new CommandError(['Failed to retrieve vCPU count from the guest'], e);
  }
  if (!(flags & 3) && (await dom.isActive())) flags |= 1;
  if (flags & 1) {
    if (flags & 4) return (await dom.connection.invoke('domainGetMaxVcpus', { dom: dom.ref })).num;
    return (await dom.getInfo()).nrVirtCpu;
  }
  const vcpu = parseXml(await dom.getXMLDesc(2)).children.find((c) => c.name === 'vcpu');
  const text = flags & 4 ? vcpu?.text : (vcpu?.attrs.current ?? vcpu?.text);
  if (text === undefined || !/^\d+$/.test(text.trim())) {
    throw new CommandError([flags & 4 ? 'Failed to retrieve maximum vcpu count' : 'Failed to retrieve current vcpu count']);
  }
  return Number(text);
}

const vcpucount: Handler = async (ctl, cmd) => {
  const maximum = cmd.bool('maximum');
  const active = cmd.bool('active');
  const config = cmd.bool('config');
  const live = cmd.bool('live');
  const guest = cmd.bool('guest');
  let current = cmd.bool('current');
  const all = !maximum && !active && !current && !config && !live && !guest;
  if (!maximum && !active && current) current = false;
  cmd.exclusive('live', 'config');
  if (current && live) throw new CommandError(['Options --current and --live are mutually exclusive']);
  if (current && config) throw new CommandError(['Options --current and --config are mutually exclusive']);
  cmd.exclusive('active', 'maximum');
  cmd.exclusive('guest', 'config');
  let flags = 0;
  if (live) flags |= 1;
  if (config) flags |= 2;
  if (maximum) flags |= 4;
  if (guest) flags |= 8;
  const { dom } = await ctl.domain(cmd);
  if (!all) {
    const n = await cpuCount(dom, flags, false);
    ctl.print(`${n}\n`);
    return;
  }
  const rows: [string, string, number | undefined][] = [
    ['maximum', 'config', await cpuCount(dom, 2 | 4, true)],
    ['maximum', 'live', await cpuCount(dom, 1 | 4, true)],
    ['current', 'config', await cpuCount(dom, 2, true)],
    ['current', 'live', await cpuCount(dom, 1, true)],
  ];
  for (const [which, state, n] of rows) if (n !== undefined && n > 0) ctl.print(`${which.padEnd(12)} ${state.padEnd(12)} ${String(n).padStart(3)}\n`);
};

const desc: Handler = async (ctl, cmd) => {
  cmd.exclusive('current', 'live');
  cmd.exclusive('current', 'config');
  const title = cmd.bool('title');
  let flags = 0;
  let queryFlags = 0;
  if (cmd.bool('config')) {
    flags |= 2;
    queryFlags |= 2;
  }
  if (cmd.bool('live')) flags |= 1;
  const { dom } = await ctl.domain(cmd);
  await dom.getState();
  const words = cmd.argv('new-desc');
  if (cmd.bool('edit') || words.length) {
    const current = await domainDescription(dom, title, queryFlags);
    let text = words.length ? words.join(' ') : current;
    if (cmd.bool('edit')) {
      let edited = '';
      const changed = await editCycle(ctl, {
        get: async () => text,
        define: async (t) => {
          edited = t;
        },
        notChanged: '',
      });
      // a title is one line: the editor's trailing newline is not part of it
      if (title && edited.endsWith('\n')) edited = edited.slice(0, -1);
      if (!changed || edited === current) {
        ctl.printExtra(title ? 'Domain title not changed\n' : 'Domain description not changed\n');
        return;
      }
      text = edited;
    }
    await attempt(title ? 'Failed to set new domain title' : 'Failed to set new domain description',
      dom.connection.invoke('domainSetMetadata', { dom: dom.ref, type: title ? 1 : 0, metadata: text, key: null, uri: null, flags }));
    ctl.printExtra(title ? 'Domain title updated successfully' : 'Domain description updated successfully');
    return;
  }
  const text = await domainDescription(dom, title, queryFlags);
  if (text.length > 0) ctl.print(text);
  else ctl.printExtra(title ? `No title for domain: ${dom.name}` : `No description for domain: ${dom.name}`);
};

const managedsave: Handler = async (ctl, cmd) => {
  let flags = 0;
  if (cmd.bool('bypass-cache')) flags |= 1;
  if (cmd.bool('running')) flags |= 2;
  if (cmd.bool('paused')) flags |= 4;
  const { dom, name } = await ctl.domain(cmd);
  const call = dom.connection.invoke('domainManagedSave', { dom: dom.ref, flags });
  await attempt(`Failed to save domain '${name}' state`, watchJob(ctl, dom, call, { label: 'Managedsave', verbose: cmd.bool('verbose') }));
  ctl.printExtra(`\nDomain '${name}' state saved by libvirt\n`);
};

const domrename: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  await dom.connection.invoke('domainRename', { dom: dom.ref, new_name: cmd.required('new-name'), flags: 0 });
  ctl.printExtra('Domain successfully renamed\n');
};

const editDomain: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const defineFlags = cmd.bool('skip-validate') ? 0 : 1;
  let edited: DomainRef | undefined;
  const changed = await editCycle(ctl, {
    get: () => dom.getXMLDesc(1 | 2),
    define: async (text) => {
      edited = (await ctl.c.defineDomain(text, defineFlags)).ref;
    },
    notChanged: `Domain '${dom.name}' XML configuration not changed.\n`,
  });
  if (changed) ctl.printExtra(`Domain '${edited!.name}' XML configuration edited.\n`);
};

const METADATA_ELEMENT = 2;

const metadata: Handler = async (ctl, cmd) => {
  cmd.exclusive('current', 'live');
  cmd.exclusive('current', 'config');
  cmd.exclusive('edit', 'set');
  cmd.exclusive('remove', 'set');
  cmd.exclusive('remove', 'edit');
  const flags = (cmd.bool('config') ? 2 : 0) | (cmd.bool('live') ? 1 : 0);
  const { dom } = await ctl.domain(cmd);
  const uri = cmd.required('uri');
  const key = cmd.string('key') ?? null;
  const set = cmd.string('set');
  const edit = cmd.bool('edit');
  if ((set !== undefined || edit) && key === null) throw new CommandError(['namespace key is required when modifying metadata']);
  const write = (text: string | null) => dom.connection.invoke('domainSetMetadata', { dom: dom.ref, type: METADATA_ELEMENT, metadata: text, key, uri, flags });
  const read = async () => (await dom.connection.invoke('domainGetMetadata', { dom: dom.ref, type: METADATA_ELEMENT, uri, flags })).metadata;
  if (set !== undefined || cmd.bool('remove')) {
    await write(set ?? null);
    ctl.printExtra(cmd.bool('remove') ? 'Metadata removed\n' : 'Metadata modified\n');
  } else if (edit) {
    // an element not there yet is edited from an empty one (virshDomainGetEditMetadata)
    const get = () =>
      read().catch((e) => {
        if ((e as { code?: number }).code !== 80) throw e;
        return `<${key}/>\n`;
      });
    if (await editCycle(ctl, { get, define: async (text) => void (await write(text)), notChanged: 'Metadata not changed' })) ctl.printExtra('Metadata modified\n');
  } else {
    ctl.print(`${await read()}\n`);
  }
};

export const handlers: Record<string, Handler> = {
  'inject-nmi': injectNmi,
  dompmwakeup,
  dompmsuspend,
  'domdirtyrate-calc': domdirtyrateCalc,
  metadata,
  edit: editDomain,
  managedsave,
  domrename,
  define,
  create,
  start,
  shutdown,
  reboot,
  destroy,
  reset,
  suspend,
  resume,
  autostart,
  'managedsave-remove': managedsaveRemove,
  undefine,
  domid,
  domname,
  domuuid,
  dumpxml,
  'domxml-to-native': domxmlToNative,
  domhostname,
  setmem,
  setmaxmem,
  setvcpus,
  vcpucount,
  desc,
};
