// The qemu driver's hooks into the define pipeline (conf/domain.ts's
// completeDomain): post-parse defaults, implicit devices, addresses and
// validation. Only a new or changed definition runs them (domain-xml.ts's
// parseNew loads this module then): config files are taken as written.
import { domainName, type DomainParseHooks } from '../../conf/domain.js';
import { findBinaryForArch, type QemuCaps } from './capabilities.js';
import { qemuDomainPostParse, qemuDomainPostParseBasic, qemuValidateDomain } from './domain-defaults.js';
import { assignQemuAddresses } from './address-assign.js';
import { SECURITY_MODELS } from './security/process-label.js';
import { addQemuDefaultDevices } from './device-defaults.js';
import { qemuDeviceHooks } from './device-post-parse.js';
import { qemuValidateDevice, qemuValidateDomainDevices } from './device-validate.js';
import { checkDomainNameStorable } from './domain-store.js';

/** Everything the driver hooks may consult while a definition is completed. */
export interface QemuHookContext {
  /**
   * Capabilities of the binary the domain will run (its <emulator>, else the arch's
   * default). Reading it throws libvirt's error when that binary cannot be probed,
   * so the error surfaces where libvirt raises it (post-parse), after XML errors.
   */
  readonly caps: QemuCaps;
  /** spare hotplug pcie-root-ports for new definitions (qemu.conf hotplug_pcie_spare_ports) */
  hotplugPcieSparePorts: number;
  /** qemu.conf spice_tls */
  spiceTLS: boolean;
  /** the driver's folder of generated guest-agent channel sockets */
  channelTargetDir: string;
  /** the driver's folder of per-domain UEFI variable stores */
  nvramDir: string;
  /** libvirt's privileged driver: system mode, or embed mode run as root */
  privileged: boolean;
}

/** The driver hooks for one definition. */
export function qemuDomainHooks(ctx: QemuHookContext): DomainParseHooks {
  return {
    postParseBasic: (dom) => qemuDomainPostParseBasic(dom, findBinaryForArch),
    postParse: (dom) => {
      qemuDomainPostParse(dom, ctx.caps, ctx.nvramDir);
      // qemuDomainDefPostParse adds the machine's implicit devices right after the machine is known
      addQemuDefaultDevices(dom);
    },
    devices: qemuDeviceHooks({ channelTargetDir: ctx.channelTargetDir }),
    assignAddresses: (dom) => assignQemuAddresses(dom, { sparePciePorts: ctx.hotplugPcieSparePorts }),
    defaultSecurityModel: SECURITY_MODELS[0],
    validate: (dom) => {
      checkDomainNameStorable(domainName(dom));
      qemuValidateDomain(dom, ctx.caps);
      qemuValidateDomainDevices(dom, ctx);
    },
    validateDevice: (dev, devCtx) => qemuValidateDevice(dev, devCtx, ctx),
  };
}
