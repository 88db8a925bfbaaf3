// net-update --live and the network's dnsmasq, as libvirt's networkUpdate
// treats it: static hosts (ip-dhcp-host, dns-host) rewrite its hosts files and
// SIGHUP the same process, which then answers for the new name; sections on its
// command line (ip-dhcp-range, dns-txt, dns-srv) restart it; switching DHCP on
// with a first host restarts it; portgroups leave it alone. Inside a namespace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NetworkNamespace, namespaceSkipReason } from './namespace.js';

const TSVIRSH = fileURLToPath(new URL('../../../bin/tsvirsh', import.meta.url));

test('net-update --live SIGHUPs dnsmasq for hosts and restarts it for its command line, as libvirt', (t) => {
  const skip = namespaceSkipReason();
  if (skip) return t.skip(skip);
  const ns = new NetworkNamespace('netupd');
  const dir = mkdtempSync(join(tmpdir(), 'tsvirt-netupd-'));
  // dnsmasq re-reads its hosts files as an unprivileged user: the state root must be searchable, as /var/lib is
  chmodSync(dir, 0o755);
  const tsvirsh = (...args: string[]) => {
    const r = ns.run([TSVIRSH, '-c', `qemu:///embed?root=${dir}`, ...args]);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  };
  const pidOf = (name: string) => Number(readFileSync(join(dir, 'run', 'network', `${name}.pid`), 'utf8'));
  const alive = (pid: number) => spawnSync('kill', ['-0', String(pid)]).status === 0;
  try {
    writeFileSync(join(dir, 'upd.xml'), "<network><name>upd</name><ip address='10.232.0.1' prefix='24'><dhcp><range start='10.232.0.10' end='10.232.0.20'/></dhcp></ip></network>");
    writeFileSync(join(dir, 'nodhcp.xml'), "<network><name>nodhcp</name><bridge name='virbr-nd'/><ip address='10.233.0.1' prefix='24'/></network>");
    tsvirsh('net-create', join(dir, 'upd.xml'));
    tsvirsh('net-create', join(dir, 'nodhcp.xml'));
    const first = pidOf('upd');

    tsvirsh('net-update', 'upd', 'add', 'dns-host', "<host ip='10.232.0.7'><hostname>seven</hostname></host>", '--live');
    tsvirsh('net-update', 'upd', 'add', 'ip-dhcp-host', "<host mac='52:54:00:00:00:07' name='eight' ip='10.232.0.8'/>", '--live');
    tsvirsh('net-update', 'upd', 'add', 'portgroup', "<portgroup name='pg'/>", '--live');
    assert.equal(pidOf('upd'), first, 'hosts and portgroups keep the same dnsmasq');
    assert.ok(alive(first));
    assert.match(readFileSync(join(dir, 'lib', 'dnsmasq', 'upd.addnhosts'), 'utf8'), /^10\.232\.0\.7\tseven\t/m);
    // the SIGHUP made dnsmasq (no longer root by then) re-read its hosts: it answers a client on the bridge for the name
    if (spawnSync('busybox', ['nslookup', '--help']).error === undefined) {
      const client = new NetworkNamespace('netupdc');
      try {
        spawnSync('ip', ['link', 'add', 'cl0', 'netns', ns.name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client.name]);
        ns.exec(['ip', 'link', 'set', 'cl0', 'master', 'virbr0', 'up']);
        client.exec(['ip', 'addr', 'add', '10.232.0.50/24', 'dev', 'eth0']);
        client.exec(['ip', 'link', 'set', 'eth0', 'up']);
        let answer = '';
        for (let i = 0; i < 20 && !answer.includes('10.232.0.7'); i++) {
          answer = client.run(['busybox', 'nslookup', '-type=a', 'seven', '10.232.0.1']).stdout;
          if (!answer.includes('10.232.0.7')) spawnSync('sleep', ['0.3']);
        }
        assert.match(answer, /Address: 10\.232\.0\.7/, answer);
      } finally {
        client.delete();
      }
    } else t.diagnostic('busybox nslookup is missing: the DNS answer is not checked');

    tsvirsh('net-update', 'upd', 'add', 'dns-txt', "<txt name='t' value='v'/>", '--live');
    const second = pidOf('upd');
    assert.notEqual(second, first, 'dns-txt is on dnsmasq\'s command line: restarted');
    // SIGTERM'd; gone once it has exited and init has reaped it
    for (let i = 0; i < 50 && alive(first); i++) spawnSync('sleep', ['0.1']);
    assert.equal(alive(first), false);
    tsvirsh('net-update', 'upd', 'add', 'ip-dhcp-range', "<range start='10.232.0.30' end='10.232.0.40'/>", '--live');
    assert.notEqual(pidOf('upd'), second, 'a new range restarts dnsmasq');

    const quiet = pidOf('nodhcp');
    tsvirsh('net-update', 'nodhcp', 'add', 'ip-dhcp-host', "<host mac='52:54:00:00:00:08' ip='10.233.0.8'/>", '--live');
    assert.notEqual(pidOf('nodhcp'), quiet, 'the first DHCP host switches DHCP on: restarted');
    assert.match(readFileSync(join(dir, 'lib', 'dnsmasq', 'nodhcp.conf'), 'utf8'), /^dhcp-hostsfile=/m);
    tsvirsh('net-destroy', 'upd');
    tsvirsh('net-destroy', 'nodhcp');
  } finally {
    ns.delete();
    rmSync(dir, { recursive: true, force: true });
  }
});
