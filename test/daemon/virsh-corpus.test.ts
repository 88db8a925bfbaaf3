// Real virsh, unchanged, against bin/tsvirtd: the virsh corpus (../shared/conformance/virsh,
// 114 scenarios recorded on libvirt's test driver) with every test:/// URI redirected to
// test+unix:///...?socket=DIR/run/libvirt-sock. Four scenarios cannot pass through any
// daemon (they print the URI or a /proc/self/cwd path: libvirtd itself scores 110 this way).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { virshInstalled } from '../helpers/libvirt.js';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot, sharedPath } from '../helpers/shared.js';
import { testDriverReady } from './contract-ready.js';
import { spawnDaemon } from './spawn-daemon.js';

/** The scenarios no daemon can pass through the redirection (libvirtd fails the same four): each prints the URI or a /proc/self/cwd path. */
const EXPECTED_FAILURES = ['basic-version-uri-sysinfo', 'node-basic-list', 'node-malformed', 'node-missing-external'];


test('real virsh through tsvirtd passes the virsh corpus', { skip: virshInstalled() ? false : 'virsh is not installed' }, async (t) => {
  const conformance = sharedPath('conformance');
  if ('skip' in conformance) return t.skip(conformance.skip);
  const notReady = await testDriverReady();
  if (notReady) return t.skip(notReady);
  const daemon = await spawnDaemon();
  try {
    const wrapper = join(projectRoot, 'test', 'daemon', 'virsh-via-daemon.mjs');
    const out = await new Promise<string>((resolve) =>
      execFile(
        process.execPath,
        [join(conformance.path, 'run-virsh.mjs'), '--virsh', `${process.execPath} ${wrapper}`, '--jobs', '1'],
        { env: { ...process.env, TSVIRTD_SOCKET: daemon.socket }, maxBuffer: 16 << 20 },
        (_e, stdout, stderr) => resolve(stdout + stderr),
      ),
    );
    t.diagnostic(out.trim().split('\n').slice(-12).join('\n'));
    assert.match(out, /^\d+ passed, \d+ failed/m, out);
    const failed = [...out.matchAll(/^FAIL ([^:]+):/gm)].map((m) => m[1]!).sort();
    assert.deepEqual(failed, EXPECTED_FAILURES, out);
  } finally {
    await daemon.stop();
  }
});
