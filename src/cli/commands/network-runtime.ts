// A network's runtime state: its DHCP leases and its ports (net-dhcp-leases,
// net-port-list). Drivers without these calls report libvirt's "not supported".
import { CommandError, attempt } from '../errors.js';
import { optNetwork } from '../lookup.js';
import type { Handler } from '../shell.js';

const netDhcpLeases: Handler = async (ctl, cmd) => {
  const mac = cmd.string('mac');
  const { net, name } = await optNetwork(ctl, cmd);
  await attempt(`Failed to get leases info for ${name}`, ctl.c.invoke('networkGetDHCPLeases', { net, mac: mac ?? null, need_results: 1, flags: 0 }));
};

const netPortList: Handler = async (ctl, cmd) => {
  if (cmd.bool('table') && cmd.bool('uuid')) throw new CommandError(['Only one argument from --table and --uuid may be specified.']);
  const { net } = await optNetwork(ctl, cmd);
  await ctl.c.invoke('networkListAllPorts', { network: net, need_results: 1, flags: 0 });
};

export const handlers: Record<string, Handler> = { 'net-dhcp-leases': netDhcpLeases, 'net-port-list': netPortList };
