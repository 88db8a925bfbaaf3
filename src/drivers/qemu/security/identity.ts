// Who QEMU runs as (libvirt's qemu.conf `user` / `group` and its DAC label
// "+UID:+GID"). A root tsvirt never lets QEMU keep root: it runs as an
// unprivileged user of tsvirt's own, `tsvirt-qemu` unless qemu.conf names
// another, with no capabilities. Without root, QEMU runs as the caller, as
// under libvirt's qemu:///session.
//
// Why not libvirt's own `libvirt-qemu`: a host may run libvirtd next to tsvirt,
// and its DAC driver remembers and restores owners of the files its guests use.
// Sharing the uid would let either stack's guests open the other's images and
// let each stack's restore hand files to the other's running guests.
import { readFileSync } from 'node:fs';
import { ErrorCode, ErrorDomain, virError } from '../../../util/error.js';
import type { ConfValue } from '../config.js';

export const DEFAULT_QEMU_USER = 'tsvirt-qemu';
export const DEFAULT_QEMU_GROUP = 'tsvirt-qemu';

export interface QemuIdentity {
  uid: number;
  gid: number;
  /** The user has a passwd entry: its supplementary groups (kvm) come from initgroups. */
  named: boolean;
}

interface DbEntry {
  name: string;
  id: number;
  primaryGid?: number;
  /** a group's member list (its fourth field) */
  members: string[];
}

/** /etc/passwd or /etc/group as name, id (and a user's primary gid); what getpwnam/getgrnam read without NSS modules. */
function readDb(file: string): DbEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    if (f.length < 3 || !/^\d+$/.test(f[2]!)) return [];
    return [{ name: f[0]!, id: Number(f[2]), ...(f[3] !== undefined && /^\d+$/.test(f[3]) ? { primaryGid: Number(f[3]) } : {}), members: f[3]?.split(',') ?? [] }];
  });
}

/** virGetUserID / virGetGroupID: "+N" is a number; a name is looked up, and a bare number is taken when no such name exists. */
function resolveId(spec: string, db: DbEntry[], what: 'user' | 'group'): number {
  const numeric = (s: string) => (/^\d+$/.test(s) && Number(s) <= 0xffffffff ? Number(s) : undefined);
  const id = spec.startsWith('+') ? numeric(spec.slice(1)) : (db.find((e) => e.name === spec)?.id ?? numeric(spec));
  if (id === undefined) throw virError(ErrorCode.INTERNAL_ERROR, `Failed to parse ${what} '${spec}'`, ErrorDomain.NONE);
  return id;
}

function stringSetting(raw: ReadonlyMap<string, ConfValue>, name: string, fallback: string): string {
  const v = raw.get(name);
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw virError(ErrorCode.INTERNAL_ERROR, `expected a string for '${name}' parameter`, ErrorDomain.CONF);
  return v;
}

/** The process is root: QEMU must drop to the configured identity. */
export function privileged(): boolean {
  return process.getuid?.() === 0;
}

/**
 * The identity QEMU runs as: qemu.conf's user/group when this process is root
 * (libvirt reads them only when privileged), the caller otherwise.
 */
export function resolveQemuIdentity(raw: ReadonlyMap<string, ConfValue>): QemuIdentity {
  if (!privileged()) return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, named: false };
  return configuredIdentity(raw);
}

/** qemu.conf's user and group (default tsvirt-qemu) against the given user and group databases. */
export function configuredIdentity(raw: ReadonlyMap<string, ConfValue>, files = { passwd: '/etc/passwd', group: '/etc/group' }): QemuIdentity {
  const users = readDb(files.passwd);
  const uid = resolveId(stringSetting(raw, 'user', DEFAULT_QEMU_USER), users, 'user');
  const gid = resolveId(stringSetting(raw, 'group', DEFAULT_QEMU_GROUP), readDb(files.group), 'group');
  return { uid, gid, named: users.some((u) => u.id === uid) };
}

/** The DAC label libvirt prints: "+UID:+GID". */
/** The groups initgroups gives a user (setpriv --init-groups): those whose member list names it. */
export function memberGroups(uid: number, files = { passwd: '/etc/passwd', group: '/etc/group' }): Set<number> {
  const name = readDb(files.passwd).find((u) => u.id === uid)?.name;
  if (name === undefined) return new Set();
  return new Set(readDb(files.group).filter((g) => g.members.includes(name)).map((g) => g.id));
}

export function dacLabel(id: { uid: number; gid: number }): string {
  return `+${id.uid}:+${id.gid}`;
}

/** Parses "+UID:+GID" or "user:group" (a static <seclabel model='dac'>); undefined when malformed. */
export function parseDacLabel(label: string): { uid: number; gid: number } | undefined {
  const [u, g, ...rest] = label.split(':');
  if (u === undefined || g === undefined || rest.length > 0) return undefined;
  try {
    return { uid: resolveId(u, readDb('/etc/passwd'), 'user'), gid: resolveId(g, readDb('/etc/group'), 'group') };
  } catch {
    return undefined;
  }
}

/** QEMU must change identity: this process is root and the target is not this process's uid/gid. */
export function needsDrop(id: QemuIdentity): boolean {
  return privileged() && (id.uid !== 0 || id.gid !== 0);
}

/**
 * The command QEMU is exec'ed through to drop root: util-linux's setpriv sets
 * real/effective/saved uid and gid, the supplementary groups (the user's own,
 * so kvm membership opens /dev/kvm; none for a bare +UID), and empties the
 * inheritable, ambient and bounding capability sets. Changing every uid away
 * from 0 clears the permitted and effective sets, so QEMU holds no capability.
 * setpriv execs QEMU in place: pid and start time stay those of the spawn.
 */
export function dropPrivilegesCommand(id: QemuIdentity): string[] {
  return [
    SETPRIV,
    `--reuid=${id.uid}`,
    `--regid=${id.gid}`,
    id.named ? '--init-groups' : '--clear-groups',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--',
  ];
}

export const SETPRIV = '/usr/bin/setpriv';
