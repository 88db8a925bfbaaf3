// The security side of starting and stopping a guest, as libvirt's qemu driver
// drives its security manager (DAC) and cgroups: the live <seclabel>, the
// identity QEMU is exec'ed as, the files it gets for its run, its cgroup, and
// giving everything back when it stops.
import { statSync } from 'node:fs';
import { chown, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ErrorDomain, virError } from '../../../util/error.js';
import { child, childrenNamed, element, type XmlElement } from '../../../util/xml.js';
import type { QemuPaths } from '../paths.js';
import { machineName, GuestCgroups } from './cgroup.js';
import { GuestCgroup } from './guest-cgroup.js';
import { DacLabels, deviceLabelTargets, labelTargets } from './dac.js';
import { unreachableFolder } from './reachable.js';
import type { ConfValue } from '../config.js';
import { dacLabel, dropPrivilegesCommand, memberGroups, needsDrop, parseDacLabel, privileged, resolveQemuIdentity, type QemuIdentity } from './identity.js';

/** What a domain's DAC label decides for one run. */
export interface DomainLabel {
  identity: QemuIdentity;
  /** files are given to the identity (relabel='yes') */
  relabel: boolean;
}

export class DomainSecurity {
  private readonly labels: DacLabels;
  private cgroups?: Promise<GuestCgroups | { unavailable: string }>;
  private resolved?: QemuIdentity;

  constructor(
    private readonly paths: QemuPaths,
    private readonly settings: ReadonlyMap<string, ConfValue>,
  ) {
    this.labels = new DacLabels(paths.stateDir, paths.lockDir);
  }

  /**
   * The driver's QEMU identity (qemu.conf user/group, or the caller). Resolved
   * when first needed, so that a missing user fails the start that needs it
   * with libvirt's "Failed to parse user", not every other operation.
   */
  get identity(): QemuIdentity {
    this.resolved ??= resolveQemuIdentity(this.settings);
    return this.resolved;
  }

  /**
   * The domain's DAC label for this run (virSecurityDACGenLabel): a static
   * <seclabel model='dac'> names its own identity; otherwise the driver's.
   * Writes the label into the live definition as libvirt shows it.
   */
  liveLabel(live: XmlElement): DomainLabel {
    const existing = childrenNamed(live, 'seclabel').find((l) => l.attrs.model === 'dac');
    if (existing?.attrs.type === 'none' || existing?.attrs.relabel === 'no') {
      return { identity: this.identity, relabel: false };
    }
    const identity = this.identityOf(live);
    const text = dacLabel(identity);
    const seclabel = element('seclabel', { type: existing?.attrs.type ?? 'dynamic', model: 'dac', relabel: 'yes' }, [
      element('label', {}, [], text),
      element('imagelabel', {}, [], text),
    ]);
    if (existing) live.children[live.children.indexOf(existing)] = seclabel;
    else {
      const devices = child(live, 'devices');
      live.children.splice(devices ? live.children.indexOf(devices) + 1 : live.children.length, 0, seclabel);
    }
    return { identity, relabel: true };
  }

  /** Who the domain's QEMU runs as: a static <seclabel model='dac'> names it, else the driver's identity. */
  private identityOf(def: XmlElement): QemuIdentity {
    const existing = childrenNamed(def, 'seclabel').find((l) => l.attrs.model === 'dac');
    const staticLabel = existing?.attrs.type === 'static' ? parseDacLabel(child(existing, 'label')?.text.trim() ?? '') : undefined;
    return staticLabel ? { ...staticLabel, named: false } : this.identity;
  }

  /**
   * The owner a file or socket QEMU itself must open needs (a save image's relay
   * socket), when this process drops root for QEMU; undefined when QEMU runs as us.
   */
  qemuOwner(def: XmlElement): { uid: number; gid: number } | undefined {
    const identity = this.identityOf(def);
    return needsDrop(identity) ? { uid: identity.uid, gid: identity.gid } : undefined;
  }

  /** The exec prefix that makes QEMU the label's identity, when this process must drop root for it. */
  execPrefix(label: DomainLabel): string[] | undefined {
    return needsDrop(label.identity) ? dropPrivilegesCommand(label.identity) : undefined;
  }

  /**
   * Before QEMU runs: its runtime folders and files become the QEMU user's
   * (qemuProcessMakeDir, qemuSecurityDomainSetPathLabel), and every host file
   * of the definition is labelled, remembering its owner.
   */
  async prepare(name: string, live: XmlElement, label: DomainLabel, runtimeFiles: string[]): Promise<void> {
    if (!needsDrop(label.identity)) return;
    const { uid, gid } = label.identity;
    // the first runtime file is the domain's lib folder, where QEMU always opens its master key
    const blocked = runtimeFiles[0] === undefined ? undefined : unreachableFolder(runtimeFiles[0], label.identity, memberGroups(uid));
    if (blocked !== undefined) {
      const mode = (statSync(blocked).mode & 0o7777).toString(8).padStart(4, '0');
      throw virError(ErrorCode.OPERATION_FAILED, `QEMU runs as ${dacLabel(label.identity)} (qemu.conf user/group), which cannot reach '${blocked}' (mode ${mode}): make that folder searchable for it (chmod o+x) or keep the state elsewhere`, ErrorDomain.QEMU);
    }
    for (const file of runtimeFiles) await chown(file, uid, gid);
    if (label.relabel && this.dynamicOwnership()) await this.labels.label(name, labelTargets(live), uid, gid);
  }

  /** qemu.conf dynamic_ownership (default 1): 0 leaves the owners of the domain's files to the administrator. */
  private dynamicOwnership(): boolean {
    const v = this.settings.get('dynamic_ownership');
    if (v === undefined) return true;
    if (v !== 0 && v !== 1) throw virError(ErrorCode.INTERNAL_ERROR, `value for 'dynamic_ownership' parameter must be 0 or 1`, ErrorDomain.CONF);
    return v === 1;
  }

  /** Labels what a hot-plugged device makes QEMU open (qemuDomainStorageSourceAccessAllow). */
  async labelDevice(name: string, live: XmlElement, device: XmlElement): Promise<void> {
    const sec = childrenNamed(live, 'seclabel').find((l) => l.attrs.model === 'dac');
    if (sec?.attrs.relabel === 'no' || sec?.attrs.type === 'none') return;
    // the running domain's <label> is who its QEMU is
    const { uid, gid } = parseDacLabel(child(sec ?? live, 'label')?.text.trim() ?? '') ?? this.identity;
    if (needsDrop({ uid, gid, named: false }) && this.dynamicOwnership()) await this.labels.label(name, deviceLabelTargets(device), uid, gid);
  }

  /** Gives back what an unplugged device's files were labelled from. */
  async restoreDevice(name: string, device: XmlElement): Promise<void> {
    if (privileged()) await this.labels.restore(name, deviceLabelTargets(device));
  }

  /** Puts QEMU (still the spawn's gate, before it execs) into the guest's own cgroup, where one can be made; true when it did. */
  async attachCgroup(id: number, name: string, pid: number): Promise<boolean> {
    if (!privileged()) return false;
    this.cgroups ??= GuestCgroups.open();
    const cgroups = await this.cgroups;
    if (!(cgroups instanceof GuestCgroups)) return false;
    await cgroups.attach(this.machine(id, name), pid);
    return true;
  }

  /** After QEMU is gone: the files get their owners back and the cgroup goes. */
  async release(id: number, name: string): Promise<void> {
    if (!privileged()) return;
    await this.labels.restore(name);
    this.cgroups ??= GuestCgroups.open();
    const cgroups = await this.cgroups;
    if (cgroups instanceof GuestCgroups) await cgroups.remove(this.machine(id, name));
  }

  /**
   * The cgroup folder QEMU `pid` runs in, or undefined where it got none
   * (unprivileged, no writable cgroup v2 tree, or started before it had one).
   */
  async cgroupOf(id: number, name: string, pid: number): Promise<string | undefined> {
    if (!privileged()) return undefined;
    this.cgroups ??= GuestCgroups.open();
    const cgroups = await this.cgroups;
    if (!(cgroups instanceof GuestCgroups)) return undefined;
    const group = cgroups.groupOf(this.machine(id, name));
    if (!group) return undefined;
    const procs = await readFile(path.join(group, 'cgroup.procs'), 'utf8').catch(() => '');
    return procs.split('\n').includes(String(pid)) ? group : undefined;
  }

  /** The running guest's cgroup (either backend), found from its QEMU `pid`; undefined where it has none. */
  async guestCgroup(pid: number): Promise<GuestCgroup | undefined> {
    if (!privileged()) return undefined;
    return GuestCgroup.ofProcess(pid);
  }

  /** Gives a QEMU thread its own subgroup ('vcpu0', 'iothread1') as libvirt does, where cgroup v1 controllers are writable. */
  async attachThread(id: number, name: string, subgroup: string, tid: number): Promise<void> {
    if (!privileged()) return;
    this.cgroups ??= GuestCgroups.open();
    const cgroups = await this.cgroups;
    if (cgroups instanceof GuestCgroups) await cgroups.attachThread(this.machine(id, name), subgroup, tid);
  }

  /**
   * A driver whose state lives under a root (qemu:///embed, or tsvirtd --root)
   * names its machines after the root: two such drivers on one host number
   * their guests alike and would otherwise share, and fight over, one cgroup.
   */
  private machine(id: number, name: string): string {
    return machineName(id, name, this.paths.root);
  }
}
