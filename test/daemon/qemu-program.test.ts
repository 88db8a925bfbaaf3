// libvirt's QEMU program (0x20008087) in tsvirtd against the in-test driver:
// monitor commands reach the hypervisor driver, monitor events are filtered by
// name (exact, case-insensitive, regex) and domain and sent in the QEMU program,
// the read-only socket refuses them, and a driver without them says so.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RpcClient } from '../../src/rpc/client.js';
import { QEMU_PROCEDURES, QEMU_PROGRAM } from '../../src/rpc/generated/qemu-protocol.js';
import { XdrReader } from '../../src/rpc/xdr.js';
import { handshake, startFakeDaemon, type FakeDaemon } from './fake-daemon.js';

const Q = QEMU_PROCEDURES;
const DOM = { name: 'a', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', id: 1 };
const OTHER = { name: 'b', uuid: '00000000-0000-0000-0000-0000000000bb', id: 2 };

let daemon: FakeDaemon;
before(async () => {
  daemon = await startFakeDaemon();
});
after(() => daemon.stop());

const rejectsWith = (p: Promise<unknown>, code: number, message: string) =>
  assert.rejects(p, (e: { code: number; message: string }) => {
    assert.deepEqual([e.code, e.message], [code, message]);
    return true;
  });

const settle = () => new Promise((r) => setTimeout(r, 50));

function emit(dom: typeof DOM, event: string, details: string | null): void {
  daemon.state.events.emit({ key: 'domainQemuMonitorEvent', body: { dom, event, seconds: 1796549303n, micros: 161217, details } });
}

test('QEMU_PROC_DOMAIN_MONITOR_COMMAND and _WITH_FILES reach the driver; QEMU_PROC_DOMAIN_ATTACH is not supported', async () => {
  const c = await daemon.client();
  await handshake(c);
  assert.deepEqual(await c.call(Q.domainQemuMonitorCommand, { dom: DOM, cmd: 'info status', flags: 1 }), { result: '1:info status' });
  // the fake driver has no WithFiles: libvirt's unsupported error names the API
  await rejectsWith(c.call(Q.domainQemuMonitorCommandWithFiles, { dom: DOM, cmd: '{}', flags: 0 }), 3, 'this function is not supported by the connection driver: virDomainQemuMonitorCommandWithFiles');
  await rejectsWith(c.call(Q.domainQemuAttach, { pid_value: 1, flags: 0 }), 3, 'this function is not supported by the connection driver: virDomainQemuAttach');
  c.close();
});

test('monitor events: every QMP event, or those the name filter accepts, for all domains or one, in the QEMU program', async () => {
  const received: Array<{ prog: number; proc: number; callbackID: number; event: string; dom: string; details: string | null }> = [];
  const c = await RpcClient.connectUnix(daemon.socket, {
    onMessage: (header, body) => {
      const m = Q.domainQemuMonitorEvent.decodeArgs(new XdrReader(body));
      received.push({ prog: header.prog, proc: header.proc, callbackID: m.callbackID, event: m.event, dom: m.dom.name, details: m.details });
    },
  });
  await handshake(c);
  const all = (await c.call(Q.connectDomainQemuMonitorEventRegister, { dom: null, event: null, flags: 0 })).callbackID;
  const exact = (await c.call(Q.connectDomainQemuMonitorEventRegister, { dom: null, event: 'STOP', flags: 0 })).callbackID;
  const nocase = (await c.call(Q.connectDomainQemuMonitorEventRegister, { dom: OTHER, event: 'stop', flags: 2 })).callbackID;
  const regex = (await c.call(Q.connectDomainQemuMonitorEventRegister, { dom: null, event: '^res', flags: 1 | 2 })).callbackID;
  assert.deepEqual([exact, nocase, regex], [all + 1, all + 2, all + 3]);
  await rejectsWith(c.call(Q.connectDomainQemuMonitorEventRegister, { dom: null, event: '(', flags: 1 }), 8, "invalid argument: failed to compile regex '(': Invalid regular expression: /(/: Unterminated group");
  await rejectsWith(c.call(Q.connectDomainQemuMonitorEventRegister, { dom: null, event: null, flags: 4 }), 8, 'invalid argument: unsupported flags (0x4) in function virDomainQemuMonitorEventStateRegisterID');

  emit(DOM, 'STOP', null);
  emit(OTHER, 'STOP', null);
  emit(DOM, 'RESUME', '{"x":1}');
  await settle();
  const by = (id: number) => received.filter((r) => r.callbackID === id).map((r) => `${r.dom} ${r.event}`);
  assert.deepEqual(by(all), ['a STOP', 'b STOP', 'a RESUME']);
  assert.deepEqual(by(exact), ['a STOP', 'b STOP']);
  assert.deepEqual(by(nocase), ['b STOP']);
  assert.deepEqual(by(regex), ['a RESUME']);
  assert.ok(received.every((r) => r.prog === QEMU_PROGRAM && r.proc === 6));
  assert.deepEqual(received.filter((r) => r.event === 'RESUME').map((r) => r.details), ['{"x":1}', '{"x":1}']);

  await c.call(Q.connectDomainQemuMonitorEventDeregister, { callbackID: all });
  await rejectsWith(c.call(Q.connectDomainQemuMonitorEventDeregister, { callbackID: all }), 1, `internal error: qemu monitor event callback ${all} not registered`);
  received.length = 0;
  emit(DOM, 'RESUME', null);
  await settle();
  assert.deepEqual(received.map((r) => r.callbackID), [regex]);
  c.close();
});

test('the read-only socket refuses libvirt-qemu calls as the public API does', async () => {
  const c = await daemon.client(true);
  await handshake(c);
  await rejectsWith(c.call(Q.domainQemuMonitorCommand, { dom: DOM, cmd: '{}', flags: 0 }), 29, 'operation forbidden: read only access prevents virDomainQemuMonitorCommand');
  await rejectsWith(c.call(Q.connectDomainQemuMonitorEventRegister, { dom: null, event: null, flags: 0 }), 29, 'operation forbidden: read only access prevents virConnectDomainQemuMonitorEventRegister');
  c.close();
});
