// The checks libvirt's CPU parser (virCPUDefParseXML) makes on a <cpu> handed
// to cpu-compare, cpu-baseline, hypervisor-cpu-compare and
// hypervisor-cpu-baseline: malformed <topology>, <signature>, <microcode>,
// <counter>, <cache> and <maxphysaddr>. The expected messages were recorded
// from real virsh 9.0 (the same for all four commands); the parser is shared,
// and the comparison and baseline entry points are checked to reach it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCpuDef } from '../../src/conf/cpu-def-list.js';
import { parseURI } from '../../src/driver/uri.js';
import { openQemuDriver } from '../../src/drivers/qemu/driver.js';
import { LiveHostFacts } from '../../src/drivers/qemu/host/live.js';

const HOST = '<arch>x86_64</arch>';
const cpu = (inner: string, host = true) => `<cpu>${host ? HOST : ''}<model>Westmere</model><vendor>Intel</vendor>${inner}</cpu>`;

/** input <cpu>, libvirt's error (virsh: "error: " + this) */
const REFUSED: ReadonlyArray<[string, string]> = [
  [cpu("<topology sockets='0' cores='1' threads='1'/>"), "XML error: Invalid value for attribute 'sockets' in element 'topology': Zero is not permitted"],
  [cpu("<topology sockets='x' cores='1' threads='1'/>"), "XML error: Invalid value for attribute 'sockets' in element 'topology': 'x'. Expected non-negative integer value"],
  [cpu("<topology sockets='-1' cores='1' threads='1'/>"), "XML error: Invalid value for attribute 'sockets' in element 'topology': '-1'. Expected non-negative integer value"],
  [cpu("<topology sockets='99999999999' cores='1' threads='1'/>"), "XML error: Invalid value for attribute 'sockets' in element 'topology': '99999999999'. Expected non-negative integer value"],
  [cpu("<topology sockets='1'/>"), "XML error: Missing required attribute 'cores' in element 'topology'"],
  [cpu("<topology sockets='1' cores='1'/>", false), "XML error: Missing required attribute 'threads' in element 'topology'"],
  [cpu("<topology sockets='1' dies='0' cores='1' threads='1'/>"), "XML error: Invalid value for attribute 'dies' in element 'topology': Zero is not permitted"],
  [cpu("<topology sockets='1' cores='0' threads='1'/>", false), "XML error: Invalid value for attribute 'cores' in element 'topology': Zero is not permitted"],
  [cpu("<signature family='x' model='1' stepping='1'/>"), "XML error: Invalid value for attribute 'family' in element 'signature': 'x'. Expected non-negative integer value"],
  [cpu("<signature family='0' model='1' stepping='1'/>"), "XML error: Invalid value for attribute 'family' in element 'signature': Zero is not permitted"],
  [cpu("<signature family='6' model='1'/>"), "XML error: Missing required attribute 'stepping' in element 'signature'"],
  [cpu("<microcode version='abc'/>"), 'unsupported configuration: invalid microcode version'],
  [cpu("<microcode version='-1'/>"), 'unsupported configuration: invalid microcode version'],
  [cpu("<counter name='tsc' scaling='yes'/>"), "XML error: Missing required attribute 'frequency' in element 'counter'"],
  [cpu("<counter name='tsc' frequency='1000' scaling='maybe'/>"), "XML error: Invalid value for attribute 'scaling' in element 'counter': 'maybe'."],
  [cpu("<cache level='9' mode='emulate'/>"), 'XML error: invalid CPU cache level, must be in range [1,3]'],
  [cpu("<cache level='-1' mode='emulate'/>", false), "XML error: Invalid value for attribute 'level' in element 'cache': '-1'. Expected non-negative value"],
  [cpu("<cache mode='foo'/>"), "XML error: Invalid value for attribute 'mode' in element 'cache': 'foo'."],
  [cpu("<cache level='3'/>"), "XML error: Missing required attribute 'mode' in element 'cache'"],
  [cpu("<cache mode='passthrough'/><cache mode='emulate'/>"), 'XML error: at most one CPU cache element may be specified'],
  [cpu("<maxphysaddr bits='40'/>", false), "XML error: Missing required attribute 'mode' in element 'maxphysaddr'"],
  [cpu("<maxphysaddr mode='emulate' bits='-3'/>", false), "XML error: Invalid value for attribute 'bits' in element 'maxphysaddr': '-3'. Expected non-negative value"],
  // libvirt's order: the topology before the features and the cache
  [cpu("<feature name='sse4.2'/><cache level='0' mode='emulate'/><topology sockets='0'/>", false), "XML error: Invalid value for attribute 'sockets' in element 'topology': Zero is not permitted"],
];

/** accepted by the parser: a passthrough cache with a level, a guest CPU's signature (only a host CPU's is read) */
const ACCEPTED = [cpu("<cache level='3' mode='passthrough'/>"), cpu("<signature family='x'/>", false), cpu("<topology sockets='1' dies='2' cores='4' threads='2'/><counter name='tsc' frequency='2000000000' scaling='no'/>")];

test("libvirt's CPU parser refuses malformed topology, signature, counter, cache and maxphysaddr with its messages", () => {
  for (const [xml, message] of REFUSED) assert.throws(() => parseCpuDef(xml, 'auto'), { message }, xml);
  for (const xml of ACCEPTED) assert.doesNotThrow(() => parseCpuDef(xml, 'auto'), xml);
});

const x86Host = new LiveHostFacts().x86Cpu();
const skip = x86Host ? false : "this host's CPU cannot be compared (not x86, or no libvirt CPU map)";
if (skip) console.warn(`SKIPPING cpu-def-checks (driver): ${skip}`);

test('cpu-compare and cpu-baseline refuse a malformed <cpu> before anything else', { skip }, async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-cpudef-'));
  const driver = await openQemuDriver(parseURI(`qemu:///embed?root=${root}`), { host: new LiveHostFacts() });
  try {
    const [xml, message] = REFUSED[0]!;
    await assert.rejects(driver.connectCompareCPU({ xml, flags: 0 }), { message });
    await assert.rejects(driver.connectBaselineCPU({ xmlCPUs: [xml], flags: 0 }), { message });
  } finally {
    await driver.close();
    rmSync(root, { recursive: true, force: true });
  }
});
