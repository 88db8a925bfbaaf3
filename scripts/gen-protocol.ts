// Generates src/rpc/generated/*-protocol.ts from libvirt's protocol files (.x) and sources.
// Usage: node dist/scripts/gen-protocol.js [--libvirt-src DIR] [--out DIR]
// DIR defaults to $LIBVIRT_SRC, else ../src-libvirt/libvirt-9.0.0 beside the project root
// (where `apt-get source libvirt` was unpacked); --out defaults to src/rpc/generated.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { type GeneratedModule, type ModuleSpec, ProtocolGenerator } from './protocol/emit-ts.js';
import { readLibvirtFacts } from './protocol/libvirt-facts.js';
import { parseProtocol } from './protocol/xdr-grammar.js';

/** The project root (dist/scripts/ -> two levels up). */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function defaultLibvirtSrc(): string {
  return process.env.LIBVIRT_SRC || path.resolve(projectRoot, '..', 'src-libvirt', 'libvirt-9.0.0');
}

/** In dependency order: a module may use the types of those before it. */
const MODULES: readonly ModuleSpec[] = [
  { module: 'virnet-protocol', source: 'src/rpc/virnetprotocol.x' },
  {
    module: 'keepalive-protocol',
    source: 'src/rpc/virkeepaliveprotocol.x',
    program: { procPrefix: 'KEEPALIVE', structPrefix: 'keepalive', tableName: 'Keepalive', apiPrefix: 'vir', drivers: false, annotated: false, messagesOnly: true },
  },
  {
    module: 'remote-protocol',
    source: 'src/remote/remote_protocol.x',
    program: { procPrefix: 'REMOTE', structPrefix: 'remote', tableName: 'Remote', apiPrefix: 'vir', drivers: true, annotated: true },
  },
  {
    module: 'qemu-protocol',
    source: 'src/remote/qemu_protocol.x',
    program: {
      procPrefix: 'QEMU', structPrefix: 'qemu', tableName: 'Qemu', apiPrefix: 'vir', drivers: true, annotated: true,
      renameMethod: (n) => n.replace(/^((Connect)?Domain)/, '$1Qemu'),
    },
  },
  {
    module: 'lxc-protocol',
    source: 'src/remote/lxc_protocol.x',
    program: {
      procPrefix: 'LXC', structPrefix: 'lxc', tableName: 'Lxc', apiPrefix: 'vir', drivers: true, annotated: true,
      renameMethod: (n) => n.replace(/^(Domain)/, '$1Lxc'),
    },
  },
  {
    module: 'admin-protocol',
    source: 'src/admin/admin_protocol.x',
    program: { procPrefix: 'ADMIN', structPrefix: 'admin', tableName: 'Admin', apiPrefix: 'virAdm', drivers: false, annotated: true },
  },
  {
    module: 'tsvirt-protocol',
    source: 'src/rpc/tsvirt_protocol.x',
    fromProject: true,
    program: { procPrefix: 'TSVIRT', structPrefix: 'tsvirt', tableName: 'Tsvirt', apiPrefix: 'tsvir', drivers: false, annotated: true },
  },
];

function generateProtocolModules(libvirtSrc: string): GeneratedModule[] {
  const meson = readFileSync(path.join(libvirtSrc, 'meson.build'), 'utf8');
  const version = /version:\s*'([^']+)'/.exec(meson)?.[1];
  if (!version) throw new Error(`${libvirtSrc}/meson.build: no version`);
  const generator = new ProtocolGenerator(readLibvirtFacts(libvirtSrc), version);
  return MODULES.map((spec) => {
    const file = path.join(spec.fromProject ? projectRoot : libvirtSrc, spec.source);
    return generator.generate(spec, parseProtocol(readFileSync(file, 'utf8'), spec.source));
  });
}

function main(argv: string[]): void {
  let libvirtSrc = defaultLibvirtSrc();
  let out = path.join(projectRoot, 'src', 'rpc', 'generated');
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if ((argv[i] === '--libvirt-src' || argv[i] === '--out') && value !== undefined) {
      if (argv[i] === '--libvirt-src') libvirtSrc = path.resolve(value);
      else out = path.resolve(value);
      i++;
    } else {
      throw new Error(`usage: node dist/scripts/gen-protocol.js [--libvirt-src DIR] [--out DIR] (unexpected '${argv[i]}')`);
    }
  }
  const modules = generateProtocolModules(libvirtSrc);
  mkdirSync(out, { recursive: true });
  for (const file of modules.flatMap((m) => (m.companion ? [m, m.companion] : [m]))) {
    const target = path.join(out, file.fileName);
    writeFileSync(`${target}.tmp`, file.text);
    renameSync(`${target}.tmp`, target);
  }
  for (const m of modules) {
    const procs = m.procedures;
    if (procs.length === 0) continue;
    const calls = procs.filter((p) => !p.event);
    // Programs without driver methods (admin, keepalive) have nothing to match.
    const unmatched = calls.some((p) => p.family !== null) ? calls.filter((p) => p.family === null).map((p) => p.key) : [];
    process.stdout.write(
      `${m.fileName}: ${procs.length} procedures (${procs.length - calls.length} events), ` +
        `${procs.filter((p) => p.readonlyRefused).length} refused read-only, ` +
        `${unmatched.length} calls without a driver method${unmatched.length ? `: ${unmatched.join(' ')}` : ''}\n`,
    );
    const conditional = procs.filter((p) => p.readonlyConditional).map((p) => p.key);
    if (conditional.length) process.stdout.write(`  refused read-only only for some flags/arguments (readonlyRefused false): ${conditional.join(' ')}\n`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
