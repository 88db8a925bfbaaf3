// Where connection drivers register and how a URI finds one (virConnectOpen):
// each registered driver is asked in turn; local-only drivers skip URIs with a
// server, scheme lists filter, and a driver may decline. Stateful drivers that
// several hypervisors share (networks, storage) join the connections of the
// drivers that ask for them.
import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import { EventHub, type EventSource } from './events.js';
import type { ConnectionDrivers, FamilyDriver } from './families.js';
import type { DriverFamily } from './procedures.js';
import { parseURI, type ParsedURI } from './uri.js';

export interface OpenOptions {
  readonly readonly: boolean;
  /**
   * Where a stateful driver keeps its files instead of the host's (/etc/libvirt,
   * /var/lib/libvirt, /run/libvirt...), in the layout of driver:///embed?root=DIR.
   * `tsvirtd --root DIR` sets it so a daemon under test never touches the host's
   * state; undefined means the host paths of the URI (qemu:///system, /session).
   */
  readonly stateRoot?: string;
  /**
   * The driver lives as long as the process (tsvirtd), as libvirtd's drivers do:
   * it may share its state between connections, watch what it runs and report
   * events. Unset (embedded in tsvirsh or a library user), it works per call.
   */
  readonly longLived?: boolean;
  /**
   * Opens a connection to another libvirt host by URI, as libvirt's drivers call
   * virConnectOpen for peer-to-peer migration. The registry fills it in from its
   * own PeerOpener; undefined where the composer gave none.
   */
  readonly openPeer?: PeerOpener;
}

/**
 * A connection by URI a driver opens for itself (the destination of a
 * peer-to-peer migration). The composer supplies it: inside tsvirtd it is
 * backed by a registry that has the remote driver, which the daemon's own
 * registry leaves out, so drivers never import the remote driver.
 */
export type PeerOpener = (uri: string) => Promise<ConnectionDrivers>;

/** What a connect driver's open answers: the connection's drivers, or DECLINED to let the next driver try. */
export type OpenResult = ConnectionDrivers | 'declined';

export interface ConnectDriver {
  /** virHypervisorDriver.name: 'QEMU', 'Test', 'remote' */
  readonly name: string;
  /** URI schemes it serves; null accepts any (the remote driver) */
  readonly uriSchemes: readonly string[] | null;
  /** never for a URI naming a server */
  readonly localOnly: boolean;
  /** may serve driver:///embed?root=DIR */
  readonly embeddable: boolean;
  /** families the connection takes from the shared stateful drivers when the driver has none of its own */
  readonly sharedFamilies: readonly SharedFamily[];
  /** `shared` reaches the shared drivers of the same URI and state root, as libvirt's qemu driver opens storage:/// or network:/// for itself */
  open(uri: ParsedURI, options: OpenOptions, shared: SharedDriverAccess): Promise<OpenResult>;
  /** connectURIProbe: the URI this driver answers a connection opened without one, if any. */
  uriProbe?(): Promise<string | undefined>;
}

export type SharedFamily = Exclude<DriverFamily, 'hypervisor'>;

/**
 * How a hypervisor driver uses a shared stateful driver (libvirt's virGetConnectNetwork,
 * virGetConnectStorage): a disk of type='volume' needs the storage driver, an interface
 * of type='network' the network driver. Undefined when no such driver is registered.
 */
export interface SharedDriverAccess {
  family<F extends SharedFamily>(family: F): Promise<FamilyDriver<F> | undefined>;
}

/** A stateful driver shared by connections (virSetSharedNetworkDriver...): opened once for a URI's state root. */
export interface SharedDriver<F extends SharedFamily> {
  readonly family: F;
  /** `shared` reaches the other shared drivers (the storage driver reads volume secrets from the secret driver). */
  open(uri: ParsedURI, options: OpenOptions, shared: SharedDriverAccess): Promise<FamilyDriver<F>>;
  /** What happens to the objects of a driver it opened (pool lifecycle...): the connections it joins report it too. */
  eventsOf?(driver: FamilyDriver<F>): EventSource | undefined;
}

export class DriverRegistry {
  private readonly connectDrivers: ConnectDriver[] = [];
  private readonly shared = new Map<DriverFamily, SharedDriver<SharedFamily>>();

  /** `openPeer` reaches the drivers' peers (OpenOptions.openPeer). */
  constructor(private readonly openPeer?: PeerOpener) {}

  register(driver: ConnectDriver): void {
    this.connectDrivers.push(driver);
  }

  registerShared<F extends SharedFamily>(driver: SharedDriver<F>): void {
    this.shared.set(driver.family, driver as unknown as SharedDriver<SharedFamily>);
  }

  /**
   * The URI a connection opened without one gets (virConnectOpenInternal with a
   * NULL or empty name): LIBVIRT_DEFAULT_URI (virConnectGetDefaultURI), else the
   * first registered driver whose connectURIProbe answers.
   */
  async defaultURI(env: NodeJS.ProcessEnv = process.env): Promise<string> {
    if (env.LIBVIRT_DEFAULT_URI) return env.LIBVIRT_DEFAULT_URI;
    for (const driver of this.connectDrivers) {
      const probed = await driver.uriProbe?.();
      if (probed) return probed;
    }
    throw virError(ErrorCode.NO_CONNECT, 'no connection driver available for <null>', ErrorDomain.NONE);
  }

  /** virConnectOpenInternal's driver loop, with libvirt's errors; an empty name opens defaultURI(). */
  async open(given: string, callerOptions: OpenOptions): Promise<{ name: string; uri: ParsedURI; drivers: ConnectionDrivers }> {
    const name = given === '' ? await this.defaultURI() : given;
    const options: OpenOptions = this.openPeer && !callerOptions.openPeer ? { ...callerOptions, openPeer: this.openPeer } : callerOptions;
    const uri = parseURI(name);
    const embed = uri.path === '/embed' && uri.host === null;
    if (embed) checkEmbedURI(uri);
    for (const driver of this.connectDrivers) {
      if (driver.localOnly && uri.host !== null) continue;
      if (driver.uriSchemes === null ? embed : !driver.uriSchemes.includes(uri.scheme)) continue;
      if (embed && !driver.embeddable) {
        throw virError(ErrorCode.CONFIG_UNSUPPORTED, `Driver ${driver.name} cannot be used in embedded mode`, ErrorDomain.NONE);
      }
      const shared = this.sharedOpener(uri, options);
      const opened = await driver.open(uri, options, shared);
      if (opened === 'declined') continue;
      const drivers = options.longLived ? await this.withShared(driver, opened, shared) : this.withSharedOnDemand(driver, opened, shared);
      return { name, uri, drivers };
    }
    throw virError(ErrorCode.NO_CONNECT, `no connection driver available for ${name}`, ErrorDomain.NONE);
  }

  /** The shared drivers as one connection sees them: each opened once, by whichever of the connection's drivers needs it first. */
  private sharedOpener(uri: ParsedURI, options: OpenOptions): ConnectionSharedDrivers {
    // a shared driver that needs another (storage asks for secrets) asks through the same connection
    const opener: ConnectionSharedDrivers = new ConnectionSharedDrivers((family) => this.shared.get(family)?.open(uri, options, opener) ?? Promise.resolve(undefined));
    return opener;
  }

  /** tsvirtd's connections: the shared drivers come up with the first one, as libvirtd initialises and autostarts them before it serves. */
  private async withShared(driver: ConnectDriver, drivers: ConnectionDrivers, shared: SharedDriverAccess): Promise<ConnectionDrivers> {
    const joined: Mutable<ConnectionDrivers> = { ...drivers, close: () => drivers.close() };
    const sources: EventSource[] = drivers.events ? [drivers.events] : [];
    for (const family of driver.sharedFamilies) {
      const registered = this.shared.get(family);
      if (drivers[family] !== undefined || !registered) continue;
      const opened = await shared.family(family);
      (joined as Record<string, unknown>)[family] = opened;
      const events = opened && registered.eventsOf?.(opened);
      if (events) sources.push(events);
    }
    if (sources.length > 0) joined.events = sources.length === 1 ? sources[0] : mergedEvents(sources);
    return joined;
  }

  /**
   * A connection of one process (tsvirsh, a library user): a shared driver is opened
   * (loaded, its autostart objects started) when a call first needs its family, so a
   * domain query loads no network or storage code. Its events join the connection's
   * as it opens; before, it had none to report.
   */
  private withSharedOnDemand(driver: ConnectDriver, drivers: ConnectionDrivers, shared: ConnectionSharedDrivers): ConnectionDrivers {
    const families = driver.sharedFamilies.filter((f) => drivers[f] === undefined && this.shared.has(f));
    if (families.length === 0) return drivers;
    const joined: Mutable<ConnectionDrivers> = {
      ...drivers,
      close: () => drivers.close(),
      openFamily: async (family) => (families.includes(family) ? await shared.family(family) : undefined),
    };
    const reporting = new Map(families.flatMap((f) => {
      const eventsOf = this.shared.get(f)?.eventsOf;
      return eventsOf ? [[f, eventsOf] as const] : [];
    }));
    if (drivers.events === undefined && reporting.size === 0) return joined;
    const opened = new EventHub();
    shared.onOpened((family, driver) => reporting.get(family)?.(driver)?.subscribe((event) => opened.emit(event)));
    joined.events = drivers.events ? mergedEvents([drivers.events, opened]) : opened;
    return joined;
  }
}

/** One connection's shared drivers, opened on the first ask and kept for the connection's other asks. */
class ConnectionSharedDrivers implements SharedDriverAccess {
  private readonly opening = new Map<SharedFamily, Promise<FamilyDriver<SharedFamily> | undefined>>();
  private readonly openedListeners: ((family: SharedFamily, driver: FamilyDriver<SharedFamily>) => void)[] = [];

  constructor(private readonly openShared: (family: SharedFamily) => Promise<FamilyDriver<SharedFamily> | undefined>) {}

  async family<F extends SharedFamily>(family: F): Promise<FamilyDriver<F> | undefined> {
    let pending = this.opening.get(family);
    if (!pending) {
      pending = this.openShared(family).then((driver) => {
        if (driver) for (const listener of this.openedListeners) listener(family, driver);
        return driver;
      });
      this.opening.set(family, pending);
      // a failed open (unreadable state folder...) is tried again by the next call
      pending.catch(() => this.opening.delete(family));
    }
    return (await pending) as FamilyDriver<F> | undefined;
  }

  /** `listener` hears of each shared driver as it opens (before the call that needed it goes on). */
  onOpened(listener: (family: SharedFamily, driver: FamilyDriver<SharedFamily>) => void): void {
    this.openedListeners.push(listener);
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** One EventSource for several: a subscriber hears every one of them. */
function mergedEvents(sources: readonly EventSource[]): EventSource {
  return {
    subscribe(listener) {
      const unsubscribers = sources.map((s) => s.subscribe(listener));
      return () => unsubscribers.forEach((u) => u());
    },
  };
}

/** libvirt's checks on driver:///embed?root=DIR before any driver is asked. */
function checkEmbedURI(uri: ParsedURI): void {
  if (!/^[a-z]+$/.test(uri.scheme)) {
    throw virError(ErrorCode.NO_CONNECT, `URI scheme '${uri.scheme}' for embedded driver is not valid`, ErrorDomain.NONE);
  }
  const root = uri.params.get('root');
  if (root === null) throw virError(ErrorCode.INVALID_ARG, `Missing URI parameter 'root'`, ErrorDomain.URI);
  if (!root.startsWith('/')) throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'root path must be absolute', ErrorDomain.NONE);
}
