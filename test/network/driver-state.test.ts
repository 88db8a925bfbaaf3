// The network driver's persistent state without root: definitions written to
// etc/qemu/networks are what the next process sees, autostart links and bridge
// allocation follow libvirt, and a file that does not parse is skipped.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseURI } from '../../src/driver/uri.js';
import { openNetworkDriver } from '../../src/drivers/network/driver.js';

const net = (name: string, bridge = '') => `<network><name>${name}</name>${bridge}<ip address='10.${name.length}.0.1' prefix='24'/></network>`;

test('definitions persist, get virbrN and a MAC, and a broken file is skipped', async () => {
  const root = mkdtempSync(join(tmpdir(), 'tsvirt-netstate-'));
  const uri = parseURI(`qemu:///embed?root=${root}`);
  try {
    mkdirSync(join(root, 'etc', 'qemu', 'networks'), { recursive: true });
    writeFileSync(join(root, 'etc', 'qemu', 'networks', 'broken.xml'), '<network><name>broken');
    const first = await openNetworkDriver(uri, { readonly: false });
    const { net: a } = await first.networkDefineXML!({ xml: net('alpha') });
    await first.networkDefineXML!({ xml: net('beta', "<bridge name='virbr7'/>") });
    await assert.rejects(first.networkDefineXML!({ xml: net('gamma', "<bridge name='virbr7'/>") }), { message: "internal error: bridge name 'virbr7' already in use." });
    await first.networkSetAutostart!({ net: a, autostart: 1 });
    assert.ok(existsSync(join(root, 'etc', 'qemu', 'networks', 'autostart', 'alpha.xml')));

    const next = await openNetworkDriver(uri, { readonly: false });
    const { nets } = await next.connectListAllNetworks!({ need_results: 1, flags: 0 });
    assert.deepEqual(nets.map((n) => n.name), ['alpha', 'beta']);
    const { xml } = await next.networkGetXMLDesc!({ net: a, flags: 0 });
    assert.match(xml, /<bridge name='virbr0' stp='on' delay='0'\/>\n  <mac address='52:54:00(:[0-9a-f]{2}){3}'\/>/);
    assert.equal((await next.networkGetAutostart!({ net: a })).autostart, 1);
    await next.networkUndefine!({ net: a });
    assert.ok(!existsSync(join(root, 'etc', 'qemu', 'networks', 'alpha.xml')));
    assert.ok(!existsSync(join(root, 'etc', 'qemu', 'networks', 'autostart', 'alpha.xml')));
    assert.match(readFileSync(join(root, 'etc', 'qemu', 'networks', 'beta.xml'), 'utf8'), /virbr7/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
