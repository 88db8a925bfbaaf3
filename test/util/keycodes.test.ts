// Key codes as libvirt's virkeycode.c finds and translates them (values from
// keycodemapdb, the data libvirt 9.0 is built with).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keycodeFromName, keycodeSetFromName, translateKeycode, KEYCODE_SET_QNUM } from '../../src/util/keycodes.js';

const set = (name: string) => keycodeSetFromName(name);

test('codeset names in virKeycodeSet order', () => {
  assert.deepEqual(['linux', 'xt', 'atset1', 'atset2', 'atset3', 'os_x', 'xt_kbd', 'usb', 'win32', 'qnum'].map(set), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(set('rfb'), -1);
});

test('key names exist in the linux, os_x and win32 codesets only', () => {
  assert.equal(keycodeFromName(set('linux'), 'KEY_A'), 30);
  assert.equal(keycodeFromName(set('linux'), 'KEY_LEFTCTRL'), 29);
  assert.equal(keycodeFromName(set('os_x'), 'ANSI_A'), 0);
  assert.equal(keycodeFromName(set('win32'), 'VK_A'), 0x41);
  assert.equal(keycodeFromName(set('usb'), 'KEY_A'), -1);
  assert.equal(keycodeFromName(set('linux'), 'KEY_NOPE'), -1);
});

test('translation to QNUM: extended AT set 1 codes fold 0xe0 into bit 7', () => {
  assert.equal(translateKeycode(set('linux'), KEYCODE_SET_QNUM, 30), 0x1e);
  // KEY_DELETE: AT set 1 0xe053, QNUM 0xd3, XT kbd 0x153
  assert.equal(translateKeycode(set('linux'), KEYCODE_SET_QNUM, 111), 0xd3);
  assert.equal(translateKeycode(set('atset1'), KEYCODE_SET_QNUM, 0xe053), 0xd3);
  assert.equal(translateKeycode(set('xt_kbd'), KEYCODE_SET_QNUM, 0x153), 0xd3);
  assert.equal(translateKeycode(set('usb'), KEYCODE_SET_QNUM, 4), 0x1e);
  assert.equal(translateKeycode(set('win32'), KEYCODE_SET_QNUM, 0x41), 0x1e);
  // XT is AT set 1
  assert.equal(translateKeycode(set('xt'), set('linux'), 0x1e), 30);
  assert.equal(translateKeycode(set('usb'), KEYCODE_SET_QNUM, 0xfff0), -1);
  assert.equal(translateKeycode(set('linux'), KEYCODE_SET_QNUM, -1), -1);
});
