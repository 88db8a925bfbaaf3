// The secret driver (secret_driver.c) for qemu:/// connections: secrets by UUID,
// each with at most one per usage, their values kept base64-encoded beside their
// definitions (secret-store.ts). One SecretState per state folder; tsvirtd keeps
// it for its life, a connection without a daemon loads it when it opens.
import { SecretEventType } from '../../driver/event-numbers.js';
import { EventHub, type EventSource } from '../../driver/events.js';
import type { SecretDriver, SecretValues } from '../../driver/families.js';
import type { ProcArgs, ProcRet } from '../../driver/procedures.js';
import type { SecretRef } from '../../driver/refs.js';
import type { OpenOptions } from '../../driver/registry.js';
import type { ParsedURI } from '../../driver/uri.js';
import { formatSecretXML, parseSecretXML, SECRET_USAGE_TYPES, type SecretDef } from '../../conf/secret.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { parseUUID } from '../../util/uuid.js';
import { secretPathsForURI } from './paths.js';
import { SecretStore, type SecretObj } from './secret-store.js';

const secretError = (code: ErrorCode, message: string) => virError(code, message, ErrorDomain.SECRET);

/** virConnectListAllSecretsFlags */
const LIST_EPHEMERAL = 1;
const LIST_NO_EPHEMERAL = 2;
const LIST_PRIVATE = 4;
const LIST_NO_PRIVATE = 8;
/** VIR_SECRET_DEFINE_VALIDATE */
const DEFINE_VALIDATE = 1;

function checkFlags(flags: number, allowed: number, fn: string): void {
  const unsupported = flags & ~allowed;
  if (unsupported) throw secretError(ErrorCode.INVALID_ARG, `unsupported flags (0x${(unsupported >>> 0).toString(16)}) in function ${fn}`);
}

/** One of a pair of opposite list filters (VIR_CONNECT_LIST_SECRETS_EPHEMERAL / NO_EPHEMERAL...): neither or both keep everything. */
function passes(flags: number, yes: number, no: number, value: boolean): boolean {
  if (!(flags & (yes | no)) || (flags & yes && flags & no)) return true;
  return flags & yes ? value : !value;
}

/** The secrets of one state folder, and what happens to them. */
export class SecretState {
  readonly secrets = new Map<string, SecretObj>();
  readonly events = new EventHub();

  constructor(readonly store: SecretStore) {}

  static async load(store: SecretStore): Promise<SecretState> {
    await store.prepare();
    const state = new SecretState(store);
    for (const obj of await store.load()) {
      // a second definition for the same usage is refused as virSecretObjListAdd refuses it
      if (state.findByUsage(obj.def.usageType, obj.def.usageID)) continue;
      state.secrets.set(obj.def.uuid, obj);
    }
    return state;
  }

  /** virSecretObjListFindByUsage: secrets of usage 'none' are never found by usage. */
  findByUsage(usageType: SecretDef['usageType'], usageID: string | undefined): SecretObj | undefined {
    if (usageType === 'none') return undefined;
    return [...this.secrets.values()].find((s) => s.def.usageType === usageType && s.def.usageID === usageID);
  }

  /** Queued as virObjectEventStateQueue does: subscribers hear of a change after the call that made it. */
  emit(obj: SecretObj, event?: SecretEventType): void {
    const secret = secretRef(obj.def);
    setImmediate(() => {
      try {
        if (event === undefined) this.events.emit({ key: 'secretEventValueChanged', body: { secret } });
        else this.events.emit({ key: 'secretEventLifecycle', body: { secret, event, detail: 0 } });
      } catch {
        // a subscriber's failure never fails the secret call
      }
    });
  }
}

/** virGetSecret: a secret's handle carries its usage (an empty ID for 'none'). */
function secretRef(def: SecretDef): SecretRef {
  return { uuid: def.uuid, usageType: SECRET_USAGE_TYPES.indexOf(def.usageType), usageID: def.usageID ?? '' };
}

/** The secret calls of one connection. */
export class SecretConnection implements SecretDriver, SecretValues {
  constructor(private readonly state: SecretState) {}

  /** The secret events of the state this connection works on. */
  get events(): EventSource {
    return this.state.events;
  }

  private get secrets(): Map<string, SecretObj> {
    return this.state.secrets;
  }

  /** secretObjFromSecret */
  private secretObj(ref: { uuid: string }): SecretObj {
    const uuid = parseUUID(ref.uuid) ?? ref.uuid;
    const obj = this.secrets.get(uuid);
    if (!obj) throw secretError(ErrorCode.NO_SECRET, `no secret with matching uuid '${uuid}'`);
    return obj;
  }

  /** Listed in UUID order, as a stable stand-in for libvirt's hash order (virsh sorts them anyway). */
  private sorted(): SecretObj[] {
    return [...this.secrets.values()].sort((a, b) => (a.def.uuid < b.def.uuid ? -1 : a.def.uuid > b.def.uuid ? 1 : 0));
  }

  async connectNumOfSecrets(): Promise<ProcRet<'connectNumOfSecrets'>> {
    return { num: this.secrets.size };
  }
  async connectListSecrets({ maxuuids }: ProcArgs<'connectListSecrets'>): Promise<ProcRet<'connectListSecrets'>> {
    return { uuids: this.sorted().map((s) => s.def.uuid).slice(0, maxuuids) };
  }
  async connectListAllSecrets({ need_results, flags }: ProcArgs<'connectListAllSecrets'>): Promise<ProcRet<'connectListAllSecrets'>> {
    checkFlags(flags, LIST_EPHEMERAL | LIST_NO_EPHEMERAL | LIST_PRIVATE | LIST_NO_PRIVATE, 'secretConnectListAllSecrets');
    const secrets = this.sorted()
      .filter((s) => passes(flags, LIST_EPHEMERAL, LIST_NO_EPHEMERAL, s.def.ephemeral) && passes(flags, LIST_PRIVATE, LIST_NO_PRIVATE, s.def.private))
      .map((s) => secretRef(s.def));
    return { secrets: need_results ? secrets : [], ret: secrets.length };
  }

  async secretLookupByUUID({ uuid }: ProcArgs<'secretLookupByUUID'>): Promise<ProcRet<'secretLookupByUUID'>> {
    return { secret: secretRef(this.secretObj({ uuid }).def) };
  }
  async secretLookupByUsage({ usageType, usageID }: ProcArgs<'secretLookupByUsage'>): Promise<ProcRet<'secretLookupByUsage'>> {
    const type = SECRET_USAGE_TYPES[usageType];
    const obj = type === undefined ? undefined : this.state.findByUsage(type, usageID);
    if (!obj) throw secretError(ErrorCode.NO_SECRET, `no secret with matching usage '${usageID}'`);
    return { secret: secretRef(obj.def) };
  }

  /** virSecretObjListAdd's rules: one secret per UUID, its usage fixed, never made public again, one secret per usage. */
  private checkRedefinition(def: SecretDef): SecretObj | undefined {
    const existing = this.secrets.get(def.uuid);
    if (existing) {
      if (existing.def.usageID !== def.usageID) {
        throw secretError(ErrorCode.INTERNAL_ERROR, `a secret with UUID ${def.uuid} is already defined for use with ${existing.def.usageID ?? '(null)'}`);
      }
      if (existing.def.private && !def.private) throw secretError(ErrorCode.INTERNAL_ERROR, 'cannot change private flag on existing secret');
      return existing;
    }
    const sameUsage = this.state.findByUsage(def.usageType, def.usageID);
    if (sameUsage) throw secretError(ErrorCode.INTERNAL_ERROR, `a secret with UUID ${sameUsage.def.uuid} already defined for use with ${def.usageID}`);
    return undefined;
  }

  async secretDefineXML({ xml, flags }: ProcArgs<'secretDefineXML'>): Promise<ProcRet<'secretDefineXML'>> {
    checkFlags(flags, DEFINE_VALIDATE, 'secretDefineXML');
    const def = parseSecretXML(xml);
    const existing = this.checkRedefinition(def);
    const obj: SecretObj = existing ?? { def };
    const previous = existing?.def;
    obj.def = def;
    try {
      await this.state.store.save(obj, previous);
    } catch (e) {
      // a failed save leaves the secret as it was, or not there at all
      if (previous) obj.def = previous;
      throw e;
    }
    this.secrets.set(def.uuid, obj);
    this.state.emit(obj, SecretEventType.DEFINED);
    return { secret: secretRef(def) };
  }

  async secretGetXMLDesc({ secret, flags }: ProcArgs<'secretGetXMLDesc'>): Promise<ProcRet<'secretGetXMLDesc'>> {
    checkFlags(flags, 0, 'secretGetXMLDesc');
    return { xml: formatSecretXML(this.secretObj(secret).def) };
  }

  async secretSetValue({ secret, value, flags }: ProcArgs<'secretSetValue'>): Promise<void> {
    checkFlags(flags, 0, 'secretSetValue');
    const obj = this.secretObj(secret);
    const old = obj.value;
    obj.value = Buffer.from(value);
    try {
      await this.state.store.saveValue(obj);
    } catch (e) {
      obj.value = old;
      throw e;
    }
    old?.fill(0);
    this.state.emit(obj);
  }

  /** secretGetValue: a client never reads a private secret (only the daemon's own drivers do, see secretValueFor). */
  async secretGetValue({ secret, flags }: ProcArgs<'secretGetValue'>): Promise<ProcRet<'secretGetValue'>> {
    checkFlags(flags, 0, 'secretGetValue');
    const obj = this.secretObj(secret);
    if (obj.def.private) throw secretError(ErrorCode.INVALID_SECRET, 'secret is private');
    return { value: valueOf(obj) };
  }

  async secretUndefine({ secret }: ProcArgs<'secretUndefine'>): Promise<void> {
    const obj = this.secretObj(secret);
    await this.state.store.remove(obj.def);
    this.secrets.delete(obj.def.uuid);
    obj.value?.fill(0);
    this.state.emit(obj, SecretEventType.UNDEFINED);
  }

  /**
   * A secret's value for another driver of this process (virSecretGetSecretString
   * under the daemon's own identity): private secrets included.
   */
  async secretValueFor(uuid: string): Promise<Buffer> {
    return valueOf(this.secretObj({ uuid }));
  }
}

function valueOf(obj: SecretObj): Buffer {
  if (!obj.value) throw secretError(ErrorCode.NO_SECRET, `secret '${obj.def.uuid}' does not have a value`);
  return Buffer.from(obj.value);
}

/** tsvirtd's secret state per state folder, loaded by the first connection and kept. */
const longLived = new Map<string, Promise<SecretState>>();

/** The shared secret driver's open (SharedDriver<'secret'>.open). */
export async function openSecretDriver(uri: ParsedURI, options: OpenOptions): Promise<SecretConnection> {
  const paths = secretPathsForURI(uri, options.stateRoot);
  if (!options.longLived) return new SecretConnection(await SecretState.load(new SecretStore(paths, true)));
  let loading = longLived.get(paths.stateDir);
  if (!loading) {
    loading = SecretState.load(new SecretStore(paths, false));
    longLived.set(paths.stateDir, loading);
    loading.catch(() => longLived.delete(paths.stateDir));
  }
  return new SecretConnection(await loading);
}
