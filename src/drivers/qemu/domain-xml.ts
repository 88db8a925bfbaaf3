// The qemu driver's domain XML pipeline: libvirt's generic parse/post-parse/
// validate (src/conf/domain.ts) with the QEMU driver's hooks plugged in at
// libvirt's points (domain and device defaults, implicit devices, PCI addresses
// with the hotplug reservation, validation against the probed capabilities).
//
// The hooks are synchronous, like libvirt's, so the capabilities of the QEMU
// binary a definition will use are loaded before the pipeline runs.

import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childText, parseXml, type XmlElement } from '../../util/xml.js';
import { completeDomain, DOMAIN_DOCUMENT, formatDomainXML, parseDomainXML } from '../../conf/domain.js';
import { parseDocument } from '../../conf/document.js';
import { findBinaryForArch, hostArch, type QemuCaps } from './capabilities.js';
import type { QemuDriver } from './driver.js';
import type { QemuHookContext } from './domain-hooks.js';

export interface DefineOptions {
  /** VIR_DOMAIN_DEFINE_VALIDATE: check the input against the schema first */
  validateSchema: boolean;
}

export interface FormatOptions {
  secure?: boolean;
  inactive?: boolean;
  /** id of the running domain, printed on live XML */
  id?: number;
}

/** What the driver needs from the XML layer; tests may substitute their own. */
export interface DomainXMLPipeline {
  /** A new or updated definition from a user: full post-parse with ABI update (addresses, reservations). */
  parseNew(text: string, options: DefineOptions): Promise<XmlElement>;
  /**
   * A config file tsvirt (or libvirt) wrote: checked (unless `vouched`: the domain
   * index saw this version load), but taken as written, so nothing (addresses,
   * spare ports, device order) is recomputed.
   */
  parseConfig(text: string, file: string, vouched?: boolean): XmlElement;
  format(def: XmlElement, options: FormatOptions): string;
}

/**
 * The QEMU binary a definition will use, read ahead of the pipeline: its
 * <emulator>, else libvirt's binary for its <os><type arch> (default: the host's
 * arch). Malformed content yields no emulator; the pipeline reports the real error.
 */
export function emulatorOf(root: XmlElement): { emulator?: string; arch: string } {
  const arch = child(child(root, 'os') ?? root, 'type')?.attrs.arch || hostArch();
  const emulator = childText(child(root, 'devices') ?? root, 'emulator') || findBinaryForArch(arch);
  return emulator ? { emulator, arch } : { arch };
}

/** The production pipeline, bound to a driver for capabilities and settings. */
export function qemuDomainXML(driver: () => QemuDriver): DomainXMLPipeline {
  return {
    async parseNew(text, options) {
      const d = driver();
      // the define pipeline's hooks, loaded by the first definition a process completes: a query never does
      const { qemuDomainHooks } = await import('./domain-hooks.js');
      // parsed once: the emulator is read from the tree the pipeline then completes
      const root = parseDocument(text, DOMAIN_DOCUMENT, 'domain');
      const { emulator, arch } = emulatorOf(root);
      const caps: QemuCaps | Error = emulator
        ? await d.caps.get(emulator).catch((e: Error) => e)
        : virError(ErrorCode.CONFIG_UNSUPPORTED, `No emulator found for arch '${arch}'`, ErrorDomain.QEMU);
      const ctx: QemuHookContext = {
        get caps(): QemuCaps {
          if (caps instanceof Error) throw caps;
          return caps;
        },
        hotplugPcieSparePorts: d.config.hotplugPcieSparePorts,
        spiceTLS: d.config.raw.get('spice_tls') === 1,
        channelTargetDir: d.paths.channelTargetDir,
        nvramDir: d.paths.nvramDir,
        privileged: d.paths.mode === 'system' || (d.paths.mode === 'embed' && process.geteuid?.() === 0),
      };
      return completeDomain(root, { hooks: qemuDomainHooks(ctx), validate: options.validateSchema });
    },
    parseConfig(text, file, vouched = false) {
      // The file is what the defining process held in memory. Re-running the
      // pipeline on it checks it, but can legitimately change it (controllers
      // re-sorted, virtio console ports renumbered: libvirt shows the same after
      // a daemon restart). tsvirt has no daemon and re-reads the file in every
      // process, so the definition is the file itself, once it passes the checks;
      // a version the domain index vouches for passed them in an earlier process.
      if (!vouched) parseDomainXML(text, { url: file });
      return parseXml(text);
    },
    format(def, options) {
      return formatDomainXML(def, options);
    },
  };
}
