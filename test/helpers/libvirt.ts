// Whether the installed libvirt can be asked: `virsh` on PATH and a libvirtd
// answering qemu:///system. Differential tests run by default when it can.
import { execFileSync, spawnSync } from 'node:child_process';

export const SYSTEM_URI = 'qemu:///system';

/** Whether the virsh client is installed (a daemon to ask is another matter). */
export function virshInstalled(): boolean {
  try {
    execFileSync('virsh', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why libvirt cannot be asked, or false when it can. */
export function libvirtUnavailable(): string | false {
  if (!virshInstalled()) return 'virsh (libvirt) is not installed';
  try {
    execFileSync('virsh', ['-c', SYSTEM_URI, 'uri'], { stdio: 'ignore', timeout: 15_000 });
  } catch {
    return `libvirtd does not answer ${SYSTEM_URI}`;
  }
  return false;
}

/** virsh against the running libvirtd: its stdout, or the error text it printed. */
export function systemVirsh(...args: string[]): { ok: true; out: string } | { ok: false; error: string } {
  try {
    return { ok: true, out: execFileSync('virsh', ['-q', '-c', SYSTEM_URI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (e) {
    return { ok: false, error: String((e as { stderr?: string }).stderr ?? (e as Error).message).trim() };
  }
}

/** One virsh run against the running libvirtd, whole: exit code, stdout and stderr (also when it succeeds: progress lines go there), as CLI comparisons need. */
export async function runSystemVirsh(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = spawnSync('virsh', ['-c', SYSTEM_URI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
