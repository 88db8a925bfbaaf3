// The generated procedure tables hold what libvirt 9.0's .x files and sources say.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ADMIN_PROCEDURES } from '../../src/rpc/generated/admin-protocol.js';
import { KEEPALIVE_PROCEDURES, KEEPALIVE_PROGRAM } from '../../src/rpc/generated/keepalive-protocol.js';
import { LXC_PROCEDURES } from '../../src/rpc/generated/lxc-protocol.js';
import { QEMU_PROCEDURES } from '../../src/rpc/generated/qemu-protocol.js';
import {
  REMOTE_PROCEDURES,
  REMOTE_PROCEDURE_BY_NUMBER,
  REMOTE_PROGRAM,
  RemoteProcedure,
} from '../../src/rpc/generated/remote-protocol.js';
import { REMOTE_PROCEDURE_FACTS } from '../../src/rpc/generated/remote-procedures.js';
import { QEMU_PROCEDURE_FACTS } from '../../src/rpc/generated/qemu-procedures.js';
import { TSVIRT_PROCEDURE_FACTS } from '../../src/rpc/generated/tsvirt-procedures.js';
import { procedureInfo, type ProcKey } from '../../src/driver/procedures.js';
import { VIR_NET_MESSAGE_MAX, VIR_NET_MESSAGE_NUM_FDS_MAX, VIR_NET_MESSAGE_STRING_MAX } from '../../src/rpc/generated/virnet-protocol.js';

const remote = Object.values(REMOTE_PROCEDURES);
const count = (predicate: (p: (typeof remote)[number]) => boolean) => remote.filter(predicate).length;

test('remote_protocol.x: procedure and annotation counts (docs/daemon-notes.md, "Code generation")', () => {
  assert.equal(remote.length, 443);
  assert.equal(REMOTE_PROCEDURE_BY_NUMBER.size, 443);
  assert.equal(count((p) => p.event), 51);
  assert.equal(count((p) => p.generate === 'both'), 334);
  assert.equal(count((p) => p.generate === 'none'), 90);
  assert.equal(count((p) => p.generate === 'server'), 14);
  assert.equal(count((p) => p.generate === 'client'), 5);
  assert.equal(count((p) => p.priority === 'high'), 184);
  assert.equal(remote.reduce((n, p) => n + p.acl.length, 0), 535);
  // The document says 186: libvirt 9.0's libvirt-*.c has 213 public APIs that call virCheckReadOnlyGoto,
  // 2 of them only for some arguments (domainGetVcpusFlags, domainInterfaceAddresses); 197 remote
  // procedures reach an unconditional one.
  assert.equal(count((p) => p.readonlyRefused), 197);
  assert.equal(REMOTE_PROCEDURES.domainGetVcpusFlags.readonlyRefused, false);
  assert.equal(REMOTE_PROCEDURES.domainInterfaceAddresses.readonlyRefused, false);
});

test('keys are libvirt driver method names', () => {
  const p = REMOTE_PROCEDURES.domainGetXMLDesc;
  assert.equal(p.key, 'domainGetXMLDesc');
  assert.equal(p.program, REMOTE_PROGRAM);
  assert.equal(p.program, 0x20008086);
  assert.equal(p.version, 1);
  assert.equal(p.number, 14);
  assert.equal(p.name, 'REMOTE_PROC_DOMAIN_GET_XML_DESC');
  assert.equal(p.api, 'virDomainGetXMLDesc');
  assert.equal(p.family, 'hypervisor');
  assert.equal(REMOTE_PROCEDURE_BY_NUMBER.get(14), 'domainGetXMLDesc');
  assert.equal(RemoteProcedure.REMOTE_PROC_DOMAIN_GET_XML_DESC, 14);
  for (const [key, family] of [
    ['connectGetURI', 'hypervisor'],
    ['domainLookupByUUID', 'hypervisor'],
    ['nodeGetCPUMap', 'hypervisor'],
    ['nodeGetSEVInfo', 'hypervisor'],
    ['domainPMSuspendForDuration', 'hypervisor'],
    ['connectListAllNetworks', 'network'],
    ['storageVolGetInfo', 'storage'],
    ['nodeDeviceLookupSCSIHostByWWN', 'nodedev'],
    ['secretGetValue', 'secret'],
    ['interfaceGetXMLDesc', 'interface'],
    ['nwfilterDefineXML', 'nwfilter'],
  ] as const) {
    assert.equal(REMOTE_PROCEDURES[key].family, family, key);
  }
  // Not driver methods: authentication happens in the daemon, callbacks are registered by the remote driver.
  assert.deepEqual(
    remote.filter((q) => !q.event && q.family === null).map((q) => q.key),
    ['authList', 'authSaslInit', 'authSaslStart', 'authSaslStep', 'authPolkit', 'connectDomainEventCallbackRegisterAny', 'connectDomainEventCallbackDeregisterAny'],
  );
  assert.equal(REMOTE_PROCEDURES.domainEventCallbackLifecycle.event, true);
  assert.equal(REMOTE_PROCEDURES.domainEventCallbackLifecycle.api, null);
});

test('annotations: priority, generate, read-only, streams, acl', () => {
  const open = REMOTE_PROCEDURES.connectOpen;
  assert.equal(open.priority, 'high');
  assert.equal(open.generate, 'none');
  assert.equal(open.readonlyRefused, false);
  assert.deepEqual(open.acl, ['connect:getattr']);
  assert.equal(REMOTE_PROCEDURES.domainDestroy.readonlyRefused, true);
  assert.equal(REMOTE_PROCEDURES.domainDefineXML.readonlyRefused, true);
  assert.equal(REMOTE_PROCEDURES.domainGetInfo.readonlyRefused, false);
  assert.equal(REMOTE_PROCEDURES.secretGetValue.readonlyRefused, true);
  assert.deepEqual(REMOTE_PROCEDURES.connectListAllDomains.aclFilter, ['domain:getattr']);
  const streams = remote.filter((q) => q.stream !== null).map((q) => `${q.number} ${q.stream}${q.sparse ? ' sparse' : ''}`);
  // 304 (PrepareTunnel3Params) has no annotation: its stream comes from the daemon's hand-written dispatcher
  assert.deepEqual(streams.sort(), ['148 write', '201 read', '208 write sparse', '209 read sparse', '211 read', '215 write', '296 read', '304 write']);
});

test('qemu, lxc, admin and keepalive programs', () => {
  assert.equal(Object.keys(QEMU_PROCEDURES).length, 7);
  assert.equal(QEMU_PROCEDURES.domainQemuMonitorCommand.number, 1);
  assert.equal(QEMU_PROCEDURES.domainQemuMonitorCommand.program, 0x20008087);
  assert.equal(QEMU_PROCEDURES.domainQemuMonitorCommand.api, 'virDomainQemuMonitorCommand');
  assert.equal(QEMU_PROCEDURES.domainQemuMonitorCommand.readonlyRefused, true);
  assert.equal(QEMU_PROCEDURES.connectDomainQemuMonitorEventRegister.family, 'hypervisor');
  assert.equal(QEMU_PROCEDURES.domainQemuMonitorEvent.event, true);
  assert.equal(LXC_PROCEDURES.domainLxcOpenNamespace.program, 0x00068000);
  assert.equal(LXC_PROCEDURES.domainLxcOpenNamespace.api, 'virDomainLxcOpenNamespace');
  assert.equal(Object.keys(ADMIN_PROCEDURES).length, 19);
  assert.equal(ADMIN_PROCEDURES.serverGetThreadpoolParameters.api, 'virAdmServerGetThreadPoolParameters');
  assert.equal(ADMIN_PROCEDURES.connectOpen.program, 0x06900690);
  assert.equal(ADMIN_PROCEDURES.connectOpen.family, null);
  assert.deepEqual(Object.keys(KEEPALIVE_PROCEDURES), ['ping', 'pong']);
  assert.equal(KEEPALIVE_PROGRAM, 0x6b656570);
  assert.equal(KEEPALIVE_PROCEDURES.pong.number, 2);
  assert.equal(KEEPALIVE_PROCEDURES.ping.event, true);
});

test('virnetprotocol.x limits', () => {
  assert.equal(VIR_NET_MESSAGE_MAX, 33554432);
  assert.equal(VIR_NET_MESSAGE_STRING_MAX, 4194304);
  assert.equal(VIR_NET_MESSAGE_NUM_FDS_MAX, 32);
});

test('the driver procedure table: facts decoded on demand, one program per key, nothing else', () => {
  const programs = [REMOTE_PROCEDURE_FACTS, QEMU_PROCEDURE_FACTS, TSVIRT_PROCEDURE_FACTS];
  const keys = programs.flatMap((table) => table.keys());
  assert.equal(new Set(keys).size, keys.length);
  for (const table of programs) {
    for (const key of table.keys()) {
      const facts = procedureInfo(key);
      assert.equal(facts, table.get(key), key);
      assert.equal(facts?.key, key);
      assert.equal(facts?.program, table.program);
    }
  }
  const { encodeArgs: _ea, decodeArgs: _da, encodeRet: _er, decodeRet: _dr, ...withoutCodecs } = REMOTE_PROCEDURES.domainGetXMLDesc;
  assert.deepEqual(procedureInfo('domainGetXMLDesc'), withoutCodecs);
  for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty', '', 'domainGetXMLDesc ']) assert.equal(procedureInfo(key as ProcKey), undefined, key);
});
