// Scaled integers as virsh reads sizes (virStrToLong_ullp + virScaleInteger).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScaled, ScaleError } from '../../src/cli/shell.js';

test('suffixes: binary by default, decimal with B, bytes spelled out, bare numbers in the default unit', () => {
  assert.equal(parseScaled('1G', 1), 1024 ** 3);
  assert.equal(parseScaled('1GiB', 1), 1024 ** 3);
  assert.equal(parseScaled('1GB', 1), 1e9);
  assert.equal(parseScaled('5bytes', 1024), 5);
  assert.equal(parseScaled('2', 1024), 2048);
});

test('malformed numbers carry libvirt\'s reason when it gives one', () => {
  assert.throws(() => parseScaled('lots', 1), (e: unknown) => e instanceof ScaleError && e.reason === undefined);
  assert.throws(() => parseScaled('1.5G', 1), (e: unknown) => e instanceof ScaleError && e.reason?.message === "invalid argument: unknown suffix '.5G'");
  assert.throws(() => parseScaled('9E', 1, 2 ** 40), (e: unknown) => e instanceof ScaleError && e.reason?.message === 'numerical overflow: value too large: 9E');
});
