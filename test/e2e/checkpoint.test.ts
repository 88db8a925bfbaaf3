// Domain checkpoints (issue 14): the same checkpoint-* commands on tsvirt
// (embed) and the installed libvirt (qemu:///system), each on the tiny test
// guest with a qcow2 disk under TCG; outputs must match once names, folders,
// times and uuids are normalised. A checkpoint is a persistent dirty bitmap on
// the image: `qemu-img info` must list the same bitmaps on both sides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { BOOT_TIMEOUT_MS, SerialLog, testGuest, type TestGuest } from './guest.js';
import { libvirtUnavailable } from '../helpers/libvirt.js';
import { differingRows, normalise, qcow2GuestSides, systemVirshAsync, type Outcome, type SideHost } from './side-by-side.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** checkpoints: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);

interface Host extends SideHost {
  /** Resolves once the domain runs no job (libvirt's backup goes on after backup-begin returns). */
  idle(): Promise<void>;
}

/** What a backup image is: its format, size and backing file (the folder normalised). */
function imageFacts(host: Host, name: string): string {
  const info = JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', path.join(host.dir, name)], { encoding: 'utf8' })) as Record<string, unknown>;
  return JSON.stringify([info.format, info['virtual-size'], info['backing-filename'], info['backing-filename-format']]).replaceAll(host.dir, 'DIR');
}

/** Polls libvirt's domjobinfo until no job runs. */
async function libvirtIdle(name: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const o = await systemVirshAsync('domjobinfo', name);
    if (/Job type:\s+None/.test(o.stdout)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`libvirt's job on ${name} did not end`);
}

/** The bitmaps `qemu-img info` lists on an image, by name. */
function bitmaps(image: string): string[] {
  const info = JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', image], { encoding: 'utf8' })) as { 'format-specific'?: { data?: { bitmaps?: { name: string }[] } } };
  return (info['format-specific']?.data?.bitmaps ?? []).map((b) => b.name).sort();
}

async function session(host: Host, serial: SerialLog, image: string): Promise<{ outcomes: Outcome[]; bitmaps: string[][]; images: string[] }> {
  const outcomes: Outcome[] = [];
  const images: string[] = [];
  const seen: string[][] = [];
  const d = host.name;
  const row = async (...args: string[]) => {
    const o = normalise(host, await host.run(...args));
    outcomes.push(o);
    return o;
  };
  await row('checkpoint-create-as', d, 'c0');
  await row('start', d);
  await serial.bootPciDevices(BOOT_TIMEOUT_MS);
  await row('checkpoint-create-as', d, 'c1', '--description', 'first one');
  await row('checkpoint-create-as', d, 'c1');
  await row('checkpoint-create-as', d, 'c2');
  await row('checkpoint-create-as', d, 'c3', '--diskspec', 'vda,bitmap=other');
  await row('checkpoint-create-as', d, 'c4', '--diskspec', 'vdz');
  for (const opts of [[], ['--tree'], ['--parent'], ['--roots'], ['--leaves'], ['--no-leaves'], ['--name'], ['--from', 'c1'], ['--from', 'c1', '--descendants'], ['--topological', '--name'], ['--descendants']]) {
    await row('checkpoint-list', d, ...opts);
  }
  await row('checkpoint-info', d, 'c1');
  await row('checkpoint-info', d, 'c2');
  await row('checkpoint-parent', d, 'c2');
  await row('checkpoint-parent', d, 'c1');
  await row('checkpoint-info', d, 'nosuch');
  await row('checkpoint-dumpxml', d, 'c2', '--no-domain');
  const full = await row('checkpoint-dumpxml', d, 'c1');
  // the embedded definition is the one snapshots embed (compared there); here its bounds
  full.stdout = full.stdout.replace(/\n {2}<domain\b[\s\S]*?\n {2}<\/domain>/, '\n  <domain/>');
  const sized = await row('checkpoint-dumpxml', d, 'c1', '--size', '--no-domain');
  sized.stdout = sized.stdout.replace(/ size='\d+'/g, " size='N'");
  // push backups: full, then incremental since c2 creating c3 in the same transaction, and their errors
  const file = (name: string, text: string) => {
    writeFileSync(path.join(host.dir, name), text);
    return path.join(host.dir, name);
  };
  const target = (name: string) => `<disks><disk name='vda' type='file'><target file='${path.join(host.dir, name)}'/><driver type='qcow2'/></disk></disks>`;
  await row('backup-begin', d, file('full.xml', `<domainbackup>${target('full.qcow2')}</domainbackup>`));
  await host.idle();
  await row('backup-dumpxml', d);
  await row('backup-begin', d, file('full.xml', `<domainbackup>${target('full.qcow2')}</domainbackup>`));
  await row('backup-begin', d, file('nosuch.xml', `<domainbackup><incremental>nosuch</incremental>${target('none.qcow2')}</domainbackup>`));
  await row('backup-begin', d, file('vdz.xml', "<domainbackup><disks><disk name='vdz' backup='no'/></disks></domainbackup>"));
  await row('backup-begin', d, file('inc.xml', `<domainbackup><incremental>c2</incremental>${target('inc.qcow2')}</domainbackup>`), file('c3.xml', '<domaincheckpoint><name>c3</name></domaincheckpoint>'));
  await host.idle();
  await row('checkpoint-list', d, '--tree');
  // metadata given back: the checkpoint's own XML redefines it, validated against the bitmaps too
  const redefine = file('c2.xml', (await host.run('checkpoint-dumpxml', d, 'c2', '--security-info')).stdout);
  await row('checkpoint-create', d, redefine, '--redefine');
  await row('checkpoint-create', d, redefine, '--redefine', '--redefine-validate');
  await row('checkpoint-create', d, file('c9.xml', '<domaincheckpoint><name>c9</name><creationTime>1</creationTime><parent><name>nosuch</name></parent></domaincheckpoint>'), '--redefine');
  await row('checkpoint-list', d, '--parent');
  images.push(imageFacts(host, 'full.qcow2'), imageFacts(host, 'inc.qcow2'));
  // delete the root: its child moves up, its bitmap leaves the image
  await row('checkpoint-delete', d, 'c1');
  await row('checkpoint-list', d, '--parent');
  await row('checkpoint-delete', d, 'nosuch');
  await row('destroy', d);
  seen.push(bitmaps(image));
  // the full backup holds what the disk holds
  execFileSync('qemu-img', ['compare', '-q', '-U', path.join(host.dir, 'full.qcow2'), image]);
  await row('checkpoint-delete', d, 'c2');
  await row('undefine', d);
  await row('checkpoint-delete', d, 'c2', '--metadata');
  await row('checkpoint-list', d, '--name');
  await row('undefine', d, '--checkpoints-metadata');
  return { outcomes, bitmaps: seen, images };
}

test('checkpoints side by side with libvirt: create, lists, tree, dumpxml, delete, errors, bitmaps on the image', { skip: skip || noLibvirt }, async (t) => {
  const { sides: [tsvirt, libvirt] } = await qcow2GuestSides(t, 'ckpt', guest as TestGuest, ['--checkpoints-metadata']);
  const hosts = [
    { ...tsvirt, host: { ...tsvirt.host, idle: async () => undefined } },
    { ...libvirt, host: { ...libvirt.host, idle: () => libvirtIdle(libvirt.host.name) } },
  ];
  const [ours, theirs] = await Promise.all(hosts.map(({ host, serial, image }) => session(host, serial, image)));
  const differing = differingRows(ours.outcomes, theirs.outcomes);
  assert.deepEqual(differing, [], JSON.stringify(differing, null, 1));
  assert.deepEqual(ours.bitmaps, theirs.bitmaps);
  assert.deepEqual(ours.images, theirs.images);
  assert.deepEqual(ours.bitmaps, [['c2', 'c3']]);
});
