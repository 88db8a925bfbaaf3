// tsvirsh nodesevinfo / domlaunchsecinfo / domsetlaunchsecstate / allocpages /
// nodesuspend on the qemu driver against real virsh on qemu:///system, live on
// the same host: the same output, errors and exit codes. allocpages changes
// the host's huge page pools: the test puts them back. nodesuspend runs only
// on a host that cannot suspend (no logind on the system bus, no pm-utils), so
// that neither side ever suspends the machine running the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';
import { fakeQemuCaps } from '../helpers/qemu-caps.js';
import { nodeSevInfo } from '../../src/drivers/qemu/launch-security.js';
import type { QemuDriver } from '../../src/drivers/qemu/driver.js';
import { plainParams } from '../../src/api/types.js';
import { tempDir } from '../helpers/temp-dir.js';

const TSVIRSH = fileURLToPath(new URL('../../../bin/tsvirsh', import.meta.url));
const unavailable = libvirtUnavailable();
if (unavailable) console.warn(`SKIPPING launch security / allocpages / nodesuspend comparison: ${unavailable}`);
const skip = unavailable ? `real libvirt needed: ${unavailable}` : false;

const root = tempDir('launchsec');

interface Run { code: number; stdout: string; stderr: string }

function tsvirsh(...args: string[]): Run {
  const r = spawnSync(process.execPath, [TSVIRSH, '-c', `qemu:///embed?root=${root}`, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

async function sameAsVirsh(...args: string[]): Promise<Run> {
  const theirs = await runSystemVirsh(...args);
  const ours = tsvirsh(...args);
  assert.deepEqual(ours, theirs, `tsvirsh ${args.join(' ')}`);
  return ours;
}

test('nodesevinfo: libvirt\'s answer from the capability probe (no SEV here: its refusal)', { skip }, async () => {
  await sameAsVirsh('nodesevinfo');
});

test('nodesevinfo\'s parameters come from query-sev-capabilities when the probe found SEV', async () => {
  const sevCapabilities = { pdh: 'PDH', certChain: 'CHAIN', cpu0Id: 'ID0', cbitpos: 47, reducedPhysBits: 1 };
  const driver = (caps: ReturnType<typeof fakeQemuCaps>) => ({ caps: { get: async () => caps } }) as unknown as QemuDriver;
  const withSev = { ...fakeQemuCaps('x86_64'), sev: true, sevCapabilities };
  const fields = plainParams(await nodeSevInfo(driver(withSev), 4)).map((p) => [p.field, p.value]);
  assert.deepEqual(fields.slice(0, 5), [['pdh', 'PDH'], ['cert-chain', 'CHAIN'], ['cpu0-id', 'ID0'], ['cbitpos', 47], ['reduced-phys-bits', 1]]);
  assert.deepEqual(fields.slice(5).map(([f]) => f), ['max-guests', 'max-es-guests']);
  await assert.rejects(nodeSevInfo(driver(fakeQemuCaps('x86_64')), 4), /QEMU does not support SEV guest/);
  await assert.rejects(nodeSevInfo(driver(withSev), 1), /unsupported flags \(0x1\)/);
});

test('domlaunchsecinfo / domsetlaunchsecstate on a guest without SEV: libvirt\'s output and errors', { skip }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-launchsec-files-'));
  const name = `tsvirt-launchsec-${process.pid}`;
  t.after(async () => {
    await runSystemVirsh('undefine', name);
    tsvirsh('undefine', name);
    rmSync(dir, { recursive: true, force: true });
  });
  const xml = path.join(dir, 'dom.xml');
  writeFileSync(xml, `<domain type='qemu'><name>${name}</name><memory>65536</memory><os><type arch='x86_64'>hvm</type></os></domain>`);
  writeFileSync(path.join(dir, 'hdr'), 'header');
  writeFileSync(path.join(dir, 'secret'), 'secret');
  assert.equal((await runSystemVirsh('define', xml)).code, 0);
  assert.equal(tsvirsh('define', xml).code, 0);
  const hdr = path.join(dir, 'hdr');
  const secret = path.join(dir, 'secret');
  assert.equal((await sameAsVirsh('domlaunchsecinfo', name)).stdout, '\n');
  const refused = await sameAsVirsh('domsetlaunchsecstate', name, '--secrethdr', hdr, '--secret', secret, '--set-address', '4096');
  assert.match(refused.stderr, /setting a launch secret is only supported in SEV-enabled domains/);
  await sameAsVirsh('domsetlaunchsecstate', name, '--secrethdr', hdr);
  await sameAsVirsh('domsetlaunchsecstate', name, '--secrethdr', path.join(dir, 'missing'), '--secret', secret);
  await sameAsVirsh('domlaunchsecinfo', `${name}-nosuch`);
});

const HUGE_2M = '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages';
const poolsUnavailable = !existsSync(HUGE_2M) ? 'the host has no 2 MiB huge pages' : process.getuid?.() !== 0 ? 'changing huge page pools needs root' : false;
if (poolsUnavailable) console.warn(`SKIPPING allocpages pool changes: ${poolsUnavailable}`);

test('allocpages: the pool sizes libvirt sets, and its errors', { skip: skip || poolsUnavailable }, async (t) => {
  const before = readFileSync(HUGE_2M, 'utf8').trim();
  t.after(() => writeFileSync(HUGE_2M, before));
  const pool = () => readFileSync(HUGE_2M, 'utf8').trim();
  for (const args of [['2M', '2', '--cellno', '0'], ['2M', '1', '--add'], ['2M', '0', '--all'], ['2048', '1']]) {
    await runSystemVirsh('allocpages', '2M', '0');
    const theirs = await runSystemVirsh('allocpages', ...args);
    const theirPool = pool();
    await runSystemVirsh('allocpages', '2M', '0');
    const ours = tsvirsh('allocpages', ...args);
    assert.deepEqual(ours, theirs, args.join(' '));
    assert.equal(pool(), theirPool, `pool after allocpages ${args.join(' ')}`);
  }
  for (const args of [['4K', '1'], ['3M', '1'], ['0', '0'], ['2M', '1', '--cellno', '5'], ['2M', '0', '--cellno', '-2'], ['2M', '0', '--all', '--cellno', '0'], ['2M', '-1'], ['2M', 'x']]) {
    await sameAsVirsh('allocpages', ...args);
  }
});

/** Why this host might be able to suspend (so nodesuspend must not be run), or false. */
function maySuspend(): string | false {
  const bus = spawnSync('busctl', ['--system', 'list', '--no-legend'], { encoding: 'utf8' });
  if (bus.status === 0 && bus.stdout.includes('org.freedesktop.login1')) return 'systemd-logind is on the system bus';
  if (spawnSync('sh', ['-c', 'command -v pm-is-supported'], { encoding: 'utf8' }).status === 0) return 'pm-utils is installed';
  return false;
}
const suspendRisk = maySuspend();
if (suspendRisk) console.warn(`SKIPPING nodesuspend comparison: ${suspendRisk}, the host might really suspend`);

test('nodesuspend on a host that cannot suspend: libvirt\'s refusal for every target, and virsh\'s own checks', { skip: skip || suspendRisk }, async () => {
  for (const args of [['mem', '60'], ['disk', '120'], ['hybrid', '10'], ['foo', '60'], ['mem', '-1'], ['mem', 'x']]) {
    await sameAsVirsh('nodesuspend', ...args);
  }
});
