// Assertion helper shared by tests that check libvirt's error messages.
import assert from 'node:assert/strict';
import { isVirError } from '../../src/util/error.js';

/** Runs `fn`, which must fail with a VirError, and returns that error's message. */
export function virErrorMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isVirError(e), String(e));
    return e.message;
  }
  assert.fail('definition was accepted');
}
