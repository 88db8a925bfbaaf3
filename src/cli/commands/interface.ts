// Host interface commands (iface-*).
import type { InterfaceRef } from '../../api/types.js';
import { CommandError, attempt } from '../errors.js';
import { editCycle } from '../edit.js';
import { readInputFile } from '../files.js';
import { optInterface } from '../lookup.js';
import { byName } from '../order.js';
import type { Handler, Shell } from '../shell.js';
import { formatTable } from '../table.js';
import { dumpXml } from './domain.js';

const getXMLDesc = async (ctl: Shell, iface: InterfaceRef, flags: number) => (await ctl.c.invoke('interfaceGetXMLDesc', { iface, flags })).xml;

const ifaceList: Handler = async (ctl, cmd) => {
  cmd.exclusive('all', 'inactive');
  let flags = 2;
  if (cmd.bool('inactive')) flags = 1;
  if (cmd.bool('all')) flags = 3;
  const ifaces = byName(await attempt('Failed to list interfaces', ctl.c.invoke('connectListAllInterfaces', { need_results: 1, flags }).then((r) => r.ifaces)));
  const rows: string[][] = [];
  for (const i of ifaces) {
    const { active } = await ctl.c.invoke('interfaceIsActive', { iface: i });
    rows.push([i.name, active ? 'active' : 'inactive', i.mac]);
  }
  ctl.print(formatTable(['Name', 'State', 'MAC Address'], rows, !ctl.quiet));
};

const ifaceDumpxml: Handler = async (ctl, cmd) => {
  const { iface } = await optInterface(ctl, cmd);
  const xml = await getXMLDesc(ctl, iface, cmd.bool('inactive') ? 1 : 0);
  dumpXml(ctl, xml, cmd.opts.find((o) => o.def.name === 'xpath')?.value || undefined, cmd.bool('wrap'));
};

const ifaceName: Handler = async (ctl, cmd) => {
  const { iface } = await optInterface(ctl, cmd, 'interface', { mac: true });
  ctl.print(`${iface.name}\n`);
};

const ifaceMac: Handler = async (ctl, cmd) => {
  const { iface } = await optInterface(ctl, cmd, 'interface', { name: true });
  ctl.print(`${iface.mac}\n`);
};

/**
 * iface-start / iface-destroy / iface-undefine: "Interface X <done>" or "Failed to <verb> interface X".
 * virsh 9.0's iface-destroy reports failure (exit status 1, no message) even when it worked; scripts see that.
 */
function action(verb: string, done: string, call: (ctl: Shell, iface: InterfaceRef) => Promise<void>, failsAnyway = false): Handler {
  return async (ctl, cmd) => {
    const { iface, name } = await optInterface(ctl, cmd);
    await attempt(`Failed to ${verb} interface ${name}`, call(ctl, iface));
    ctl.printExtra(`Interface ${name} ${done}\n`);
    if (failsAnyway) throw new CommandError([]);
  };
}

const ifaceDefine: Handler = async (ctl, cmd) => {
  const file = cmd.required('file');
  const xml = readInputFile(file);
  const iface = await attempt(`Failed to define interface from ${file}`, ctl.c.invoke('interfaceDefineXML', { xml, flags: cmd.bool('validate') ? 1 : 0 }).then((r) => r.iface));
  ctl.printExtra(`Interface ${iface.name} defined from ${file}\n`);
};

/** iface-begin / iface-commit / iface-rollback: host network config transactions. */
function transaction(call: (ctl: Shell) => Promise<void>, failed: string, done: string): Handler {
  return async (ctl) => {
    await attempt(failed, call(ctl));
    ctl.printExtra(done);
  };
}

const ifaceEdit: Handler = async (ctl, cmd) => {
  const { iface } = await optInterface(ctl, cmd);
  let edited: InterfaceRef | undefined;
  const changed = await editCycle(ctl, {
    get: () => getXMLDesc(ctl, iface, 1),
    define: async (text) => {
      edited = (await ctl.c.invoke('interfaceDefineXML', { xml: text, flags: 0 })).iface;
    },
    notChanged: `Interface ${iface.name} XML configuration not changed.\n`,
  });
  if (changed) ctl.printExtra(`Interface ${edited!.name} XML configuration edited.\n`);
};

export const handlers: Record<string, Handler> = {
  'iface-edit': ifaceEdit,
  'iface-begin': transaction((ctl) => ctl.c.invoke('interfaceChangeBegin', { flags: 0 }), 'Failed to begin network config change transaction', 'Network config change transaction started\n'),
  'iface-commit': transaction((ctl) => ctl.c.invoke('interfaceChangeCommit', { flags: 0 }), 'Failed to commit network config change transaction', 'Network config change transaction committed\n'),
  'iface-rollback': transaction((ctl) => ctl.c.invoke('interfaceChangeRollback', { flags: 0 }), 'Failed to rollback network config change transaction', 'Network config change transaction rolled back\n'),
  'iface-list': ifaceList,
  'iface-dumpxml': ifaceDumpxml,
  'iface-name': ifaceName,
  'iface-mac': ifaceMac,
  'iface-define': ifaceDefine,
  'iface-start': action('start', 'started', (ctl, iface) => ctl.c.invoke('interfaceCreate', { iface, flags: 0 })),
  'iface-destroy': action('destroy', 'destroyed', (ctl, iface) => ctl.c.invoke('interfaceDestroy', { iface, flags: 0 }), true),
  'iface-undefine': action('undefine', 'undefined', (ctl, iface) => ctl.c.invoke('interfaceUndefine', { iface })),
};
