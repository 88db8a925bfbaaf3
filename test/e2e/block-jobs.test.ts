// Block jobs on a running guest (issue 14): blockcopy with pivot, blockpull to
// a base, active blockcommit with pivot, blockjob's info/raw/bandwidth views,
// and blkdeviotune (get and set, live and persistent), side by side on tsvirt and the installed libvirt (qemu:///system):
// the same output (virsh's progress lines included), errors and live disk XML.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { guestDomainXML, Sandbox, testGuest, type TestGuest } from './guest.js';
import { libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** block-jobs: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);

type Run = (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

/** base <- low <- mid <- top, qcow2 each, in `dir`. */
function makeChain(dir: string): void {
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(dir, 'base.qcow2'), '64M']);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', path.join(dir, 'low.qcow2')]);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'low.qcow2', '-F', 'qcow2', path.join(dir, 'mid.qcow2')]);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'mid.qcow2', '-F', 'qcow2', path.join(dir, 'top.qcow2')]);
  for (const f of ['base', 'low', 'mid', 'top']) chmodSync(path.join(dir, `${f}.qcow2`), 0o666);
}

function domainXml(name: string, dir: string): string {
  const disk = `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${path.join(dir, 'top.qcow2')}'/><target dev='vda' bus='virtio'/></disk>`;
  return guestDomainXML({ name, machine: 'q35', serialPath: path.join(dir, 'serial.log'), guest: guest as TestGuest, devices: disk });
}

/** The commands, and what each printed; `dir` and `name` become DIR and NAME. */
async function blockJobSession(run: Run, name: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  // how many progress lines a wait prints depends on timing: the last one counts
  const norm = (s: string) => s.replaceAll(dir, 'DIR').replaceAll(name, 'NAME').replace(/(\\r[A-Za-z ]+: \[[ \d]+ %\])+/g, (all) => all.slice(all.lastIndexOf('\\r')));
  const step = async (...args: string[]) => {
    const r = await run(...args);
    out.push(norm(`${args.join(' ')} -> ${r.code}\nout: ${JSON.stringify(r.stdout)}\nerr: ${JSON.stringify(r.stderr)}`));
  };
  const disk = async () => {
    const xml = (await run('dumpxml', name)).stdout;
    out.push(norm(xml.slice(xml.indexOf('<disk'), xml.indexOf('</disk>'))));
  };
  await disk();
  // committing an image below the top, and what a commit refuses
  await step('blockcommit', name, 'vda', '--top', path.join(dir, 'top.qcow2'));
  await step('blockcommit', name, 'vda', '--top', path.join(dir, 'mid.qcow2'), '--active');
  await step('blockcommit', name, 'vda', '--shallow', '--base', path.join(dir, 'base.qcow2'), '--active');
  await step('blockcommit', name, 'vda', '--top', 'vdb[2]');
  await step('blockcommit', name, 'vda', '--top', 'vda[9]');
  await step('blockcommit', name, 'vda', '--top', 'mid.qcow2', '--base', path.join(dir, 'low.qcow2'), '--wait', '--verbose', '--delete');
  out.push(existsSync(path.join(dir, 'mid.qcow2')) ? 'mid.qcow2 kept' : 'mid.qcow2 deleted');
  await disk();
  await step('blockjob', name, 'vda', '--info');
  await step('blockcopy', name, 'vda', path.join(dir, 'copy.qcow2'), '--shallow', '--format', 'qcow2', '--transient-job');
  await step('blockcopy', name, 'vda', path.join(dir, 'copy2.qcow2'));
  await step('blockpull', name, 'vda');
  await step('blockjob', name, 'vda', '--raw');
  await step('blockjob', name, 'vda', '--bandwidth', '10');
  await step('blockjob', name, 'vda');
  await step('blockjob', name, 'vda', '--bandwidth', '0');
  await step('blockjob', name, 'vdb', '--info');
  await disk();
  await step('blockjob', name, 'vda', '--pivot');
  await disk();
  await step('blockjob', name, 'vda', '--abort');
  await step('blockpull', name, 'vda', '--base', path.join(dir, 'base.qcow2'), '--wait', '--verbose');
  await disk();
  await step('blockcommit', name, 'vda', '--active', '--pivot', '--verbose');
  await disk();
  // I/O throttling, live and persistent
  await step('blkdeviotune', name, 'vda');
  await step('blkdeviotune', name, 'vda', '--total-bytes-sec', '10M', '--read-iops-sec', '100', '--live');
  await step('blkdeviotune', name, 'vda', '--size-iops-sec', '10');
  await step('blkdeviotune', name, 'vda', '--live');
  await step('blkdeviotune', name, 'vda', '--total-iops-sec', '50', '--group-name', 'grp', '--config');
  await step('blkdeviotune', name, 'vda', '--config');
  await step('blkdeviotune', name, 'vdb');
  await step('blkdeviotune', name, 'vda', '--total-bytes-sec', '5', '--read-bytes-sec', '4');
  await step('blkdeviotune', name, 'vda', '--total-bytes-sec-max', '5');
  await disk();
  const inactive = (await run('dumpxml', name, '--inactive')).stdout;
  out.push(norm(inactive.slice(inactive.indexOf('<disk'), inactive.indexOf('</disk>'))));
  // a full copy finished without pivot, a copy into a reused image given as XML, aborted
  await step('blockcopy', name, 'vda', path.join(dir, 'full.qcow2'), '--wait', '--verbose', '--finish');
  await step('blockcopy', name, 'vda', path.join(dir, 'full.qcow2'), '--wait', '--verbose', '--finish', '--transient-job');
  await disk();
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(dir, 'reused.qcow2'), '64M']);
  chmodSync(path.join(dir, 'reused.qcow2'), 0o666);
  writeFileSync(path.join(dir, 'dest.xml'), `<disk type='file'><source file='${path.join(dir, 'reused.qcow2')}'/><driver type='qcow2'/></disk>`);
  await step('blockcopy', name, 'vda', '--xml', path.join(dir, 'dest.xml'), '--reuse-external', '--wait', '--transient-job');
  await step('blockjob', name, 'vda', '--info');
  await disk();
  await step('blockjob', name, 'vda', '--abort');
  await disk();
  await step('blockcommit', name, 'vda');
  await step('blockcopy', name, 'vda', '--dest', path.join(dir, 'full.qcow2'));
  await step('blockcopy', name, 'vda');
  return out;
}

test('blockcopy, blockpull, blockcommit, blockjob and blkdeviotune on a running guest, as libvirt', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  makeChain(sb.dir);
  await sb.define(domainXml('bj', sb.dir));
  await sb.ok('start', 'bj');
  const ours = await blockJobSession((...args) => sb.run(...args), 'bj', sb.dir);
  const text = ours.join('\n');
  // the chain is probed, the copy pivoted, pulled and committed down to the base
  assert.match(text, /<backingStore type='file' index='2'>\n\s*<format type='qcow2'\/>\n\s*<source file='DIR\/mid.qcow2'\/>/);
  assert.match(text, /<mirror type='file' file='DIR\/copy.qcow2' format='qcow2' job='copy' ready='yes'>/);
  assert.match(text, /blockcommit NAME vda --active --pivot --verbose -> 0\nout: "\\nSuccessfully pivoted\\n"\nerr: "\\rBlock commit: \[100 %\]"/);
  assert.match(text, /blockcommit NAME vda --top mid.qcow2 --base DIR\/low.qcow2 --wait --verbose --delete -> 0\nout: "\\nCommit complete\\n"[^]*\nmid.qcow2 deleted\n/);
  assert.match(text, /<source file='DIR\/base.qcow2' index='4'\/>\n\s*<backingStore\/>\n\s*<target dev='vda' bus='virtio'\/>\n\s*<alias/);
  assert.match(text, /<iotune>\n\s*<total_bytes_sec>10485760<\/total_bytes_sec>\n\s*<read_iops_sec>100<\/read_iops_sec>\n\s*<size_iops_sec>10<\/size_iops_sec>/);
  assert.match(text, /<iotune>\n\s*<total_iops_sec>50<\/total_iops_sec>\n\s*<group_name>grp<\/group_name>/);

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const dir = mkdtempSync('/var/tmp/tsvirt-e2e-bj-');
  chmodSync(dir, 0o777); // QEMU, as libvirt's user, writes the console file and the copy here
  const name = `tsvirt-e2e-bj-${process.pid}`;
  const virsh: Run = runSystemVirsh;
  t.after(async () => {
    await virsh('destroy', name);
    await virsh('undefine', name);
    rmSync(dir, { recursive: true, force: true });
  });
  makeChain(dir);
  writeFileSync(path.join(dir, 'def.xml'), domainXml(name, dir));
  await virsh('define', path.join(dir, 'def.xml'));
  await virsh('start', name);
  const theirs = await blockJobSession(virsh, name, dir);
  assert.deepEqual(ours, theirs);
});
