// The block-threshold event (virDomainSetBlockThreshold): QEMU watches the
// highest offset written to an image's storage node and reports
// BLOCK_WRITE_THRESHOLD once it passes the threshold set on that node; the
// driver turns the node name back into the disk ("vda") and its chain element
// ("vda[N]") the event names.
import type { DriverEvent } from '../../driver/events.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childrenNamed, type XmlElement } from '../../util/xml.js';
import { diskChain, type ChainLayer } from './backing-chain.js';
import type { DomainRef, QemuDriver } from './driver.js';
import { checkFlags } from './driver.js';
import type { RunningDomain } from './lifecycle.js';

const invalidArg = (message: string) => virError(ErrorCode.INVALID_ARG, message, ErrorDomain.QEMU);

/** The QEMU node the threshold is set on: the image's storage (protocol) node, as libvirt picks it. */
const storageNode = (index: number) => `libvirt-${index}-storage`;

function disksOf(live: XmlElement): XmlElement[] {
  return childrenNamed(child(live, 'devices') ?? live, 'disk');
}

const targetOf = (disk: XmlElement) => child(disk, 'target')?.attrs.dev ?? '';

/** virStorageFileParseBackingStoreStr: "vda" or "vda[N]" into the target and the chain index (0: the top). */
function parseDevstr(dev: string): { target: string; index: number } {
  const at = dev.indexOf('[');
  if (at < 0) return { target: dev, index: 0 };
  const m = /^(\d+)\]$/.exec(dev.slice(at + 1));
  if (!m || Number(m[1]) > 0xffffffff) throw invalidArg(`failed to parse block device '${dev}'`);
  return { target: dev.slice(0, at), index: Number(m[1]) };
}

/** qemuDomainGetStorageSourceByDevstr over a running domain's chains. */
function layerByDevstr(live: XmlElement, dev: string): { disk: XmlElement; layer: ChainLayer | undefined } {
  const { target, index } = parseDevstr(dev);
  const disk = disksOf(live).find((d) => targetOf(d) === target);
  if (!disk) throw invalidArg(`failed to find disk '${target}'`);
  const chain = diskChain(disk);
  if (index === 0) return { disk, layer: chain[0] };
  const layer = chain.find((l) => l.index === index);
  if (!layer) throw invalidArg(`failed to find disk '${dev}'`);
  return { disk, layer };
}

/** qemuDomainSetBlockThreshold */
export async function setBlockThreshold(driver: QemuDriver, dom: DomainRef, dev: string, threshold: bigint, flags: number): Promise<void> {
  checkFlags(flags, 0, 'qemuDomainSetBlockThreshold');
  await driver.runtime.withRunning(dom, async (_obj, running) => {
    const { disk, layer } = layerByDevstr(running.live, dev);
    if (disk.attrs.type === 'vhostuser') {
      throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'setting device threshold is not supported for vhostuser disk', ErrorDomain.QEMU);
    }
    // an empty drive has no storage node to watch (libvirt fails building the command)
    if (layer?.index === undefined) throw virError(ErrorCode.INTERNAL_ERROR, "argument key 'node-name' must not have null value", ErrorDomain.QEMU);
    const qmp = await driver.runtime.runtime.ensureMonitor(running);
    await qmp.execute('block-set-write-threshold', { 'node-name': storageNode(layer.index), 'write-threshold': threshold });
    // whether the event names the disk too depends on how the threshold was asked for (thresholdEventWithIndex)
    if (dev.includes('[')) running.thresholdIndexed.add(layer.index);
    else running.thresholdIndexed.delete(layer.index);
    await driver.runtime.runtime.saveStatus(running);
  });
}

/**
 * qemuProcessHandleBlockThreshold: QEMU's BLOCK_WRITE_THRESHOLD as the events
 * libvirt queues, the disk's ("vda") unless the threshold was set by index, then
 * the chain element's ("vda[N]"). Nodes of no disk give none.
 */
export function blockThresholdEvents(running: RunningDomain, data: Record<string, unknown>): DriverEvent[] {
  const node = data['node-name'];
  const threshold = data['write-threshold'];
  const excess = data['amount-exceeded'];
  if (typeof node !== 'string' || typeof threshold !== 'number' || typeof excess !== 'number') return [];
  const m = /^libvirt-(\d+)-(?:storage|format)$/.exec(node);
  if (!m) return [];
  const index = Number(m[1]);
  for (const disk of disksOf(running.live)) {
    const chain = diskChain(disk);
    const layer = chain.find((l) => l.index === index);
    if (!layer) continue;
    const body = { dom: running.ref(), path: layer.path ?? null, threshold: BigInt(threshold), excess: BigInt(excess) };
    const events: DriverEvent[] = [];
    if (layer === chain[0] && !running.thresholdIndexed.has(index)) events.push({ key: 'domainEventBlockThreshold', body: { ...body, dev: targetOf(disk) } });
    events.push({ key: 'domainEventBlockThreshold', body: { ...body, dev: `${targetOf(disk)}[${index}]` } });
    return events;
  }
  return [];
}
