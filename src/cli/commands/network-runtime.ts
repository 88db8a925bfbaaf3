// A network's runtime state: its DHCP leases and its ports (net-dhcp-leases,
// net-port-*). Drivers without these calls report libvirt's "not supported".
import type { NetworkRef } from '../../api/types.js';
import { CommandError, attempt } from '../errors.js';
import { readInputFile } from '../files.js';
import { optNetwork } from '../lookup.js';
import type { Handler, Invocation, Shell } from '../shell.js';
import { formatTable } from '../table.js';
import { dumpXml } from './domain.js';

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

/** The 16 bytes of a UUID in memory order, as virsh's port sorter compares them (memcmp). */
const uuidBytes = (uuid: string) => uuid.replace(/-/g, '').toLowerCase();

const netPortList: Handler = async (ctl, cmd) => {
  if (cmd.bool('table') && cmd.bool('uuid')) throw new CommandError(['Only one argument from --table and --uuid may be specified.']);
  const { net } = await optNetwork(ctl, cmd);
  const { ports } = await ctl.c.invoke('networkListAllPorts', { network: net, need_results: 1, flags: 0 });
  const uuids = ports.map((p) => p.uuid).sort((a, b) => (uuidBytes(a) < uuidBytes(b) ? -1 : uuidBytes(a) > uuidBytes(b) ? 1 : 0));
  if (cmd.bool('uuid')) ctl.print(uuids.map((u) => `${u}\n`).join(''));
  else ctl.print(formatTable(['UUID'], uuids.map((u) => [u]), true));
};

const netPortCreate: Handler = async (ctl, cmd) => {
  const { net } = await optNetwork(ctl, cmd);
  const file = cmd.required('file');
  const xml = readInputFile(file);
  const flags = cmd.bool('validate') ? 2 /* VIR_NETWORK_PORT_CREATE_VALIDATE */ : 0;
  const { port } = await attempt(`Failed to create network from ${file}`, ctl.c.invoke('networkPortCreateXML', { network: net, xml, flags }));
  ctl.printExtra(`Network port ${port.uuid} created from ${file}\n`);
};

/**
 * virshCommandOptNetworkPort: the port by UUID. virsh reports a failed lookup
 * without the library's error and, in net-port-dumpxml and net-port-delete,
 * still ends the command successfully; undefined then.
 */
async function optPort(ctl: Shell, cmd: Invocation, net: NetworkRef): Promise<{ net: NetworkRef; uuid: string } | undefined> {
  const uuid = cmd.required('port');
  try {
    return (await ctl.c.invoke('networkPortLookupByUUID', { network: net, uuid })).port;
  } catch {
    ctl.error(`failed to get network port '${uuid}'`);
    return undefined;
  }
}

const netPortDumpxml: Handler = async (ctl, cmd) => {
  const { net } = await optNetwork(ctl, cmd);
  const port = await optPort(ctl, cmd, net);
  if (port === undefined) return;
  const { xml } = await ctl.c.invoke('networkPortGetXMLDesc', { port, flags: 0 });
  dumpXml(ctl, xml, cmd.opts.find((o) => o.def.name === 'xpath')?.value || undefined, cmd.bool('wrap'));
};

const netPortDelete: Handler = async (ctl, cmd) => {
  const { net } = await optNetwork(ctl, cmd);
  const port = await optPort(ctl, cmd, net);
  if (port === undefined) return;
  await attempt(`Failed to delete network port ${port.uuid}`, ctl.c.invoke('networkPortDelete', { port, flags: 0 }));
  ctl.printExtra(`Network port ${port.uuid} deleted\n`);
};

export const handlers: Record<string, Handler> = {
  'net-dhcp-leases': netDhcpLeases,
  'net-port-list': netPortList,
  'net-port-create': netPortCreate,
  'net-port-dumpxml': netPortDumpxml,
  'net-port-delete': netPortDelete,
};
