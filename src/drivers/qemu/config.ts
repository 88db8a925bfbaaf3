// The qemu driver's settings file (DIR/etc/qemu.conf in embed mode), in
// libvirt's virconf syntax: `name = value` lines where a value is a quoted
// string, an integer or a [ list ], and '#' starts a comment.
//
// tsvirt reads the settings it implements and keeps the rest for the modules
// that need them; an absent file means libvirt's defaults.

import { readFileSync } from 'node:fs';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';

export type ConfValue = string | number | ConfValue[];

export interface QemuDriverConfig {
  /**
   * tsvirt's extension: spare hotplug pcie-root-ports reserved at define time on
   * PCIe machines (libvirt always reserves 1). A domain can override it in its metadata.
   */
  hotplugPcieSparePorts: number;
  /** seccomp_sandbox: -1 = QEMU's default (libvirt turns it on), 0 = off, 1 = on */
  seccompSandbox: number;
  /** log_timestamp: prefix QEMU's log lines with timestamps (-msg timestamp=on) */
  logTimestamp: boolean;
  /** migration_port_min/max: the ports a migration's destination listens on when the client names none */
  migrationPorts: { min: number; max: number };
  /** migration_host: the name a destination gives the source to reach it (default: its host name) */
  migrationHost?: string;
  /** migration_address: what a destination listens on when the client names no listen address */
  migrationAddress?: string;
  /** every setting in the file, for modules that read settings of their own */
  raw: ReadonlyMap<string, ConfValue>;
}

export const DEFAULT_HOTPLUG_PCIE_SPARE_PORTS = 1;

/** Parses virconf text; `file` names the file in syntax errors ("FILE:LINE: what"). */
export function parseConf(text: string, file: string): Map<string, ConfValue> {
  const out = new Map<string, ConfValue>();
  let pos = 0;
  let line = 1;
  const fail = (what: string): never => {
    throw virError(ErrorCode.CONF_SYNTAX, `${file}:${line}: ${what}`, ErrorDomain.CONF);
  };
  const skipBlanks = (newlines: boolean) => {
    for (;;) {
      const c = text[pos];
      if (c === ' ' || c === '\t' || c === '\r') pos++;
      else if (c === '#') while (pos < text.length && text[pos] !== '\n') pos++;
      else if (c === '\n' && newlines) {
        pos++;
        line++;
      } else return;
    }
  };
  const parseValue = (): ConfValue => {
    const c = text[pos];
    if (c === '"' || c === "'") {
      const triple = text.startsWith('"""', pos);
      const close = triple ? '"""' : c;
      pos += close.length;
      const end = text.indexOf(close, pos);
      const value = end < 0 ? undefined : text.slice(pos, end);
      if (value === undefined || (!triple && value.includes('\n'))) return fail('unterminated string');
      line += (value.match(/\n/g) ?? []).length;
      pos = end + close.length;
      return value;
    }
    if (c === '[') {
      pos++;
      const list: ConfValue[] = [];
      skipBlanks(true);
      while (text[pos] !== ']') {
        if (pos >= text.length) fail('list is not closed with ]');
        list.push(parseValue());
        skipBlanks(true);
        if (text[pos] === ',') {
          pos++;
          skipBlanks(true);
        } else if (text[pos] !== ']') fail('expecting a separator in list');
      }
      pos++;
      return list;
    }
    const m = /^[-+]?\d+/.exec(text.slice(pos, pos + 32));
    if (!m) return fail('expecting a value');
    pos += m[0].length;
    return Number(m[0]);
  };

  for (;;) {
    skipBlanks(true);
    if (pos >= text.length) break;
    const name = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(pos, pos + 256))?.[0];
    if (!name) fail('expecting a name');
    pos += name!.length;
    skipBlanks(false);
    if (text[pos] !== '=') fail('expecting an assignment');
    pos++;
    skipBlanks(false);
    out.set(name!, parseValue());
    skipBlanks(false);
    if (text[pos] === ';') pos++;
    skipBlanks(false);
    if (pos < text.length && text[pos] !== '\n') fail('expecting a separator');
  }
  return out;
}

function uintSetting(raw: Map<string, ConfValue>, file: string, name: string, fallback: number, max: number): number {
  const v = raw.get(name);
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || v < 0) {
    throw virError(ErrorCode.INTERNAL_ERROR, `${file}: expected an unsigned integer for '${name}' parameter`, ErrorDomain.CONF);
  }
  if (v > max) {
    throw virError(ErrorCode.INTERNAL_ERROR, `${file}: value for '${name}' parameter must be in range 0:${max}`, ErrorDomain.CONF);
  }
  return v;
}

function intSetting(raw: Map<string, ConfValue>, file: string, name: string, fallback: number): number {
  const v = raw.get(name);
  if (v === undefined) return fallback;
  if (typeof v !== 'number') {
    throw virError(ErrorCode.INTERNAL_ERROR, `${file}: expected a signed integer for '${name}' parameter`, ErrorDomain.CONF);
  }
  return v;
}

function boolSetting(raw: Map<string, ConfValue>, file: string, name: string, fallback: boolean): boolean {
  const v = raw.get(name);
  if (v === undefined) return fallback;
  if (typeof v !== 'number') throw virError(ErrorCode.INTERNAL_ERROR, `${file}: expected a bool for '${name}' parameter`, ErrorDomain.CONF);
  if (v !== 0 && v !== 1) throw virError(ErrorCode.INTERNAL_ERROR, `${file}: value for '${name}' parameter must be 0 or 1`, ErrorDomain.CONF);
  return v === 1;
}

/**
 * The largest spare-port count accepted here: a pcie-root-port is a PCI bus and
 * there are at most 256 buses. Whether a given count fits a given domain (bus
 * numbers, I/O space) is the address-assignment engine's decision.
 */
const MAX_SPARE_PORTS = 255;

function stringSetting(raw: Map<string, ConfValue>, file: string, name: string): string | undefined {
  const v = raw.get(name);
  if (v === undefined || typeof v === 'string') return v;
  throw virError(ErrorCode.INTERNAL_ERROR, `${file}: expected a string for '${name}' parameter`, ErrorDomain.CONF);
}

/** libvirt's migration port range (QEMU_MIGRATION_PORT_MIN/MAX). */
const MIGRATION_PORT_MIN = 49152;
const MIGRATION_PORT_MAX = 49215;

function migrationPorts(raw: Map<string, ConfValue>, file: string): { min: number; max: number } {
  const min = uintSetting(raw, file, 'migration_port_min', MIGRATION_PORT_MIN, 0xffffffff);
  if (min <= 0) throw virError(ErrorCode.INTERNAL_ERROR, `${file}: migration_port_min: port must be greater than 0`, ErrorDomain.CONF);
  const max = uintSetting(raw, file, 'migration_port_max', MIGRATION_PORT_MAX, 0xffffffff);
  if (max > 65535 || max < min) throw virError(ErrorCode.INTERNAL_ERROR, `${file}: migration_port_max: port must be between the minimal port ${min} and 65535`, ErrorDomain.CONF);
  return { min, max };
}

/** migration_host / migration_address: brackets of an IPv6 address dropped, never this machine's own loopback. */
function migrationAddressSetting(raw: Map<string, ConfValue>, file: string, name: 'migration_host' | 'migration_address'): string | undefined {
  const v = stringSetting(raw, file, name)?.replace(/^\[(.*)\]$/, '$1');
  if (v !== undefined && (v.startsWith('localhost') || /^127\.\d+\.\d+\.\d+$/.test(v) || /^(0*:)*:0*1$/.test(v))) {
    throw virError(ErrorCode.CONF_SYNTAX, `${name} must not be the address of the local machine: ${v}`, ErrorDomain.CONF);
  }
  return v;
}

export function configFromSettings(raw: Map<string, ConfValue>, file: string): QemuDriverConfig {
  const migrationHost = migrationAddressSetting(raw, file, 'migration_host');
  const migrationAddress = migrationAddressSetting(raw, file, 'migration_address');
  return {
    hotplugPcieSparePorts: uintSetting(raw, file, 'hotplug_pcie_spare_ports', DEFAULT_HOTPLUG_PCIE_SPARE_PORTS, MAX_SPARE_PORTS),
    seccompSandbox: intSetting(raw, file, 'seccomp_sandbox', -1),
    logTimestamp: boolSetting(raw, file, 'log_timestamp', true),
    migrationPorts: migrationPorts(raw, file),
    ...(migrationHost !== undefined ? { migrationHost } : {}),
    ...(migrationAddress !== undefined ? { migrationAddress } : {}),
    raw,
  };
}

/** Reads the driver's settings file; a missing file gives libvirt's defaults. */
export async function loadQemuDriverConfig(file: string): Promise<QemuDriverConfig> {
  let text: string;
  try {
    // read at every driver open: synchronously, as a thread-pool round trip costs more than a small file
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw virError(ErrorCode.SYSTEM_ERROR, `Failed to read ${file}: ${(e as Error).message}`, ErrorDomain.CONF);
    }
    text = '';
  }
  return configFromSettings(parseConf(text, file), file);
}
