// The rows of issue #13's table that need a real QEMU (or the whole tsvirsh):
// graphics autoport, status files naming foreign pids, interrupted starts,
// links planted at files tsvirt creates, and definitions tsvirt must refuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, createServer, type Server } from 'node:net';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { guestDomainXML, Sandbox, testGuest } from './guest.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;

function define(sb: Sandbox, name: string, devices = '', extra = ''): Promise<void> {
  if ('skip' in guest) throw new Error('unreachable');
  return sb.define(guestDomainXML({ name, machine: 'q35', serialPath: sb.file(`${name}.serial`), guest, devices, extra }));
}

/** The first bytes a TCP server sends (VNC's "RFB 003.008\n"). */
function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.once('data', (d) => {
      resolve(d.toString('latin1'));
      s.destroy();
    });
    s.once('error', reject);
  });
}

function graphicsPorts(xml: string): { port: number; websocket: number } {
  const g = /<graphics type='vnc' port='(\d+)' autoport='yes' websocket='(\d+)'/.exec(xml);
  assert.ok(g, xml);
  return { port: Number(g[1]), websocket: Number(g[2]) };
}

test('VNC autoport: guests get free ports from 5900 (one in use is skipped), websockets from 5700; a stopped guest\'s port is free again', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  const vnc = "<graphics type='vnc' autoport='yes' websocket='-1'><listen type='address' address='127.0.0.1'/></graphics>";
  for (const name of ['g1', 'g2', 'g3']) await define(sb, name, vnc);
  await sb.ok('start', 'g1');
  const first = graphicsPorts((await sb.ok('dumpxml', 'g1')).stdout);
  // a port someone else holds
  const held: Server = createServer();
  await new Promise<void>((r) => held.listen(first.port + 1, '0.0.0.0', () => r()));
  t.after(() => held.close());
  await sb.ok('start', 'g2');
  const second = graphicsPorts((await sb.ok('dumpxml', 'g2')).stdout);
  assert.ok(first.port >= 5900 && first.websocket >= 5700, JSON.stringify(first));
  assert.ok(second.port > first.port + 1, `the port in use (${first.port + 1}) is skipped: ${second.port}`);
  assert.notEqual(second.websocket, first.websocket);
  assert.match(await greeting(first.port), /^RFB 003\.008/);
  assert.match(await greeting(second.port), /^RFB 003\.008/);
  await sb.ok('destroy', 'g1');
  await sb.ok('start', 'g3');
  assert.equal(graphicsPorts((await sb.ok('dumpxml', 'g3')).stdout).port, first.port, 'g1\'s port was released at stop');
  // the persistent definition keeps asking for autoport
  assert.match((await sb.ok('dumpxml', '--inactive', 'g3')).stdout, /<graphics type='vnc' port='-1' autoport='yes' websocket='-1'/);
});

test('a status file naming a foreign pid (starttime 0): nothing is signalled, the file is kept and reported', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await define(sb, 'victim');
  await sb.ok('start', 'victim');
  const [qemu] = sb.qemuPids();
  const bystander = spawn('sleep', ['300'], { stdio: 'ignore' });
  t.after(() => bystander.kill('SIGKILL'));
  const file = sb.statusFile('victim');
  const original = readFileSync(file, 'utf8');
  writeFileSync(file, original.replace(/ pid='\d+' starttime='\d+'/, ` pid='${bystander.pid}' starttime='0'`));
  const r = await sb.run('destroy', 'victim');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`status file '[^']*victim\\.xml' names process ${bystander.pid}, which is not a QEMU this driver started`));
  assert.equal(bystander.exitCode, null, 'the unrelated process lives');
  assert.ok(existsSync(`/proc/${bystander.pid}`));
  assert.deepEqual(sb.qemuPids(), [qemu], 'QEMU is neither killed nor orphaned');
  assert.ok(existsSync(file));
  assert.notEqual((await sb.run('start', 'victim')).code, 0, 'no second QEMU');
  assert.deepEqual(sb.qemuPids(), [qemu]);
  // the administrator puts the true file back: everything works again
  writeFileSync(file, original);
  await sb.ok('destroy', 'victim');
  assert.deepEqual(sb.qemuPids(), []);
});

test('a start interrupted after QEMU was spawned (still "paused (starting up)") is undone by the next tsvirsh', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await define(sb, 'half');
  await sb.ok('start', '--paused', 'half');
  assert.equal(sb.qemuPids().length, 1);
  // what a tsvirsh killed between QEMU's exec and `cont` leaves behind
  const file = sb.statusFile('half');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/ reason='user'/, " reason='starting up'"));
  assert.match((await sb.ok('list', '--all')).stdout, /half\s+shut off/);
  assert.deepEqual(sb.qemuPids(), []);
  assert.equal((await sb.ok('domstate', '--reason', 'half')).stdout.trim(), 'shut off (failed)');
  assert.ok(!existsSync(file));
});

test('links planted at NAME.log and master-key.aes are not followed', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await define(sb, 'linked');
  const victim = sb.file('victim');
  writeFileSync(victim, 'precious\n');
  const logDir = path.join(sb.root, 'log', 'qemu');
  mkdirSync(logDir, { recursive: true });
  symlinkSync(victim, path.join(logDir, 'linked.log'));
  const r = await sb.run('start', 'linked');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /ELOOP|symbolic link/);
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n', 'nothing appended through the log link');
  assert.deepEqual(sb.qemuPids(), []);

  // the next domain id is 2 (the failed start took 1): plant the key link in its folder
  await sb.ok('undefine', 'linked');
  await define(sb, 'keyed');
  const domainDir = path.join(sb.root, 'lib', 'qemu', 'domain-2-keyed');
  mkdirSync(domainDir, { recursive: true });
  symlinkSync(victim, path.join(domainDir, 'master-key.aes'));
  await sb.ok('start', 'keyed');
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n', 'the key was not written through the link');
  await sb.ok('destroy', 'keyed');
});

test('qemu:env names libvirt refuses are refused ("Invalid environment name")', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  const ns = "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'";
  const xml = (env: string) => `<domain type='qemu' ${ns}><name>envy</name><memory>65536</memory><os><type>hvm</type></os>
  <qemu:commandline><qemu:env name='${env}' value='x'/></qemu:commandline></domain>`;
  const file = sb.file('envy.xml');
  writeFileSync(file, xml('A B$(x)'));
  const bad = await sb.run('define', file);
  assert.match(bad.stderr, /error: internal error: Invalid environment name, it must contain only alphanumerics and underscore/);
  writeFileSync(file, xml('1A'));
  assert.match((await sb.run('define', file)).stderr, /Invalid environment name, it must begin with a letter or underscore/);
  writeFileSync(file, xml('_GOOD_1'));
  await sb.ok('define', file);
});

test('a definition that would format beyond what tsvirt reads back is refused at define; the domain list stays readable', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await define(sb, 'small');
  // 3 MiB of '>' in the input become 12 MiB of '&gt;' in the formatted config
  const file = sb.file('big.xml');
  writeFileSync(file, `<domain type='qemu'><name>big</name><memory>65536</memory><description>${'>'.repeat(3 * 1024 * 1024)}</description><os><type>hvm</type></os></domain>`);
  const r = await sb.run('define', file);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /the configuration of domain 'big' would take \d+ bytes, over the 10485760 byte limit of XML tsvirt reads back/);
  assert.match((await sb.ok('list', '--all', '--name')).stdout, /^small\n/);
  assert.ok(!existsSync(path.join(sb.root, 'etc', 'qemu', 'big.xml')));
});
