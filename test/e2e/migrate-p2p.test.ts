// Peer-to-peer migration between two tsvirtd, driven by real virsh: the client
// calls the source alone, whose driver opens its own connection to the
// destination URI; libvirt's errors for --tunnelled without --p2p and for a
// destination nobody listens on; the guest answering at the destination.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { agentAnswers, migrationGuest, migrationHosts, startGuest, virsh, virshOk } from './migration-hosts.js';

const guest = migrationGuest('peer-to-peer migration test');

test('virsh migrate --p2p between two tsvirtd: the source daemon drives the destination', { skip: typeof guest === 'string' ? guest : false, timeout: 120_000 }, async (t) => {
  if (typeof guest === 'string') return;
  const hosts = await migrationHosts(t);
  const { S, D } = hosts;
  await startGuest(hosts, guest, 'p2p');

  const notP2P = await virsh('-c', S, 'migrate', '--live', '--tunnelled', 'p2p', D);
  assert.equal(notP2P.code, 1);
  assert.equal(notP2P.stderr, 'error: cannot perform tunnelled migration without using peer2peer flag\n');

  const nowhere = join(hosts.src.root, 'nobody-listens');
  const unreachable = await virsh('-c', S, 'migrate', '--live', '--p2p', 'p2p', `qemu+unix:///system?socket=${nowhere}`);
  assert.equal(unreachable.code, 1);
  assert.equal(unreachable.stderr, `error: Failed to connect socket to '${nowhere}': No such file or directory\n`);
  assert.equal(await virshOk('-c', S, 'domstate', 'p2p'), 'running\n\n');

  const there = await virsh('-c', S, 'migrate', '--live', '--p2p', '--persistent', '--verbose', 'p2p', D);
  assert.equal(there.code, 0, there.stderr);
  assert.match(there.stderr, /Migration: \[100 %\]/);
  assert.equal(await virshOk('-c', S, 'domstate', 'p2p', '--reason'), 'shut off (migrated)\n\n');
  assert.equal(await virshOk('-c', D, 'domstate', 'p2p', '--reason'), 'running (migrated)\n\n');
  assert.match(await virshOk('-c', D, 'dominfo', 'p2p'), /^Persistent: +yes$/m);
  await agentAnswers(D, 'p2p');
});
