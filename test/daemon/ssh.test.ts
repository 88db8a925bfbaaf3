// The remote driver's ssh transport: libvirt's ssh command line (the expectations of
// libvirt's virnetsockettest), then a real connection through a private sshd on a
// spare port (host key, authorized key and known_hosts in a temp dir, root by key
// only) whose far side is tsvirtd's socket through nc -U (libvirt's netcat proxy).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect } from '../../src/api/connection.js';
import { parseURI } from '../../src/driver/uri.js';
import { sshArgv, sshHelperCommand } from '../../src/drivers/remote/transport.js';
import { testDriverReady } from './contract-ready.js';
import { sshdUnavailable, startSshd, type PrivateSshd } from './private-sshd.js';
import { spawnDaemon, type SpawnedDaemon } from './spawn-daemon.js';

const NC = (netcat: string) => `if ${netcat} -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;${netcat} $ARG -U /tmp/socket`;

test("ssh's argv and far-side command are libvirt's", () => {
  const argv = (uri: string, command: string) => sshArgv(parseURI(uri), command).join(' ');
  assert.equal(argv('qemu+ssh://somehost/system', sshHelperCommand('auto', 'nc', '/tmp/socket', 'qemu:///system', false)), `-T -e none -- somehost sh -c '${NC("'nc'")}'`);
  assert.equal(
    argv('qemu+ssh://fred@somehost:9000/system?no_tty=1', sshHelperCommand('netcat', 'netcat', '/tmp/socket', 'qemu:///system', false)),
    `-p 9000 -l fred -T -e none -o BatchMode=yes -- somehost sh -c '${NC("'netcat'")}'`,
  );
  assert.equal(
    argv('qemu+ssh://example.com/system?keyfile=/root/.ssh/example_key&no_verify=1', 'X'),
    '-i /root/.ssh/example_key -T -e none -o StrictHostKeyChecking=no -- example.com X',
  );
  // two levels of shell quoting: ssh's remote shell, then sh -c
  assert.equal(sshHelperCommand('netcat', "n'c", '/tmp/socket', 'x', false), `sh -c '${NC("'''\\''n'\\''\\'\\'''\\''c'\\''''")}'`);
  assert.equal(
    sshHelperCommand('auto', null, '/tmp/socket', 'qemu:///session', true),
    `sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     virt-ssh-helper -r 'qemu:///session'; else    ${NC("'nc'")}; fi'`,
  );
  assert.equal(sshHelperCommand('native', null, '/tmp/socket', 'qemu:///session', true), "sh -c 'virt-ssh-helper -r 'qemu:///session''");
  assert.throws(() => sshHelperCommand('native', 'nc', '/tmp/socket', 'x', false), /netcat path not valid with native proxy mode/);
});

function loudSkip(reason: string): string {
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true requires it)`);
  process.stderr.write(`*** ${reason}: test SKIPPED ***\n`);
  return reason;
}

const unavailable = sshdUnavailable();
const skip = unavailable !== null ? loudSkip(unavailable) : ((await testDriverReady()) ?? false);

let sshd: PrivateSshd | undefined;
let daemon: SpawnedDaemon | undefined;
let uriBase: string;

before(async () => {
  if (skip) return;
  sshd = await startSshd();
  daemon = await spawnDaemon();
  uriBase = `${sshd.authority}/default?${sshd.params}&socket=${daemon.socket}`;
});

after(async () => {
  await sshd?.stop();
  await daemon?.stop();
});

test('the library API over ssh to tsvirtd (nc -U to its socket)', { skip }, async () => {
  const conn = await connect(`test+ssh://${uriBase}`);
  try {
    assert.equal(await conn.getType(), 'TEST');
    assert.deepEqual((await conn.listAllDomains()).map((d) => d.name), ['test']);
  } finally {
    await conn.close();
  }
});

test('real virsh over the same ssh transport', { skip }, () => {
  const out = execFileSync('virsh', ['-c', `test+ssh://${uriBase}`, 'list', '--all', '--name'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(out.trim(), 'test');
});

test('an ssh that cannot log in: its stderr in the error, as libvirt reports it', { skip }, async () => {
  const wrongKey = join(sshd!.dir, 'hostkey');
  await assert.rejects(connect(`test+ssh://${uriBase}&keyfile=${wrongKey}`), (e: Error) => {
    assert.match(e.message, /End of file while reading data: .*Permission denied/s);
    return true;
  });
});

const LIBVIRTD_SOCKET = '/run/libvirt/libvirt-sock';
const skipLibvirtd = skip || (existsSync(LIBVIRTD_SOCKET) && existsSync('/usr/bin/virt-ssh-helper') ? false : loudSkip('no running libvirtd with virt-ssh-helper'));

test("the library API over ssh to the real libvirtd: proxy=auto (the host's virt-ssh-helper) and netcat to its socket", { skip: skipLibvirtd }, async () => {
  for (const uri of [`qemu+ssh://${sshd!.authority}/system?${sshd!.params}`, `qemu+ssh://${sshd!.authority}/system?${sshd!.params}&proxy=netcat&socket=${LIBVIRTD_SOCKET}`]) {
    const conn = await connect(uri);
    try {
      assert.equal(await conn.getType(), 'QEMU', uri);
      assert.equal(await conn.getLibVersion(), 9000000, uri);
    } finally {
      await conn.close();
    }
  }
});
