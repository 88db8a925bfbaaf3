// A network's runtime state: its DHCP leases and its ports (net-dhcp-leases,
// net-port-list). Drivers without these calls report libvirt's "not supported".
import { CommandError, attempt } from '../errors.js';
import { optNetwork } from '../lookup.js';
import type { Handler } from '../shell.js';
import { formatTable } from '../table.js';

const netDhcpLeases: Handler = async (ctl, cmd) => {
  const mac = cmd.string('mac');
  const { net, name } = await optNetwork(ctl, cmd);
  const { leases } = await attempt(`Failed to get leases info for ${name}`, ctl.c.invoke('networkGetDHCPLeases', { net, mac: mac ?? null, need_results: 1, flags: 0 }));
  // virsh sorts by MAC, case-insensitively
  const sorted = [...leases].sort((a, b) => (a.mac ?? '').toLowerCase().localeCompare((b.mac ?? '').toLowerCase()));
  const rows = sorted.map((l) => [
    localTime(Number(l.expirytime)),
    l.mac ?? '-',
    l.type === 0 ? 'ipv4' : l.type === 1 ? 'ipv6' : '-',
    `${l.ipaddr}/${l.prefix}`,
    l.hostname ?? '-',
    l.clientid ?? '-',
  ]);
  ctl.print(formatTable(['Expiry Time', 'MAC address', 'Protocol', 'IP address', 'Hostname', 'Client ID or DUID'], rows, !ctl.quiet));
};

/** g_date_time_format(..., "%Y-%m-%d %H:%M:%S") in local time. */
function localTime(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const netPortList: Handler = async (ctl, cmd) => {
  if (cmd.bool('table') && cmd.bool('uuid')) throw new CommandError(['Only one argument from --table and --uuid may be specified.']);
  const { net } = await optNetwork(ctl, cmd);
  await ctl.c.invoke('networkListAllPorts', { network: net, need_results: 1, flags: 0 });
};

export const handlers: Record<string, Handler> = { 'net-dhcp-leases': netDhcpLeases, 'net-port-list': netPortList };
