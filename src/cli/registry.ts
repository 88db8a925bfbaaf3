// The one command table tsvirsh uses: virsh 9.0's commands (generated from its
// sources) plus tsvirt's own additions, with the handlers that implement them.
import { COMMAND_GROUP_NAMES, COMMAND_LINES } from './command-table.js';
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

/** A command's definition and its group's keyword. */
interface TableEntry {
  def: CommandDef;
  group: string;
}

/** The entries decoded so far: a definition is one object however often it is looked up. */
const decoded = new Map<string, TableEntry>(TSVIRT_GROUP.commands.map((def) => [def.name, { def, group: TSVIRT_GROUP.keyword }]));

/** Decodes one line of COMMAND_LINES (NAME, group index, definition as JSON), once. */
function entryOfLine(line: string): TableEntry {
  const nameEnd = line.indexOf('\t');
  const groupEnd = line.indexOf('\t', nameEnd + 1);
  const name = line.slice(0, nameEnd);
  let entry = decoded.get(name);
  if (!entry) {
    entry = { def: JSON.parse(line.slice(groupEnd + 1)) as CommandDef, group: COMMAND_GROUP_NAMES[Number(line.slice(nameEnd + 1, groupEnd))]!.keyword };
    decoded.set(name, entry);
  }
  return entry;
}

/**
 * The table entry of `name`, found in the table's text itself: a tsvirsh call looks
 * up a command or two, and decoding all of them cost more than the searches.
 */
function entryOf(name: string): TableEntry | undefined {
  const known = decoded.get(name);
  if (known || name === '' || /[\t\n]/.test(name)) return known;
  const head = `${name}\t`;
  let start = 0;
  if (!COMMAND_LINES.startsWith(head)) {
    const at = COMMAND_LINES.indexOf(`\n${head}`);
    if (at < 0) return undefined;
    start = at + 1;
  }
  const end = COMMAND_LINES.indexOf('\n', start);
  return entryOfLine(COMMAND_LINES.slice(start, end < 0 ? undefined : end));
}

let allGroups: CommandGroup[] | undefined;

/** Every group with its commands, in virsh's order, tsvirt's own group last (help and completion need them all). */
export function commandGroups(): CommandGroup[] {
  if (!allGroups) {
    const all: CommandGroup[] = COMMAND_GROUP_NAMES.map(({ name, keyword }) => ({ name, keyword, commands: [] }));
    const byKeyword = new Map(all.map((g) => [g.keyword, g]));
    for (const line of COMMAND_LINES.split('\n')) {
      if (!line) continue;
      const { def, group } = entryOfLine(line);
      byKeyword.get(group)!.commands.push(def);
    }
    allGroups = [...all, TSVIRT_GROUP];
  }
  return allGroups;
}

/** The definition by exact name, without resolving aliases (for help). */
export function commandByName(name: string): CommandDef | undefined {
  return entryOf(name)?.def;
}

export const LOOKUP: CommandLookup = {
  command(name) {
    const def = commandByName(name);
    return def?.alias ? commandByName(def.alias) : def;
  },
};

export function groupByName(name: string): CommandGroup | undefined {
  return commandGroups().find((g) => g.name === name || g.keyword === name);
}

/** Visible command names (no aliases, no hidden commands), for completion. */
export function visibleCommands(): string[] {
  return commandGroups().flatMap((g) => g.commands.filter((c) => !c.alias && !c.hidden).map((c) => c.name));
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
  const groups = new Set(commandNames.map((n) => entryOf(n)?.group));
  const map = await load(HANDLER_MODULES.filter((m) => m.groups.some((g) => groups.has(g))));
  return commandNames.every((n) => map.has(n)) ? map : load(HANDLER_MODULES);
}
