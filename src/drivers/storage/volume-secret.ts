// An encrypted volume's passphrase on its way to qemu-img (storage_util.c):
// libvirt never puts it on a command line; it writes the secret's value to a
// 0600 file in the driver's private state folder, hands qemu-img a secret
// object reading that file, and removes the file once qemu-img is done.
import { randomBytes } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { StorageVolDef } from '../../conf/storage-vol.js';
import { systemError } from '../../util/errno-text.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';

/** How an <encryption><secret> names its secret: by UUID or by usage (a volume path). */
export type SecretLookup = { readonly uuid: string } | { readonly usage: string };

/** Reads a secret's value for the driver (the secret driver's SecretValues, with a usage resolved to its UUID). */
export type SecretReader = (lookup: SecretLookup) => Promise<Buffer>;

/** The secret object qemu-img gets: `--object secret,id=ALIAS,file=PATH`. */
export interface QemuImgSecret {
  readonly alias: string;
  readonly path: string;
}

const storageError = (code: ErrorCode, message: string) => virError(code, message, ErrorDomain.STORAGE);

/** virStorageEncryptionFormatType, as libvirt's messages number it. */
const ENCRYPTION_FORMATS = ['default', 'qcow', 'luks'];

/** The volume's <encryption> element, when it has one. */
export function volumeEncryption(vol: StorageVolDef) {
  return vol.targetExtras.find((e) => e.name === 'encryption');
}

/** The one passphrase secret an encryption names (libvirt reads it before checking anything else of the volume). */
function secretLookup(vol: StorageVolDef): SecretLookup {
  const secrets = volumeEncryption(vol)!.children.filter((c) => c.name === 'secret');
  const secret = secrets[0];
  if (secrets.length !== 1 || !secret) throw storageError(ErrorCode.INVALID_ARG, "A single <secret type='passphrase'...> element is expected in encryption description");
  if (secret.attrs.uuid) return { uuid: secret.attrs.uuid };
  if (secret.attrs.usage) return { usage: secret.attrs.usage };
  throw storageError(ErrorCode.XML_ERROR, 'missing secret uuid or usage attribute');
}

/** storageBackendCreateQemuImgCheckEncryption: qemu-img encrypts raw and qcow2 files, with LUKS only. */
export function checkVolumeEncryption(vol: StorageVolDef): void {
  const format = vol.format ?? 'raw';
  if (format !== 'raw' && format !== 'qcow2') throw storageError(ErrorCode.CONFIG_UNSUPPORTED, `volume encryption unsupported with format ${format}`);
  const encFormat = volumeEncryption(vol)!.attrs.format ?? 'default';
  if (encFormat !== 'luks') throw storageError(ErrorCode.CONFIG_UNSUPPORTED, `unsupported volume encryption format ${ENCRYPTION_FORMATS.indexOf(encFormat)}`);
}

/**
 * storageBackendCreateQemuImgSecretPath: the value in STATEDIR/POOL.VOL.secret.XXXXXX
 * (0600, created exclusively), and the object alias VOL_encrypt0. Removed on failure.
 */
export async function writeVolumeSecret(vol: StorageVolDef, poolName: string, stateDir: string, read: SecretReader): Promise<QemuImgSecret> {
  const lookup = secretLookup(vol);
  const path = join(stateDir, `${poolName}.${vol.name}.secret.${randomBytes(6).toString('base64url').slice(0, 6)}`);
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (e) {
    throw systemError('failed to open secret file for write', e, ErrorDomain.STORAGE);
  }
  try {
    const value = await read(lookup);
    try {
      await handle.writeFile(value);
    } finally {
      value.fill(0);
    }
  } catch (e) {
    await handle.close();
    await unlink(path).catch(() => undefined);
    throw e;
  }
  await handle.close();
  return { alias: `${vol.name}_encrypt0`, path };
}

/** The secret file goes as soon as qemu-img has read it. */
export async function removeVolumeSecret(secret: QemuImgSecret): Promise<void> {
  await unlink(secret.path).catch(() => undefined);
}
