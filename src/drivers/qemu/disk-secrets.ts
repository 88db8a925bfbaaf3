// Encrypted disk images (<encryption format='luks'> on raw and qcow2): QEMU
// never sees a passphrase in clear. Before a start libvirt reads each secret
// from the secret driver (qemuDomainSecretStorageSourcePrepare) and hands QEMU
// the value encrypted with the domain's master key (AES-256-CBC, a fresh IV per
// secret) as a 'secret' object that names masterKey0 as its key.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecretDriver, SecretValues } from '../../driver/families.js';
import type { SecretRef } from '../../driver/refs.js';
import { SECRET_USAGE_TYPES } from '../../conf/secret.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childrenNamed, type XmlElement } from '../../util/xml.js';

/** How an <encryption><secret> names its secret. */
export interface SecretLookup {
  uuid?: string | undefined;
  usage?: string | undefined;
}

/** What the qemu driver may ask of the shared secret driver. */
export type SecretSource = SecretDriver & Partial<SecretValues>;

/** The <encryption> an image is decrypted with: in its <source>, or (the top image only) beside it. */
export function imageEncryption(holder: XmlElement, top: boolean): XmlElement | undefined {
  const source = child(holder, 'source');
  const inSource = source ? child(source, 'encryption') : undefined;
  return inSource ?? (top ? child(holder, 'encryption') : undefined);
}

/** The passphrase secret QEMU itself must apply (engine qemu, format luks), if the encryption asks for one. */
export function qemuLuksSecret(encryption: XmlElement | undefined): SecretLookup | undefined {
  if (!encryption || (encryption.attrs.engine ?? 'qemu') !== 'qemu' || encryption.attrs.format !== 'luks') return undefined;
  const secret = childrenNamed(encryption, 'secret')[0];
  if (!secret) return undefined;
  return { uuid: secret.attrs.uuid, usage: secret.attrs.usage };
}

const lookupKey = (lookup: SecretLookup) => (lookup.uuid !== undefined ? `uuid:${lookup.uuid.toLowerCase()}` : `usage:${lookup.usage ?? ''}`);

/** A secret as the launch found it: its value, unknown to the secret driver, or known but unusable. */
type SecretEntry = { value: Buffer } | { missing: Error } | { unusable: Error };

/** The secrets a domain's encrypted images name: their values, or why a value cannot be had. */
export class DiskSecrets {
  private constructor(private readonly found: Map<string, SecretEntry>) {}

  /** Reads every luks passphrase the domain's disks (and their backing images) name. */
  static async load(def: XmlElement, secrets: SecretSource | undefined): Promise<DiskSecrets> {
    const found = new Map<string, SecretEntry>();
    for (const lookup of domainLuksSecrets(def)) {
      const key = lookupKey(lookup);
      if (!found.has(key)) found.set(key, await readSecret(lookup, secrets));
    }
    return new DiskSecrets(found);
  }

  /** True when no image needs a passphrase. */
  get empty(): boolean {
    return this.found.size === 0;
  }

  /** The launch checks' view of these secrets (HostResources). */
  hostResources(): { secretExists(lookup: SecretLookup): boolean; secretValueFailure(lookup: SecretLookup): Error | undefined } {
    return { secretExists: (lookup) => this.exists(lookup), secretValueFailure: (lookup) => this.valueFailure(lookup) };
  }

  /** Whether the secret driver knows the secret (valueFailure says whether its value can be used). */
  exists(lookup: SecretLookup): boolean {
    const entry = this.found.get(lookupKey(lookup));
    return entry !== undefined && !('missing' in entry);
  }

  /** Why the value of a known secret cannot be used (no value, another usage type), if it cannot. */
  valueFailure(lookup: SecretLookup): Error | undefined {
    const entry = this.found.get(lookupKey(lookup));
    return entry && 'unusable' in entry ? entry.unusable : undefined;
  }

  /** The passphrase, for the command line (launch validation has refused the domains without one). */
  value(lookup: SecretLookup): Buffer {
    const entry = this.found.get(lookupKey(lookup));
    if (entry && 'value' in entry) return entry.value;
    throw entry && 'missing' in entry ? entry.missing : entry?.unusable ?? virError(ErrorCode.INTERNAL_ERROR, "missing secret info for 'luks' driver", ErrorDomain.QEMU);
  }
}

function* domainLuksSecrets(def: XmlElement): Generator<SecretLookup> {
  for (const disk of childrenNamed(child(def, 'devices') ?? def, 'disk')) {
    for (let holder: XmlElement | undefined = disk; holder; holder = child(holder, 'backingStore')) {
      const lookup = qemuLuksSecret(imageEncryption(holder, holder === disk));
      if (lookup && (lookup.uuid !== undefined || lookup.usage !== undefined)) yield lookup;
    }
  }
}

/** VIR_SECRET_USAGE_TYPE_VOLUME: an encryption passphrase. */
const VOLUME_USAGE = SECRET_USAGE_TYPES.indexOf('volume');

/** virSecretGetSecretString for a volume passphrase: lookup, usage type check, value. */
async function readSecret(lookup: SecretLookup, secrets: SecretSource | undefined): Promise<SecretEntry> {
  if (!secrets?.secretValueFor || !secrets.secretLookupByUUID || !secrets.secretLookupByUsage) {
    return { missing: virError(ErrorCode.NO_SUPPORT, 'this function is not supported by the connection driver: virSecretLookupByUUID', ErrorDomain.NONE) };
  }
  let ref: SecretRef;
  try {
    ref = (lookup.uuid !== undefined
      ? await secrets.secretLookupByUUID({ uuid: lookup.uuid })
      : await secrets.secretLookupByUsage({ usageType: VOLUME_USAGE, usageID: lookup.usage ?? '' })).secret;
  } catch (e) {
    return { missing: e as Error };
  }
  if (ref.usageType !== 0 && ref.usageType !== VOLUME_USAGE) {
    const message = `secret with uuid ${ref.uuid} is of type '${SECRET_USAGE_TYPES[ref.usageType] ?? ref.usageType}' not expected 'volume' type`;
    return { unusable: virError(ErrorCode.INVALID_ARG, message, ErrorDomain.NONE) };
  }
  try {
    return { value: await secrets.secretValueFor(ref.uuid) };
  } catch (e) {
    return { unusable: e as Error };
  }
}

/** The alias of the secret object an image's format layer decrypts with (qemuAliasForSecret). */
export function encryptionSecretAlias(storageId: number): string {
  return `libvirt-${storageId}-format-encryption-secret0`;
}

/**
 * The -object QEMU decrypts a passphrase with: the value AES-256-CBC encrypted
 * (PKCS#7 padding, as virCryptoEncryptData pads) under the 32-byte master key.
 */
export function encryptedSecretObject(alias: string, value: Buffer, masterKey: Buffer): Record<string, string> {
  // crypto is loaded by a start with secrets, not by every query that imports the driver
  const { createCipheriv, randomBytes } = process.getBuiltinModule('node:crypto');
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', masterKey, iv);
  const data = Buffer.concat([cipher.update(value), cipher.final()]);
  return { 'qom-type': 'secret', id: alias, data: data.toString('base64'), keyid: 'masterKey0', iv: iv.toString('base64'), format: 'base64' };
}

/** A running domain's master key (hotplug encrypts new passphrases under the key its QEMU holds). */
export async function readMasterKey(libDir: string): Promise<Buffer> {
  return readFile(join(libDir, 'master-key.aes'));
}
