// Network lifecycle events (defined, started, stopped, undefined): heard by a
// qemu:///embed connection's subscribers through the library API, and through
// tsvirtd (REMOTE_PROC_NETWORK_EVENT_LIFECYCLE) by real virsh's `net-event --event lifecycle
// --loop` and by a python3-libvirt client that registers, drives a network
// and deregisters. tsvirtd runs in a network namespace the test creates.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { connect } from '../../src/api/connection.js';
import { NetworkEventType } from '../../src/driver/event-numbers.js';
import type { DriverEvent } from '../../src/driver/events.js';
import { projectRoot } from '../helpers/shared.js';
import { spawnDaemon } from '../daemon/spawn-daemon.js';
import { NetworkNamespace, namespaceSkipReason } from './namespace.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const CLIENT = join(projectRoot, 'test', 'network', 'net-events-client.py');

test('network lifecycle events reach a qemu:///embed connection through the library API', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tsvirt-net-events-'));
  const conn = await connect(`qemu:///embed?root=${dir}`);
  try {
    const seen: string[] = [];
    assert.ok(conn.drivers.events, 'the connection reports events');
    conn.drivers.events.subscribe((e: DriverEvent) => {
      if (e.key === 'networkEventLifecycle') seen.push(`${e.body.net.name}:${NetworkEventType[e.body.event]}:${e.body.detail}`);
    });
    // forward mode bridge onto a host bridge: starting it changes nothing on the host
    const xml = "<network><name>evnet</name><forward mode='bridge'/><bridge name='br-nowhere'/></network>";
    const { net } = await conn.invoke('networkDefineXML', { xml });
    await conn.invoke('networkCreate', { net });
    await conn.invoke('networkDestroy', { net });
    await conn.invoke('networkUndefine', { net });
    const { net: transient } = await conn.invoke('networkCreateXML', { xml: xml.replace('evnet', 'evtrans') });
    await conn.invoke('networkDestroy', { net: transient });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, ['evnet:DEFINED:0', 'evnet:STARTED:0', 'evnet:STOPPED:0', 'evnet:UNDEFINED:0', 'evtrans:STARTED:0', 'evtrans:STOPPED:0']);
  } finally {
    await conn.close();
    await rm(dir, { recursive: true, force: true });
  }
});

function remoteSkipReason(): string | false {
  const ns = namespaceSkipReason();
  if (ns) return ns;
  let reason: string | undefined;
  if (!existsSync('/usr/bin/virsh')) reason = 'virsh is not installed';
  else if (!existsSync(PYTHON)) reason = 'python3 is not installed';
  if (reason && process.env.CI === 'true') throw new Error(`${reason} (CI=true requires it)`);
  if (reason) console.error(`SKIPPING: ${reason}`);
  return reason ?? false;
}

const skipRemote = remoteSkipReason();

test('tsvirtd sends network events to real virsh net-event and to python3-libvirt, until they deregister', { skip: skipRemote, timeout: 180_000 }, async (t) => {
  const ns = new NetworkNamespace('netev');
  t.after(() => ns.delete());
  const daemon = await spawnDaemon('', { prefix: ['ip', 'netns', 'exec', ns.name] });
  t.after(() => daemon.stop());
  const uri = daemon.uri('qemu', '/system');
  const xmlFile = join(daemon.root, 'evnet.xml');
  await writeFile(xmlFile, "<network><name>evnet</name><bridge name='virbr-ev'/><ip address='10.231.0.1' prefix='24'/></network>");

  // virsh listens on its own connection; python drives the network on another and listens too
  const watcher = spawn('virsh', ['-c', uri, 'net-event', '--event', 'lifecycle', '--loop'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let watched = '';
  watcher.stdout.on('data', (d: Buffer) => (watched += d.toString()));
  watcher.stderr.on('data', (d: Buffer) => (watched += d.toString()));
  const watcherDone = new Promise<void>((resolve) => watcher.once('exit', () => resolve()));
  t.after(() => watcher.kill('SIGKILL'));
  // virsh has registered once a network defined by someone else reaches it
  const probeFile = join(daemon.root, 'probe.xml');
  await writeFile(probeFile, '<network><name>probe</name></network>');
  for (let i = 0; i < 50 && !watched.includes('for network probe'); i++) {
    await run('virsh', ['-c', uri, 'net-define', probeFile]);
    await run('virsh', ['-c', uri, 'net-undefine', 'probe']);
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.match(watched, /event 'lifecycle' for network probe: Defined/);

  const { stdout } = await run(PYTHON, [CLIENT, uri, xmlFile, '60'], { timeout: 120_000 });
  const events = stdout.split('\n').filter((l) => l.startsWith('EVENT '));
  // virNetworkEventLifecycleType: DEFINED 0, UNDEFINED 1, STARTED 2, STOPPED 3
  assert.deepEqual(events, ['EVENT evnet 0 0', 'EVENT evnet 2 0', 'EVENT evnet 3 0', 'EVENT evnet 1 0'], stdout);
  // the define/undefine after deregistering did not reach python
  assert.match(stdout, /^AFTER 4$/m);

  for (let i = 0; i < 100 && (watched.match(/for network evnet/g)?.length ?? 0) < 6; i++) await new Promise((r) => setTimeout(r, 100));
  watcher.kill('SIGINT');
  await watcherDone;
  const lines = watched.split('\n').filter((l) => l.includes('for network evnet'));
  assert.deepEqual(lines, [
    "event 'lifecycle' for network evnet: Defined",
    "event 'lifecycle' for network evnet: Started",
    "event 'lifecycle' for network evnet: Stopped",
    "event 'lifecycle' for network evnet: Undefined",
    "event 'lifecycle' for network evnet: Defined",
    "event 'lifecycle' for network evnet: Undefined",
  ]);
  // the started network's bridge lived in the namespace, never on the host
  assert.equal(existsSync('/sys/class/net/virbr-ev'), false);

  // real virsh's net-port-* through the daemon
  const portFile = join(daemon.root, 'port.xml');
  const PORT = '5b0e2f4e-5ad8-4b8e-8a0f-6a4d4b0c9e11';
  await writeFile(portFile, `<networkport><uuid>${PORT}</uuid><owner><name>g</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid></owner><mac address='52:54:00:0e:0e:01'/></networkport>`);
  const virsh = async (...args: string[]) => (await run('virsh', ['-c', uri, ...args])).stdout;
  await virsh('net-create', xmlFile);
  assert.equal(await virsh('net-port-create', 'evnet', portFile), `Network port ${PORT} created from ${portFile}\n\n`);
  assert.equal(await virsh('net-port-list', 'evnet', '--uuid'), `${PORT}\n\n`);
  assert.match(await virsh('net-port-dumpxml', 'evnet', PORT), /<plug type='network' bridge='virbr-ev'\/>/);
  assert.equal(await virsh('net-port-delete', 'evnet', PORT), `Network port ${PORT} deleted\n\n`);
  assert.equal(await virsh('net-port-list', 'evnet', '--uuid'), '\n');
  await virsh('net-destroy', 'evnet');
});
