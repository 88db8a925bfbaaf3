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

/** The handler modules, each with the command groups it implements (by group keyword). */
const HANDLER_MODULES: { groups: string[]; load: () => Promise<{ handlers: Record<string, Handler> }> }[] = [
  { groups: ['virsh'], load: () => import('./commands/virsh.js') },
  { groups: ['host', 'filter', 'nodedev', 'secret'], load: () => import('./commands/host.js') },
  { groups: ['secret'], load: () => import('./commands/secret.js') },
  { groups: ['domain'], load: () => import('./commands/domain.js') },
  { groups: ['monitor', 'tsvirt'], load: () => import('./commands/domain-monitor.js') },
  { groups: ['domain'], load: () => import('./commands/devices.js') },
  { groups: ['domain'], load: () => import('./commands/console.js') },
  { groups: ['domain'], load: () => import('./commands/domain-runtime.js') },
  { groups: ['domain'], load: () => import('./commands/domjobinfo.js') },
  { groups: ['domain'], load: () => import('./commands/qemu.js') },
  { groups: ['domain'], load: () => import('./commands/agent.js') },
  { groups: ['domain'], load: () => import('./commands/cpu-stats.js') },
  { groups: ['domain'], load: () => import('./commands/send-key.js') },
  { groups: ['events'], load: () => import('./commands/event.js') },
  { groups: ['domain'], load: () => import('./commands/save.js') },
  { groups: ['domain'], load: () => import('./commands/block.js') },
  { groups: ['domain'], load: () => import('./commands/migrate.js') },
  { groups: ['domain'], load: () => import('./commands/display.js') },
  { groups: ['host', 'domain'], load: () => import('./commands/launch-security.js') },
  { groups: ['host'], load: () => import('./commands/node-resources.js') },
  { groups: ['host'], load: () => import('./commands/cpu-compare.js') },
  { groups: ['host'], load: () => import('./commands/cpu-baseline.js') },
  { groups: ['snapshot'], load: () => import('./commands/snapshot.js') },
  { groups: ['checkpoint'], load: () => import('./commands/checkpoint.js') },
  { groups: ['backup'], load: () => import('./commands/backup.js') },
  { groups: ['network'], load: () => import('./commands/network.js') },
  { groups: ['network'], load: () => import('./commands/network-runtime.js') },
  { groups: ['pool', 'volume'], load: () => import('./commands/storage.js') },
  { groups: ['volume'], load: () => import('./commands/volume-transfer.js') },
  { groups: ['interface'], load: () => import('./commands/interface.js') },
  { groups: ['domain'], load: () => import('./commands/dump.js') },
  { groups: ['domain'], load: () => import('./commands/lifecycle-action.js') },
];

const GROUP_OF = new Map<string, string>();
for (const g of GROUPS) for (const c of g.commands) GROUP_OF.set(c.name, g.keyword);

/**
 * The handlers of the named commands (all of them when no names are given, as the
 * interactive shell needs). A one-shot tsvirsh loads only the modules of its
 * commands' groups, which keeps process start-up short; should a handler live
 * outside its group's module, everything is loaded.
 */
export async function loadHandlers(commandNames?: string[]): Promise<Map<string, Handler>> {
  const load = async (wanted: typeof HANDLER_MODULES) => {
    const map = new Map<string, Handler>();
    for (const m of await Promise.all(wanted.map((w) => w.load()))) for (const [name, h] of Object.entries(m.handlers)) map.set(name, h);
    return map;
  };
  if (commandNames === undefined) return load(HANDLER_MODULES);
  const groups = new Set(commandNames.map((n) => GROUP_OF.get(n)));
  const map = await load(HANDLER_MODULES.filter((m) => m.groups.some((g) => groups.has(g))));
  return commandNames.every((n) => map.has(n)) ? map : load(HANDLER_MODULES);
}
