// libvirt-qemu's pass-through in the qemu driver against a fake QEMU monitor:
// the client's QMP message goes out with the monitor's id and every digit, QEMU's
// whole reply (errors too) comes back compact as libvirt writes it; HMP through
// human-monitor-command; libvirt's errors; monitor event messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { QmpClient, type QmpEvent } from '../../src/drivers/qemu/qmp.js';
import { arbitraryMonitorCommand, monitorEvent } from '../../src/drivers/qemu/monitor-passthrough.js';

/** A fake QEMU answering each command line with `answer(line, id)` (raw text, so numbers stay exact). */
async function fakeQemu(answer: (line: string, id: string) => string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qmp-passthrough-'));
  const socketPath = path.join(dir, 'qmp.sock');
  const received: string[] = [];
  const server = net.createServer((socket) => {
    socket.write('{"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 22}}, "capabilities": []}}\r\n');
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString();
      for (let i; (i = buf.indexOf('\n')) >= 0; ) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        const id = /"id":"([^"]+)"/.exec(line)![1]!;
        if (line.includes('qmp_capabilities')) socket.write(`{"return": {}, "id": "${id}"}\r\n`);
        else {
          received.push(line);
          socket.write(`${answer(line, id)}\r\n`);
        }
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
  const qmp = await QmpClient.connect(socketPath, { timeoutMs: 2000, domainName: 'g' });
  return {
    qmp,
    received,
    async stop() {
      qmp.close();
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('QMP: the message keeps its digits and gets the id; the whole reply, errors included, comes back compact', async () => {
  const q = await fakeQemu((line, id) => (line.includes('"nosuch"')
    ? `{"id": "${id}", "error": {"class": "CommandNotFound", "desc": "The command nosuch has not been found"}}`
    : `{"return": {"actual": 18446744073709551615, "list": [], "o": {}}, "id": "${id}"}`));
  try {
    const out = await arbitraryMonitorCommand(q.qmp, '{ "execute": "balloon", "arguments": { "value": 18446744073709551615 } }', false);
    assert.match(q.received[0]!, /^\{"execute":"balloon","arguments":\{"value":18446744073709551615\},"id":"tsvirt-\d+"\}$/);
    assert.match(out, /^\{"return":\{"actual":18446744073709551615,"list":\[\],"o":\{\}\},"id":"tsvirt-\d+"\}$/);
    assert.match(await arbitraryMonitorCommand(q.qmp, '{"execute":"nosuch"}', false), /^\{"id":"tsvirt-\d+","error":\{"class":"CommandNotFound","desc":"The command nosuch has not been found"\}\}$/);
  } finally {
    await q.stop();
  }
});

test("QMP: libvirt's errors for a message that is no JSON object, or brings its own id", async () => {
  const q = await fakeQemu((_line, id) => `{"return": {}, "id": "${id}"}`);
  try {
    await assert.rejects(arbitraryMonitorCommand(q.qmp, 'not json', false), { message: 'internal error: cannot parse json not json: unexpected character at offset 0' });
    await assert.rejects(arbitraryMonitorCommand(q.qmp, '[1]', false), { message: "internal error: Unable to append command 'id' string" });
    await assert.rejects(arbitraryMonitorCommand(q.qmp, '{"execute":"query-status","id":"x"}', false), { message: "internal error: Unable to append command 'id' string" });
    assert.deepEqual(q.received, []);
  } finally {
    await q.stop();
  }
});

test('HMP: human-monitor-command carries the command line; its text is the result; a QEMU without it is OPERATION_UNSUPPORTED', async () => {
  let hmp = true;
  const q = await fakeQemu((_line, id) => (hmp
    ? `{"return": "VM status: running\\r\\n", "id": "${id}"}`
    : `{"error": {"class": "CommandNotFound", "desc": "no"}, "id": "${id}"}`));
  try {
    assert.equal(await arbitraryMonitorCommand(q.qmp, 'info status', true), 'VM status: running\r\n');
    assert.match(q.received[0]!, /^\{"execute":"human-monitor-command","arguments":\{"command-line":"info status"\},"id":"tsvirt-\d+"\}$/);
    hmp = false;
    await assert.rejects(arbitraryMonitorCommand(q.qmp, 'info status', true), { code: 84, message: 'Operation not supported: Human monitor command is not available to run info status' });
  } finally {
    await q.stop();
  }
});

test('monitor events carry the data as JSON, or none; agent errors say whether a channel is configured', () => {
  const dom = { name: 'g', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', id: 3 };
  const stop: QmpEvent = { event: 'STOP', data: {}, hasData: false, timestamp: { seconds: 1796549303, microseconds: 161217 } };
  assert.deepEqual(monitorEvent(dom, stop), { key: 'domainQemuMonitorEvent', body: { dom, event: 'STOP', seconds: 1796549303n, micros: 161217, details: null } });
  const shutdown: QmpEvent = { event: 'SHUTDOWN', data: { guest: true, reason: 'guest-shutdown' }, hasData: true, timestamp: { seconds: 1, microseconds: 2 } };
  assert.equal((monitorEvent(dom, shutdown).body as { details: string }).details, '{"guest":true,"reason":"guest-shutdown"}');
});
