// Networking commands (net-*).
import type { NetworkRef } from '../../api/types.js';
import { CommandError, attempt } from '../errors.js';
import { editCycle, inactiveXml } from '../edit.js';
import { readInputFile } from '../files.js';
import { optNetwork } from '../lookup.js';
import { byName } from '../order.js';
import type { Handler, Shell } from '../shell.js';
import { formatTable } from '../table.js';
import { dumpXml } from './domain.js';

const LIST_ACTIVE = 2;
const LIST_INACTIVE = 1;
const NET_FILTERS: [string, number][] = [
  ['persistent', 4],
  ['transient', 8],
  ['autostart', 16],
  ['no-autostart', 32],
];

const isActive = async (ctl: Shell, net: NetworkRef) => (await ctl.c.invoke('networkIsActive', { net })).active !== 0;
const isPersistent = async (ctl: Shell, net: NetworkRef) => (await ctl.c.invoke('networkIsPersistent', { net })).persistent !== 0;
const getAutostart = async (ctl: Shell, net: NetworkRef) => (await ctl.c.invoke('networkGetAutostart', { net })).autostart !== 0;
const getXMLDesc = async (ctl: Shell, net: NetworkRef, flags: number) => (await ctl.c.invoke('networkGetXMLDesc', { net, flags })).xml;

const netList: Handler = async (ctl, cmd) => {
  let flags = LIST_ACTIVE;
  if (cmd.bool('inactive')) flags = LIST_INACTIVE;
  if (cmd.bool('all')) flags = LIST_ACTIVE | LIST_INACTIVE;
  for (const [opt, bit] of NET_FILTERS) if (cmd.bool(opt)) flags |= bit;
  const optName = cmd.bool('name');
  const optUUID = cmd.bool('uuid');
  if (Number(cmd.bool('table')) + Number(optName) + Number(optUUID) > 1) {
    throw new CommandError(['Only one argument from --table, --name and --uuid may be specified.']);
  }
  const nets = byName(await attempt('Failed to list networks', ctl.c.invoke('connectListAllNetworks', { need_results: 1, flags }).then((r) => r.nets)));
  if (optUUID || optName) {
    for (const n of nets) ctl.print(`${optUUID ? n.uuid : n.name}\n`);
    return;
  }
  const rows: string[][] = [];
  for (const n of nets) {
    const autostart = await getAutostart(ctl, n).then(
      (a) => (a ? 'yes' : 'no'),
      () => 'no autostart',
    );
    const active = await isActive(ctl, n);
    const persistent = await isPersistent(ctl, n);
    rows.push([n.name, active ? 'active' : 'inactive', autostart, persistent ? 'yes' : 'no']);
  }
  ctl.print(formatTable(['Name', 'State', 'Autostart', 'Persistent'], rows, !ctl.quiet));
};

const netInfo: Handler = async (ctl, cmd) => {
  const { net } = await optNetwork(ctl, cmd);
  const line = (label: string, value: string) => ctl.print(`${label.padEnd(15)} ${value}\n`);
  line('Name:', net.name);
  line('UUID:', net.uuid);
  const active = await isActive(ctl, net).catch(() => undefined);
  if (active !== undefined) line('Active:', active ? 'yes' : 'no');
  const persistent = await isPersistent(ctl, net).catch(() => undefined);
  line('Persistent:', persistent === undefined ? 'unknown' : persistent ? 'yes' : 'no');
  const autostart = await getAutostart(ctl, net).catch(() => undefined);
  line('Autostart:', autostart === undefined ? 'no autostart' : autostart ? 'yes' : 'no');
  const bridge = await ctl.c.invoke('networkGetBridgeName', { net }).then((r) => r.name, () => undefined);
  if (bridge) line('Bridge:', bridge);
};

const netDumpxml: Handler = async (ctl, cmd) => {
  const { net } = await optNetwork(ctl, cmd);
  const xml = await getXMLDesc(ctl, net, cmd.bool('inactive') ? 1 : 0);
  dumpXml(ctl, xml, cmd.opts.find((o) => o.def.name === 'xpath')?.value || undefined, cmd.bool('wrap'));
};

const netUuid: Handler = async (ctl, cmd) => {
  const { net } = await optNetwork(ctl, cmd, { name: true });
  ctl.print(`${net.uuid}\n`);
};

const netName: Handler = async (ctl, cmd) => {
  const { net } = await optNetwork(ctl, cmd, { uuid: true });
  ctl.print(`${net.name}\n`);
};

/** net-define / net-create: read the file, call the API, report like virsh. */
function fromFile(call: 'defineNetwork' | 'createNetwork', verb: string, done: string): Handler {
  return async (ctl, cmd) => {
    const file = cmd.required('file');
    const flags = cmd.bool('validate') ? 1 : 0;
    const xml = readInputFile(file);
    const net = await attempt(`Failed to ${verb} network from ${file}`, ctl.c[call](xml, flags));
    ctl.printExtra(`Network ${net.name} ${done} from ${file}\n`);
  };
}

/** Commands that act on one network: "Network X <done>" or "Failed to <verb> network X". */
function action(verb: string, done: string, call: (ctl: Shell, net: NetworkRef) => Promise<unknown>): Handler {
  return async (ctl, cmd) => {
    const { net, name } = await optNetwork(ctl, cmd);
    await attempt(`Failed to ${verb} network ${name}`, call(ctl, net));
    ctl.printExtra(`Network ${name} ${done}\n`);
  };
}

const netAutostart: Handler = async (ctl, cmd) => {
  const { net, name } = await optNetwork(ctl, cmd);
  const on = !cmd.bool('disable');
  await attempt(on ? `failed to mark network ${name} as autostarted` : `failed to unmark network ${name} as autostarted`, ctl.c.invoke('networkSetAutostart', { net, autostart: on ? 1 : 0 }));
  ctl.printExtra(on ? `Network ${name} marked as autostarted\n` : `Network ${name} unmarked as autostarted\n`);
};

const UPDATE_COMMANDS = ['none', 'modify', 'delete', 'add-last', 'add-first'];
const UPDATE_SECTIONS = ['none', 'bridge', 'domain', 'ip', 'ip-dhcp-host', 'ip-dhcp-range', 'forward', 'forward-interface', 'forward-pf', 'portgroup', 'dns-host', 'dns-txt', 'dns-srv'];

const netUpdate: Handler = async (ctl, cmd) => {
  cmd.exclusive('current', 'live');
  cmd.exclusive('current', 'config');
  const { net } = await optNetwork(ctl, cmd);
  const commandText = cmd.required('command');
  const command = commandText === 'add' ? 3 : UPDATE_COMMANDS.indexOf(commandText);
  if (command <= 0) throw new CommandError([`unrecognized command name '${commandText}'`]);
  const sectionText = cmd.required('section');
  const section = UPDATE_SECTIONS.indexOf(sectionText);
  if (section <= 0) throw new CommandError([`unrecognized section name '${sectionText}'`]);
  const parentIndex = cmd.number('parent-index', -(2 ** 31), 2 ** 31 - 1) ?? -1;
  let xml = cmd.required('xml');
  if (!xml.startsWith('<')) xml = readInputFile(xml);
  const config = cmd.bool('config');
  const live = cmd.bool('live');
  const flags = (config ? 2 : 0) | (live ? 1 : 0);
  await attempt(`Failed to update network ${net.name}`, ctl.c.invoke('networkUpdate', { net, command, section, parentIndex, xml, flags }));
  let what: string;
  if (config) what = live ? 'persistent config and live state' : 'persistent config';
  else if (live || (await isActive(ctl, net))) what = 'live state';
  else what = 'persistent config';
  ctl.printExtra(`Updated network ${net.name} ${what}`);
};

const netEdit: Handler = async (ctl, cmd) => {
  const { net } = await optNetwork(ctl, cmd);
  let edited: NetworkRef | undefined;
  const changed = await editCycle(ctl, {
    get: () => inactiveXml((flags) => getXMLDesc(ctl, net, flags)),
    define: async (text) => {
      edited = (await ctl.c.invoke('networkDefineXML', { xml: text })).net;
    },
    notChanged: `Network ${net.name} XML configuration not changed.\n`,
  });
  if (changed) ctl.printExtra(`Network ${edited!.name} XML configuration edited.\n`);
};

export const handlers: Record<string, Handler> = {
  'net-edit': netEdit,
  'net-list': netList,
  'net-info': netInfo,
  'net-dumpxml': netDumpxml,
  'net-uuid': netUuid,
  'net-name': netName,
  'net-define': fromFile('defineNetwork', 'define', 'defined'),
  'net-create': fromFile('createNetwork', 'create', 'created'),
  'net-start': action('start', 'started', (ctl, net) => ctl.c.invoke('networkCreate', { net })),
  'net-destroy': action('destroy', 'destroyed', (ctl, net) => ctl.c.invoke('networkDestroy', { net })),
  'net-undefine': action('undefine', 'has been undefined', (ctl, net) => ctl.c.invoke('networkUndefine', { net })),
  'net-autostart': netAutostart,
  'net-update': netUpdate,
};
