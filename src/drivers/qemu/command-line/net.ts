// Network interfaces: a -netdev backend and the NIC -device per <interface>.
//
// User-mode interfaces are QEMU's own slirp stack; every other type reaches
// QEMU as a tap (bridge, network and ethernet alike): a file descriptor the
// caller opened, as libvirt passes it (domxml-to-native reduces all interfaces
// to that generic form first: native-argv.ts), or, when the caller has no
// descriptors to give, the tap <target dev> names, which QEMU opens itself
// (the qemu driver: tap-devices.ts says why).
import type { XmlElement } from '../../../util/xml.js';
import { child } from '../../../util/xml.js';
import { ErrorCode, ErrorDomain, virError } from '../../../util/error.js';
import type { BuildContext } from './context.js';
import { props } from './context.js';
import { addAddressProps } from './address.js';

const VIRTIO_MODELS = new Set(['virtio', 'virtio-transitional', 'virtio-non-transitional']);

function nicDriver(net: XmlElement): string {
  const model = child(net, 'model')?.attrs.type ?? 'rtl8139';
  if (!VIRTIO_MODELS.has(model)) return model;
  const addrType = child(net, 'address')?.attrs.type;
  const suffix = addrType === 'ccw' ? '-ccw' : addrType === 'virtio-mmio' || addrType === undefined ? '-device' : '-pci';
  return `virtio-net${suffix}${model === 'virtio' ? '' : model.slice('virtio'.length)}`;
}

/** The -netdev tap properties that say which tap QEMU uses. */
function tapBackend(ctx: BuildContext, net: XmlElement, index: number): Array<[string, string]> {
  const fd = ctx.options.tapFd?.(net, index);
  if (fd !== undefined) return [['fd', String(fd)]];
  const ifname = child(net, 'target')?.attrs.dev;
  if (ifname === undefined) throw virError(ErrorCode.INTERNAL_ERROR, `interface ${ctx.view.alias(net)} has no tap device`, ErrorDomain.QEMU);
  // no scripts: the tap is connected already
  return [['ifname', ifname], ['script', 'no'], ['downscript', 'no']];
}

export function buildNetworks(ctx: BuildContext): void {
  const nets = ctx.view.deviceList('interface');
  const bootDevs = ctx.view.os.children.filter((c) => c.name === 'boot').map((c) => c.attrs.dev);
  const networkBoot = bootDevs.indexOf('network') + 1;
  nets.forEach((net, i) => {
    if (net.attrs.type === 'hostdev') return;
    const alias = ctx.view.alias(net);
    if (net.attrs.type === 'user') ctx.cmd.json('-netdev', props(['type', 'user'], ['id', `host${alias}`]));
    else ctx.cmd.json('-netdev', props(['type', 'tap'], ...tapBackend(ctx, net, i), ['id', `host${alias}`]));
    const order = child(net, 'boot')?.attrs.order;
    const bootindex = order !== undefined ? Number(order) : i === 0 && networkBoot > 0 ? networkBoot : undefined;
    const out = props(['driver', nicDriver(net)], ['netdev', `host${alias}`], ['id', alias],
      ['mac', child(net, 'mac')?.attrs.address ?? ''], ['bootindex', bootindex]);
    addAddressProps(ctx.view, net, out);
    ctx.cmd.json('-device', out);
  });
}
