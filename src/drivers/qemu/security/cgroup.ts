// A cgroup v2 group per guest, named as libvirt's machine scopes are
// (machine.slice/machine-qemu\x2dID\x2dNAME.scope), so that the guest's CPU
// time and memory are accounted on their own and a guest's QEMU can be found
// by its group. Made only where this process can write the cgroup v2 tree
// (root on a host or privileged container); elsewhere the guest stays in the
// caller's group, as libvirt's session mode without systemd does.
import { access, appendFile, mkdir, readFile, rmdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { child, element, type XmlElement } from '../../../util/xml.js';

/** Where cgroup2 is mounted (pure v2: /sys/fs/cgroup; hybrid: /sys/fs/cgroup/unified). */
export async function cgroup2Mount(mountinfo = '/proc/self/mountinfo'): Promise<string | undefined> {
  const text = await readFile(mountinfo, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [before, after] = line.split(' - ');
    if (after?.split(' ')[0] === 'cgroup2') return before!.split(' ')[4];
  }
  return undefined;
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
 * qemu-embed-HASH-ID-NAME for an embed root (the first 8 hex digits of the
 * root's SHA-256 keep two roots' guests of the same id and name apart).
 */
export function machineName(id: number, name: string, embedRoot?: string): string {
  const prefix = embedRoot === undefined ? 'qemu' : `qemu-embed-${process.getBuiltinModule('node:crypto').createHash('sha256').update(embedRoot).digest('hex').slice(0, 8)}`;
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

export class GuestCgroups {
  private constructor(private readonly slice: string) {}

  /** The machine.slice of a writable cgroup v2 tree, or undefined (with the reason) when there is none. */
  static async open(): Promise<GuestCgroups | { unavailable: string }> {
    const mount = await cgroup2Mount();
    if (!mount) return { unavailable: 'no cgroup v2 hierarchy is mounted' };
    try {
      await access(mount, constants.W_OK);
      const slice = path.join(mount, 'machine.slice');
      await mkdir(slice, { recursive: true });
      // accounting controllers, where this tree has them (a hybrid host keeps them in v1)
      await enableControllers(mount);
      await enableControllers(slice);
      return new GuestCgroups(slice);
    } catch (e) {
      return { unavailable: `the cgroup v2 tree at ${mount} is not writable: ${(e as Error).message}` };
    }
  }

  groupOf(machine: string): string {
    return path.join(this.slice, machineScopeName(machine));
  }

  /** Creates the guest's group and moves `pid` (QEMU before it execs) into it. */
  async attach(machine: string, pid: number): Promise<string> {
    const group = this.groupOf(machine);
    await mkdir(group, { recursive: true });
    await appendFile(path.join(group, 'cgroup.procs'), `${pid}\n`);
    return group;
  }

  /** Removes the guest's group once QEMU left it (an exited process leaves at once, its threads shortly after). */
  async remove(machine: string): Promise<void> {
    const group = this.groupOf(machine);
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
}

async function enableControllers(group: string): Promise<void> {
  const available = (await readFile(path.join(group, 'cgroup.controllers'), 'utf8').catch(() => '')).split(/\s+/);
  const wanted = ['cpu', 'memory'].filter((c) => available.includes(c));
  if (wanted.length === 0) return;
  await appendFile(path.join(group, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' ')).catch(() => undefined);
}
