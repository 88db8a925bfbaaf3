// The definition edits behind vcpupin/emulatorpin/iothreadpin, iothreadadd/del
// and setvcpu: where the elements go and how libvirt lists the IOThreads and vCPUs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addIOThreadId, emulatorCpuset, iothreadCpuset, iothreadIdList, removeIOThreadId, setEmulatorPin, setIOThreadPin, setVcpuPin } from '../../src/conf/cpu-pinning.js';
import { setVcpuEntries, vcpuEntries } from '../../src/conf/vcpu-list.js';
import { formatXml, parseXml } from '../../src/util/xml.js';

const domain = (body: string) => parseXml(`<domain type='qemu'><name>t</name><memory>1024</memory>${body}<os><type>hvm</type></os></domain>`);
const names = (xml: string) => [...xml.matchAll(/<(\w+)[ >/]/g)].map((m) => m[1]).join(' ');

test('IOThread ids: the listed ones, then the lowest free ids up to <iothreads>', () => {
  assert.deepEqual(iothreadIdList(domain("<iothreads>3</iothreads><iothreadids><iothread id='5'/><iothread id='2'/></iothreadids>")), [5, 2, 1]);
  assert.deepEqual(iothreadIdList(domain('<vcpu>1</vcpu>')), []);
});

test('an added IOThread goes last, with every id listed and the count following', () => {
  const def = domain("<vcpu>1</vcpu><iothreads>2</iothreads><cputune><vcpupin vcpu='0' cpuset='1'/></cputune>");
  addIOThreadId(def, 7);
  const xml = formatXml(def);
  assert.match(xml, /<iothreads>3<\/iothreads>\s*<iothreadids>\s*<iothread id='1'\/>\s*<iothread id='2'\/>\s*<iothread id='7'\/>\s*<\/iothreadids>\s*<cputune>/);
});

test('a removed IOThread takes its pin along; the last one takes <iothreads> and <iothreadids>', () => {
  const def = domain("<vcpu>1</vcpu><iothreads>2</iothreads><cputune><iothreadpin iothread='2' cpuset='0'/></cputune>");
  removeIOThreadId(def, 2);
  assert.deepEqual(iothreadIdList(def), [1]);
  assert.equal(names(formatXml(def)), 'domain name memory vcpu iothreads iothreadids iothread os type');
  removeIOThreadId(def, 1);
  assert.equal(names(formatXml(def)), 'domain name memory vcpu os type');
});

test('pins are placed in <cputune> (made before <os>), vCPUs ascending, IOThreads in id-list order', () => {
  const def = domain("<vcpu cpuset='1'>4</vcpu><iothreadids><iothread id='9'/><iothread id='3'/></iothreadids>");
  assert.equal(emulatorCpuset(def), '1');
  assert.equal(iothreadCpuset(def, 9), '1');
  setVcpuPin(def, 3, new Set([0, 1]));
  setIOThreadPin(def, 3, new Set([2]));
  setEmulatorPin(def, new Set([0]));
  setVcpuPin(def, 1, new Set([1]));
  setIOThreadPin(def, 9, new Set([0, 2, 3]));
  setVcpuPin(def, 3, new Set([2]));
  const xml = formatXml(def);
  assert.equal(names(xml), 'domain name memory vcpu iothreadids iothread iothread cputune vcpupin vcpupin emulatorpin iothreadpin iothreadpin os type');
  assert.match(xml, /<vcpupin vcpu='1' cpuset='1'\/>\s*<vcpupin vcpu='3' cpuset='2'\/>\s*<emulatorpin cpuset='0'\/>\s*<iothreadpin iothread='9' cpuset='0,2-3'\/>\s*<iothreadpin iothread='3' cpuset='2'\/>/);
  assert.equal(emulatorCpuset(def), '0');
  assert.equal(iothreadCpuset(def, 3), '2');
});

test('vCPU states: derived from <vcpu current> without a list, written back as a full list', () => {
  const def = domain("<vcpu placement='static' current='2'>3</vcpu>");
  const entries = vcpuEntries(def);
  assert.deepEqual(entries.map((e) => [e.id, e.enabled, e.hotpluggable]), [[0, true, undefined], [1, true, undefined], [2, false, undefined]]);
  setVcpuEntries(def, entries.map((e) => (e.id === 2 ? { ...e, enabled: true, hotpluggable: true, order: 3 } : e)));
  const xml = formatXml(def);
  assert.match(xml, /<vcpu placement='static'>3<\/vcpu>\s*<vcpus>\s*<vcpu id='0' enabled='yes' hotpluggable='no'\/>\s*<vcpu id='1' enabled='yes' hotpluggable='no'\/>\s*<vcpu id='2' enabled='yes' hotpluggable='yes' order='3'\/>\s*<\/vcpus>/);
  setVcpuEntries(def, vcpuEntries(def).map((e) => (e.id === 1 ? { ...e, enabled: false } : e)));
  assert.match(formatXml(def), /<vcpu placement='static' current='2'>3<\/vcpu>/);
  assert.deepEqual(vcpuEntries(def).map((e) => [e.enabled, e.hotpluggable]), [[true, false], [false, false], [true, true]]);
});
