// dnsmasq's files for each recorded network, generated without root: the first
// NAME.conf / .hostsfile / .addnhosts each golden scenario captured from
// libvirt 9.0 (before any net-update), rebuilt from the scenario's XML with the
// bridge libvirt chose, must be byte-identical.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseNetworkXML } from '../../src/conf/network.js';
import { dnsmasqConfig } from '../../src/drivers/network/dnsmasq-conf.js';

const GOLDEN = fileURLToPath(new URL('../../../test/network/golden/', import.meta.url));
const xmlDir = join(GOLDEN, 'xml');
const texts = readdirSync(xmlDir).map((f) => readFileSync(join(xmlDir, f), 'utf8'));
// networks by <name> (some recorded definitions are invalid on purpose); the port definitions are not networks
const defs = new Map(texts.filter((t) => t.startsWith('<network>') || t.startsWith('<network ')).map((text) => [/<name>([^<]+)<\/name>/.exec(text)![1]!, text] as const));

/** The first @conf probe's three files, if no net-update came before it. */
function firstConf(out: string): { name: string; files: Record<string, string> } | undefined {
  const probe = out.indexOf('$ @conf ');
  if (probe < 0 || out.slice(0, probe).includes('$ net-update')) return undefined;
  const name = /^\$ @conf (\S+)/m.exec(out.slice(probe))![1]!;
  const files: Record<string, string> = {};
  const body = out.slice(probe).split('\n').slice(1);
  let current: string | undefined;
  for (const line of body) {
    if (line.startsWith('$ ')) break;
    const header = /^== \S+\.(conf|hostsfile|addnhosts)( absent)?$/.exec(line);
    if (header) {
      current = header[2] ? undefined : header[1]!;
      if (current) files[current] = '';
    } else if (current) files[current] += `${line}\n`;
  }
  return { name, files };
}

for (const file of readdirSync(join(GOLDEN, 'scenarios')).filter((f) => f.endsWith('.out')).sort()) {
  const found = firstConf(readFileSync(join(GOLDEN, 'scenarios', file), 'utf8'));
  if (!found?.files.conf) continue;
  test(`dnsmasq files of ${found.name} (${file}) are libvirt's`, () => {
    const { name, files } = found;
    const bridge = /^interface=(\S+)$/m.exec(files.conf!)![1]!;
    const def = parseNetworkXML(defs.get(name)!);
    const config = dnsmasqConfig(def, bridge, {
      pidFile: `@RUN@/network/${name}.pid`,
      hostsFile: `@LIB@/dnsmasq/${name}.hostsfile`,
      addnHostsFile: `@LIB@/dnsmasq/${name}.addnhosts`,
    });
    assert.equal(config.conf, files.conf);
    assert.equal(config.hostsFile, files.hostsfile ?? '');
    assert.equal(config.addnHosts, files.addnhosts ?? '');
  });
}
