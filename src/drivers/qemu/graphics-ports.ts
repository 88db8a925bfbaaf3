// TCP ports for <graphics autoport='yes'> (VNC, SPICE) and websocket='-1', as
// libvirt's port allocators hand them out (remote_display_port_min 5900,
// websocket_port_min 5700, up to 65535): the lowest port no running domain
// holds and nothing else on the host has bound. A running domain's ports are
// in its live XML (status file), so they are free again once it stops.
//
// Every tsvirsh is its own daemon, so allocation is serialised by a lock, and
// a port handed out before the status file names it is reserved in
// STATE/tsvirt-port-reservations.json with the reserving process's identity:
// a reservation of a process that died is void.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorDomain } from '../../util/error.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { withFileLock } from '../../util/file-lock.js';
import { isProcessAlive, processStartTime } from '../../util/process.js';
import { child, childrenNamed, type XmlElement } from '../../util/xml.js';
import { acquirePort } from './port-range.js';
import { loadStatuses } from './status-file.js';

const DISPLAY_PORT_MIN = 5900;
const WEBSOCKET_PORT_MIN = 5700;
const PORT_MAX = 65535;

interface Reservation {
  port: number;
  domain: string;
  pid: number;
  startTime: number;
}

/** The ports a live definition's graphics hold. */
function portsOf(def: XmlElement): number[] {
  const devices = child(def, 'devices');
  return (devices ? childrenNamed(devices, 'graphics') : []).flatMap((g) => ['port', 'tlsPort', 'websocket'].map((a) => Number(g.attrs[a] ?? -1)).filter((p) => p > 0));
}

/** The graphics attributes autoport fills, with the range each comes from. */
function wantedPorts(def: XmlElement): Array<{ g: XmlElement; attr: 'port' | 'websocket'; min: number }> {
  const devices = child(def, 'devices');
  const out: Array<{ g: XmlElement; attr: 'port' | 'websocket'; min: number }> = [];
  for (const g of devices ? childrenNamed(devices, 'graphics') : []) {
    const listen = child(g, 'listen')?.attrs.type;
    if (listen === 'socket' || listen === 'none') continue;
    if ((g.attrs.type === 'vnc' || g.attrs.type === 'spice') && (g.attrs.autoport === 'yes' || g.attrs.port === '-1')) out.push({ g, attr: 'port', min: DISPLAY_PORT_MIN });
    if (g.attrs.type === 'vnc' && g.attrs.websocket === '-1') out.push({ g, attr: 'websocket', min: WEBSOCKET_PORT_MIN });
  }
  return out;
}

export class GraphicsPorts {
  constructor(
    private readonly stateDir: string,
    private readonly lockDir: string,
  ) {}

  private get file(): string {
    return path.join(this.stateDir, 'tsvirt-port-reservations.json');
  }

  private locked<T>(fn: (live: Reservation[]) => Promise<T>): Promise<T> {
    return withFileLock(path.join(this.lockDir, 'ports.lock'), async () => {
      const all = JSON.parse(await readFile(this.file, 'utf8').catch(() => '[]')) as Reservation[];
      return fn(all.filter((r) => isProcessAlive(r.pid, r.startTime)));
    }, { what: 'port allocation lock' });
  }

  /**
   * Fills the autoport ports of `live` (qemuProcessGraphicsReservePorts +
   * AllocatePorts) and reserves them for `domain` until release(); false when
   * there was nothing to allocate.
   */
  async allocate(domain: string, live: XmlElement): Promise<boolean> {
    const wanted = wantedPorts(live);
    if (wanted.length === 0) return false;
    return this.locked(async (reservations) => {
      const { statuses } = await loadStatuses(this.stateDir);
      const taken = new Set([...reservations.map((r) => r.port), ...[...statuses.values()].flatMap((s) => portsOf(s.domain)), ...portsOf(live)]);
      for (const w of wanted) {
        const range = { name: w.attr === 'port' ? 'display' : 'webSocket', min: w.min, max: PORT_MAX };
        const port = await acquirePort(range, (p) => taken.has(p), ErrorDomain.QEMU);
        taken.add(port);
        w.g.attrs[w.attr] = String(port);
        reservations.push({ port, domain, pid: process.pid, startTime: processStartTime(process.pid) ?? 0 });
      }
      await writeFileAtomic(this.file, JSON.stringify(reservations));
      return true;
    });
  }

  /** Ends `domain`'s reservations: its status file names the ports now, or its start failed. */
  async release(domain: string): Promise<void> {
    await this.locked(async (reservations) => {
      await writeFileAtomic(this.file, JSON.stringify(reservations.filter((r) => r.domain !== domain)));
    });
  }
}
