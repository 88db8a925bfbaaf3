// dnsmasq's --dhcp-script for tsvirt networks, the counterpart of libvirt's
// libvirt_leaseshelper: keeps DIR/BRIDGE.status (a JSON array of the bridge's
// leases, libvirt's format) up to date on add/old/del, and answers "init" with
// the known leases, since dnsmasq runs with --leasefile-ro.
// Run by dnsmasq as: helper ACTION MAC IP [HOSTNAME], with VIR_BRIDGE_NAME and
// TSVIRT_LEASES_DIR in the environment (set by dnsmasq.ts).

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Lease {
  'ip-address': string;
  'mac-address': string;
  hostname?: string;
  'client-id'?: string;
  'expiry-time': number;
  iaid?: string;
}

function main(): void {
  const [action, mac, ip, hostname] = process.argv.slice(2);
  const bridge = process.env.VIR_BRIDGE_NAME;
  const dir = process.env.TSVIRT_LEASES_DIR;
  if (!bridge || !dir || !action) {
    process.stderr.write('leases-helper: VIR_BRIDGE_NAME, TSVIRT_LEASES_DIR and an action are required\n');
    process.exit(1);
  }
  const file = join(dir, `${bridge}.status`);
  let leases: Lease[] = [];
  try {
    leases = JSON.parse(readFileSync(file, 'utf8')) as Lease[];
  } catch {
    leases = [];
  }
  const now = Math.floor(Date.now() / 1000);
  leases = leases.filter((l) => l['expiry-time'] === 0 || l['expiry-time'] > now);
  if (action === 'init') {
    for (const l of leases) process.stdout.write(`${l['expiry-time']} ${l['mac-address']} ${l['ip-address']} ${l.hostname ?? '*'} ${l['client-id'] ?? '*'}\n`);
    return;
  }
  if (!mac || !ip) return;
  leases = leases.filter((l) => l['ip-address'] !== ip);
  if (action === 'add' || action === 'old') {
    const expires = Number(process.env.DNSMASQ_LEASE_EXPIRES ?? 0);
    const lease: Lease = { 'ip-address': ip, 'mac-address': mac, 'expiry-time': expires };
    if (hostname) lease.hostname = hostname;
    if (process.env.DNSMASQ_CLIENT_ID) lease['client-id'] = process.env.DNSMASQ_CLIENT_ID;
    if (process.env.DNSMASQ_IAID) lease.iaid = process.env.DNSMASQ_IAID;
    leases.push(lease);
  }
  const tmp = `${file}.new`;
  writeFileSync(tmp, `${JSON.stringify(leases, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, file);
}

main();
