// virDomainOpenChannel through the library (embed): a stream on the guest agent's
// UNIX socket channel carries a guest-ping and its answer from the test guest's
// agent responder; libvirt's errors for a missing channel, a pty channel, a
// second session and a domain that does not run; FORCE takes the channel over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { connect } from '../../src/api/connection.js';
import { DomainChannelFlags } from '../../src/driver/flags.js';
import { BOOT_TIMEOUT_MS, guestDomainXML, Sandbox, testGuest, waitUntil } from './guest.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;

const CHANNELS = "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel><channel type='pty'><target type='virtio' name='org.tsvirt.pty.0'/></channel>";

function collect(stream: Duplex): { text: () => string; closed: () => boolean } {
  let text = '';
  let closed = false;
  stream.setEncoding('utf8').on('data', (s: string) => (text += s));
  stream.on('error', () => undefined);
  stream.once('close', () => (closed = true));
  return { text: () => text, closed: () => closed };
}

/** Sends guest-ping every few seconds (the agent answers once the guest booted) until an answer comes. */
async function ping(stream: Duplex, seen: { text: () => string }): Promise<void> {
  let lastSent = 0;
  await waitUntil('the agent answer on the channel', BOOT_TIMEOUT_MS, () => {
    if (/"return"/.test(seen.text())) return true;
    if (Date.now() - lastSent > 5_000) {
      stream.write('{"execute":"guest-ping"}\n');
      lastSent = Date.now();
    }
    return undefined;
  });
}

test('openChannel streams a UNIX socket channel by virtio name or alias, one session unless forced, with libvirt errors', { skip }, async (t) => {
  if ('skip' in guest) return;
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await sb.define(guestDomainXML({ name: 'chan', machine: 'q35', serialPath: 'pty', guest, devices: CHANNELS }));
  const conn = await connect(sb.uri);
  t.after(() => conn.close());
  const dom = await conn.lookupDomainByName('chan');
  await assert.rejects(dom.openChannel('org.qemu.guest_agent.0'), { message: 'Requested operation is not valid: domain is not running' });

  await sb.ok('start', 'chan');
  await assert.rejects(dom.openChannel('nosuch'), { message: 'internal error: cannot find channel nosuch' });
  await assert.rejects(dom.openChannel('org.tsvirt.pty.0'), { message: 'internal error: channel org.tsvirt.pty.0 is not using a UNIX socket' });
  await assert.rejects(dom.openChannel(null, 2), /unsupported flags \(0x2\) in function qemuDomainOpenChannel/);

  const first = await dom.openChannel('org.qemu.guest_agent.0');
  const firstSeen = collect(first);
  await ping(first, firstSeen);
  await assert.rejects(dom.openChannel('channel0'), { message: 'operation failed: Active channel stream exists for this domain' });

  const second = await dom.openChannel('channel0', DomainChannelFlags.FORCE);
  await waitUntil('the first session closed by the forced one', 5_000, () => (firstSeen.closed() ? true : undefined));
  const secondSeen = collect(second);
  await ping(second, secondSeen);
  await sb.ok('destroy', 'chan');
  await waitUntil('the session ends with the domain', 5_000, () => (secondSeen.closed() ? true : undefined));
});
