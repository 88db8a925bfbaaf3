// Help texts rendered from the command table exactly as virsh 9.0 renders them
// (vshCmddefHelp, vshCmdGrpHelp, cmdHelp, virshUsage).
import type { CommandDef, CommandGroup } from './command-types.js';
import { commandGroups } from './registry.js';

/** The libvirt release whose behaviour tsvirsh reproduces. */
export const VERSION = '9.0.0';

export const LONG_VERSION =
  `Virsh command line tool of libvirt ${VERSION}\n` +
  'See web site at https://libvirt.org/\n\n' +
  'Compiled with support for:\n' +
  ' Hypervisors: QEMU/KVM Test\n' +
  ' Networking:\n' +
  ' Storage:\n' +
  ' Miscellaneous: Readline\n';

function listCommands(group: CommandGroup): string {
  return group.commands
    .filter((c) => !c.alias && !c.hidden)
    .map((c) => `    ${c.name.padEnd(30)} ${c.help ?? ''}\n`)
    .join('');
}

export function formatGroupHelp(group: CommandGroup): string {
  return ` ${group.name} (help keyword '${group.keyword}'):\n${listCommands(group)}`;
}

/** virsh's own groups: full listings leave tsvirt's extension group out. */
const virshGroups = () => commandGroups().filter((g) => !g.extension);

export function formatAllHelp(): string {
  return 'Grouped commands:\n\n' + virshGroups().map((g) => formatGroupHelp(g) + '\n').join('');
}

export function formatUsage(progname: string): string {
  return (
    `\n${progname} [options]... [<command_string>]` +
    `\n${progname} [options]... <command> [args...]\n\n` +
    '  options:\n' +
    '    -c | --connect=URI      hypervisor connection URI\n' +
    '    -d | --debug=NUM        debug level [0-4]\n' +
    '    -e | --escape <char>    set escape sequence for console\n' +
    '    -h | --help             this help\n' +
    '    -k | --keepalive-interval=NUM\n' +
    '                            keepalive interval in seconds, 0 for disable\n' +
    '    -K | --keepalive-count=NUM\n' +
    '                            number of possible missed keepalive messages\n' +
    '    -l | --log=FILE         output logging to file\n' +
    '    -q | --quiet            quiet mode\n' +
    '    -r | --readonly         connect readonly\n' +
    '    -t | --timing           print timing information\n' +
    '    -v                      short version\n' +
    '    -V                      long version\n' +
    '         --version[=TYPE]   version, TYPE is short or long (default short)\n' +
    '  commands (non interactive mode):\n\n' +
    virshGroups().map((g) => ` ${g.name} (help keyword '${g.keyword}')\n${listCommands(g)}\n`).join('') +
    '\n  (specify help <group> for details about the commands in the group)\n' +
    '\n  (specify help <command> for details about the command)\n\n'
  );
}

/** `help CMD` / `CMD --help`: NAME, SYNOPSIS, DESCRIPTION, OPTIONS. */
export function formatCommandHelp(def: CommandDef): string {
  const opts = def.options ?? [];
  let shortopt = false; // true once an option may be given without its --name
  let synopsis = `    ${def.name}`;
  for (const o of opts) {
    let text: string;
    switch (o.type) {
      case 'bool':
        text = `[--${o.name}]`;
        break;
      case 'int':
        text = o.required ? `<${o.name}>` : `[--${o.name} <number>]`;
        if (!o.requireName) shortopt = true;
        break;
      case 'string':
        text = `[--${o.name} <string>]`;
        if (!o.requireName) shortopt = true;
        break;
      case 'data':
        text = o.required ? `<${o.name}>` : `[<${o.name}>]`;
        if (!o.requireName) shortopt = true;
        break;
      case 'argv':
        if (shortopt) text = o.required ? `{[--${o.name}] <string>}...` : `[[--${o.name}] <string>]...`;
        else text = o.required ? `<${o.name}>...` : `[<${o.name}>]...`;
        break;
      case 'alias':
        continue; // aliases are intentionally undocumented
    }
    synopsis += ` ${text}`;
  }
  let out = `  NAME\n    ${def.name} - ${def.help ?? ''}\n\n  SYNOPSIS\n${synopsis}\n`;
  if (def.desc) out += `\n  DESCRIPTION\n    ${def.desc}\n`;
  if (opts.length) {
    out += '\n  OPTIONS\n';
    for (const o of opts) {
      let label: string;
      switch (o.type) {
        case 'bool':
          label = `--${o.name}`;
          break;
        case 'int':
          label = o.required ? `[--${o.name}] <number>` : `--${o.name} <number>`;
          break;
        case 'string':
          label = `--${o.name} <string>`;
          break;
        case 'data':
          label = `[--${o.name}] <string>`;
          break;
        case 'argv':
          label = shortopt ? `[--${o.name}] <string>` : `<${o.name}>`;
          break;
        case 'alias':
          continue;
      }
      out += `    ${label.padEnd(15)}  ${o.help}\n`;
    }
  }
  return out + '\n';
}
