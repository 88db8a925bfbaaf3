// QEMU's migration stream to and from a save image. libvirt hands QEMU the
// image's file descriptor (getfd + fd: URI); Node cannot pass descriptors over
// QMP, and QEMU's sandbox (-sandbox spawn=deny) forbids exec: URIs. So tsvirt
// relays the stream through a unix socket of its own: QEMU connects to it when
// saving (unix: URI of migrate) and listens on it when restoring (of
// migrate-incoming), and this process copies between the socket and the file.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable, Writable } from 'node:stream';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { removeOnExit } from '../../util/remove-on-exit.js';
import { COMPRESSION_PROGRAMS } from './save-image.js';

/** Who QEMU runs as when that is not this process's user: the relay socket and its folder become theirs. */
export type QemuOwner = { uid: number; gid: number } | undefined;

/**
 * A private folder (mode 0700) for the relay socket, short enough for sun_path
 * under any root; owned by QEMU's user, who binds in it (restore) or connects to
 * the socket (save), while root reaches it anyway.
 */
export async function relaySocket(owner: QemuOwner): Promise<{ socket: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tsvirt-mig-'));
  const release = removeOnExit(dir);
  if (owner) await chown(dir, owner.uid, owner.gid);
  const remove = async () => {
    await rm(dir, { recursive: true, force: true });
    release();
  };
  return { socket: path.join(dir, 's'), remove };
}

export interface OutgoingStream {
  /** the URI to give QEMU's migrate */
  uri: string;
  /** resolves once QEMU closed the stream and every byte is in the file */
  written: Promise<void>;
  close(): Promise<void>;
}

/** Appends what QEMU migrates to the unix: URI returned to `file`. */
export function streamToFile(file: string, owner: QemuOwner): Promise<OutgoingStream> {
  return streamTo(() => createWriteStream(file, { flags: 'a' }), owner);
}

/** Passes what QEMU migrates to the unix: URI returned into the sink `open` gives once QEMU connects; the sink ends with QEMU's stream. */
export async function streamTo(open: () => Writable, owner: QemuOwner): Promise<OutgoingStream> {
  const { socket, remove } = await relaySocket(owner);
  const server = net.createServer();
  const written = new Promise<void>((resolve, reject) => {
    server.once('connection', (conn) => {
      server.close();
      pipeline(conn, open()).then(resolve, reject);
    });
    server.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => server.listen(socket, resolve).once('error', reject));
  // connecting takes write permission on the socket file
  if (owner) await chown(socket, owner.uid, owner.gid);
  written.catch(() => undefined); // awaited by the caller; a failed save must not leave an unhandled rejection
  return {
    uri: `unix:${socket}`,
    written,
    close: async () => {
      server.close();
      await remove();
    },
  };
}

/** The image's migration stream from `offset`, decompressed as its header says. */
function imageStream(file: string, offset: number, compressed: number): Readable {
  const program = COMPRESSION_PROGRAMS[compressed];
  if (program === undefined) throw virError(ErrorCode.OPERATION_FAILED, `Invalid compressed save format ${compressed}`, ErrorDomain.QEMU);
  const raw = createReadStream(file, { start: offset });
  if (program === 'raw') return raw;
  const child = spawn(program, program === 'lzop' ? ['-dc', '--ignore-warn'] : ['-dc'], { stdio: ['pipe', 'pipe', 'ignore'] });
  raw.pipe(child.stdin);
  return child.stdout;
}

export interface IncomingStream {
  /** the URI to give QEMU's migrate-incoming */
  uri: string;
  /** call once QEMU listens (migrate-incoming returned): sends the stream, resolves when all is sent */
  send(): Promise<void>;
  close(): Promise<void>;
}

/** Feeds an image's migration stream to a QEMU that listens on the unix: URI returned. */
export async function streamFromFile(file: string, offset: number, compressed: number, owner: QemuOwner): Promise<IncomingStream> {
  const { socket, remove } = await relaySocket(owner);
  return {
    uri: `unix:${socket}`,
    send: async () => {
      const conn = net.createConnection(socket);
      await new Promise<void>((resolve, reject) => conn.once('connect', resolve).once('error', reject));
      await pipeline(imageStream(file, offset, compressed), conn);
    },
    close: remove,
  };
}
