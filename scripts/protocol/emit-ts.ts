// Turns parsed .x files into TypeScript modules: types, straight-line XDR codecs per type and,
// for a program, its procedure type map and table.

import { FACT_FIELDS, type ProcedureFacts } from '../../src/rpc/procedure.js';
import type { LibvirtFacts } from './libvirt-facts.js';
import type { Annotations, BaseType, Declaration, Definition, Primitive, ProtocolFile, Size } from './xdr-grammar.js';

/** Constants the .x files take from libvirt's C headers (include/libvirt/*.h, src/internal.h). */
export const C_HEADER_CONSTANTS: ReadonlyMap<string, number> = new Map([
  ['VIR_UUID_BUFLEN', 16], // internal.h: raw UUID bytes
  ['VIR_SECURITY_MODEL_BUFLEN', 257], // libvirt-host.h: 256 + NUL
  ['VIR_SECURITY_DOI_BUFLEN', 257], // libvirt-host.h: 256 + NUL
  ['VIR_SECURITY_LABEL_BUFLEN', 4097], // libvirt-host.h: 4096 + NUL
  // libvirt-common.h: virTypedParameterType
  ['VIR_TYPED_PARAM_INT', 1],
  ['VIR_TYPED_PARAM_UINT', 2],
  ['VIR_TYPED_PARAM_LLONG', 3],
  ['VIR_TYPED_PARAM_ULLONG', 4],
  ['VIR_TYPED_PARAM_DOUBLE', 5],
  ['VIR_TYPED_PARAM_BOOLEAN', 6],
  ['VIR_TYPED_PARAM_STRING', 7],
]);

export interface ProgramSpec {
  /** Constant prefix: REMOTE -> REMOTE_PROC_*, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION. */
  procPrefix: string;
  /** Struct prefix: remote -> remote_<name>_args / _ret / _msg. */
  structPrefix: string;
  /** Name of the type map and table: Remote -> RemoteProcedures, REMOTE_PROCEDURES. */
  tableName: string;
  /** Public API prefix in libvirt-*.c ('vir', 'virAdm'). */
  apiPrefix: string;
  /** Its procedures are hypervisor-side driver methods (src/driver-*.h); the admin and keepalive ones are not. */
  drivers: boolean;
  /** gendispatch.pl's per-program rename of the method name (QEMU and LXC insert their tag). */
  renameMethod?: (procName: string) => string;
  /** false when the .x carries no annotations (keepalive): every procedure is then generate 'none', priority 'low'. */
  annotated: boolean;
  /** Every procedure is a MESSAGE, never a call (keepalive PING/PONG, sent either way, not answered). */
  messagesOnly?: boolean;
}

export interface ModuleSpec {
  /** Output module name without extension: 'remote-protocol'. */
  module: string;
  /** The .x path relative to the libvirt source root (or to the project root with fromProject). */
  source: string;
  /** tsvirt's own .x (in the project, beside libvirt's types) */
  fromProject?: boolean;
  program?: ProgramSpec;
}

export interface ProcedureSummary {
  module: string;
  name: string;
  key: string;
  event: boolean;
  family: string | null;
  readonlyRefused: boolean;
  /** The API refuses read-only connections only for some flag or argument value (not in the table). */
  readonlyConditional: boolean;
}

/** Everything the modules define, shared so one module can use another's types (qemu -> remote). */
interface SymbolTable {
  types: Map<string, { module: string; def: Definition }>;
  constants: Map<string, { module: string | null; value: number }>;
}

export function pascalCase(name: string): string {
  return name
    .split('_')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}

/** gendispatch.pl's fixup_name, applied to each capitalised word of a procedure name. */
function fixupWord(word: string): string {
  return word
    .replace(/Nwfilter/, 'NWFilter')
    .replace(/Xml$/, 'XML')
    .replace(/Xml2$/, 'XML2')
    .replace(/Uri$/, 'URI')
    .replace(/Uuid$/, 'UUID')
    .replace(/Id$/, 'ID')
    .replace(/Mac$/, 'MAC')
    .replace(/Cpu$/, 'CPU')
    .replace(/Os$/, 'OS')
    .replace(/Nmi$/, 'NMI')
    .replace(/Pm/, 'PM')
    .replace(/Fstrim$/, 'FSTrim')
    .replace(/Fsfreeze$/, 'FSFreeze')
    .replace(/Fsthaw$/, 'FSThaw')
    .replace(/Fsinfo$/, 'FSInfo')
    .replace(/Iothread$/, 'IOThread')
    .replace(/Scsi/, 'SCSI')
    .replace(/Wwn$/, 'WWN')
    .replace(/Dhcp$/, 'DHCP');
}

/** DOMAIN_GET_XML_DESC -> DomainGetXMLDesc, as gendispatch.pl names driver methods. */
export function procedureMethodName(suffix: string): string {
  return suffix
    .split('_')
    .map((w) => fixupWord(w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()))
    .join('');
}

const PRIMITIVE_TS: Record<Primitive, string> = {
  int: 'number', uint: 'number', char: 'number', uchar: 'number', short: 'number', ushort: 'number',
  float: 'number', double: 'number', hyper: 'bigint', uhyper: 'bigint', bool: 'boolean',
};

const PRIMITIVE_CODEC: Record<Primitive, string> = {
  int: 'Int', uint: 'Uint', char: 'Int', uchar: 'Uint', short: 'Int', ushort: 'Uint',
  float: 'Float', double: 'Double', hyper: 'Hyper', uhyper: 'Uhyper', bool: 'Bool',
};

function isUuidTypedef(def: Definition): boolean {
  return def.kind === 'typedef' && def.decl.type.kind === 'opaque' && def.decl.array?.kind === 'fixed' && def.decl.array.size === 'VIR_UUID_BUFLEN';
}

class ModuleEmitter {
  /** Other modules' names this one uses: module -> names (types prefixed 'type '). */
  private readonly imports = new Map<string, Set<string>>();
  private readonly xdrImports = new Set<string>();
  private readonly minSizes = new Map<string, number>();

  constructor(
    private readonly spec: ModuleSpec,
    private readonly symbols: SymbolTable,
  ) {}

  private use(module: string, name: string): void {
    if (module === this.spec.module) return;
    let names = this.imports.get(module);
    if (!names) this.imports.set(module, (names = new Set()));
    names.add(name);
  }

  private entry(name: string): { module: string; def: Definition } {
    const entry = this.symbols.types.get(name);
    if (!entry) throw new Error(`${this.spec.source}: unknown type ${name}`);
    return entry;
  }

  private typeRef(name: string): string {
    const entry = this.entry(name);
    if (entry.def.kind === 'enum') return 'number';
    this.use(entry.module, `type ${pascalCase(name)}`);
    return pascalCase(name);
  }

  private codecRef(direction: 'encode' | 'decode', name: string): string {
    const fn = `${direction}${pascalCase(name)}`;
    this.use(this.entry(name).module, fn);
    return fn;
  }

  /** A size as code: the constant's name when this module defines or can import it, else the number. */
  sizeCode(size: Size): string {
    if (typeof size === 'number') return String(size);
    const c = this.symbols.constants.get(size);
    if (!c) throw new Error(`${this.spec.source}: unknown constant ${size}`);
    if (c.module === null) return `${c.value} /* ${size} */`;
    this.use(c.module, size);
    return size;
  }

  sizeValue(size: Size): number {
    if (typeof size === 'number') return size;
    const c = this.symbols.constants.get(size);
    if (!c) throw new Error(`${this.spec.source}: unknown constant ${size}`);
    return c.value;
  }

  private maxCode(max: Size | null): string {
    if (max !== null) return this.sizeCode(max);
    this.xdrImports.add('XDR_UNBOUNDED');
    return 'XDR_UNBOUNDED';
  }

  private singleTs(type: BaseType): string {
    switch (type.kind) {
      case 'primitive':
        return PRIMITIVE_TS[type.name];
      case 'named':
        return this.typeRef(type.name);
      default:
        throw new Error(`${type.kind} without a size`);
    }
  }

  tsType(d: Declaration): string {
    let t: string;
    if (d.type.kind === 'opaque') t = 'Buffer';
    else if (d.type.kind === 'string') t = 'string';
    else {
      t = this.singleTs(d.type);
      if (d.array) t = t.includes(' ') ? `(${t})[]` : `${t}[]`;
    }
    if (d.optional) {
      if (d.array && d.type.kind !== 'opaque' && d.type.kind !== 'string') throw new Error(`${d.name}: optional arrays are not supported`);
      return `${t} | null`;
    }
    return t;
  }

  private encodeSingle(type: BaseType, v: string): string {
    if (type.kind === 'primitive') return `w.write${PRIMITIVE_CODEC[type.name]}(${v})`;
    if (type.kind === 'named') return `${this.codecRef('encode', type.name)}(w, ${v})`;
    throw new Error(`${type.kind} without a size`);
  }

  private decodeSingle(type: BaseType): string {
    if (type.kind === 'primitive') return `r.read${PRIMITIVE_CODEC[type.name]}()`;
    if (type.kind === 'named') return `${this.codecRef('decode', type.name)}(r)`;
    throw new Error(`${type.kind} without a size`);
  }

  private encodeValue(d: Declaration, v: string): string {
    const { type, array } = d;
    if (type.kind === 'opaque') {
      return array!.kind === 'fixed' ? `w.writeFixedOpaque(${v}, ${this.sizeCode(array!.size)})` : `w.writeVarOpaque(${v}, ${this.maxCode(array!.max)})`;
    }
    if (type.kind === 'string') {
      if (array!.kind === 'fixed') throw new Error(`${d.name}: string[N] is not XDR`);
      return `w.writeString(${v}, ${this.maxCode(array!.max)})`;
    }
    if (array?.kind === 'fixed') return `w.writeFixedArray(${v}, ${this.sizeCode(array.size)}, (e) => ${this.encodeSingle(type, 'e')})`;
    if (array?.kind === 'variable') return `w.writeArray(${v}, ${this.maxCode(array.max)}, (e) => ${this.encodeSingle(type, 'e')})`;
    return this.encodeSingle(type, v);
  }

  private decodeValue(d: Declaration): string {
    const { type, array } = d;
    if (type.kind === 'opaque') {
      return array!.kind === 'fixed' ? `r.readFixedOpaque(${this.sizeCode(array!.size)})` : `r.readVarOpaque(${this.maxCode(array!.max)})`;
    }
    if (type.kind === 'string') return `r.readString(${this.maxCode((array as { max: Size | null }).max)})`;
    if (array?.kind === 'fixed') return `r.readFixedArray(${this.sizeCode(array.size)}, () => ${this.decodeSingle(type)})`;
    if (array?.kind === 'variable') {
      return `r.readArray(${this.maxCode(array.max)}, ${this.minSingleSize(type)}, () => ${this.decodeSingle(type)})`;
    }
    return this.decodeSingle(type);
  }

  encode(d: Declaration, v: string): string {
    if (d.optional) return `w.writeOptional(${v}, (p) => ${this.encodeValue(d, 'p')})`;
    return this.encodeValue(d, v);
  }

  decode(d: Declaration): string {
    if (d.optional) return `r.readOptional(() => ${this.decodeValue(d)})`;
    return this.decodeValue(d);
  }

  /** The fewest bytes a value can take on the wire: bounds an element count before allocating. */
  private minSingleSize(type: BaseType): number {
    if (type.kind === 'primitive') return type.name === 'hyper' || type.name === 'uhyper' || type.name === 'double' ? 8 : 4;
    if (type.kind !== 'named') return 4;
    const cached = this.minSizes.get(type.name);
    if (cached !== undefined) return cached;
    const def = this.entry(type.name).def;
    let size: number;
    switch (def.kind) {
      case 'enum':
        size = 4;
        break;
      case 'typedef':
        size = this.minDeclSize(def.decl);
        break;
      case 'struct':
        size = def.fields.reduce((sum, f) => sum + this.minDeclSize(f), 0);
        break;
      case 'union':
        size = 4 + Math.min(...def.arms.map((a) => (a.field ? this.minDeclSize(a.field) : 0)));
        break;
      default:
        throw new Error(`${type.name} is not a type`);
    }
    this.minSizes.set(type.name, size);
    return size;
  }

  private minDeclSize(d: Declaration): number {
    if (d.optional || d.array?.kind === 'variable') return 4;
    if (d.array?.kind === 'fixed') {
      const n = this.sizeValue(d.array.size);
      return d.type.kind === 'opaque' ? (n + 3) & ~3 : n * this.minSingleSize(d.type);
    }
    return this.minSingleSize(d.type);
  }

  definition(def: Definition): string[] {
    switch (def.kind) {
      case 'const': {
        const value = this.sizeValue(def.value);
        const literal = /_PROGRAM$/.test(def.name) ? `0x${value.toString(16).padStart(8, '0')}` : String(value);
        return [`export const ${def.name} = ${literal};`];
      }
      case 'enum': {
        const name = pascalCase(def.name);
        return [
          `export enum ${name} {`,
          ...def.members.map((m) => `  ${m.name} = ${this.sizeValue(m.value)},`),
          '}',
          '',
          `export function encode${name}(w: XdrWriter, v: number): void {`,
          '  w.writeInt(v);',
          '}',
          '',
          `export function decode${name}(r: XdrReader): number {`,
          '  return r.readInt();',
          '}',
        ];
      }
      case 'typedef': {
        const name = pascalCase(def.decl.name);
        if (isUuidTypedef(def)) {
          return [
            `/** A UUID in canonical text form; 16 raw bytes on the wire. */`,
            `export type ${name} = string;`,
            '',
            `export function encode${name}(w: XdrWriter, v: ${name}): void {`,
            '  w.writeUuid(v);',
            '}',
            '',
            `export function decode${name}(r: XdrReader): ${name} {`,
            '  return r.readUuid();',
            '}',
          ];
        }
        return [
          `export type ${name} = ${this.tsType(def.decl)};`,
          '',
          `export function encode${name}(w: XdrWriter, v: ${name}): void {`,
          `  ${this.encode(def.decl, 'v')};`,
          '}',
          '',
          `export function decode${name}(r: XdrReader): ${name} {`,
          `  return ${this.decode(def.decl)};`,
          '}',
        ];
      }
      case 'struct': {
        const name = pascalCase(def.name);
        return [
          `export interface ${name} {`,
          ...def.fields.map((f) => `  ${f.name}: ${this.tsType(f)};`),
          '}',
          '',
          `export function encode${name}(w: XdrWriter, v: ${name}): void {`,
          ...def.fields.map((f) => `  ${this.encode(f, `v.${f.name}`)};`),
          '}',
          '',
          `export function decode${name}(r: XdrReader): ${name} {`,
          '  return {',
          ...def.fields.map((f) => `    ${f.name}: ${this.decode(f)},`),
          '  };',
          '}',
        ];
      }
      case 'union': {
        const name = pascalCase(def.name);
        const tag = def.discriminant.name;
        if (def.discriminant.type.kind !== 'primitive' && def.discriminant.type.kind !== 'named') throw new Error(`${def.name}: bad discriminant`);
        const arms = def.arms.map((a) => ({ value: this.sizeValue(a.value), field: a.field }));
        this.xdrImports.add('XdrError');
        return [
          `export type ${name} =`,
          ...arms.map((a, i) => `  | { ${tag}: ${a.value}${a.field ? `; ${a.field.name}: ${this.tsType(a.field)}` : ''} }${i === arms.length - 1 ? ';' : ''}`),
          '',
          `export function encode${name}(w: XdrWriter, v: ${name}): void {`,
          `  ${this.encodeSingle(def.discriminant.type, `v.${tag}`)};`,
          `  switch (v.${tag}) {`,
          ...arms.flatMap((a) => [`    case ${a.value}:`, ...(a.field ? [`      ${this.encode(a.field, `v.${a.field.name}`)};`] : []), '      return;']),
          '    default:',
          `      throw new XdrError(\`${def.name}: unknown ${tag} \${(v as { ${tag}: unknown }).${tag}}\`);`,
          '  }',
          '}',
          '',
          `export function decode${name}(r: XdrReader): ${name} {`,
          `  const ${tag} = ${this.decodeSingle(def.discriminant.type)};`,
          `  switch (${tag}) {`,
          ...arms.flatMap((a) => [`    case ${a.value}:`, `      return { ${tag}: ${a.value}${a.field ? `, ${a.field.name}: ${this.decode(a.field)}` : ''} };`]),
          '    default:',
          `      throw new XdrError(\`${def.name}: unknown ${tag} \${${tag}}\`);`,
          '  }',
          '}',
        ];
      }
    }
  }

  importLines(): string[] {
    const lines: string[] = [];
    const xdr = [...this.xdrImports].sort();
    lines.push(xdr.length ? `import { ${[...xdr, 'type XdrReader', 'type XdrWriter'].join(', ')} } from '../xdr.js';` : `import type { XdrReader, XdrWriter } from '../xdr.js';`);
    // Plain code-unit order, not localeCompare: the output must not depend on the machine's locale.
    const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    for (const [module, names] of [...this.imports].sort(([a], [b]) => byName(a, b))) {
      const sorted = [...names].sort((a, b) => byName(a.replace(/^type /, ''), b.replace(/^type /, '')));
      lines.push(`import {\n${sorted.map((n) => `  ${n},`).join('\n')}\n} from './${module}.js';`);
    }
    return lines;
  }
}

interface Procedure {
  name: string;
  number: number;
  key: string;
  argsType: string | null;
  retType: string | null;
  event: boolean;
  api: string | null;
  family: string | null;
  readonlyRefused: boolean;
  readonlyConditional: boolean;
  apiErrorDomain: number;
  annotations: Annotations | undefined;
  /** the stream's direction: 'read', 'write', 'both' or null */
  stream: ProcedureFacts['stream'];
}

function fail(message: string): never {
  throw new Error(message);
}

function streamKind(a: Annotations | undefined, handwrittenWrite: boolean): ProcedureFacts['stream'] {
  const read = a?.readstream !== undefined;
  const write = a?.writestream !== undefined;
  if (read && write) return 'both';
  if (read) return 'read';
  if (write || handwrittenWrite) return 'write';
  return null;
}

/** The stream kind as a TypeScript type. */
function streamOf(kind: ProcedureFacts['stream']): string {
  return kind === null ? 'null' : `'${kind}'`;
}

function procedures(spec: ModuleSpec, program: ProgramSpec, file: ProtocolFile, facts: LibvirtFacts): Procedure[] {
  const structs = new Map<string, { args?: string; ret?: string; msg?: string }>();
  const structRe = new RegExp(`^${program.structPrefix}_(.*)_(args|ret|msg)$`);
  for (const def of file.definitions) {
    if (def.kind !== 'struct') continue;
    const m = structRe.exec(def.name);
    if (!m) continue;
    const id = m[1]!.replace(/_/g, '').toLowerCase();
    const entry = structs.get(id) ?? {};
    entry[m[2] as 'args' | 'ret' | 'msg'] = def.name;
    structs.set(id, entry);
  }
  const driversLower = new Map([...facts.driverMethods.keys()].map((k) => [k.toLowerCase(), k]));
  const apisLower = new Map([...facts.apis.keys()].map((k) => [k.toLowerCase(), k]));
  const procEnum = file.definitions.find((d) => d.kind === 'enum' && d.members.some((m) => m.name.startsWith(`${program.procPrefix}_PROC_`)));
  if (procEnum?.kind !== 'enum') throw new Error(`${spec.source}: no ${program.procPrefix}_PROC_* enum`);
  const seen = new Set<string>();
  return procEnum.members.map((m) => {
    const suffix = m.name.slice(`${program.procPrefix}_PROC_`.length);
    const derived = (program.renameMethod ?? ((n: string) => n))(procedureMethodName(suffix));
    // gendispatch's word fixups miss a few acronyms (SEV, SSH, FD): the driver typedef's spelling wins,
    // and the key is the driver struct's member name (nwfilterDefineXML for virDrvNWFilterDefineXML).
    const method = (program.drivers && driversLower.get(derived.toLowerCase())) || derived;
    const driver = program.drivers ? facts.driverMethods.get(method) : undefined;
    const key = driver?.member ?? method.charAt(0).toLowerCase() + method.slice(1);
    if (seen.has(key)) throw new Error(`${spec.source}: two procedures map to ${key}`);
    seen.add(key);
    const s = structs.get(suffix.replace(/_/g, '').toLowerCase()) ?? {};
    if (s.msg && (s.args || s.ret)) throw new Error(`${m.name}: both a message and call structures`);
    const api = apisLower.get(`${program.apiPrefix}${method}`.toLowerCase()) ?? null;
    const annotations = file.annotations.get(m.name);
    if (program.annotated && annotations?.generate === undefined) throw new Error(`${m.name}: no @generate annotation`);
    return {
      name: m.name,
      number: typeof m.value === 'number' ? m.value : fail(`${m.name}: procedure number ${m.value} is not a literal`),
      key,
      argsType: s.msg ?? s.args ?? null,
      retType: s.ret ?? null,
      event: s.msg !== undefined || program.messagesOnly === true,
      api,
      // tsvirt's own .x names the family of a procedure libvirt has no driver method for
      family: driver?.family ?? annotations?.family ?? null,
      apiErrorDomain: (api !== null && facts.apiErrorDomains.get(api)) || 0,
      readonlyRefused: api !== null && facts.apis.get(api) === 'refused',
      readonlyConditional: api !== null && facts.apis.get(api) === 'refused-conditionally',
      annotations,
      stream: streamKind(annotations, program.drivers && facts.handwrittenWriteStreams.has(method)),
    };
  });
}

/** The procedure type map and the codec table of a program's protocol module. */
function procedureSection(emitter: ModuleEmitter, spec: ModuleSpec, program: ProgramSpec, procs: Procedure[]): string[] {
  const mapName = `${program.tableName}Procedures`;
  const tableName = `${program.procPrefix}_PROCEDURES`;
  const factsName = `${program.procPrefix}_PROCEDURE_FACTS`;
  const typeOf = (t: string | null) => (t === null ? 'void' : emitter.tsType({ name: '', type: { kind: 'named', name: t }, optional: false, array: null }));
  const codec = (dir: 'encode' | 'decode', t: string | null) => (t === null ? `${dir}Void` : `${dir}${pascalCase(t)}`);
  const lines = [
    `export { ${factsName} } from './${factsModule(spec)}.js';`,
    '',
    `export const ${program.procPrefix}_PROCEDURE_BY_NUMBER: ReadonlyMap<number, keyof ${mapName}> = ${factsName}.byNumber();`,
    '',
    `/** Every ${program.procPrefix} procedure by driver method name: its argument and return types. */`,
    `export interface ${mapName} {`,
    ...procs.map((p) => `  ${p.key}: { args: ${typeOf(p.argsType)}; ret: ${typeOf(p.retType)}; family: ${p.family === null ? 'null' : `'${p.family}'`}; stream: ${streamOf(p.stream)} };`),
    '}',
    '',
    `export const ${tableName}: { [K in keyof ${mapName}]: ProcedureInfo<${mapName}[K]['args'], ${mapName}[K]['ret']> } = {`,
  ];
  for (const p of procs) {
    lines.push(
      `  ${p.key}: {`,
      `    ...${factsName}.get('${p.key}')!,`,
      `    encodeArgs: ${codec('encode', p.argsType)}, decodeArgs: ${codec('decode', p.argsType)},`,
      `    encodeRet: ${codec('encode', p.retType)}, decodeRet: ${codec('decode', p.retType)},`,
      '  },',
    );
  }
  lines.push('};');
  return lines;
}

function factsModule(spec: ModuleSpec): string {
  return spec.module.replace(/-protocol$/, '-procedures');
}

/** A fact as one space-free word of a facts line (ProcedureFactsTable): '-' stands for null and for an empty list. */
function factWord(p: Procedure, value: string | number | boolean | null | readonly string[]): string {
  if (value === null) return '-';
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') return String(value);
  const words = typeof value === 'string' ? [value] : value;
  if (words.length === 0) return '-';
  for (const w of words) if (w === '' || w === '-' || /[\s,`\\$]/.test(w)) throw new Error(`${p.name}: fact ${JSON.stringify(w)} does not fit a facts line`);
  return words.join(',');
}

/**
 * The lean companion module: what each procedure is (number, family, read-only rule, ...)
 * without its codecs, so that in-process callers (the API's dispatch) do not load the codecs;
 * one line per procedure, decoded when first used (ProcedureFactsTable).
 */
function factsSection(spec: ModuleSpec, program: ProgramSpec, procs: Procedure[], programNumber: number, version: number): string[] {
  const mapName = `${program.tableName}Procedures`;
  const factsName = `${program.procPrefix}_PROCEDURE_FACTS`;
  const lines = [
    "import { ProcedureFactsTable } from '../procedure.js';",
    `import type { ${mapName} } from './${spec.module}.js';`,
    '',
    `// ${FACT_FIELDS.join(' ')}`,
    `export const ${factsName} = new ProcedureFactsTable<keyof ${mapName}>(0x${programNumber.toString(16)}, ${version}, \`\\`,
  ];
  for (const p of procs) {
    const a = p.annotations;
    const generate = a?.generate ?? 'none';
    if (!/^(both|server|client|none)$/.test(generate)) throw new Error(`${p.name}: @generate ${generate}`);
    const priority = a?.priority ?? 'low';
    if (priority !== 'high' && priority !== 'low') throw new Error(`${p.name}: @priority ${priority}`);
    const facts: Record<(typeof FACT_FIELDS)[number], string | number | boolean | null | readonly string[]> = {
      key: p.key, number: p.number, name: p.name, api: p.api, apiErrorDomain: p.apiErrorDomain, family: p.family, readonlyRefused: p.readonlyRefused,
      priority, generate, stream: p.stream, sparse: a?.sparseflag !== undefined, event: p.event,
      acl: a?.acl ?? [], aclFilter: a?.aclfilter ?? [],
    };
    lines.push(FACT_FIELDS.map((field) => factWord(p, facts[field])).join(' '));
  }
  lines.push('`);');
  return lines;
}

export interface GeneratedModule {
  fileName: string;
  text: string;
  /** The lean facts module beside a program's protocol module. */
  companion: { fileName: string; text: string } | null;
  procedures: ProcedureSummary[];
}

export class ProtocolGenerator {
  private readonly symbols: SymbolTable = {
    types: new Map(),
    constants: new Map([...C_HEADER_CONSTANTS].map(([name, value]) => [name, { module: null, value }])),
  };

  constructor(
    private readonly facts: LibvirtFacts,
    private readonly libvirtVersion: string,
  ) {}

  /** Modules must come after those whose types they use (remote before qemu). */
  generate(spec: ModuleSpec, file: ProtocolFile): GeneratedModule {
    for (const def of file.definitions) {
      if (def.kind === 'const') {
        const value = typeof def.value === 'number' ? def.value : this.symbols.constants.get(def.value)?.value;
        if (value === undefined) throw new Error(`${spec.source}: ${def.name} refers to unknown ${def.value}`);
        this.symbols.constants.set(def.name, { module: spec.module, value });
      } else {
        this.symbols.types.set(def.kind === 'typedef' ? def.decl.name : def.name, { module: spec.module, def });
      }
    }
    const emitter = new ModuleEmitter(spec, this.symbols);
    const body: string[] = [];
    for (const def of file.definitions) body.push(...emitter.definition(def), '');
    let procs: Procedure[] = [];
    let procedureImports: string[] = [];
    let companion: GeneratedModule['companion'] = null;
    const header = [
      `// generated by scripts/gen-protocol.ts from libvirt ${this.libvirtVersion}'s ${spec.source}; do not edit.`,
      '// Regenerate: node dist/scripts/gen-protocol.js --libvirt-src DIR (see README, "Protocol").',
      '',
    ];
    if (spec.program) {
      const program = spec.program;
      procs = procedures(spec, program, file, this.facts);
      body.push(...procedureSection(emitter, spec, program, procs), '');
      const usesVoid = procs.some((p) => p.argsType === null || p.retType === null);
      procedureImports = [`import { ${usesVoid ? 'decodeVoid, encodeVoid, ' : ''}type ProcedureInfo } from '../procedure.js';`];
      const constant = (name: string) => this.symbols.constants.get(`${program.procPrefix}_${name}`)?.value;
      const [number, version] = [constant('PROGRAM'), constant('PROTOCOL_VERSION')];
      if (number === undefined || version === undefined) throw new Error(`${spec.source}: no ${program.procPrefix}_PROGRAM / _PROTOCOL_VERSION`);
      companion = {
        fileName: `${factsModule(spec)}.ts`,
        text: [...header, ...factsSection(spec, program, procs, number, version)].join('\n') + '\n',
      };
      // the codec table spreads the facts: import them for use, not only re-export
      procedureImports.push(`import { ${program.procPrefix}_PROCEDURE_FACTS } from './${factsModule(spec)}.js';`);
    }
    return {
      fileName: `${spec.module}.ts`,
      companion,
      text: [...header, ...procedureImports, ...emitter.importLines(), '', ...body].join('\n').replace(/\n+$/, '\n'),
      procedures: procs.map((p) => ({
        module: spec.module, name: p.name, key: p.key, event: p.event, family: p.family,
        readonlyRefused: p.readonlyRefused, readonlyConditional: p.readonlyConditional,
      })),
    };
  }
}
