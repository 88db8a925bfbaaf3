#!/usr/bin/env node
// Regenerates src/cli/command-table.ts from libvirt 9.0.0's virsh sources, so that
// every command name, option, flag and help text is virsh's own, verbatim.
// Usage: node scripts/gen-virsh-command-table.mjs /path/to/libvirt-9.0.0 > src/cli/command-table.ts
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.argv[2];
if (!root) {
  console.error('usage: gen-virsh-command-table.mjs LIBVIRT_SOURCE_DIR');
  process.exit(2);
}
const tools = join(root, 'tools');
const FILES = ['virsh-domain.c', 'virsh-domain-monitor.c', 'virsh-domain-event.c', 'virsh-host.c', 'virsh-checkpoint.c',
  'virsh-interface.c', 'virsh-nwfilter.c', 'virsh-network.c', 'virsh-nodedev.c', 'virsh-secret.c', 'virsh-snapshot.c',
  'virsh-backup.c', 'virsh-pool.c', 'virsh-volume.c', 'virsh.c', 'vsh.c'];
// virsh.c's group table, in order: [group name, keyword, array name]
const GROUPS = [
  ['Domain Management', 'domain', 'domManagementCmds'], ['Domain Monitoring', 'monitor', 'domMonitoringCmds'],
  ['Domain Events', 'events', 'domEventCmds'], ['Host and Hypervisor', 'host', 'hostAndHypervisorCmds'],
  ['Checkpoint', 'checkpoint', 'checkpointCmds'], ['Interface', 'interface', 'ifaceCmds'],
  ['Network Filter', 'filter', 'nwfilterCmds'], ['Networking', 'network', 'networkCmds'],
  ['Node Device', 'nodedev', 'nodedevCmds'], ['Secret', 'secret', 'secretCmds'], ['Snapshot', 'snapshot', 'snapshotCmds'],
  ['Backup', 'backup', 'backupCmds'], ['Storage Pool', 'pool', 'storagePoolCmds'], ['Storage Volume', 'volume', 'storageVolCmds'],
  ['Virsh itself', 'virsh', 'virshCmds'],
];
// vsh.h's VSH_CMD_DEF_* for the shared commands (cd, echo, exit, help, pwd, quit, self-test, complete)
const header = readFileSync(join(tools, 'virsh.h'), 'utf8').replace(/^#include.*$/gm, '');
const vshh = readFileSync(join(tools, 'vsh.h'), 'utf8').replace(/^#include.*$/gm, '');

function preprocess(file) {
  const src = readFileSync(join(tools, file), 'utf8').replace(/^#\s*include.*$/gm, '');
  const input = `#define N_(x) x\n#define _(x) x\n${vshh}\n${header}\n${src}`;
  return execFileSync('cpp', ['-P', '-w', '-DWITH_QEMU', '-DWITH_READLINE'], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
}

function unescapeC(s) {
  const map = { n: '\n', t: '\t', '"': '"', "'": "'", '\\': '\\' };
  return s.replace(/\\(.)/g, (_, c) => map[c] ?? c);
}

function tokenize(text) {
  const toks = [];
  const re = /\s+|'(?:[^'\\]|\\.)+'|"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_]*)|(0x[0-9a-fA-F]+|\d+)|(.)/gs;
  let m;
  while ((m = re.exec(text))) {
    if (m[1] !== undefined) toks.push({ t: 'str', v: unescapeC(m[1]) });
    else if (m[2]) toks.push({ t: 'id', v: m[2] });
    else if (m[3]) toks.push({ t: 'num', v: m[3] });
    else if (m[4]) toks.push({ t: 'p', v: m[4] });
  }
  return toks;
}

/** Parses a brace initializer into arrays/objects; scalars become strings/numbers/expression text. */
function parseInit(toks, i) {
  if (toks[i].v === '{') {
    i++;
    const items = [];
    let obj = null;
    while (toks[i].v !== '}') {
      if (toks[i].v === '.') {
        const key = toks[i + 1].v;
        const r = parseInit(toks, i + 3);
        (obj ??= {})[key] = r.value;
        i = r.i;
      } else {
        const r = parseInit(toks, i);
        items.push(r.value);
        i = r.i;
      }
      if (toks[i].v === ',') i++;
    }
    return { value: obj ?? items, i: i + 1 };
  }
  // scalar expression up to ',' or '}' at depth 0
  let depth = 0;
  const parts = [];
  while (!(depth === 0 && (toks[i].v === ',' || toks[i].v === '}'))) {
    if (toks[i].v === '(') depth++;
    if (toks[i].v === ')') depth--;
    parts.push(toks[i]);
    i++;
  }
  if (parts.length && parts.every((p) => p.t === 'str')) return { value: parts.map((p) => p.v).join(''), i };
  return { value: parts.map((p) => p.v).join(' '), i };
}

const arrays = new Map();
for (const file of FILES) {
  const toks = tokenize(preprocess(file));
  for (let i = 0; i < toks.length; i++) {
    if (toks[i].t === 'id' && ['vshCmdInfo', 'vshCmdOptDef', 'vshCmdDef'].includes(toks[i].v) && toks[i + 1]?.t === 'id' &&
        toks[i + 2]?.v === '[' && toks[i + 3]?.v === ']' && toks[i + 4]?.v === '=') {
      const r = parseInit(toks, i + 5);
      arrays.set(toks[i + 1].v, r.value);
      i = r.i;
    }
  }
}

const COMPLETERS = {
  virshDomainNameCompleter: 'domain', virshNetworkNameCompleter: 'network', virshStoragePoolNameCompleter: 'pool',
  virshStorageVolNameCompleter: 'volume', virshInterfaceNameCompleter: 'interface', virshSnapshotNameCompleter: 'snapshot',
  virshCompletePathLocalExisting: 'file', vshCompleteHelpCommand: 'command',
};
const TYPES = { VSH_OT_BOOL: 'bool', VSH_OT_STRING: 'string', VSH_OT_INT: 'int', VSH_OT_DATA: 'data', VSH_OT_ARGV: 'argv', VSH_OT_ALIAS: 'alias' };

function optFlags(type, flags) {
  // `required ? A : B` survives preprocessing in VIRSH_COMMON_OPT_FILE_FULL; evaluate it
  const ev = (s) => (s ?? '').replace(/\btrue \? ([A-Z_]+) : [A-Z_]+/, '$1').replace(/\bfalse \? [A-Z_]+ : ([A-Z_]+)/, '$1');
  return { type: TYPES[ev(type)], flags: ev(flags) };
}

function convertOpt(o) {
  const { type, flags } = optFlags(o.type, o.flags);
  if (!type) throw new Error(`unknown option type ${o.type} in ${o.name}`);
  const out = { name: o.name, type, help: o.help ?? '' };
  if (/VSH_OFLAG_REQ\b/.test(flags)) out.required = true;
  if (/VSH_OFLAG_REQ_OPT/.test(flags)) out.requireName = true;
  if (/VSH_OFLAG_EMPTY_OK/.test(flags)) out.emptyOk = true;
  const c = COMPLETERS[o.completer];
  if (c) out.complete = c;
  return out;
}

// One line per command, "NAME<TAB>GROUP<TAB>definition as JSON", GROUP indexing
// COMMAND_GROUP_NAMES: a definition is decoded when first looked up (src/cli/registry.ts),
// as a tsvirsh call uses one or two of the table's commands; as one string the table
// also costs V8's code cache a string instead of a boilerplate per object literal.
const lines = [];
for (const [g, [, , arrayName]] of GROUPS.entries()) {
  let cmds = arrays.get(arrayName);
  if (!cmds) throw new Error(`missing ${arrayName}`);
  for (const c of cmds) {
    if (Array.isArray(c) || !c || !c.name || c.name === 'NULL') continue;
    const def = { name: c.name };
    const flags = c.flags ?? '';
    if (/VSH_CMD_FLAG_ALIAS/.test(flags)) def.alias = c.alias;
    if (/VSH_CMD_FLAG_HIDDEN/.test(flags)) def.hidden = true;
    if (/VSH_CMD_FLAG_NOCONNECT/.test(flags)) def.noConnect = true;
    if (!def.alias) {
      const infoName = c.info && c.info !== 'NULL' ? c.info : null;
      const info = infoName ? arrays.get(infoName) : [];
      if (infoName && !info) throw new Error(`missing ${infoName}`);
      // entries are designated ({.name, .data}) or positional ({"help", "..."}) initializers
      for (const it of info ?? []) {
        const [key, data] = Array.isArray(it) ? it : [it.name, it.data];
        if (key === 'help') def.help = data;
        else if (key === 'desc') def.desc = data;
      }
      const optsName = c.opts && c.opts !== 'NULL' ? c.opts : null;
      const opts = optsName ? arrays.get(optsName) : [];
      if (optsName && !opts) throw new Error(`missing ${optsName} for ${c.name}`);
      def.options = (opts ?? []).filter((o) => !Array.isArray(o) && o.name && o.name !== 'NULL').map(convertOpt);
    }
    if (/[\t\n]/.test(c.name)) throw new Error(`command name ${JSON.stringify(c.name)} has a tab or newline`);
    lines.push(`${c.name}\t${g}\t${JSON.stringify(def)}`);
  }
}
// a template literal's text, one command per source line (its tabs written as \t)
const templateText = (text) => text.replace(/[\\`]|\$\{/g, (m) => `\\${m}`).replace(/\t/g, '\\t');
const out = [];
out.push('// GENERATED by scripts/gen-virsh-command-table.mjs from libvirt 9.0.0 tools/virsh*.c: do not edit by hand.');
out.push('// Every command virsh 9.0 knows, with its group, options and help texts verbatim.');
out.push('');
out.push("/** virsh's command groups, in virsh.c's order. */");
out.push('export const COMMAND_GROUP_NAMES: readonly { readonly name: string; readonly keyword: string }[] = [');
for (const [name, keyword] of GROUPS) out.push(`  { name: ${JSON.stringify(name)}, keyword: ${JSON.stringify(keyword)} },`);
out.push('];');
out.push('');
out.push('/** One line per command in group order: "NAME<TAB>GROUP<TAB>CommandDef as JSON", GROUP an index of COMMAND_GROUP_NAMES. */');
out.push('export const COMMAND_LINES = `\\');
for (const line of lines) out.push(templateText(line));
out.push('`;');
process.stdout.write(out.join('\n') + '\n');
