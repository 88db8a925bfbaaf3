// End to end through run(): separator newlines, -q, exit status of the last
// command, parse errors aborting everything, global options, default URI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRoot, defaultUri, run } from '../../src/cli/main.js';

async function tsvirsh(...argv: string[]): Promise<{ out: string; err: string; rc: number }> {
  let out = '';
  let err = '';
  const rc = await run(argv, { out: (t) => void (out += t), err: (t) => void (err += t) }, {});
  return { out, err, rc };
}

test('every command is followed by a newline on stdout; echo prints none itself', async () => {
  assert.deepEqual(await tsvirsh('-c', 'test:///default', 'echo a; echo b'), { out: 'a\nb\n', err: '', rc: 0 });
});

test('-q drops the separators and informational messages', async () => {
  const r = await tsvirsh('-q', '-c', 'test:///default', 'echo a; echo b; autostart test --disable');
  assert.deepEqual(r, { out: 'ab', err: '', rc: 0 });
});

test('the exit status is that of the last command', async () => {
  const failLast = await tsvirsh('-c', 'test:///default', 'echo ok; domstate nosuch');
  assert.equal(failLast.rc, 1);
  assert.equal(failLast.err, "error: failed to get domain 'nosuch'\n");
  assert.equal(failLast.out, 'ok\n\n');
  assert.equal((await tsvirsh('-c', 'test:///default', 'domstate nosuch; echo x')).rc, 0);
});

test('a parse error anywhere aborts the whole string before anything runs', async () => {
  assert.deepEqual(await tsvirsh('-c', 'test:///default', 'echo before; frobnicate; echo after'), {
    out: '',
    err: "error: unknown command: 'frobnicate'\n",
    rc: 1,
  });
});

test('quit stops the chain without a separator', async () => {
  assert.deepEqual(await tsvirsh('-c', 'test:///default', 'echo start; quit; echo never'), { out: 'start\n', err: '', rc: 0 });
});

test('echo --err prints an error line and still succeeds', async () => {
  assert.deepEqual(await tsvirsh('-c', 'test:///default', 'echo --err went wrong'), { out: '\n', err: 'error: went wrong\n', rc: 0 });
});

test('lifecycle messages and tables come from the connection', async () => {
  const r = await tsvirsh('-c', 'test:///default', 'destroy test; list --all; start test');
  assert.equal(r.out, "Domain 'test' destroyed\n\n Id   Name   State\n-----------------------\n -    test   shut off\n\nDomain 'test' started\n\n");
  assert.equal(r.rc, 0);
});

test('global options: --version, unknown options, missing arguments', async () => {
  assert.deepEqual(await tsvirsh('--version'), { out: '9.0.0\n', err: '', rc: 0 });
  assert.deepEqual(await tsvirsh('--bogus'), { out: '', err: "error: unsupported option '--bogus'. See --help.\n", rc: 1 });
  assert.deepEqual(await tsvirsh('-x'), { out: '', err: "error: unsupported option '-x'. See --help.\n", rc: 1 });
  assert.deepEqual(await tsvirsh('-c'), { out: '', err: "error: option '-c'/'--connect' requires an argument\n", rc: 1 });
  const help = await tsvirsh('-h');
  assert.match(help.out, /^\ntsvirsh \[options\]\.\.\. \[<command_string>\]\n/);
});

test('-e takes virsh\'s escape sequences: ^ with a letter or one of @[\\]^_, or one other character', async () => {
  for (const bad of ['xx', '^', '^1', '^!', '']) {
    assert.deepEqual(await tsvirsh('-e', bad, '-c', 'test:///default', 'echo a'), { out: '', err: `error: Invalid string '${bad}' for escape sequence\n`, rc: 1 }, bad);
  }
  for (const good of ['^Q', '^q', '^]', '^_', '~']) assert.equal((await tsvirsh('-e', good, '-c', 'test:///default', 'echo a')).rc, 0, good);
});

test('a connection failure stops before any command', async () => {
  const r = await tsvirsh('-c', 'nosuchdriver:///x', 'echo a');
  assert.equal(r.out, '');
  assert.equal(r.rc, 1);
  assert.match(r.err, /^error: failed to connect to the hypervisor\nerror: /);
});

test('default URI: LIBVIRT_DEFAULT_URI, else the embedded qemu driver under a per-user root', () => {
  assert.equal(defaultUri({ LIBVIRT_DEFAULT_URI: 'test:///default' }), 'test:///default');
  assert.equal(defaultRoot({ HOME: '/home/u' }, 1000), '/home/u/.local/share/tsvirt');
  assert.equal(defaultRoot({ HOME: '/home/u', XDG_DATA_HOME: '/data' }, 1000), '/data/tsvirt');
  assert.equal(defaultRoot({}, 0), '/var/lib/tsvirt');
  assert.equal(defaultUri({ HOME: '/home/u' }), `qemu:///embed?root=${defaultRoot({ HOME: '/home/u' })}`);
});
