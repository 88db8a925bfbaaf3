// A deep qemu:///embed?root= whose monitor socket path exceeds the 107 bytes
// of a unix socket address still starts, and later processes reach its QMP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { guestDomainXML, Sandbox, testGuest } from './guest.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;

class DeepSandbox extends Sandbox {
  override readonly root = path.join(this.dir, 'a-rather-deep-folder-for-the-lab'.repeat(3), 'root');
  override readonly uri = `qemu:///embed?root=${this.root}`;
}

test('a monitor socket path over 107 bytes: start, QMP from later processes, destroy removes the alias', { skip }, async (t) => {
  if ('skip' in guest) return;
  const sb = new DeepSandbox();
  t.after(() => sb.dispose());
  await sb.define(guestDomainXML({ name: 'deep', machine: 'q35', serialPath: sb.file('deep.serial.log'), guest }));
  const socketPath = `${sb.root}/lib/qemu/domain-1-deep/monitor.sock`;
  assert.ok(Buffer.byteLength(socketPath) > 107, 'the test needs a path beyond the unix socket limit');

  await sb.ok('start', 'deep', '--paused');
  const monitor = /<monitor path='([^']+)'/.exec(readFileSync(sb.statusFile('deep'), 'utf8'))![1];
  assert.ok(Buffer.byteLength(monitor) <= 107, monitor);
  assert.ok(existsSync(socketPath), 'the socket itself lives in the domain folder');
  // each command is a new process that connects to QMP through the alias
  await sb.ok('resume', 'deep');
  assert.equal((await sb.ok('domstate', 'deep')).stdout.trim(), 'running');
  await sb.ok('suspend', 'deep');
  assert.equal((await sb.ok('domstate', 'deep')).stdout.trim(), 'paused');
  await sb.ok('destroy', 'deep');
  assert.deepEqual(sb.qemuPids(), []);
  assert.ok(!existsSync(path.dirname(path.dirname(monitor))), 'the alias folder is gone');
});
