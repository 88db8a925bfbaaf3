// Facts about procedures that live outside the .x files: which src/driver-*.h declares each driver
// method (its family), which public APIs libvirt-*.c defines, and which of them refuse read-only
// connections (call virCheckReadOnlyGoto).

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type { DriverFamily } from '../../src/rpc/procedure.js';

const FAMILY_HEADERS: Record<string, DriverFamily> = {
  'driver-hypervisor.h': 'hypervisor',
  'driver-network.h': 'network',
  'driver-storage.h': 'storage',
  'driver-interface.h': 'interface',
  'driver-nodedev.h': 'nodedev',
  'driver-secret.h': 'secret',
  'driver-nwfilter.h': 'nwfilter',
};

/** How a public API treats a read-only connection. */
export type ReadOnlyCheck = 'refused' | 'refused-conditionally' | 'allowed';

export interface LibvirtFacts {
  /** Driver typedef name without the virDrv prefix ('NWFilterDefineXML') -> the driver struct's member and family. */
  driverMethods: Map<string, { member: string; family: DriverFamily }>;
  /** Public API name -> its read-only check. */
  apis: Map<string, ReadOnlyCheck>;
  /** Public API name -> the virErrorDomain its errors carry (VIR_FROM_THIS of its libvirt-*.c file). */
  apiErrorDomains: Map<string, number>;
  /**
   * Procedures without a stream annotation whose hand-written daemon dispatcher
   * (remote_daemon_dispatch.c) opens a stream the client writes into
   * (DomainMigratePrepareTunnel3Params), by method name.
   */
  handwrittenWriteStreams: Set<string>;
}

/** virErrorDomain's members by name, from include/libvirt/virterror.h. */
function errorDomains(srcDir: string): Map<string, number> {
  const text = readFileSync(path.join(srcDir, 'include', 'libvirt', 'virterror.h'), 'utf8');
  return new Map([...text.matchAll(/^\s*(VIR_FROM_\w+)\s*=\s*(\d+),/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** 'refused-conditionally' when every virCheckReadOnlyGoto sits under an `if` (a flag or source value). */
function readOnlyCheck(body: string): ReadOnlyCheck {
  const lines = body.split('\n');
  const checks = lines.flatMap((line, i) => (line.includes('virCheckReadOnlyGoto') ? [lines[i - 1] ?? ''] : []));
  if (checks.length === 0) return 'allowed';
  return checks.every((previous) => /^\s*(if|else)\b/.test(previous)) ? 'refused-conditionally' : 'refused';
}

export function readLibvirtFacts(srcDir: string): LibvirtFacts {
  const driverMethods = new Map<string, { member: string; family: DriverFamily }>();
  for (const [header, family] of Object.entries(FAMILY_HEADERS)) {
    const text = readFileSync(path.join(srcDir, 'src', header), 'utf8');
    // A typedef without a struct member (virDrvConnectGetURI) still names the family.
    for (const m of text.matchAll(/\(\*virDrv(\w+)\)/g)) {
      driverMethods.set(m[1]!, { member: m[1]!.charAt(0).toLowerCase() + m[1]!.slice(1), family });
    }
    // The driver struct's members: `virDrvNWFilterDefineXML nwfilterDefineXML;`
    for (const m of text.matchAll(/^\s*virDrv(\w+)\s+(\w+);/gm)) driverMethods.set(m[1]!, { member: m[2]!, family });
  }
  const apis = new Map<string, ReadOnlyCheck>();
  const apiErrorDomains = new Map<string, number>();
  const domains = errorDomains(srcDir);
  const sources = readdirSync(path.join(srcDir, 'src'))
    .filter((f) => /^libvirt(-.*)?\.c$/.test(f))
    .sort()
    .map((f) => path.join('src', f));
  for (const file of [...sources, path.join('src', 'admin', 'libvirt-admin.c')]) {
    const text = readFileSync(path.join(srcDir, file), 'utf8');
    const fromThis = /^#define VIR_FROM_THIS (VIR_FROM_\w+)/m.exec(text)?.[1];
    const domain = fromThis === undefined ? undefined : domains.get(fromThis);
    if (domain === undefined) throw new Error(`${file}: no VIR_FROM_THIS with a known error domain`);
    // libvirt style: the definition starts a line (its return type on the line before or in front),
    // its body ends at the next `}` in column 0.
    for (const m of text.matchAll(/^(?:(?:const\s+)?\w+\s*\**\s*)?(vir\w+)\(([^;{]*?)\)\s*\{([\s\S]*?)^\}/gm)) {
      apis.set(m[1]!, readOnlyCheck(m[3]!));
      apiErrorDomains.set(m[1]!, domain);
    }
  }
  const dispatch = readFileSync(path.join(srcDir, 'src', 'remote', 'remote_daemon_dispatch.c'), 'utf8');
  const handwrittenWriteStreams = new Set(
    [...dispatch.matchAll(/^remoteDispatch(\w+)\(([^;{]*?)\)\s*\{([\s\S]*?)^\}/gm)].filter((m) => m[3]!.includes('daemonCreateClientStream')).map((m) => m[1]!),
  );
  return { driverMethods, apis, apiErrorDomains, handwrittenWriteStreams };
}
