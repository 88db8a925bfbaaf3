// Real virsh, one process per round (connect, list --all, close), against tsvirtd
// and against the host's libvirtd over each transport both can be reached by in
// the same run: unix socket, ssh (the same private sshd, nc -U to each daemon's
// socket), and tsvirtd's TCP and TLS (libvirtd is not reconfigured to listen).
// Prints ms per round and libvirtd/tsvirtd ratios (above 1: tsvirtd is faster).
//
//   node dist/bench/network.js [--rounds N]

import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { freePort, makeTestPki } from '../test/daemon/pki.js';
import { sshdUnavailable, startSshd } from '../test/daemon/private-sshd.js';
import { spawnDaemon } from '../test/daemon/spawn-daemon.js';

const LIBVIRTD_SOCKET = '/run/libvirt/libvirt-sock';
const i = process.argv.indexOf('--rounds');
const rounds = i > 0 ? Number(process.argv[i + 1]) : 30;

function virsh(uri: string): Promise<void> {
  return new Promise((resolve, reject) => execFile('virsh', ['-c', uri, 'list', '--all'], (e, _out, err) => (e ? reject(new Error(`${uri}: ${err}`)) : resolve())));
}

/** ms per round, after one warm-up round */
async function measure(uri: string): Promise<number> {
  await virsh(uri);
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) await virsh(uri);
  return (performance.now() - t0) / rounds;
}

const pki = makeTestPki();
const [tlsPort, tcpPort] = [await freePort(), await freePort()];
const daemon = await spawnDaemon(`listen_tcp = 1\nauth_tcp = "none"\ntls_port = "${tlsPort}"\ntcp_port = "${tcpPort}"\n`, { args: ['--listen'], prepare: (root) => pki.installServer(root) });
const sshd = sshdUnavailable() === null ? await startSshd() : null;
const withLibvirtd = existsSync(LIBVIRTD_SOCKET);
try {
  console.log(`${rounds} rounds of \`virsh -c URI list --all\` on test:///default${withLibvirtd ? '' : '; no libvirtd on this host'}${sshd ? '' : `; no ssh: ${sshdUnavailable()}`}`);
  const rows: Array<[string, string, string | null]> = [
    ['unix', daemon.uri(), withLibvirtd ? `test+unix:///default?socket=${LIBVIRTD_SOCKET}` : null],
    ['tcp', `test+tcp://127.0.0.1:${tcpPort}/default`, null],
    ['tls', `test+tls://localhost:${tlsPort}/default?pkipath=${pki.clientPkiPath}`, null],
  ];
  if (sshd) {
    const ssh = (socket: string) => `test+ssh://${sshd.authority}/default?${sshd.params}&socket=${socket}`;
    rows.push(['ssh (nc -U)', ssh(daemon.socket), withLibvirtd ? ssh(LIBVIRTD_SOCKET) : null]);
  }
  for (const [label, ts, lv] of rows) {
    const tsMs = await measure(ts);
    let line = `${label.padEnd(12)} tsvirtd ${tsMs.toFixed(1)} ms`;
    if (lv) {
      const lvMs = await measure(lv);
      line += `   libvirtd ${lvMs.toFixed(1)} ms   libvirtd/tsvirtd = ${(lvMs / tsMs).toFixed(2)}`;
    }
    console.log(line);
  }
} finally {
  await sshd?.stop();
  await daemon.stop();
  rmSync(pki.dir, { recursive: true, force: true });
}
