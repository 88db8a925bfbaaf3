// Whether the installed libvirt can be asked: `virsh` on PATH and a libvirtd
// answering qemu:///system. Differential tests run by default when it can.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';

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

/**
 * The libvirt side of a side-by-side test: `xml(name, dir)` defined on the
 * running libvirtd under a name of this process, with a folder QEMU's user can
 * read for its files; the domain is destroyed and undefined, the folder removed, after the test.
 */
export async function defineOnSystemLibvirt(t: TestContext, tag: string, xml: (name: string, dir: string) => string): Promise<{ name: string; dir: string }> {
  const dir = mkdtempSync(`/var/tmp/tsvirt-e2e-${tag}-`);
  chmodSync(dir, 0o777);
  const name = `tsvirt-e2e-${tag}-${process.pid}`;
  t.after(async () => {
    await runSystemVirsh('destroy', name);
    await runSystemVirsh('undefine', name);
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(path.join(dir, 'def.xml'), xml(name, dir));
  await runSystemVirsh('define', path.join(dir, 'def.xml'));
  return { name, dir };
}
