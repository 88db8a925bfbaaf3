// Tab completion driven by the command table: commands, options, object names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { complete } from '../../src/cli/interactive.js';
import { loadHandlers } from '../../src/cli/registry.js';
import { Shell } from '../../src/cli/shell.js';

async function shell(): Promise<Shell> {
  const s = new Shell({ uri: 'test:///default', defaultUri: 'test:///default', quiet: false, readonly: false, output: { out() {}, err() {} } }, await loadHandlers());
  await s.reconnect(undefined, false);
  return s;
}

test('the first word completes to command names; a unique match gets a trailing space', async () => {
  const s = await shell();
  assert.deepEqual(await complete(s, 'dumpx'), [['dumpxml '], 'dumpx']);
  assert.deepEqual(await complete(s, 'domsta'), [['domstate', 'domstats'], 'domsta']);
  const [hits] = await complete(s, 'net-d');
  assert.deepEqual(hits, ['net-define', 'net-destroy', 'net-dhcp-leases', 'net-dumpxml']);
  await s.close();
});

test('a leading dash completes to the options not given yet', async () => {
  const s = await shell();
  const [hits] = await complete(s, 'list --all --na');
  assert.deepEqual(hits, ['--name ']);
  const [all] = await complete(s, 'domstate test --');
  assert.deepEqual(all, ['--reason ']);
  await s.close();
});

test('domain arguments complete to domain names from the connection, also after ;', async () => {
  const s = await shell();
  assert.deepEqual(await complete(s, 'echo x; dominfo te'), [['test '], 'te']);
  assert.deepEqual(await complete(s, 'net-info def'), [['default '], 'def']);
  await s.close();
});
