// virDomainSetBlockThreshold side by side: real virsh against tsvirtd and
// against the installed libvirt (qemu:///system), each with the test guest on a
// 16 MiB qcow2 disk, started paused (QEMU writes the image, the guest need not
// boot): domblkthreshold and its errors, block.N.threshold in domstats, and the
// block-threshold events `virsh event` prints once the image is written past
// the threshold (HMP qemu-io writes through the disk's node). tsvirsh against
// the same tsvirtd prints the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { guestDomainXML, testGuest, type TestGuest } from './guest.js';
import { libvirtUnavailable, runSystemVirsh, SYSTEM_URI, virshInstalled } from '../helpers/libvirt.js';
import { tsvirsh } from '../helpers/shared.js';
import { client } from '../daemon/qcow2-guest-daemon.js';
import { spawnDaemon } from '../daemon/spawn-daemon.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : !virshInstalled() ? 'virsh is not installed' : false;
if (skip && process.env.CI === 'true') throw new Error(`block threshold test: ${skip} (CI=true requires it)`);
if (skip) process.stderr.write(`*** block threshold test SKIPPED: ${skip} ***\n`);
const noLibvirt = skip ? false : libvirtUnavailable();
if (noLibvirt) process.stderr.write(`*** block threshold: the comparison with libvirt is SKIPPED: ${noLibvirt} ***\n`);

type Outcome = { code: number; stdout: string; stderr: string };
type Run = (...args: string[]) => Promise<Outcome>;
/** A client binary and how it is started: [program, ...leading args]. */
type Client = { argv: (...args: string[]) => string[] };

const virshOn = (uri: string): Client => ({ argv: (...args) => ['virsh', '-c', uri, ...args] });
const tsvirshOn = (uri: string): Client => ({ argv: (...args) => [process.execPath, tsvirsh, '-c', uri, ...args] });

function runner(c: Client): Run {
  return (...args) =>
    new Promise((resolve) => {
      const [cmd, ...rest] = c.argv(...args);
      const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
}

/** DIR/disk.qcow2, empty: each session writes the same offsets of the same image. */
function freshImage(dir: string): string {
  const image = path.join(dir, 'disk.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '16M']);
  chmodSync(image, 0o666);
  return image;
}

function qcow2Guest(name: string, dir: string): string {
  const image = freshImage(dir);
  const disk = `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${image}'/><target dev='vda' bus='virtio'/></disk>`;
  return guestDomainXML({ name, machine: 'q35', serialPath: path.join(dir, 'serial.log'), guest: guest as TestGuest, devices: disk });
}

/** `event --event block-threshold` listening while `act` writes; what it printed. */
async function eventsDuring(c: Client, name: string, loop: boolean, act: () => Promise<unknown>): Promise<string> {
  const run = runner(c);
  const listening = run('event', name, '--event', 'block-threshold', '--timeout', loop ? '10' : '60', ...(loop ? ['--loop'] : []));
  // the listener registers in its own time (slower on a loaded machine)
  await new Promise((r) => setTimeout(r, 3000));
  await act();
  const r = await listening;
  return r.stdout + r.stderr;
}

/** The session on one host, its lines made comparable (the domain name and folder). */
async function session(c: Client, name: string, dir: string): Promise<string[]> {
  const run = runner(c);
  const out: string[] = [];
  const record = async (...args: string[]) => {
    const r = await run(...args);
    out.push(`${args.join(' ')} -> ${r.code}\n${r.stdout}${r.stderr}`);
  };
  const write = (offset: string) => run('qemu-monitor-command', name, '--hmp', `qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend "write ${offset} 1M"`);
  const thresholds = async () => out.push(((await run('domstats', name, '--block')).stdout.match(/block\.\d+\.(name|threshold)=.*/g) ?? []).join('\n'));
  freshImage(dir);
  await record('domblkthreshold', name, 'vda', '1M');
  await run('start', name, '--paused');
  await record('domblkthreshold', name, 'vdb', '1M');
  await record('domblkthreshold', name, 'vda[x]', '1M');
  await record('domblkthreshold', name, 'vda[7]', '1M');
  await record('domblkthreshold', name, 'vda', '1Q');
  await record('domblkthreshold', name, 'vda', '100M');
  await thresholds();
  await record('domblkthreshold', name, 'vda[1]', '512K');
  await thresholds();
  // set by index: only the chain element's event
  out.push(await eventsDuring(c, name, false, () => write('0')));
  await thresholds();
  // set by name: the disk's event, then the element's
  await record('domblkthreshold', name, 'vda', '2M');
  out.push(await eventsDuring(c, name, true, () => write('2M')));
  await run('destroy', name);
  return out.map((l) => l.replaceAll(dir, 'DIR').replaceAll(name, 'NAME'));
}

test('domblkthreshold, block.N.threshold and the block-threshold event through tsvirtd: as libvirt', { skip, timeout: 300_000 }, async (t) => {
  const daemon = await spawnDaemon();
  t.after(() => daemon.stopWithGuests());
  const uri = daemon.uri('qemu', '/system');
  writeFileSync(path.join(daemon.root, 'bt.xml'), qcow2Guest('bt', daemon.root));
  assert.equal((await client(uri, 'define', path.join(daemon.root, 'bt.xml'))).code, 0);
  const ours = await session(virshOn(uri), 'bt', daemon.root);
  const joined = ours.join('\n');
  assert.match(joined, /block\.0\.threshold=104857600/);
  assert.match(joined, /^event 'block-threshold' for domain 'NAME': dev: vda\[1\]\(DIR\/disk\.qcow2\) 524288 \d+$/m);
  assert.match(joined, /^event 'block-threshold' for domain 'NAME': dev: vda\(DIR\/disk\.qcow2\) 2097152 \d+$/m);
  // tsvirsh prints what virsh prints
  assert.deepEqual(await session(tsvirshOn(uri), 'bt', daemon.root), ours);

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const dir = mkdtempSync('/var/tmp/tsvirt-e2e-bt-');
  chmodSync(dir, 0o777);
  const name = `tsvirt-e2e-bt-${process.pid}`;
  t.after(async () => {
    await runSystemVirsh('destroy', name);
    await runSystemVirsh('undefine', name);
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(path.join(dir, 'def.xml'), qcow2Guest(name, dir));
  assert.equal((await runSystemVirsh('define', path.join(dir, 'def.xml'))).code, 0);
  assert.deepEqual(ours, await session(virshOn(SYSTEM_URI), name, dir));
});
