// virConnectRegisterCloseCallback over the remote driver: a daemon that dies is
// reported once with reason EOF, one that stops answering keepalive with
// KEEPALIVE, virConnectClose is not reported; calls on the dead connection get
// libvirt's "client socket is closed".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloseReason, connect, type Connection } from '../../src/api/connection.js';
import { RpcClient } from '../../src/rpc/client.js';
import { REMOTE_PROCEDURES } from '../../src/rpc/generated/remote-protocol.js';
import { testDriverReady } from './contract-ready.js';
import { spawnDaemon } from './spawn-daemon.js';

const skip = (await testDriverReady()) ?? false;

test('a daemon killed under a connection: the close callback hears EOF once, calls fail as in libvirt', { skip }, async () => {
  const daemon = await spawnDaemon();
  try {
    const conn = await connect(daemon.uri());
    const heard: Array<[Connection, CloseReason]> = [];
    let heardIt: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (heardIt = resolve));
    await conn.registerCloseCallback((c, reason) => {
      heard.push([c, reason]);
      heardIt();
    });
    await assert.rejects(conn.registerCloseCallback(() => undefined), { message: 'Requested operation is not valid: A close callback is already registered' });
    await assert.rejects(conn.unregisterCloseCallback(() => undefined), { message: 'Requested operation is not valid: A different callback was requested' });
    process.kill(daemon.pid, 'SIGKILL');
    await closed;
    assert.deepEqual(heard, [[conn, CloseReason.EOF]]);
    await assert.rejects(conn.getType(), { message: 'internal error: client socket is closed' });
    await conn.close();
    assert.equal(heard.length, 1);
  } finally {
    await daemon.stop();
  }
});

test('virConnectClose does not call the close callback; unregister stops it', { skip }, async () => {
  const daemon = await spawnDaemon();
  try {
    let calls = 0;
    const callback = () => void calls++;
    const conn = await connect(daemon.uri());
    await conn.registerCloseCallback(callback);
    await conn.close();
    const other = await connect(daemon.uri());
    await other.registerCloseCallback(callback);
    await other.unregisterCloseCallback(callback);
    process.kill(daemon.pid, 'SIGKILL');
    await assert.rejects(async () => {
      for (;;) await other.getType();
    }, /client socket is closed/);
    assert.equal(calls, 0);
  } finally {
    await daemon.stop();
  }
});

test('a daemon that stops answering keepalive: the connection closes with reason KEEPALIVE', { skip }, async () => {
  const daemon = await spawnDaemon();
  let reasons: CloseReason[] = [];
  const closed = new Promise<void>((resolve) => {
    reasons = [];
    void RpcClient.connectUnix(daemon.socket, {
      onClose: (reason) => {
        reasons.push(reason);
        resolve();
      },
    }).then(async (client) => {
      await client.call(REMOTE_PROCEDURES.authList, undefined);
      client.startKeepalive(1, 1);
      process.kill(daemon.pid, 'SIGSTOP');
    });
  });
  try {
    await closed;
    assert.deepEqual(reasons, [CloseReason.KEEPALIVE]);
  } finally {
    process.kill(daemon.pid, 'SIGCONT');
    await daemon.stop();
  }
});
