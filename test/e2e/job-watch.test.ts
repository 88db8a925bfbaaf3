// virsh's job watcher (virshWatchJob) for save and managedsave, side by side
// on the installed libvirt, tsvirsh on qemu:///embed and tsvirsh through
// tsvirtd (job-watch-sides.ts): the --verbose progress lines off a terminal
// (their form and order; the percentages depend on timing), SIGINT (ignored),
// Ctrl-C typed on a terminal (aborts the job, the guest keeps running), and
// domjobinfo while the job runs. The guest has 12 GiB of (mostly untouched)
// RAM so that a save takes seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { assertProgress, bySide, ok, run, runOnTerminal, sides, skip, startGuest, type Host, type Outcome } from './job-watch-sides.js';

/** The session every host goes through; its outcomes, normalised, for comparison. */
async function session(host: Host): Promise<Record<string, string>> {
  const n = (s: string) => s.replaceAll(host.dir, 'DIR').replaceAll(host.name, 'DOM');
  const seen: Record<string, string> = {};
  await startGuest(host, 12288);

  // save --verbose, with domjobinfo asked meanwhile where another client can
  const image = path.join(host.dir, 'saved.img');
  let info: Promise<Outcome> | undefined;
  const saved = await run(host, ['save', host.name, image, '--verbose'], { shows: 'Save: [', act: () => (info = host.shared ? run(host, ['domjobinfo', host.name]) : undefined) });
  // the figures depend on timing: the lines and their order must match
  if (info) seen.domjobinfo = (await info).stdout.replace(/\d+(\.\d+)? ?(B|KiB|MiB|GiB)?/g, 'N').replace(/ +/g, ' ').replace(/ $/gm, '');
  assert.equal(saved.code, 0, `${host.kind}: ${saved.stderr}`);
  assertProgress(saved.stderr, 'Save', `${host.kind} save`);
  seen.saved = n(saved.stdout);
  await ok(host, 'restore', image);

  // Ctrl-C typed on a terminal once the job runs: libvirt aborts it, the guest runs on. virsh
  // turns the terminal's Ctrl-C into a character just after its first progress line (tsvirsh
  // just before): on a loaded machine, typing upon virsh's first line can still be an ignored SIGINT.
  const aborted = path.join(host.dir, 'aborted.img');
  const typed = await runOnTerminal(host, 'Save: [', host.kind === 'libvirt' ? 2 : 1, ['save', host.name, aborted, '--verbose']);
  assert.equal(typed.code, 1, `${host.kind}: ${typed.output}`);
  const [progress, rest] = [typed.output.slice(0, typed.output.indexOf('^C')), typed.output.slice(typed.output.indexOf('^C'))];
  assert.match(progress, /^(\rSave: \[[ \d]{2}\d %\])+$/, `${host.kind}: ${typed.output}`);
  seen.aborted = n(rest);
  seen.abortedState = (await ok(host, 'domstate', host.name, '--reason')).stdout;
  seen.abortedImage = existsSync(aborted) ? 'left' : 'removed';

  // SIGINT off a terminal is caught and ignored: managedsave completes
  const managed = await run(host, ['managedsave', host.name, '--verbose'], { shows: 'Managedsave: [', act: (child) => child.kill('SIGINT') });
  assertProgress(managed.stderr, 'Managedsave', `${host.kind} managedsave`);
  seen.managedsave = `${managed.code} ${n(managed.stdout)}`;
  seen.managedState = (await ok(host, 'domstate', host.name, '--reason')).stdout;
  return seen;
}

test('save and managedsave --verbose, Ctrl-C and SIGINT: tsvirsh (embed and through tsvirtd) as virsh on libvirt', { skip, timeout: 240_000 }, async (t) => {
  const hosts = await sides(t, 'save');
  const sessions = await Promise.all(hosts.map((h) => session(h)));
  const expected: Record<string, string> = {
    saved: "\nDomain 'DOM' saved to DIR/saved.img\n\n",
    aborted: "^Cerror: Failed to save domain 'DOM' to DIR/aborted.img\r\nerror: operation aborted: job 'domain save' canceled by client\r\n\r\n",
    abortedState: 'running (save canceled)\n\n',
    abortedImage: 'removed',
    managedsave: "0 \nDomain 'DOM' state saved by libvirt\n\n",
    managedState: 'shut off (saved)\n\n',
  };
  const expectedShared = {
    domjobinfo: [
      'Job type: Unbounded', 'Operation: Save', 'Time elapsed: N ms',
      'Data processed: N', 'Data remaining: N', 'Data total: N',
      'Memory processed: N', 'Memory remaining: N', 'Memory total: N', 'Memory bandwidth: N/s',
      'Dirty rate: N pages/s', 'Page size: N bytes', 'Iteration: N', 'Postcopy requests: N',
      'Constant pages: N', 'Normal pages: N', 'Normal data: N', 'Expected downtime: N ms', 'Setup time: N ms', '', '',
    ].join('\n'),
    ...expected,
  };
  assert.deepEqual(bySide(hosts, sessions), bySide(hosts, hosts.map((h) => (h.shared ? expectedShared : expected))));
});
