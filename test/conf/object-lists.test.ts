// The object lists every driver shares (src/conf/objects): lookups, the
// virConnectListAll* filters and the live/config choice with libvirt's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXml } from '../../src/util/xml.js';
import { ErrorCode } from '../../src/util/error.js';
import { DomainState, ListDomainsFlags as F, ModificationImpact } from '../../src/conf/objects/domain-enums.js';
import { DomainObject } from '../../src/conf/objects/domain-object.js';
import { DomainObjectList } from '../../src/conf/objects/domain-list.js';
import { domainListFilter, LIST_DOMAINS_FILTERS_ALL, type ListFilterProbes } from '../../src/conf/objects/domain-list-filter.js';
import { definitionsFor, oneDefinition } from '../../src/conf/objects/modification-impact.js';
import { NamedObjectList, VolumeList } from '../../src/conf/objects/object-list.js';
import { ListObjectsFlags as N, matchesInterfaceListFilter, matchesNetworkListFilter, matchesStoragePoolListFilter } from '../../src/conf/objects/list-filter.js';

const def = (name: string) => parseXml(`<domain type='qemu'><name>${name}</name></domain>`);
const UUID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function domain(name: string, n: number, opts: { id?: number; state?: DomainState; persistent?: boolean; autostart?: boolean } = {}): DomainObject {
  const obj = new DomainObject(name, UUID(n), def(name), opts.persistent ?? true);
  obj.id = opts.id ?? -1;
  obj.state = opts.state ?? (obj.id === -1 ? DomainState.SHUTOFF : DomainState.RUNNING);
  obj.autostart = opts.autostart ?? false;
  return obj;
}

test('domain list: lookups by name, UUID (any case) and id; a clash is refused with libvirt messages', () => {
  const list = new DomainObjectList();
  const a = domain('a', 1);
  const b = domain('b', 2, { id: 7 });
  list.add(a);
  list.add(b);
  assert.equal(list.findByName('a'), a);
  assert.equal(list.findByUUID(UUID(2).toUpperCase()), b);
  assert.equal(list.findByID(7), b);
  assert.equal(list.findByID(-1), undefined);
  assert.equal(list.findByName('c'), undefined);
  assert.equal(list.checkAddable('a', UUID(1)), a, 'a redefinition replaces its own domain');
  assert.equal(list.checkAddable('c', UUID(3)), undefined);
  assert.throws(() => list.checkAddable('c', UUID(1)), { code: ErrorCode.OPERATION_FAILED, message: `operation failed: domain 'a' is already defined with uuid ${UUID(1)}` });
  assert.throws(() => list.checkAddable('a', UUID(3)), { message: `operation failed: domain 'a' already exists with uuid ${UUID(1)}` });
  assert.throws(() => list.add(domain('a', 4)), /already exists/);
  list.remove(domain('a', 1)); // another object with a's UUID: not the one in the list
  assert.equal(list.findByName('a'), a);
  list.remove(a);
  assert.equal(list.findByName('a'), undefined);
  assert.equal(list.findByUUID(UUID(1)), undefined);
  assert.deepEqual(list.all(), [b]);
});

test('domain object: a definition given as a loader is parsed on first use, once', () => {
  let loads = 0;
  const obj = new DomainObject('lazy', UUID(1), () => (loads++, def('lazy')), true);
  assert.equal(loads, 0);
  assert.equal(obj.def.children[0]!.text, 'lazy');
  assert.equal(obj.def.children[0]!.text, 'lazy');
  assert.equal(loads, 1);
  assert.equal(obj.persistentDef, obj.def);
});

test('domain list filter: every virConnectListAllDomains flag pair', () => {
  const snapshots = new Map<string, number>([['paused', 2]]);
  const probes: ListFilterProbes<DomainObject> = {
    hasManagedSave: (d) => d.name === 'saved',
    snapshotCount: (d) => snapshots.get(d.name) ?? 0,
    checkpointCount: (d) => (d.name === 'running' ? 1 : 0),
  };
  const doms = [
    domain('running', 1, { id: 1, autostart: true }),
    domain('paused', 2, { id: 2, state: DomainState.PAUSED }),
    domain('transient', 3, { id: 3, persistent: false }),
    domain('saved', 4),
    domain('crashed', 5, { state: DomainState.CRASHED }),
  ];
  const names = (flags: number) => doms.filter(domainListFilter(flags, probes)).map((d) => d.name);
  const all = ['running', 'paused', 'transient', 'saved', 'crashed'];
  assert.deepEqual(names(0), all);
  assert.deepEqual(names(F.ACTIVE | F.INACTIVE), all, 'both sides of a pair keep everything');
  assert.deepEqual(names(F.ACTIVE), ['running', 'paused', 'transient']);
  assert.deepEqual(names(F.INACTIVE), ['saved', 'crashed']);
  assert.deepEqual(names(F.TRANSIENT), ['transient']);
  assert.deepEqual(names(F.PERSISTENT), ['running', 'paused', 'saved', 'crashed']);
  assert.deepEqual(names(F.RUNNING), ['running', 'transient']);
  assert.deepEqual(names(F.PAUSED | F.SHUTOFF), ['paused', 'saved']);
  assert.deepEqual(names(F.OTHER), ['crashed']);
  assert.deepEqual(names(F.MANAGEDSAVE), ['saved']);
  assert.equal(names(F.NO_MANAGEDSAVE).includes('saved'), false);
  assert.deepEqual(names(F.AUTOSTART), ['running']);
  assert.deepEqual(names(F.HAS_SNAPSHOT), ['paused']);
  assert.deepEqual(names(F.NO_SNAPSHOT | F.INACTIVE), ['saved', 'crashed']);
  assert.deepEqual(names(F.HAS_CHECKPOINT), ['running']);
  assert.deepEqual(names(F.NO_CHECKPOINT | F.ACTIVE | F.PERSISTENT), ['paused']);
  assert.equal(LIST_DOMAINS_FILTERS_ALL, 0xffff);
});

test('domain list filter: a probe is asked only when its flags are given', () => {
  const asked: string[] = [];
  const probes: ListFilterProbes<DomainObject> = {
    hasManagedSave: () => (asked.push('managedsave'), false),
    snapshotCount: () => (asked.push('snapshot'), 0),
    checkpointCount: () => (asked.push('checkpoint'), 0),
  };
  domainListFilter(F.ACTIVE | F.INACTIVE | F.PERSISTENT, probes)(domain('a', 1));
  assert.deepEqual(asked, []);
  domainListFilter(F.NO_MANAGEDSAVE, probes)(domain('a', 1));
  assert.deepEqual(asked, ['managedsave']);
});

test('modification impact: CURRENT follows the state; LIVE needs a running domain, CONFIG a persistent one', () => {
  const inactive = domain('off', 1);
  const running = domain('on', 2, { id: 4 });
  running.newDef = def('on-next');
  const transient = domain('tmp', 3, { id: 5, persistent: false });

  assert.deepEqual(oneDefinition(inactive, ModificationImpact.CURRENT), { def: inactive.def, live: false });
  assert.deepEqual(oneDefinition(running, ModificationImpact.CURRENT), { def: running.def, live: true });
  assert.deepEqual(oneDefinition(running, ModificationImpact.CONFIG), { def: running.newDef, live: false });
  assert.deepEqual(definitionsFor(running, ModificationImpact.LIVE | ModificationImpact.CONFIG), { live: running.def, config: running.newDef });
  assert.deepEqual(definitionsFor(inactive, ModificationImpact.CONFIG), { config: inactive.def });

  const notRunning = { code: ErrorCode.OPERATION_INVALID, message: 'Requested operation is not valid: domain is not running' };
  assert.throws(() => oneDefinition(inactive, ModificationImpact.LIVE), notRunning);
  assert.throws(() => definitionsFor(inactive, ModificationImpact.LIVE | ModificationImpact.CONFIG), notRunning);
  const noConfig = { code: ErrorCode.OPERATION_INVALID, message: 'Requested operation is not valid: transient domains do not have any persistent config' };
  assert.throws(() => oneDefinition(transient, ModificationImpact.CONFIG), noConfig);
  assert.throws(() => definitionsFor(transient, ModificationImpact.LIVE | ModificationImpact.CONFIG), noConfig);
  assert.throws(() => oneDefinition(running, ModificationImpact.LIVE | ModificationImpact.CONFIG), {
    code: ErrorCode.INVALID_ARG,
    message: "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
  });
});

test('network, storage pool and interface filters: state pairs, and pool types in the flags own order', () => {
  const objs = [
    { name: 'on', active: true, persistent: true, autostart: true, type: 'dir' as const },
    { name: 'off', active: false, persistent: true, autostart: false, type: 'scsi' as const },
    { name: 'tmp', active: true, persistent: false, autostart: false, type: 'iscsi-direct' as const },
  ];
  const nets = (flags: number) => objs.filter((o) => matchesNetworkListFilter(o, flags)).map((o) => o.name);
  assert.deepEqual(nets(0), ['on', 'off', 'tmp']);
  assert.deepEqual(nets(N.ACTIVE), ['on', 'tmp']);
  assert.deepEqual(nets(N.INACTIVE | N.ACTIVE), ['on', 'off', 'tmp']);
  assert.deepEqual(nets(N.TRANSIENT), ['tmp']);
  assert.deepEqual(nets(N.NO_AUTOSTART | N.PERSISTENT), ['off']);
  const pools = (flags: number) => objs.filter((o) => matchesStoragePoolListFilter(o, flags)).map((o) => o.name);
  const DIR = 1 << 6;
  const SCSI = 1 << 12;
  const ISCSI_DIRECT = 1 << 19;
  assert.deepEqual(pools(DIR), ['on']);
  assert.deepEqual(pools(SCSI), ['off'], 'VIR_CONNECT_LIST_STORAGE_POOLS_SCSI is 1 << 12');
  assert.deepEqual(pools(ISCSI_DIRECT | DIR), ['on', 'tmp']);
  assert.deepEqual(pools(SCSI | N.ACTIVE), []);
  const ifaces = (flags: number) => objs.filter((o) => matchesInterfaceListFilter(o, flags)).map((o) => o.name);
  assert.deepEqual(ifaces(N.INACTIVE), ['off']);
  assert.deepEqual(ifaces(0), ['on', 'off', 'tmp']);
});

test('network and pool lists: lookups by name and UUID use the keys the object had when added', () => {
  const list = new NamedObjectList<{ name: string; uuid: string }>((o) => o.name, (o) => o.uuid);
  const a = { name: 'default', uuid: UUID(1).toUpperCase() };
  const b = { name: 'other', uuid: UUID(2) };
  list.add(a);
  list.add(b);
  assert.equal(list.findByName('default'), a);
  assert.equal(list.findByUUID(UUID(1)), a);
  assert.equal(list.findByUUID(UUID(2).toUpperCase()), b);
  assert.deepEqual(list.all(), [a, b]);
  a.name = 'renamed-behind-our-back';
  list.remove(a);
  assert.equal(list.findByName('default'), undefined);
  assert.equal(list.findByUUID(UUID(1)), undefined);
  assert.equal(list.size, 1);
});

test('volume list: lookups by name, key and path; removing one volume leaves a namesake added later alone', () => {
  const vols = new VolumeList<{ name: string; key?: string; targetPath?: string }>();
  const v = { name: 'disk.img', key: '/pool/disk.img', targetPath: '/pool/disk.img' };
  const w = { name: 'other.img', key: 'k-other', targetPath: '/pool/other.img' };
  vols.add(v);
  vols.add(w);
  assert.equal(vols.findByName('disk.img'), v);
  assert.equal(vols.findByKey('k-other'), w);
  assert.equal(vols.findByPath('/pool/other.img'), w);
  assert.equal(vols.findByKey('/pool/missing'), undefined);
  vols.remove({ ...v }); // a copy is not the volume in the list
  assert.equal(vols.findByName('disk.img'), v);
  vols.remove(v);
  assert.equal(vols.findByName('disk.img'), undefined);
  assert.equal(vols.findByPath('/pool/disk.img'), undefined);
  assert.deepEqual(vols.all(), [w]);
  assert.equal(vols.size, 1);
});
