// A capability probe's QEMU and its temporary folder must not outlive the tsvirsh
// that started it, even when tsvirsh is killed with SIGKILL in the middle of the probe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { qemuPidsMentioning } from '../helpers/qemu-processes.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TSVIRSH = fileURLToPath(new URL('../../../bin/tsvirsh', import.meta.url));
const skip = existsSync('/usr/bin/qemu-system-x86_64') ? false : 'qemu-system-x86_64 is not installed';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntilGone(marker: string, ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = qemuPidsMentioning(marker);
  while (left.length && Date.now() < deadline) {
    await sleep(20);
    left = qemuPidsMentioning(marker);
  }
  return left;
}

/** The entries of `dir` once it is empty, or when `ms` have passed. */
async function waitUntilEmpty(dir: string, ms: number): Promise<string[]> {
  const deadline = Date.now() + ms;
  let left = readdirSync(dir);
  while (left.length && Date.now() < deadline) {
    await sleep(20);
    left = readdirSync(dir);
  }
  return left;
}

test('a tsvirsh killed with SIGKILL mid-probe leaves no probe QEMU and no temp folder behind', { skip, timeout: 120_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'tsvirt-probe-life-'));
  try {
    let caught = 0;
    // the probe takes a few hundred ms: try until one run was killed while its QEMU was up
    for (let attempt = 0; attempt < 10 && caught < 2; attempt++) {
      const temp = join(work, `tmp${attempt}`);
      const root = join(work, `root${attempt}`);
      mkdirSync(temp);
      const child = spawn(TSVIRSH, ['-c', `qemu:///embed?root=${root}`, 'domcapabilities', '--virttype', 'qemu'], {
        stdio: 'ignore', env: { ...process.env, TMPDIR: temp },
      });
      const exited = new Promise<void>((r) => child.on('close', () => r()));
      let running = false;
      child.on('close', () => { running = false; });
      running = true;
      while (running && qemuPidsMentioning(temp).length === 0) await sleep(2);
      if (!running) continue;
      child.kill('SIGKILL');
      await exited;
      caught++;
      assert.deepEqual(await waitUntilGone(temp, 5000), [], `probe QEMU still running after its tsvirsh was killed (attempt ${attempt})`);
      assert.deepEqual(await waitUntilEmpty(temp, 5000), [], `probe folder left after its tsvirsh was killed (attempt ${attempt})`);
    }
    assert.ok(caught > 0, 'never caught a probe QEMU running');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('a completed probe leaves no QEMU and no temp folder behind', { skip, timeout: 60_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'tsvirt-probe-life-'));
  try {
    const temp = join(work, 'tmp');
    mkdirSync(temp);
    const code = await new Promise<number | null>((resolve) => {
      spawn(TSVIRSH, ['-c', `qemu:///embed?root=${join(work, 'root')}`, 'domcapabilities', '--virttype', 'qemu'], {
        stdio: 'ignore', env: { ...process.env, TMPDIR: temp },
      }).on('close', resolve);
    });
    assert.equal(code, 0);
    assert.deepEqual(await waitUntilGone(temp, 2000), []);
    assert.deepEqual(readdirSync(temp), []);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
