// The guest agent client against a fake agent socket: the sync that skips stale
// replies and garbage, libvirt's error texts for error replies and unknown
// commands, the timeouts, and the channel state bookkeeping of the live XML.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { agentCommand, AgentCommandUnsupported, GuestAgent } from '../../src/drivers/qemu/agent.js';
import { agentChannel, agentLifecycleEvents, applyPortStates, portStatesFromChardevs, prepareLiveChannels } from '../../src/drivers/qemu/agent-channel.js';
import { parseJsonText, formatLibvirtJson } from '../../src/util/libvirt-json.js';
import { child, childrenNamed, parseXml } from '../../src/util/xml.js';

/** A fake agent: `answer` gets each command line and returns the lines to send back (none: stays silent). */
async function fakeAgent(answer: (line: string, socket: net.Socket) => string[]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-test-'));
  const socketPath = path.join(dir, 'agent.sock');
  const received: string[] = [];
  const server = net.createServer((socket) => {
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString();
      for (let i; (i = buf.indexOf('\n')) >= 0; ) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        received.push(line);
        for (const reply of answer(line, socket)) socket.write(`${reply}\n`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    received,
    close: () => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const syncId = (line: string) => /"id":(\d+)/.exec(line)?.[1];

test('sync skips garbage and stale replies, then a command returns the whole reply', async (t) => {
  const agent = await fakeAgent((line) => {
    const id = syncId(line);
    // a half line and a reply left over from an earlier client come first
    if (id) return ['{"retu', '{"return": 42}', `{"return": ${id}}`];
    if (line.includes('guest-get-time')) return ['{"return": 1700000000123456789}'];
    return ['{"error": {"class": "CommandNotFound", "desc": "The command guest-nope has not been found"}}'];
  });
  t.after(agent.close);
  const client = await GuestAgent.connect(agent.socketPath, -1);
  t.after(() => client.close());
  assert.match(agent.received[0]!, /^\{"execute":"guest-sync", "arguments":\{"id":\d+\}\}$/);
  const reply = await client.command(agentCommand('guest-get-time'));
  // every digit of the 64-bit number survives
  assert.equal(formatLibvirtJson(reply, false), '{"return":1700000000123456789}');
  await assert.rejects(client.command(parseJsonText('{"execute":"guest-nope"}')), {
    message: "internal error: unable to execute QEMU agent command 'guest-nope': The command guest-nope has not been found",
  });
  await assert.rejects(client.command(parseJsonText('{"execute":"guest-nope"}'), undefined, false), AgentCommandUnsupported);
});

test('an error reply without desc names its class as libvirt does', async (t) => {
  const agent = await fakeAgent((line) => (syncId(line) ? [`{"return": ${syncId(line)}}`] : ['{"error": {"class": "InvalidParameter"}}']));
  t.after(agent.close);
  const client = await GuestAgent.connect(agent.socketPath, -1);
  t.after(() => client.close());
  await assert.rejects(client.command(agentCommand('guest-set-time', { time: 5n })), {
    message: "internal error: unable to execute QEMU agent command 'guest-set-time': Invalid parameter",
  });
  assert.equal(agent.received[1], '{"execute":"guest-set-time","arguments":{"time":5}}');
});

test('a silent agent: the sync gives up after the (shortened) agent timeout; no-wait never waits', async (t) => {
  const agent = await fakeAgent(() => []);
  t.after(agent.close);
  const t0 = Date.now();
  await assert.rejects(GuestAgent.connect(agent.socketPath, 1), { message: 'Guest agent is not responding: Guest agent not available for now' });
  assert.ok(Date.now() - t0 < 4000);

  const answering = await fakeAgent((line) => (syncId(line) ? [`{"return": ${syncId(line)}}`] : []));
  t.after(answering.close);
  const client = await GuestAgent.connect(answering.socketPath, -1);
  t.after(() => client.close());
  await assert.rejects(client.command(agentCommand('guest-ping'), 0), { message: 'Guest agent is not responding: Guest agent not available for now' });
});

test('an agent that goes away mid-command', async (t) => {
  const agent = await fakeAgent((line, socket) => {
    if (syncId(line)) return [`{"return": ${syncId(line)}}`];
    socket.destroy();
    return [];
  });
  t.after(agent.close);
  const client = await GuestAgent.connect(agent.socketPath, -1);
  t.after(() => client.close());
  await assert.rejects(client.command(agentCommand('guest-ping'), 2), { message: 'Guest agent is not responding: Guest agent disappeared while executing command' });
});

test('live channels: default socket path, port state from query-chardev, agent lifecycle events', () => {
  const live = parseXml(`<domain><devices>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/><alias name='channel0'/></channel>
    <channel type='unix'><source mode='bind' path='/x/other.sock'/><target type='virtio' name='org.example.other'/><alias name='channel1'/></channel>
    <channel type='unix'><source mode='bind' path='/var/lib/libvirt/qemu/channel/target/domain-1-g/org.example.saved'/><target type='virtio' name='org.example.saved'/><alias name='channel2'/></channel>
  </devices></domain>`);
  prepareLiveChannels(live, '/var/lib/libvirt/qemu/channel/target', '/var/lib/libvirt/qemu/channel/target/domain-3-g');
  const agent = agentChannel(live)!;
  assert.deepEqual(child(agent, 'source')?.attrs, { mode: 'bind', path: '/var/lib/libvirt/qemu/channel/target/domain-3-g/org.qemu.guest_agent.0' });
  // a user's path stays; an earlier run's generated one (a save image's) moves to this run's folder
  const [, other, saved] = childrenNamed(child(live, 'devices')!, 'channel');
  assert.equal(child(other, 'source')?.attrs.path, '/x/other.sock');
  assert.equal(child(saved, 'source')?.attrs.path, '/var/lib/libvirt/qemu/channel/target/domain-3-g/org.example.saved');
  assert.equal(child(agent, 'target')?.attrs.state, 'disconnected');

  const open = portStatesFromChardevs([{ label: 'charchannel0', 'frontend-open': true }, { label: 'charchannel1', 'frontend-open': false }, { label: 'charmonitor', 'frontend-open': true }]);
  const changes = applyPortStates(live, open);
  assert.equal(changes.length, 1);
  assert.equal(child(agent, 'target')?.attrs.state, 'connected');
  const dom = { name: 'g', uuid: 'u', id: 3 };
  assert.deepEqual(agentLifecycleEvents(dom, changes, 2), [{ key: 'domainEventCallbackAgentLifecycle', body: { dom, state: 1, reason: 2 } }]);
  // the same state again changes nothing
  assert.deepEqual(applyPortStates(live, open), []);
});
