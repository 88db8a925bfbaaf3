// Config and status files are never trusted blindly (issue #6): damaged files
// are reported by name and skipped, every other domain still loads, through the
// public API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect } from '../../src/api/connection.js';
import { tempDir } from '../helpers/temp-dir.js';

function domainXML(name: string, uuid: string): string {
  return `<domain type='qemu'><name>${name}</name><uuid>${uuid}</uuid><memory unit='KiB'>131072</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type></os></domain>`;
}

/** Runs `fn` and returns what it wrote to stderr (the driver's warnings). */
async function stderrOf(fn: () => Promise<void>): Promise<string> {
  const original = process.stderr.write.bind(process.stderr);
  let text = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    text += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    process.stderr.write = original;
  }
  return text;
}

test('damaged config and status files are reported by name and skipped; the other domains load', async () => {
  const root = tempDir('corrupt');
  const uri = `qemu:///embed?root=${root}`;
  const setup = await connect(uri);
  await setup.defineDomain(domainXML('good1', '8f2a1c64-7d1b-4a57-9a53-0c8d6e3b2a11'));
  await setup.defineDomain(domainXML('good2', '8f2a1c64-7d1b-4a57-9a53-0c8d6e3b2a12'));
  await setup.close();

  const configDir = path.join(root, 'etc', 'qemu');
  const good = domainXML('bad1', '8f2a1c64-7d1b-4a57-9a53-0c8d6e3b2a13');
  const damaged: Record<string, string | Buffer> = {
    'bad1.xml': good.slice(0, good.length / 2), // truncated
    'bad2.xml': Buffer.from([0x3c, 0x64, 0xff, 0x00, 0xfe, 0x3e]), // invalid UTF-8 and NUL
    'bad3.xml': "<network><name>bad3</name></network>", // not a domain
    'bad4.xml': '', // empty
    'bad5.xml': `<!DOCTYPE d [<!ENTITY a "aaaa">]>${domainXML('bad5&a;', '8f2a1c64-7d1b-4a57-9a53-0c8d6e3b2a15')}`,
    'bad6.xml': domainXML('bad6', 'not-a-uuid'),
  };
  for (const [file, content] of Object.entries(damaged)) writeFileSync(path.join(configDir, file), content);
  // status files of a running domain that are garbage, and of one that does not exist
  writeFileSync(path.join(root, 'run', 'qemu', 'good1.xml'), "<domstatus state='running' pid='");
  writeFileSync(path.join(root, 'run', 'qemu', 'ghost.xml'), Buffer.from([0xff, 0xfe, 0x00]));

  let names: string[] = [];
  let states: number[] = [];
  const warnings = await stderrOf(async () => {
    const conn = await connect(uri);
    const domains = await conn.listAllDomains(0);
    names = domains.map((d) => d.name).sort();
    states = await Promise.all(domains.map(async (d) => (await d.getState()).state));
    await conn.close();
  });
  assert.deepEqual(names, ['good1', 'good2']);
  assert.deepEqual(states, [5, 5], 'both shut off: a garbage status file does not make a domain running');
  for (const file of Object.keys(damaged)) {
    assert.ok(warnings.includes(`Failed to load config file '${path.join(configDir, file)}'`), `${file} is reported by name:\n${warnings}`);
  }
  for (const name of ['good1', 'ghost']) {
    const file = path.join(root, 'run', 'qemu', `${name}.xml`);
    assert.ok(warnings.includes(`Failed to load status file '${file}'`), `${name}'s status file is reported by name:\n${warnings}`);
    assert.ok(existsSync(file), 'a damaged status file is kept: the QEMU it names may still run');
  }
});
