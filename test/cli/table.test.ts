// virsh's table layout (vsh-table.c).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTable } from '../../src/cli/table.js';

test('cells are padded to width + 2 except the last column; dashes are sum(width + 3)', () => {
  assert.equal(
    formatTable(['Id', 'Name', 'State'], [['1', 'test', 'running']], true),
    ' Id   Name   State\n----------------------\n 1    test   running\n',
  );
});

test('an empty table keeps its header; an empty last cell leaves trailing spaces', () => {
  assert.equal(formatTable(['Id', 'Name', 'State'], [], true), ' Id   Name   State\n--------------------\n');
  assert.equal(formatTable(['A', 'Title'], [['x', '']], true), ' A   Title\n------------\n x   \n');
});

test('without the header (-q) widths come from the data only', () => {
  assert.equal(formatTable(['Id', 'Name', 'State'], [['1', 'test', 'running']], false), ' 1   test   running\n');
});

test('control characters are escaped and a character outside the BMP is one column wide', () => {
  assert.equal(formatTable(['A', 'B'], [['a\tb', 'x'], ['\u{1F600}\u{1F600}', 'y']], true), ' A        B\n-------------\n a\\x09b   x\n 😀😀       y\n');
});
