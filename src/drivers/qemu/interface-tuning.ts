// virDomainGet/SetInterfaceParameters of the qemu driver (domiftune): an
// interface's <bandwidth>, as typed parameters inbound.average etc. (KiB/s,
// KiB for bursts). A live change reshapes the interface's tap with tc
// (tap-devices.ts); a config change only rewrites the definition.
import { ModificationImpact } from '../../driver/flags.js';
import { typedParam, TypedParamType, type TypedParam } from '../../driver/typed-params.js';
import { validateTypedParams } from '../../driver/typed-params-validate.js';
import { findInterface } from '../../conf/device-lookup.js';
import { reorder } from '../../conf/domain.js';
import { oneDefinition } from '../../conf/objects/modification-impact.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, cloneElement, element, type XmlElement } from '../../util/xml.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';
import { privileged } from './security/identity.js';
import { setDefaultTapQdisc, setTapBandwidth } from './tap-devices.js';

const IMPACT = ModificationImpact.LIVE | ModificationImpact.CONFIG;
const TYPED_PARAM_STRING_OKAY = 1 << 2;
/** virNetDevSupportsBandwidth */
const QOS_TYPES = new Set(['bridge', 'network', 'direct', 'ethernet']);

/** virNetDevBandwidthRate; a zero field is an unset one. */
interface Rate {
  average: number;
  peak: number;
  burst: number;
  floor: number;
}
/** virNetDevBandwidth: either direction may be absent. */
interface Bandwidth {
  in?: Rate | undefined;
  out?: Rate | undefined;
}
type Direction = keyof Bandwidth;

/** The parameters in libvirt's order (QEMU_NB_BANDWIDTH_PARAM of them), each with its direction and rate field. */
const PARAMS: { field: string; dir: Direction; key: keyof Rate }[] = [
  { field: 'inbound.average', dir: 'in', key: 'average' },
  { field: 'inbound.peak', dir: 'in', key: 'peak' },
  { field: 'inbound.burst', dir: 'in', key: 'burst' },
  { field: 'inbound.floor', dir: 'in', key: 'floor' },
  { field: 'outbound.average', dir: 'out', key: 'average' },
  { field: 'outbound.peak', dir: 'out', key: 'peak' },
  { field: 'outbound.burst', dir: 'out', key: 'burst' },
];
const ELEMENT: Record<Direction, string> = { in: 'inbound', out: 'outbound' };

function readRate(el: XmlElement | undefined): Rate | undefined {
  if (!el) return undefined;
  const n = (name: string) => Number(el.attrs[name] ?? 0);
  return { average: n('average'), peak: n('peak'), burst: n('burst'), floor: n('floor') };
}

function readBandwidth(net: XmlElement): Bandwidth {
  const bw = child(net, 'bandwidth');
  return { in: readRate(child(bw ?? element('x'), 'inbound')), out: readRate(child(bw ?? element('x'), 'outbound')) };
}

/** virNetDevBandwidthFormat: the set fields of each direction (average, peak, floor, burst), no element without a direction. */
function bandwidthElement(bw: Bandwidth): XmlElement | undefined {
  const children = (['in', 'out'] as const).flatMap((dir) => {
    const rate = bw[dir];
    if (!rate) return [];
    const attrs = Object.fromEntries((['average', 'peak', 'floor', 'burst'] as const).filter((k) => rate[k]).map((k) => [k, String(rate[k])]));
    return [element(ELEMENT[dir], attrs)];
  });
  return children.length > 0 ? element('bandwidth', {}, children) : undefined;
}

/** Replaces the interface's <bandwidth> (or drops it), in the domain's canonical order. */
function writeBandwidth(def: XmlElement, net: XmlElement, bw: Bandwidth): void {
  const next = bandwidthElement(bw);
  net.children = [...net.children.filter((c) => c.name !== 'bandwidth'), ...(next ? [next] : [])];
  reorder(def);
}

/** The rates after a change: a direction given replaces the old one (given without a rate: removes it), one not given stays. */
function merged(old: Bandwidth, bw: Bandwidth, specified: Record<Direction, boolean>): Bandwidth {
  return { in: bw.in ?? (specified.in ? undefined : old.in), out: bw.out ?? (specified.out ? undefined : old.out) };
}

export async function getInterfaceParameters(driver: QemuDriver, dom: DomainRef, device: string, nparams: number, flags: number): Promise<{ params: TypedParam[]; nparams: number }> {
  checkFlags(flags, IMPACT | TYPED_PARAM_STRING_OKAY, 'qemuDomainGetInterfaceParameters');
  const rt = driver.runtime;
  return rt.withDomain(dom, async (obj, running) => {
    const { def, live } = oneDefinition(obj, flags & IMPACT);
    if (nparams === 0) return { params: [], nparams: PARAMS.length };
    const bw = readBandwidth(findInterface(live && running ? running.live : def, device));
    const params = PARAMS.slice(0, nparams).map((p) => typedParam.uint(p.field, bw[p.dir]?.[p.key] ?? 0));
    return { params, nparams: params.length };
  }, { monitor: false });
}

/** The requested rates: a direction without average (or, inbound, floor) is none (average or floor is mandatory). */
function requested(params: TypedParam[]): { bw: Bandwidth; specified: Record<Direction, boolean> } {
  const rates: Record<Direction, Rate> = { in: { average: 0, peak: 0, burst: 0, floor: 0 }, out: { average: 0, peak: 0, burst: 0, floor: 0 } };
  const specified = { in: false, out: false };
  for (const param of params) {
    const p = PARAMS.find((q) => q.field === param.field)!;
    rates[p.dir][p.key] = (param.value as { ui: number }).ui;
    if (p.key === 'average' || p.key === 'floor') specified[p.dir] = true;
  }
  return { bw: { in: rates.in.average || rates.in.floor ? rates.in : undefined, out: rates.out.average ? rates.out : undefined }, specified };
}

export async function setInterfaceParameters(driver: QemuDriver, dom: DomainRef, device: string, params: TypedParam[], flags: number): Promise<void> {
  checkFlags(flags, IMPACT, 'qemuDomainSetInterfaceParameters');
  validateTypedParams(params, Object.fromEntries(PARAMS.map((p) => [p.field, TypedParamType.UINT])));
  const rt = driver.runtime;
  await rt.withDomain(dom, async (obj, running) => {
    const { live, config } = rt.impact(flags, obj, running);
    const liveNet = live ? findInterface(running!.live, device) : undefined;
    const persistent = config ? cloneElement(obj.newDef ?? obj.def) : undefined;
    const persistentNet = persistent ? findInterface(persistent, device) : undefined;
    for (const net of [liveNet, persistentNet]) {
      // the live interface's actual type (a network's port is a bridge tap) is still 'network' here
      if (net && !QOS_TYPES.has(net.attrs.type ?? '')) {
        throw virError(ErrorCode.CONFIG_UNSUPPORTED, `setting bandwidth on interfaces of type '${net.attrs.type}' is not implemented yet`, ErrorDomain.QEMU);
      }
    }
    const { bw, specified } = requested(params);
    if (liveNet) {
      // the tap is reshaped from scratch, so a direction not given keeps its old rate
      const next = merged(readBandwidth(liveNet), bw, specified);
      if (bw.in?.floor) {
        const mac = child(liveNet, 'mac')?.attrs.address ?? '';
        if (liveNet.attrs.type !== 'network') {
          throw virError(ErrorCode.OPERATION_UNSUPPORTED, `Invalid use of 'floor' on interface with MAC address ${mac} - 'floor' is only supported for interface type 'network' with forward type 'nat', 'route', 'open' or none`, ErrorDomain.QEMU);
        }
        // libvirt books a floor with the network's QoS (virDomainNetBandwidthUpdate), which tsvirt's network driver does not keep
        throw virError(ErrorCode.OPERATION_UNSUPPORTED, `changing 'floor' of a running interface with MAC address ${mac} is not supported`, ErrorDomain.QEMU);
      }
      const tap = child(liveNet, 'target')?.attrs.dev;
      if (tap !== undefined && liveNet.attrs.type !== 'direct') {
        const oldBandwidth = child(liveNet, 'bandwidth');
        await setTapBandwidth(tap, bandwidthElement(next) ?? element('bandwidth'), privileged()).catch(async (e: unknown) => {
          // virNetDevBandwidthSet failed: the old shaping, if there was one, goes back; the first error stands
          if (oldBandwidth) await setTapBandwidth(tap, oldBandwidth, privileged()).catch(() => undefined);
          throw e;
        });
        if (privileged() && !next.in?.average) await setDefaultTapQdisc(tap);
      }
      writeBandwidth(running!.live, liveNet, next);
      await rt.runtime.saveStatus(running!);
    }
    if (persistent && persistentNet) {
      writeBandwidth(persistent, persistentNet, merged(readBandwidth(persistentNet), bw, specified));
      await rt.savePersistent(persistent);
    }
    await rt.sync({ refresh: false });
  }, { monitor: false });
}
