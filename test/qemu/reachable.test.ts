// Which folder keeps a dropped QEMU from its files: the outermost one it may not search.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unreachableFolder } from '../../src/drivers/qemu/security/reachable.js';
import { memberGroups } from '../../src/drivers/qemu/security/identity.js';

test('the outermost folder without a search bit for the QEMU user is named; group membership counts', (t) => {
  const top = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-reach-'));
  t.after(() => rmSync(top, { recursive: true, force: true }));
  const inner = path.join(top, 'lib', 'qemu');
  mkdirSync(inner, { recursive: true, mode: 0o700 });
  const target = path.join(inner, 'master-key.aes');
  const owner = statSync(top);
  const stranger = { uid: owner.uid + 4242, gid: owner.gid + 4242 };
  chmodSync(top, 0o700);
  assert.equal(unreachableFolder(target, stranger, new Set()), top, 'mkdtemp leaves 0700');
  chmodSync(top, 0o711);
  chmodSync(path.join(top, 'lib'), 0o750);
  assert.equal(unreachableFolder(target, stranger, new Set()), path.join(top, 'lib'));
  assert.equal(unreachableFolder(target, { ...stranger, gid: owner.gid }, new Set()), inner, 'the group bit serves the primary group');
  chmodSync(inner, 0o750);
  assert.equal(unreachableFolder(target, stranger, new Set([owner.gid])), undefined, 'and a member group');
  assert.equal(unreachableFolder(target, { uid: owner.uid, gid: stranger.gid }, new Set()), undefined, 'the owner bit serves the owner');
});

test('member groups come from /etc/group lists naming the user', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-groups-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const passwd = path.join(dir, 'passwd');
  const group = path.join(dir, 'group');
  writeFileSync(passwd, 'root:x:0:0::/root:/bin/sh\ntsvirt-qemu:x:995:995::/nonexistent:/usr/sbin/nologin\n');
  writeFileSync(group, 'kvm:x:107:tsvirt-qemu\ndisk:x:6:root\nvideo:x:44:other,tsvirt-qemu\ntsvirt-qemu:x:995:\n');
  assert.deepEqual([...memberGroups(995, { passwd, group })].sort(), [107, 44].sort());
  assert.deepEqual([...memberGroups(1234, { passwd, group })], []);
});
