// tsvirsh's `event` beside real virsh's, both listening to tsvirtd while a
// guest is defined, started, paused, resumed, destroyed and undefined: the same
// lines (--all --loop, --event with --timeout, --timestamp's form), and --list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tsvirsh } from '../helpers/shared.js';
import { guestDomainXML, testGuest } from '../e2e/guest.js';
import { spawnDaemon } from './spawn-daemon.js';

const run = promisify(execFile);
const VIRSH = '/usr/bin/virsh';
/** long enough for the changes below on a loaded 2-core machine */
const LISTEN_SECONDS = 60;

const guest = testGuest();
const missing = 'skip' in guest ? guest.skip : !existsSync(VIRSH) ? 'virsh is not installed' : false;
if (typeof missing === 'string' && !('skip' in guest)) {
  if (process.env.CI === 'true') throw new Error(`event virsh test: ${missing} (CI=true requires it)`);
  process.stderr.write(`*** event virsh test SKIPPED: ${missing} ***\n`);
}

/** A listener's whole stdout and exit code, once it ends. */
function listen(command: string, args: string[]): Promise<{ out: string; code: number | null }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  return new Promise((resolve) => child.on('close', (code) => resolve({ out, code })));
}

test('tsvirsh event prints what virsh event prints, through tsvirtd', { skip: missing, timeout: (LISTEN_SECONDS + 120) * 1000 }, async (t) => {
  if ('skip' in guest) return;
  const daemon = await spawnDaemon();
  t.after(() => daemon.stopWithGuests());
  const uri = daemon.uri('qemu', '/system');
  const both = (...args: string[]) => [listen(VIRSH, ['-c', uri, 'event', ...args]), listen(process.execPath, [tsvirsh, '-c', uri, 'event', ...args])];

  const all = both('--all', '--loop', '--timeout', String(LISTEN_SECONDS));
  const one = both('--event', 'lifecycle', '--timestamp', '--timeout', String(LISTEN_SECONDS));
  // both listeners register in their own time
  await new Promise((r) => setTimeout(r, 3000));
  const xmlFile = join(daemon.root, 'ev.xml');
  await writeFile(xmlFile, guestDomainXML({ name: 'ev', machine: 'q35', serialPath: join(daemon.root, 'ev.serial'), guest }));
  for (const args of [['define', xmlFile], ['start', 'ev'], ['suspend', 'ev'], ['resume', 'ev'], ['destroy', 'ev'], ['undefine', 'ev']]) {
    await run(VIRSH, ['-c', uri, ...args]);
  }
  const [theirs, ours] = await Promise.all(all);
  assert.equal(ours!.out, theirs!.out);
  assert.equal(ours!.code, theirs!.code);
  assert.match(ours!.out, /^event 'lifecycle' for domain 'ev': Defined Added\nevent 'lifecycle' for domain 'ev': Started Booted\n/);
  assert.match(ours!.out, /event loop timed out\nevents received: \d+\n\n$/);
  const [theirsOne, oursOne] = await Promise.all(one);
  const stamp = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+0000: /gm;
  assert.equal(oursOne!.out.replace(stamp, 'T: '), theirsOne!.out.replace(stamp, 'T: '));
  assert.match(oursOne!.out, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+0000: event 'lifecycle' for domain 'ev': Defined Added\nevents received: 1\n\n$/);

  const [listTheirs, listOurs] = await Promise.all(both('--list'));
  assert.equal(listOurs!.out, listTheirs!.out);
});
