// virsh's wrapping of qemu-monitor-command's words into a QMP message
// (cmdQemuMonitorCommandQMPWrap), checked against what virsh 9.0 sends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wrapQmpCommand } from '../../src/cli/commands/qemu.js';
import { CommandError } from '../../src/cli/errors.js';

test('a JSON object goes as typed; a command name is wrapped, with its arguments', () => {
  assert.equal(wrapQmpCommand(['{"execute":', '"query-status"}']), '{"execute": "query-status"}');
  assert.equal(wrapQmpCommand(['query-status']), '{"execute":"query-status"}');
  // virsh wraps whatever is not an object, so QEMU reports the unknown command
  assert.equal(wrapQmpCommand(['not json']), '{"execute":"not json"}');
  assert.equal(wrapQmpCommand(['[1]']), '{"execute":"[1]"}');
  assert.equal(wrapQmpCommand(['human-monitor-command', '{"command-line": "info status"}']), '{"execute":"human-monitor-command","arguments":{"command-line":"info status"}}');
  assert.equal(wrapQmpCommand(['human-monitor-command', '"command-line":"info status"', '"cpu-index":0']), '{"execute":"human-monitor-command","arguments":{"command-line":"info status","cpu-index":0}}');
});

test('arguments that make no object are refused with virsh words', () => {
  assert.throws(() => wrapQmpCommand(['query-status', 'x']), (e: CommandError) => {
    assert.ok(e instanceof CommandError);
    assert.match(e.message, /failed to wrap arguments 'x' into a QMP command wrapper/);
    return true;
  });
});
