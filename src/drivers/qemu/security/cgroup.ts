// A cgroup v2 group per guest, named as libvirt's machine scopes are
// (machine.slice/machine-qemu\x2dID\x2dNAME.scope), so that the guest's CPU
// time and memory are accounted on their own and a guest's QEMU can be found
// by its group. Made only where this process can write the cgroup v2 tree
// (root on a host or privileged container); elsewhere the guest stays in the
// caller's group, as libvirt's session mode without systemd does.
import { access, appendFile, mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { child, element, type XmlElement } from '../../../util/xml.js';
import { CGROUP_CONTROLLERS, THREAD_CONTROLLERS, cgroupMounts, type CgroupController } from './guest-cgroup.js';

/** Where cgroup2 is mounted (pure v2: /sys/fs/cgroup; hybrid: /sys/fs/cgroup/unified). */
export async function cgroup2Mount(mountinfo = '/proc/self/mountinfo'): Promise<string | undefined> {
  return (await cgroupMounts(mountinfo)).v2;
}

/** systemd's unit name escaping (unit_name_escape): '-' and anything outside [A-Za-z0-9:_.] as \xNN. */
function systemdEscape(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9:_.]/.test(c) ? c : `\\x${b.toString(16).padStart(2, '0')}`;
  }).join('');
}

/** virDomainMachineNameAppendValid: hostname characters, no leading or doubled '.'/'-', none trailing, 64 in all. */
function appendValidName(prefix: string, name: string): string {
  let out = prefix;
  let skip = true;
  for (const c of name) {
    if (out.length >= 64) break;
    if (c === '.' || c === '-') {
      if (!skip) out += c;
      skip = true;
    } else if (/^[A-Za-z0-9-]$/.test(c)) {
      out += c;
      skip = false;
    }
  }
  return out.replace(/[-.]+$/, '');
}

/**
 * virDomainDriverGenerateMachineName for a privileged driver: qemu-ID-NAME, or
 * qemu-embed-HASH-ID-NAME for a driver under a root (the first 8 hex digits of
 * the root's SHA-256 keep two roots' guests of the same id and name apart).
 */
export function machineName(id: number, name: string, root?: string): string {
  const prefix = root === undefined ? 'qemu' : `qemu-embed-${process.getBuiltinModule('node:crypto').createHash('sha256').update(root).digest('hex').slice(0, 8)}`;
  return appendValidName(`${prefix}-${id}-`, name);
}

/** virSystemdMakeScopeName: machine-ESCAPED.scope */
export function machineScopeName(machine: string): string {
  return `machine-${systemdEscape(machine)}.scope`;
}

/** The resource partition of a guest with a cgroup, as libvirt's live definition names it (qemuInitCgroup's default). */
export function recordMachinePartition(live: XmlElement): void {
  if (child(live, 'resource')) return;
  // <resource> comes right before these in a domain's XML
  const next = live.children.findIndex((c) => ['sysinfo', 'bootloader', 'bootloader_args', 'os'].includes(c.name));
  live.children.splice(next < 0 ? live.children.length : next, 0, element('resource', {}, [element('partition', {}, [], '/machine')]));
}

/** libvirt's group of a guest on cgroup v1 without systemd: /machine/NAME.libvirt-qemu in every controller. */
export function v1GroupPath(machine: string): string {
  return path.join('machine', `${machine}.libvirt-qemu`);
}

export class GuestCgroups {
  private constructor(
    /** the machine.slice of a writable cgroup v2 tree */
    private readonly slice: string | undefined,
    /** each writable cgroup v1 controller's mount point */
    private readonly v1: ReadonlyMap<CgroupController, string>,
  ) {}

  /**
   * The writable cgroup trees: the v2 machine.slice and the v1 controllers
   * (hybrid hosts have both; the controllers live in v1 there), or the reason there are none.
   */
  static async open(): Promise<GuestCgroups | { unavailable: string }> {
    const mounts = await cgroupMounts();
    const v1 = new Map<CgroupController, string>();
    for (const c of CGROUP_CONTROLLERS) {
      const mount = mounts.v1.get(c);
      if (mount && (await access(mount, constants.W_OK).then(() => true, () => false))) v1.set(c, mount);
    }
    let slice: string | undefined;
    let why = 'no cgroup v2 hierarchy is mounted';
    if (mounts.v2) {
      try {
        await access(mounts.v2, constants.W_OK);
        slice = path.join(mounts.v2, 'machine.slice');
        await mkdir(slice, { recursive: true });
        // accounting controllers, where this tree has them (a hybrid host keeps them in v1)
        await enableControllers(mounts.v2);
        await enableControllers(slice);
      } catch (e) {
        slice = undefined;
        why = `the cgroup v2 tree at ${mounts.v2} is not writable: ${(e as Error).message}`;
      }
    }
    if (!slice && v1.size === 0) return { unavailable: why };
    return new GuestCgroups(slice, v1);
  }

  /** The guest's cgroup v2 group, if this host has a writable v2 tree. */
  groupOf(machine: string): string | undefined {
    return this.slice && path.join(this.slice, machineScopeName(machine));
  }

  /**
   * Creates the guest's groups and moves `pid` (QEMU before it execs) into
   * them: on cgroup v1, as libvirt does, the thread controllers get it in
   * the group's emulator subgroup, the others in the group itself.
   */
  async attach(machine: string, pid: number): Promise<void> {
    const group = this.groupOf(machine);
    if (group) {
      await mkdir(group, { recursive: true });
      await appendFile(path.join(group, 'cgroup.procs'), `${pid}\n`);
    }
    for (const [controller, mount] of this.v1) {
      const dir = await makeV1Group(controller, mount, v1GroupPath(machine));
      const target = THREAD_CONTROLLERS.includes(controller) ? await makeV1Group(controller, mount, path.join(v1GroupPath(machine), 'emulator')) : dir;
      await appendFile(path.join(target, 'cgroup.procs'), `${pid}\n`);
    }
  }

  /** Moves one QEMU thread (a vCPU's or an IOThread's) into its own subgroup of the v1 thread controllers. */
  async attachThread(machine: string, subgroup: string, tid: number): Promise<void> {
    for (const [controller, mount] of this.v1) {
      if (!THREAD_CONTROLLERS.includes(controller)) continue;
      const dir = await makeV1Group(controller, mount, path.join(v1GroupPath(machine), subgroup));
      await appendFile(path.join(dir, 'tasks'), `${tid}\n`);
    }
  }

  /** Removes the guest's groups once QEMU left them (an exited process leaves at once, its threads shortly after). */
  async remove(machine: string): Promise<void> {
    const group = this.groupOf(machine);
    if (group) await removeGroup(group);
    for (const mount of this.v1.values()) {
      const dir = path.join(mount, v1GroupPath(machine));
      const subgroups = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const sub of subgroups) if (sub.isDirectory()) await removeGroup(path.join(dir, sub.name));
      await removeGroup(dir);
    }
  }
}

/** rmdir of a cgroup, waiting out EBUSY while its last threads leave. */
async function removeGroup(group: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      await rmdir(group);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EBUSY') return;
      await sleep(20);
    }
  }
}

/**
 * Makes each missing level of a v1 group; a new cpuset level starts with its
 * parent's CPUs and memory nodes (virCgroupV1CpuSetInherit), without which no task may join it.
 */
async function makeV1Group(controller: CgroupController, mount: string, relative: string): Promise<string> {
  let dir = mount;
  for (const part of relative.split('/')) {
    const parent = dir;
    dir = path.join(dir, part);
    const made = await mkdir(dir).then(() => true, (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
      return false;
    });
    if (made && controller === 'cpuset') {
      for (const file of ['cpuset.cpus', 'cpuset.mems', 'cpuset.memory_migrate']) {
        const value = await readFile(path.join(parent, file), 'utf8').catch(() => undefined);
        if (value !== undefined && value.trim() !== '') await writeFile(path.join(dir, file), value.trim());
      }
    }
  }
  return dir;
}

async function enableControllers(group: string): Promise<void> {
  const available = (await readFile(path.join(group, 'cgroup.controllers'), 'utf8').catch(() => '')).split(/\s+/);
  const wanted = ['cpu', 'memory'].filter((c) => available.includes(c));
  if (wanted.length === 0) return;
  await appendFile(path.join(group, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' ')).catch(() => undefined);
}
