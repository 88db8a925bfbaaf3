// virsh's job watcher for a memory-only dump, side by side on the installed
// libvirt, tsvirsh on qemu:///embed and tsvirsh through tsvirtd
// (job-watch-sides.ts): the progress QEMU's query-dump gives, domjobinfo
// meanwhile, and the abort libvirt refuses for such a dump.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { assertProgress, bySide, run, sides, skip, startGuest, type Outcome } from './job-watch-sides.js';

test('dump --memory-only --verbose: progress from QEMU, domjobinfo and the refused abort meanwhile', { skip, timeout: 240_000 }, async (t) => {
  const hosts = await sides(t, 'dump');
  const sessions = await Promise.all(
    hosts.map(async (host) => {
      await startGuest(host, 1024);
      const n = (s: string) => s.replaceAll(host.dir, 'DIR').replaceAll(host.name, 'DOM');
      const seen: Record<string, string> = {};
      let asked: Promise<Outcome[]> | undefined;
      const dumped = await run(host, ['dump', host.name, path.join(host.dir, 'core'), '--memory-only', '--verbose'], {
        shows: 'Dump: [',
        act: () => (asked = host.shared ? Promise.all([run(host, ['domjobinfo', host.name]), run(host, ['domjobabort', host.name])]) : undefined),
      });
      assert.equal(dumped.code, 0, `${host.kind}: ${dumped.stderr}`);
      assertProgress(dumped.stderr, 'Dump', `${host.kind} dump`);
      seen.dumped = n(dumped.stdout);
      if (asked) {
        const [info, abort] = await asked;
        seen.domjobinfo = info.stdout.split('\n').slice(0, 2).join('\n').replace(/ +$/gm, '');
        seen.abort = abort.stderr;
      }
      return seen;
    }),
  );
  const expected = { dumped: "\nDomain 'DOM' dumped to DIR/core\n\n" };
  const expectedShared = {
    ...expected,
    domjobinfo: 'Job type:         Unbounded\nOperation:        Dump',
    abort: 'error: Requested operation is not valid: cannot abort memory-only dump\n',
  };
  assert.deepEqual(bySide(hosts, sessions), bySide(hosts, hosts.map((h) => (h.shared ? expectedShared : expected))));
});
