// Character device sessions (libvirt's virChrdevOpen): virDomainOpenConsole's
// duplex stream on the pty QEMU opened for a console, and virDomainOpenChannel's
// on the UNIX socket of a channel; one session per device.
//
// Sessions may live in different processes, so the session holding a device is
// recorded in a small file: a new session is refused while the recorded one's
// process lives, unless forced, and a session whose record is taken over by a
// forced one closes its stream.
import { constants, openSync, readFileSync, rmSync, unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { ReadStream } from 'node:tty';
import type { Duplex } from 'node:stream';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { isProcessAlive, processStartTime } from '../../util/process.js';
import { child, type XmlElement } from '../../util/xml.js';

/** How often a session checks whether a forced session took its console over. */
const TAKEOVER_POLL_MS = 200;

/**
 * The character device `virsh console` connects to (qemuDomainOpenConsole):
 * by alias among consoles, serials and parallels, else the first console or
 * serial. Throws libvirt's errors when there is none or it is not a pty.
 */
export function consoleDevice(live: XmlElement, devName: string | null): XmlElement {
  const devices = child(live, 'devices')?.children ?? [];
  const named = (kind: string) => devices.filter((d) => d.name === kind);
  const chr = devName !== null
    ? [...named('console'), ...named('serial'), ...named('parallel')].find((d) => child(d, 'alias')?.attrs.name === devName)
    : (named('console')[0] ?? named('serial')[0]);
  if (!chr) throw virError(ErrorCode.INTERNAL_ERROR, `cannot find character device ${devName ?? '<null>'}`, ErrorDomain.QEMU);
  if (chr.attrs.type !== 'pty') {
    throw virError(ErrorCode.INTERNAL_ERROR, `character device ${devName ?? child(chr, 'alias')?.attrs.name ?? '<null>'} is not using a PTY`, ErrorDomain.QEMU);
  }
  return chr;
}

/**
 * Opens the pty `ptyPath` as the domain's console session recorded in
 * `ownerFile`. Call holding the domain lock (the record is read, then written).
 * When the domain stops, QEMU closes the pty and reads fail with EIO.
 */
export function openConsoleSession(ptyPath: string, ownerFile: string, force: boolean): Promise<Duplex> {
  return holdSession(ownerFile, force, 'Active console session exists for this domain', async () => {
    try {
      return new ReadStream(openSync(ptyPath, constants.O_RDWR | constants.O_NOCTTY));
    } catch (e) {
      throw virError(ErrorCode.SYSTEM_ERROR, `Unable to open character device ${ptyPath}: ${(e as Error).message}`, ErrorDomain.QEMU);
    }
  });
}

/**
 * The virtio channel virDomainOpenChannel connects to (qemuDomainOpenChannel):
 * by alias or virtio target name, else the first channel; only a UNIX socket
 * channel can be opened. Throws libvirt's errors.
 */
export function channelDevice(live: XmlElement, name: string | null): { chr: XmlElement; socketPath: string } {
  const channels = (child(live, 'devices')?.children ?? []).filter((d) => d.name === 'channel');
  const chr = name !== null
    ? channels.find((c) => child(c, 'alias')?.attrs.name === name || (child(c, 'target')?.attrs.type === 'virtio' && child(c, 'target')?.attrs.name === name))
    : channels[0];
  if (!chr) throw virError(ErrorCode.INTERNAL_ERROR, `cannot find channel ${name ?? '<null>'}`, ErrorDomain.QEMU);
  const socketPath = child(chr, 'source')?.attrs.path;
  if (chr.attrs.type !== 'unix' || socketPath === undefined) {
    throw virError(ErrorCode.INTERNAL_ERROR, `channel ${name ?? child(chr, 'alias')?.attrs.name ?? '<null>'} is not using a UNIX socket`, ErrorDomain.QEMU);
  }
  return { chr, socketPath };
}

/** Connects to a channel's UNIX socket (QEMU listens on it) as the device's session recorded in `ownerFile`. */
export function openChannelSession(socketPath: string, ownerFile: string, force: boolean): Promise<Duplex> {
  return holdSession(ownerFile, force, 'Active channel stream exists for this domain', () => new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    socket.once('connect', () => resolve(socket));
    socket.once('error', (e) => reject(virError(ErrorCode.SYSTEM_ERROR, `Unable to connect to UNIX socket ${socketPath}: ${e.message}`, ErrorDomain.QEMU)));
  }));
}

/**
 * Opens a device with `open` as the session recorded in `ownerFile`, refused
 * with `busy` while another live session holds it, unless forced.
 */
async function holdSession(ownerFile: string, force: boolean, busy: string, open: () => Promise<Duplex>): Promise<Duplex> {
  const holder = (await readFile(ownerFile, 'utf8').catch(() => '')).trim().split(' ');
  if (!force && holder.length === 3 && isProcessAlive(Number(holder[0]), Number(holder[1]))) {
    throw virError(ErrorCode.OPERATION_FAILED, busy, ErrorDomain.QEMU);
  }
  const session = `${process.pid} ${processStartTime(process.pid) ?? 0} ${process.getBuiltinModule('node:crypto').randomBytes(8).toString('hex')}`;
  const stream = await open();
  await writeFileAtomic(ownerFile, `${session}\n`);
  const takenOver = () => {
    readFile(ownerFile, 'utf8').then((s) => s.trim() !== session, () => true).then((gone) => gone && stream.destroy(), () => undefined);
  };
  watchFile(ownerFile, { interval: TAKEOVER_POLL_MS, persistent: false }, takenOver);
  stream.once('close', () => {
    unwatchFile(ownerFile, takenOver);
    // synchronous: a CLI exits right after its session closes
    try {
      if (readFileSync(ownerFile, 'utf8').trim() === session) rmSync(ownerFile, { force: true });
    } catch {
      // taken over or removed meanwhile
    }
  });
  return stream;
}

/**
 * Joins a console session to the stream of virDomainOpenConsole: bytes flow both
 * ways, and the end of either (the caller closing, QEMU closing the pty) ends both.
 */
export function connectConsoleStream(session: Duplex, stream: Duplex): void {
  session.pipe(stream);
  stream.pipe(session);
  // an EIO when QEMU goes away reaches the caller through the stream's destruction
  session.on('error', () => undefined);
  session.once('close', () => {
    // the guest went away (the pty hung up): libvirtd's error for a hangup, after the end of data
    if (!stream.destroyed) stream.destroy(session.errored ?? virError(ErrorCode.RPC, 'stream had unexpected termination', ErrorDomain.STREAMS));
  });
  stream.once('close', () => {
    if (!session.destroyed) session.destroy();
  });
}
