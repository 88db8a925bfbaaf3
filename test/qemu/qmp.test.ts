// QmpClient against a fake QMP server on a unix socket: negotiation, id matching,
// events, timeouts, and QEMUs that misbehave (oversized, malformed, silent, gone).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { QmpClient, QmpCommandError } from '../../src/drivers/qemu/qmp.js';
import { ErrorCode, VirError } from '../../src/util/error.js';

type Handler = (command: { execute: string; arguments?: Record<string, unknown>; id?: string }, socket: net.Socket) => void;

/** A fake QEMU: greets, answers qmp_capabilities, hands every other command to `handler`. */
async function fakeQmp(handler: Handler, greeting = '{"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 22}}, "capabilities": []}}\r\n') {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qmp-test-'));
  const socketPath = path.join(dir, 'qmp.sock');
  const sockets: net.Socket[] = [];
  const received: string[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    if (greeting) socket.write(greeting);
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (!line) continue;
        received.push(line);
        const cmd = JSON.parse(line);
        if (cmd.execute === 'qmp_capabilities') socket.write(JSON.stringify({ return: {}, id: cmd.id }) + '\r\n');
        else handler(cmd, socket);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
  return {
    socketPath,
    received,
    sockets,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const reply = (socket: net.Socket, obj: unknown) => socket.write(JSON.stringify(obj) + '\r\n');

test('negotiates capabilities and matches replies by id, even out of order', async () => {
  const held: Array<{ id?: string; socket: net.Socket }> = [];
  const srv = await fakeQmp((cmd, socket) => {
    if (cmd.execute === 'slow') held.push({ id: cmd.id, socket });
    else reply(socket, { return: { echo: cmd.arguments }, id: cmd.id });
    if (cmd.execute === 'fast') for (const h of held) reply(h.socket, { return: 'slow-done', id: h.id });
  });
  try {
    const qmp = await QmpClient.connect(srv.socketPath);
    assert.equal(qmp.greeting?.version?.qemu?.major, 7);
    assert.equal(JSON.parse(srv.received[0]).execute, 'qmp_capabilities');
    const slow = qmp.execute('slow');
    const fast = qmp.execute('fast', { a: 1 });
    assert.deepEqual(await fast, { echo: { a: 1 } });
    assert.equal(await slow, 'slow-done');
    qmp.close();
  } finally {
    await srv.stop();
  }
});

test('QMP errors become libvirt errors naming the command and keep the class', async () => {
  const srv = await fakeQmp((cmd, socket) => reply(socket, { error: { class: 'DeviceNotFound', desc: "Device 'x' not found" }, id: cmd.id }));
  try {
    const qmp = await QmpClient.connect(srv.socketPath);
    await assert.rejects(qmp.execute('device_del', { id: 'x' }), (e: unknown) => {
      assert.ok(e instanceof QmpCommandError);
      assert.equal(e.qmpClass, 'DeviceNotFound');
      assert.equal(e.code, ErrorCode.INTERNAL_ERROR);
      assert.equal(e.message, "internal error: unable to execute QEMU command 'device_del': Device 'x' not found");
      return true;
    });
    qmp.close();
  } finally {
    await srv.stop();
  }
});

test('asynchronous events are emitted by name, also between a command and its reply', async () => {
  const srv = await fakeQmp((cmd, socket) => {
    reply(socket, { event: 'DEVICE_DELETED', data: { device: 'net1' }, timestamp: { seconds: 1, microseconds: 2 } });
    reply(socket, { return: {}, id: cmd.id });
  });
  try {
    const qmp = await QmpClient.connect(srv.socketPath);
    const all: string[] = [];
    qmp.on('event', (e) => all.push(e.event));
    const deleted = qmp.waitEvent('DEVICE_DELETED', 5000, (e) => e.data.device === 'net1');
    await qmp.execute('device_del', { id: 'net1' });
    assert.deepEqual((await deleted).data, { device: 'net1' });
    assert.deepEqual(all, ['DEVICE_DELETED']);
    qmp.close();
  } finally {
    await srv.stop();
  }
});

test('a reply split across many writes and several messages in one write are both parsed', async () => {
  const srv = await fakeQmp((cmd, socket) => {
    const text = JSON.stringify({ return: { big: 'x'.repeat(100_000) }, id: cmd.id }) + '\r\n';
    for (let i = 0; i < text.length; i += 1000) socket.write(text.slice(i, i + 1000));
    socket.write(JSON.stringify({ event: 'A', data: {} }) + '\r\n' + JSON.stringify({ event: 'B', data: {} }) + '\r\n');
  });
  try {
    const qmp = await QmpClient.connect(srv.socketPath);
    const events: string[] = [];
    qmp.on('event', (e) => events.push(e.event));
    const b = qmp.waitEvent('B', 5000);
    const r = await qmp.execute<{ big: string }>('query-big');
    assert.equal(r.big.length, 100_000);
    await b;
    assert.deepEqual(events, ['A', 'B']);
    qmp.close();
  } finally {
    await srv.stop();
  }
});

test('a command that never gets a reply times out, and the client stays usable', async () => {
  const srv = await fakeQmp((cmd, socket) => {
    if (cmd.execute !== 'hang') reply(socket, { return: 'ok', id: cmd.id });
  });
  try {
    const qmp = await QmpClient.connect(srv.socketPath, { domainName: 'vm1' });
    const t0 = Date.now();
    await assert.rejects(qmp.execute('hang', undefined, 150), (e: unknown) => {
      assert.ok(e instanceof VirError);
      assert.equal(e.code, ErrorCode.OPERATION_TIMEOUT);
      assert.match(e.message, /^Timed out during operation: QEMU monitor command 'hang' got no reply within 150 ms \(vm='vm1'\)$/);
      return true;
    });
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(await qmp.execute('other'), 'ok');
    qmp.close();
  } finally {
    await srv.stop();
  }
});

test('a server that never greets fails the connect within the timeout', async () => {
  const srv = await fakeQmp(() => {}, '');
  try {
    await assert.rejects(QmpClient.connect(srv.socketPath, { timeoutMs: 200 }), /sent no greeting within 200 ms/);
  } finally {
    await srv.stop();
  }
});

test('an oversized message closes the connection and fails pending commands without buffering it all', async () => {
  const limit = 64 * 1024;
  const srv = await fakeQmp((cmd, socket) => {
    // An endless reply with no newline: a QEMU gone mad. Stop once the client hangs up.
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    const pump = () => {
      while (!socket.destroyed && socket.write(chunk));
      if (!socket.destroyed) socket.once('drain', pump);
    };
    socket.write('{"return": "');
    pump();
  });
  try {
    const qmp = await QmpClient.connect(srv.socketPath, { maxMessageBytes: limit });
    const closed = new Promise<Error | undefined>((r) => qmp.once('close', r));
    await assert.rejects(qmp.execute('query-huge'), /internal error: QEMU monitor reply exceeds buffer size \(65536 bytes\)$/);
    assert.match(String((await closed)?.message), /exceeds buffer size/);
    assert.ok(qmp.closed);
    await assert.rejects(qmp.execute('query-status'), /exceeds buffer size/);
  } finally {
    await srv.stop();
  }
});

test('a complete message over the limit is rejected too, and the default limit is 10 MiB', async () => {
  const srv = await fakeQmp((cmd, socket) => {
    reply(socket, { return: 'y'.repeat(10 * 1024 * 1024 + 1), id: cmd.id });
  });
  try {
    const qmp = await QmpClient.connect(srv.socketPath);
    await assert.rejects(qmp.execute('query-huge'), /QEMU monitor reply exceeds buffer size \(10485760 bytes\)/);
  } finally {
    await srv.stop();
  }
});

test('malformed JSON and non-object replies close the connection with a parse error', async () => {
  for (const [bad, expected] of [
    ['{"return": {oops}', /cannot parse json \{"return": \{oops\}/],
    ['[1,2,3]', /Parsed JSON reply '\[1,2,3\]' isn't an object/],
    ['{"something": 1}', /Unknown JSON reply/],
  ] as const) {
    const srv = await fakeQmp((_cmd, socket) => socket.write(bad + '\r\n'));
    try {
      const qmp = await QmpClient.connect(srv.socketPath);
      await assert.rejects(qmp.execute('query-status'), expected);
      assert.ok(qmp.closed);
    } finally {
      await srv.stop();
    }
  }
});

test('QEMU going away fails pending commands and event waiters; close() is idempotent', async () => {
  const srv = await fakeQmp((_cmd, socket) => socket.destroy());
  try {
    const qmp = await QmpClient.connect(srv.socketPath);
    const waiter = qmp.waitEvent('SHUTDOWN', 5000);
    await assert.rejects(qmp.execute('quit'), /QEMU monitor was closed/);
    await assert.rejects(waiter, /QEMU monitor was closed/);
    qmp.close();
    qmp.close();
    await assert.rejects(qmp.execute('query-status'), /QEMU monitor was closed/);
  } finally {
    await srv.stop();
  }
});

test('connecting to a missing socket fails at once', async () => {
  await assert.rejects(QmpClient.connect(path.join(os.tmpdir(), 'no-such-dir-qmp', 'x.sock')), /ENOENT/);
});
