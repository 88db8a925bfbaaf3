// tsvirtd's protocol behaviour against an in-test driver: handshake answers,
// libvirt's errors, the read-only socket, pipelining within max_client_requests,
// keepalive during slow calls, events with callbackIDs, cleanup on hang-up.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { RpcClient } from '../../src/rpc/client.js';
import { REMOTE_PROGRAM } from '../../src/rpc/generated/remote-protocol.js';
import { decodeMessage, encodeMessage } from '../../src/rpc/message.js';
import { FrameSplitter } from '../../src/rpc/frame.js';
import { PING } from '../../src/rpc/keepalive.js';
import { XdrReader, type XdrWriter } from '../../src/rpc/xdr.js';
import { handshake, P, startFakeDaemon, type FakeDaemon } from './fake-daemon.js';

let daemon: FakeDaemon;
before(async () => {
  daemon = await startFakeDaemon('max_client_requests = 5\nmax_workers = 20\n');
});
after(() => daemon.stop());

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(condition(), `condition not reached within 2 s (${daemon.server.clientCount} clients)`);
}

const rejectsWith = (p: Promise<unknown>, code: number, domain: number, message: string) =>
  assert.rejects(p, (e: { code: number; domain: number; message: string }) => {
    assert.deepEqual([e.code, e.domain, e.message], [code, domain, message]);
    return true;
  });

test('handshake: auth none, daemon features, open, URI, library version', async () => {
  const c = await daemon.client();
  assert.deepEqual(await c.call(P.authList, undefined), { types: [0] });
  assert.deepEqual(await c.call(P.connectSupportsFeature, { feature: 10 }), { supported: 1 });
  await rejectsWith(c.call(P.connectListAllDomains, { need_results: 1, flags: 3 }), 1, 7, 'internal error: hypervisor connection not open');
  await c.call(P.connectOpen, { name: 'fake:///default', flags: 0 });
  for (const [feature, supported] of [[14, 1], [15, 1], [8, 0], [9, 0]] as const) {
    assert.deepEqual(await c.call(P.connectSupportsFeature, { feature }), { supported }, `feature ${feature}`);
  }
  await c.call(P.connectRegisterCloseCallback, undefined);
  assert.deepEqual(await c.call(P.connectGetType, undefined), { type: 'FAKE' });
  assert.deepEqual(await c.call(P.connectGetURI, undefined), { uri: 'fake:///default' });
  assert.deepEqual(await c.call(P.connectGetLibVersion, undefined), { lib_ver: 9000000n });
  await c.call(P.connectUnregisterCloseCallback, undefined);
  await c.call(P.connectClose, undefined);
  c.close();
});

test('libvirt errors: driver errors unchanged, unknown procedure as NO_SUPPORT on the client, unknown program', async () => {
  const c = await daemon.client();
  await handshake(c);
  await rejectsWith(c.call(P.domainLookupByName, { name: 'missing-1' }), 42, 12, "Domain not found: no domain with matching name 'missing-1'");
  // not implemented by the driver: the public API's NO_SUPPORT
  await rejectsWith(c.call(P.connectGetHostname, undefined), 3, 20, 'this function is not supported by the connection driver: virConnectGetHostname');
  // a procedure number nobody knows: code 39 on the wire, NO_SUPPORT once the client rewrote it
  const unknown = { ...P.connectGetType, number: 9999 };
  await rejectsWith(c.call(unknown, undefined), 3, 7, 'unknown procedure: 9999');
  await rejectsWith(c.call({ ...P.connectGetType, version: 2 }, undefined), 39, 7, 'Cannot find program 536903814 version 2');
  await rejectsWith(c.call({ ...P.connectGetType, program: 0x12345678 }, undefined), 39, 7, 'Cannot find program 305419896 version 1');
  // the connection is still usable after errors
  assert.deepEqual(await c.call(P.connectGetType, undefined), { type: 'FAKE' });
  c.close();
});

test('the read-only socket refuses what the public API refuses on a read-only connection', async () => {
  const c = await daemon.client(true);
  await handshake(c);
  await rejectsWith(c.call(P.domainDestroy, { dom: { name: 'a', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', id: 1 } }), 29, 20, 'operation forbidden: read only access prevents virDomainDestroy');
  assert.deepEqual(await c.call(P.connectGetType, undefined), { type: 'FAKE' });
  c.close();
});

test('ten pipelined calls are all answered, at most max_client_requests at a time, by serial', async () => {
  const c = await daemon.client();
  await handshake(c);
  daemon.state.maxRunning = 0;
  const names = Array.from({ length: 10 }, (_, i) => `dom${i}`);
  const replies = await Promise.all(names.map((name) => c.call(P.domainLookupByName, { name })));
  assert.deepEqual(replies.map((r) => r.dom.name), names);
  assert.equal(daemon.state.maxRunning, 5);
  c.close();
});

test('keepalive PINGs are answered while a slow call runs', async () => {
  const socket = connect(daemon.socket);
  await new Promise((r) => socket.once('connect', r));
  const splitter = new FrameSplitter();
  const seen: string[] = [];
  socket.on('data', (chunk) => {
    for (const f of splitter.push(chunk)) {
      const { header } = decodeMessage(f);
      seen.push(`${header.prog.toString(16)}/${header.proc}/${header.type}`);
    }
  });
  const call = (proc: number, serial: number, body?: (w: XdrWriter) => void) =>
    socket.write(encodeMessage({ prog: REMOTE_PROGRAM, vers: 1, proc, type: 0, serial, status: 0 }, body));
  call(1, 0, (w) => {
    w.writeBool(true);
    w.writeString('fake:///default', 1 << 22);
    w.writeUint(0);
  });
  call(23, 1, (w) => w.writeString('slow', 1 << 22));
  await new Promise((r) => setTimeout(r, 50));
  socket.write(PING);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(seen, ['20008086/1/1', '6b656570/2/2'], 'the PONG came before the slow reply');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(seen.at(-1), '20008086/23/1');
  socket.destroy();
});

test('events reach the registered callbackID; deregistered callbacks stop; bad IDs refused', async () => {
  const received: Array<{ proc: number; callbackID: number; event: number }> = [];
  const c = await RpcClient.connectUnix(daemon.socket, {
    onMessage: (header, body) => {
      const m = P.domainEventCallbackLifecycle.decodeArgs(new XdrReader(body));
      received.push({ proc: header.proc, callbackID: m.callbackID, event: m.msg.event });
    },
  });
  await handshake(c);
  await rejectsWith(c.call(P.connectDomainEventCallbackRegisterAny, { eventID: 27, dom: null }), 1, 7, 'internal error: unsupported event ID 27');
  const { callbackID } = await c.call(P.connectDomainEventCallbackRegisterAny, { eventID: 0, dom: null });
  const other = await c.call(P.connectDomainEventCallbackRegisterAny, { eventID: 1, dom: null });
  assert.equal(other.callbackID, callbackID + 1);
  const actor = await daemon.client();
  await handshake(actor);
  await actor.call(P.domainDefineXML, { xml: '<domain><name>ev1</name></domain>' });
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(received, [{ proc: 318, callbackID, event: 0 }]);
  await c.call(P.connectDomainEventCallbackDeregisterAny, { callbackID });
  await rejectsWith(c.call(P.connectDomainEventCallbackDeregisterAny, { callbackID }), 1, 7, `internal error: domain event callback ${callbackID} not registered`);
  await actor.call(P.domainDefineXML, { xml: '<domain><name>ev2</name></domain>' });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(received.length, 1);
  c.close();
  actor.close();
});

test('a client that hangs up without CONNECT_CLOSE has its connection closed', async () => {
  await until(() => daemon.server.clientCount === 0);
  const before = daemon.state.closed;
  const c = await daemon.client();
  await handshake(c);
  c.close();
  await until(() => daemon.server.clientCount === 0);
  assert.equal(daemon.state.closed, before + 1);
});
