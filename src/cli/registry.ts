// The one command table tsvirsh uses: virsh 9.0's commands (generated from its
// sources) plus tsvirt's own additions, with the handlers that implement them.
import { COMMAND_GROUPS } from './command-table.js';
import type { CommandDef, CommandGroup } from './command-types.js';
import type { CommandLookup } from './parser.js';
import type { Handler } from './shell.js';

/**
 * Commands tsvirt adds to virsh's set. They live in their own group ('help tsvirt')
 * so that virsh's own listings stay identical to virsh's.
 */
const TSVIRT_GROUP: CommandGroup = {
  name: 'tsvirt Extensions',
  keyword: 'tsvirt',
  extension: true,
  commands: [
    {
      name: 'domtopology',
      help: 'show the PCI topology of a domain',
      desc: "Draw the domain's PCI tree (buses, controllers, slots, devices), mark free hotpluggable slots, and summarise the room left for hotplug.",
      options: [
        { name: 'domain', type: 'data', help: 'domain name, id or uuid', required: true, complete: 'domain' },
        { name: 'json', type: 'bool', help: 'print the topology as JSON' },
      ],
    },
  ],
};

export const GROUPS: CommandGroup[] = [...COMMAND_GROUPS, TSVIRT_GROUP];

const BY_NAME = new Map<string, CommandDef>();
for (const g of GROUPS) for (const c of g.commands) BY_NAME.set(c.name, c);

/** The definition by exact name, without resolving aliases (for help). */
export function commandByName(name: string): CommandDef | undefined {
  return BY_NAME.get(name);
}

export const LOOKUP: CommandLookup = {
  command(name) {
    const def = BY_NAME.get(name);
    return def?.alias ? BY_NAME.get(def.alias) : def;
  },
};

export function groupByName(name: string): CommandGroup | undefined {
  return GROUPS.find((g) => g.name === name || g.keyword === name);
}

/** Visible command names (no aliases, no hidden commands), for completion. */
export function visibleCommands(): string[] {
  return GROUPS.flatMap((g) => g.commands.filter((c) => !c.alias && !c.hidden).map((c) => c.name));
}

export async function loadHandlers(): Promise<Map<string, Handler>> {
  const modules = await Promise.all([
    import('./commands/virsh.js'),
    import('./commands/host.js'),
    import('./commands/domain.js'),
    import('./commands/domain-monitor.js'),
    import('./commands/devices.js'),
    import('./commands/snapshot.js'),
    import('./commands/network.js'),
    import('./commands/storage.js'),
    import('./commands/interface.js'),
  ]);
  const map = new Map<string, Handler>();
  for (const m of modules) for (const [name, h] of Object.entries(m.handlers)) map.set(name, h);
  return map;
}
