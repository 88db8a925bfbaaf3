// The schema of libvirt's <domain> document: every domain-level element with
// its attributes and children in the order virDomainDefFormat prints them.
// <devices> comes from ./devices/ (device kinds in libvirt's order).

import type { ElementSchema } from './schema.js';
import { devicesSchema } from './devices/index.js';

const TEXT: ElementSchema = { text: true };
const EMPTY: ElementSchema = {};
const VERBATIM: ElementSchema = { any: true };
const sized = (extra: readonly string[] = []): ElementSchema => ({ attrs: [...extra, 'unit'], text: true });

const memtune: ElementSchema = {
  children: { hard_limit: sized(), soft_limit: sized(), min_guarantee: sized(), swap_hard_limit: sized() },
  omitEmpty: true,
};

const memoryBacking: ElementSchema = {
  children: {
    hugepages: { children: { page: { attrs: ['size', 'unit', 'nodeset'] } } },
    nosharepages: EMPTY,
    locked: EMPTY,
    source: { attrs: ['type'] },
    access: { attrs: ['mode'] },
    allocation: { attrs: ['mode', 'threads'] },
    discard: EMPTY,
  },
  omitEmpty: true,
};

const blkiotuneDevice: ElementSchema = {
  children: {
    path: TEXT, weight: TEXT, read_iops_sec: TEXT, write_iops_sec: TEXT, read_bytes_sec: TEXT, write_bytes_sec: TEXT,
  },
};

const cacheSchema: ElementSchema = { attrs: ['id', 'level', 'type', 'size', 'unit'] };

const cputune: ElementSchema = {
  children: {
    shares: TEXT, period: TEXT, quota: TEXT, global_period: TEXT, global_quota: TEXT,
    emulator_period: TEXT, emulator_quota: TEXT, iothread_period: TEXT, iothread_quota: TEXT,
    vcpupin: { attrs: ['vcpu', 'cpuset'] },
    emulatorpin: { attrs: ['cpuset'] },
    iothreadpin: { attrs: ['iothread', 'cpuset'] },
    emulatorsched: { attrs: ['scheduler', 'priority'] },
    vcpusched: { attrs: ['vcpus', 'scheduler', 'priority'] },
    iothreadsched: { attrs: ['iothreads', 'scheduler', 'priority'] },
    cachetune: { attrs: ['vcpus', 'id'], children: { cache: cacheSchema, monitor: { attrs: ['level', 'vcpus'] } } },
    memorytune: { attrs: ['vcpus'], children: { node: { attrs: ['id', 'bandwidth'] }, monitor: { attrs: ['level', 'vcpus'] } } },
  },
  omitEmpty: true,
};

const numatune: ElementSchema = {
  children: {
    memory: { attrs: ['mode', 'nodeset', 'placement'] },
    memnode: { attrs: ['cellid', 'mode', 'nodeset'] },
  },
  omitEmpty: true,
};

const resource: ElementSchema = { children: { partition: TEXT, fibrechannel: { attrs: ['appid'] } } };

const sysinfoEntry: ElementSchema = { attrs: ['name', 'file'], text: true };
const sysinfoBlock: ElementSchema = { children: { entry: sysinfoEntry } };
const sysinfo: ElementSchema = {
  attrs: ['type'],
  children: {
    bios: sysinfoBlock, system: sysinfoBlock, baseBoard: sysinfoBlock, chassis: sysinfoBlock,
    processor: sysinfoBlock, memory_device: sysinfoBlock, oemStrings: { children: { entry: TEXT } },
    entry: sysinfoEntry,
  },
};

const loader: ElementSchema = { attrs: ['readonly', 'secure', 'type', 'stateless', 'format'], text: true };
const nvramSource: ElementSchema = {
  attrs: ['file', 'dev', 'protocol', 'name', 'type'],
  children: { host: { attrs: ['name', 'port', 'transport', 'socket'] }, auth: VERBATIM },
};

const os: ElementSchema = {
  attrs: ['firmware'],
  children: {
    type: { attrs: ['arch', 'machine'], text: true },
    firmware: { children: { feature: { attrs: ['enabled', 'name'] } } },
    init: TEXT, initarg: TEXT, initenv: { attrs: ['name'], text: true }, initdir: TEXT, inituser: TEXT, initgroup: TEXT,
    loader,
    nvram: { attrs: ['template', 'type', 'format'], text: true, children: { source: nvramSource } },
    kernel: TEXT, initrd: TEXT, cmdline: TEXT, dtb: TEXT, root: TEXT,
    acpi: { children: { table: { attrs: ['type'], text: true } } },
    boot: { attrs: ['dev'] },
    bootmenu: { attrs: ['enable', 'timeout'] },
    bios: { attrs: ['useserial', 'rebootTimeout'] },
    smbios: { attrs: ['mode'] },
  },
};

const idmap: ElementSchema = {
  children: { uid: { attrs: ['start', 'target', 'count'] }, gid: { attrs: ['start', 'target', 'count'] } },
};

const stateOnly: ElementSchema = { attrs: ['state'] };
const hyperv: ElementSchema = {
  attrs: ['mode'],
  children: {
    relaxed: stateOnly, vapic: stateOnly, spinlocks: { attrs: ['state', 'retries'] }, vpindex: stateOnly,
    runtime: stateOnly, synic: stateOnly,
    stimer: { attrs: ['state'], children: { direct: stateOnly } },
    reset: stateOnly, vendor_id: { attrs: ['state', 'value'] }, frequencies: stateOnly, reenlightenment: stateOnly,
    tlbflush: stateOnly, ipi: stateOnly, evmcs: stateOnly, avic: stateOnly,
  },
};

const features: ElementSchema = {
  children: {
    acpi: stateOnly, apic: { attrs: ['eoi'] }, pae: stateOnly, hap: stateOnly, viridian: stateOnly, privnet: stateOnly,
    hyperv,
    kvm: {
      children: {
        hidden: stateOnly, 'hint-dedicated': stateOnly, 'poll-control': stateOnly, 'pv-ipi': stateOnly,
        'dirty-ring': { attrs: ['state', 'size'] },
      },
    },
    pvspinlock: stateOnly,
    capabilities: {
      attrs: ['policy'],
      children: Object.fromEntries(
        ['audit_control', 'audit_write', 'block_suspend', 'chown', 'dac_override', 'dac_read_search', 'fowner', 'fsetid',
          'ipc_lock', 'ipc_owner', 'kill', 'lease', 'linux_immutable', 'mac_admin', 'mac_override', 'mknod', 'net_admin',
          'net_bind_service', 'net_broadcast', 'net_raw', 'setgid', 'setfcap', 'setpcap', 'setuid', 'sys_admin', 'sys_boot',
          'sys_chroot', 'sys_module', 'sys_nice', 'sys_pacct', 'sys_ptrace', 'sys_rawio', 'sys_resource', 'sys_time',
          'sys_tty_config', 'syslog', 'wake_alarm'].map((n) => [n, stateOnly]),
      ),
    },
    pmu: stateOnly, vmport: stateOnly, gic: { attrs: ['version'] },
    smm: { attrs: ['state'], children: { tseg: sized() } },
    ioapic: { attrs: ['driver'] }, hpt: { attrs: ['resizing'], children: { maxpagesize: sized() } },
    vmcoreinfo: stateOnly, htm: stateOnly, 'nested-hv': stateOnly, msrs: { attrs: ['unknown'] }, 'ccf-assist': stateOnly,
    xen: { children: { e820_host: stateOnly, passthrough: { attrs: ['state', 'mode'] } } },
    cfpc: { attrs: ['value'] }, sbbc: { attrs: ['value'] }, ibs: { attrs: ['value'] },
    tcg: { children: { 'tb-cache': sized() } },
  },
  omitEmpty: true,
};

const numaCell: ElementSchema = {
  attrs: ['id', 'cpus', 'memory', 'unit', 'memAccess', 'discard'],
  children: {
    distances: { children: { sibling: { attrs: ['id', 'value'] } } },
    cache: {
      attrs: ['level', 'associativity', 'policy'],
      children: { size: { attrs: ['value', 'unit'] }, line: { attrs: ['value', 'unit'] } },
    },
  },
};

const cpu: ElementSchema = {
  omitEmpty: true,
  attrs: ['mode', 'match', 'check', 'migratable'],
  children: {
    arch: TEXT,
    model: { attrs: ['fallback', 'vendor_id'], text: true },
    vendor: TEXT,
    microcode: { attrs: ['version'] },
    signature: { attrs: ['family', 'model', 'stepping'] },
    counter: { attrs: ['name', 'frequency', 'scaling'] },
    topology: { attrs: ['sockets', 'dies', 'cores', 'threads'] },
    cache: { attrs: ['level', 'mode'] },
    maxphysaddr: { attrs: ['mode', 'bits'] },
    feature: { attrs: ['policy', 'name'] },
    numa: {
      children: {
        cell: numaCell,
        interconnects: {
          children: {
            latency: { attrs: ['initiator', 'target', 'cache', 'type', 'value', 'unit'] },
            bandwidth: { attrs: ['initiator', 'target', 'cache', 'type', 'value', 'unit'] },
          },
        },
      },
    },
  },
};

const timer: ElementSchema = {
  attrs: ['name', 'present', 'tickpolicy', 'track', 'frequency', 'mode'],
  children: { catchup: { attrs: ['threshold', 'slew', 'limit'], omitEmpty: true } },
};

const clock: ElementSchema = {
  attrs: ['offset', 'timezone', 'adjustment', 'basis', 'start'],
  children: { timer },
};

const pm: ElementSchema = {
  children: { 'suspend-to-mem': { attrs: ['enabled'] }, 'suspend-to-disk': { attrs: ['enabled'] } },
  omitEmpty: true,
};

const perf: ElementSchema = { children: { event: { attrs: ['name', 'enabled'] } }, omitEmpty: true };

const seclabel: ElementSchema = {
  attrs: ['type', 'model', 'relabel'],
  children: { label: TEXT, imagelabel: TEXT, baselabel: TEXT },
};

const keywrap: ElementSchema = { children: { cipher: { attrs: ['name', 'state'] } } };

const launchSecurity: ElementSchema = {
  attrs: ['type', 'kernelHashes'],
  children: { cbitpos: TEXT, reducedPhysBits: TEXT, policy: TEXT, dhCert: TEXT, session: TEXT },
};

const iothreadids: ElementSchema = {
  children: {
    iothread: {
      attrs: ['id', 'thread_pool_min', 'thread_pool_max'],
      children: { poll: { attrs: ['max', 'grow', 'shrink'] } },
    },
  },
};

const qemuCommandline: ElementSchema = {
  children: { 'qemu:arg': { attrs: ['value'] }, 'qemu:env': { attrs: ['name', 'value'] } },
};

/** <domain> itself. */
export const domainSchema: ElementSchema = {
  attrs: ['type', 'id', 'xmlns:qemu'],
  children: {
    name: TEXT,
    uuid: TEXT,
    genid: TEXT,
    title: TEXT,
    description: TEXT,
    metadata: VERBATIM,
    maxMemory: sized(['slots']),
    memory: sized(['dumpCore']),
    currentMemory: sized(),
    blkiotune: { children: { weight: TEXT, device: blkiotuneDevice }, omitEmpty: true },
    memtune,
    memoryBacking,
    vcpu: { attrs: ['placement', 'cpuset', 'current'], text: true },
    vcpus: { children: { vcpu: { attrs: ['id', 'enabled', 'hotpluggable', 'order'] } } },
    iothreads: TEXT,
    iothreadids,
    defaultiothread: { attrs: ['thread_pool_min', 'thread_pool_max'] },
    cputune,
    numatune,
    resource,
    sysinfo,
    bootloader: TEXT,
    bootloader_args: TEXT,
    os,
    idmap,
    features,
    cpu,
    clock,
    on_poweroff: TEXT,
    on_reboot: TEXT,
    on_crash: TEXT,
    on_lockfailure: TEXT,
    pm,
    perf,
    devices: devicesSchema,
    seclabel,
    keywrap,
    launchSecurity,
    'qemu:commandline': qemuCommandline,
    'qemu:capabilities': { children: { 'qemu:add': { attrs: ['capability'] }, 'qemu:del': { attrs: ['capability'] } } },
    'qemu:override': VERBATIM,
    'qemu:deprecation': { attrs: ['behavior'] },
  },
};
