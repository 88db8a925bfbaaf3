// Running dnsmasq for a network as libvirt does (networkStartDhcpDaemon):
// `dnsmasq --conf-file=NAME.conf --leasefile-ro --dhcp-script=HELPER` with
// VIR_BRIDGE_NAME in its environment; dnsmasq daemonizes and writes its pid to
// the config's pid-file. The lease helper is tsvirt's leases-helper.js (the
// counterpart of libvirt_leaseshelper), reached through a small sh wrapper
// because dnsmasq executes the script path directly.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import type { DnsmasqConfig } from './dnsmasq-conf.js';
import type { NetworkPaths } from './paths.js';

export const DNSMASQ = '/usr/sbin/dnsmasq';

/**
 * leases-helper.js next to this module; in the bundled CLI/daemon (dist/tsvirsh.cjs,
 * dist/tsvirtd.mjs) this code runs from dist/, where the compiled tree is under src/.
 */
function leasesHelperScript(): string {
  const here = import.meta.url;
  const bundled = here.endsWith('.mjs') || here.endsWith('.cjs');
  return fileURLToPath(new URL(bundled ? './src/drivers/network/leases-helper.js' : './leases-helper.js', here));
}

export function dnsmasqFileNames(paths: NetworkPaths, name: string) {
  return {
    conf: join(paths.dnsmasqDir, `${name}.conf`),
    hostsFile: join(paths.dnsmasqDir, `${name}.hostsfile`),
    addnHostsFile: join(paths.dnsmasqDir, `${name}.addnhosts`),
    pidFile: join(paths.stateDir, `${name}.pid`),
    helper: join(paths.dnsmasqDir, 'leaseshelper'),
  };
}

/** Writes NAME.conf, NAME.hostsfile and NAME.addnhosts as libvirt does (config 0600, the others 0644). */
export async function writeDnsmasqFiles(paths: NetworkPaths, name: string, config: DnsmasqConfig): Promise<void> {
  const files = dnsmasqFileNames(paths, name);
  await mkdir(paths.dnsmasqDir, { recursive: true });
  await writeFileAtomic(files.hostsFile, config.hostsFile, 0o644);
  await writeFileAtomic(files.addnHostsFile, config.addnHosts, 0o644);
  await writeFileAtomic(files.conf, config.conf, 0o600);
}

/** Starts dnsmasq for the network; answers its pid once it serves. */
export async function startDnsmasq(paths: NetworkPaths, name: string, bridge: string): Promise<number> {
  const files = dnsmasqFileNames(paths, name);
  await mkdir(paths.stateDir, { recursive: true });
  await writeFileAtomic(files.helper, `#!/bin/sh\nexec '${process.execPath}' '${leasesHelperScript()}' "$@"\n`, 0o755);
  await chmod(files.helper, 0o755);
  await unlink(files.pidFile).catch(() => undefined);
  const args = [`--conf-file=${files.conf}`, '--leasefile-ro', `--dhcp-script=${files.helper}`];
  const env = { ...process.env, VIR_BRIDGE_NAME: bridge, TSVIRT_LEASES_DIR: paths.dnsmasqDir };
  await new Promise<void>((resolve, reject) => {
    execFile(DNSMASQ, args, { env }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const status = typeof err.code === 'number' ? `unexpected exit status ${err.code}` : `failed: ${err.message}`;
      reject(virError(ErrorCode.INTERNAL_ERROR, `Child process (VIR_BRIDGE_NAME=${bridge} ${DNSMASQ} ${args.join(' ')}) ${status}: ${stderr}`, ErrorDomain.NETWORK));
    });
  });
  const pid = dnsmasqPid(paths, name);
  if (pid === undefined) throw virError(ErrorCode.INTERNAL_ERROR, `dnsmasq for network '${name}' wrote no pid file ${files.pidFile}`, ErrorDomain.NETWORK);
  return pid;
}

/** The pid of the network's running dnsmasq, from its pid file (undefined when it is not running). */
export function dnsmasqPid(paths: NetworkPaths, name: string): number | undefined {
  const file = dnsmasqFileNames(paths, name).pidFile;
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(`--conf-file=${dnsmasqFileNames(paths, name).conf}`) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie (an exited dnsmasq stays one until whoever adopted it reaps it). */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** SIGTERM to the network's dnsmasq, waiting (briefly) until it is gone. */
export async function stopDnsmasq(paths: NetworkPaths, name: string): Promise<void> {
  const pid = dnsmasqPid(paths, name);
  if (pid !== undefined) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && isRunning(pid); i++) await new Promise((r) => setTimeout(r, 10));
  }
  await unlink(dnsmasqFileNames(paths, name).pidFile).catch(() => undefined);
}

/** SIGHUP: dnsmasq re-reads the hosts files (networkReloadDhcpDaemon). */
export function reloadDnsmasq(paths: NetworkPaths, name: string): void {
  const pid = dnsmasqPid(paths, name);
  if (pid !== undefined) process.kill(pid, 'SIGHUP');
}

export async function readLeaseStatus(paths: NetworkPaths, bridge: string): Promise<string> {
  return readFile(join(paths.dnsmasqDir, `${bridge}.status`), 'utf8').catch(() => '[]');
}
