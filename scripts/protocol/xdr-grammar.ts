// The subset of rpcgen's .x language that libvirt's protocol files use: const, enum, typedef, struct,
// union switch, fixed/variable arrays, optional `*`, string<N>, opaque; plus the `/** @key: value */`
// annotations that precede each procedure number (read as libvirt's gendispatch.pl reads them).

import type { DriverFamily } from '../../src/rpc/procedure.js';

export type Primitive = 'int' | 'uint' | 'hyper' | 'uhyper' | 'bool' | 'float' | 'double' | 'char' | 'uchar' | 'short' | 'ushort';

export type BaseType =
  | { kind: 'primitive'; name: Primitive }
  | { kind: 'opaque' }
  | { kind: 'string' }
  | { kind: 'named'; name: string };

/** A size written in the .x: a number or a constant's name. */
export type Size = number | string;

export interface Declaration {
  name: string;
  type: BaseType;
  optional: boolean;
  /** null: a single value; fixed: `x[N]`; variable: `x<N>` (max null when `<>`). */
  array: null | { kind: 'fixed'; size: Size } | { kind: 'variable'; max: Size | null };
}

export interface UnionArm {
  /** The case label: a number or a constant's name. */
  value: Size;
  /** null for a `void` arm. */
  field: Declaration | null;
}

export type Definition =
  | { kind: 'const'; name: string; value: Size }
  | { kind: 'enum'; name: string; members: { name: string; value: Size }[] }
  | { kind: 'typedef'; decl: Declaration }
  | { kind: 'struct'; name: string; fields: Declaration[] }
  | { kind: 'union'; name: string; discriminant: Declaration; arms: UnionArm[] };

export interface Annotations {
  generate?: string;
  priority?: string;
  readstream?: string;
  writestream?: string;
  sparseflag?: string;
  /** tsvirt's own annotation: the driver family of a procedure libvirt declares no driver method for */
  family?: DriverFamily;
  acl: string[];
  aclfilter: string[];
}

export interface ProtocolFile {
  definitions: Definition[];
  /** Annotations of each enum member they precede, by member name. */
  annotations: Map<string, Annotations>;
}

class ParseError extends Error {}

function stripComments(text: string): string {
  // Comments and `%` passthrough lines become spaces; newlines are kept so errors can name a line.
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '))
    .replace(/^%.*$/gm, '');
}

interface Token {
  text: string;
  line: number;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s+|(-?0x[0-9a-fA-F]+|-?\d+|[A-Za-z_]\w*|[{}();,=<>[\]*:])|(\S)/g;
  let line = 1;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[2] !== undefined) throw new ParseError(`line ${line}: unexpected character '${m[2]}'`);
    if (m[1] !== undefined) tokens.push({ text: m[1], line });
    line += m[0].split('\n').length - 1;
  }
  return tokens;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): string | undefined {
    return this.tokens[this.i]?.text;
  }

  private next(): string {
    const t = this.tokens[this.i++];
    if (t === undefined) throw new ParseError('unexpected end of file');
    return t.text;
  }

  private expect(text: string): void {
    const t = this.tokens[this.i];
    if (t?.text !== text) throw new ParseError(`line ${t?.line ?? 'EOF'}: expected '${text}', found '${t?.text ?? 'end of file'}'`);
    this.i++;
  }

  private accept(text: string): boolean {
    if (this.peek() !== text) return false;
    this.i++;
    return true;
  }

  private identifier(): string {
    const t = this.tokens[this.i];
    if (t === undefined || !/^[A-Za-z_]\w*$/.test(t.text)) throw new ParseError(`line ${t?.line ?? 'EOF'}: expected a name, found '${t?.text ?? 'end of file'}'`);
    this.i++;
    return t.text;
  }

  private size(): Size {
    const t = this.next();
    return /^-?(0x[0-9a-fA-F]+|\d+)$/.test(t) ? Number(t) : t;
  }

  definitions(): Definition[] {
    const out: Definition[] = [];
    while (this.peek() !== undefined) {
      const keyword = this.next();
      if (keyword === 'const') {
        const name = this.identifier();
        this.expect('=');
        out.push({ kind: 'const', name, value: this.size() });
      } else if (keyword === 'enum') {
        const name = this.identifier();
        this.expect('{');
        const members: { name: string; value: Size }[] = [];
        do {
          const member = this.identifier();
          this.expect('=');
          members.push({ name: member, value: this.size() });
        } while (this.accept(','));
        this.expect('}');
        out.push({ kind: 'enum', name, members });
      } else if (keyword === 'typedef') {
        out.push({ kind: 'typedef', decl: this.declaration() });
      } else if (keyword === 'struct') {
        const name = this.identifier();
        this.expect('{');
        const fields: Declaration[] = [];
        while (!this.accept('}')) {
          fields.push(this.declaration());
          this.expect(';');
        }
        out.push({ kind: 'struct', name, fields });
      } else if (keyword === 'union') {
        out.push(this.union());
      } else {
        throw new ParseError(`line ${this.tokens[this.i - 1]!.line}: unexpected '${keyword}'`);
      }
      this.expect(';');
    }
    return out;
  }

  private union(): Definition {
    const name = this.identifier();
    this.expect('switch');
    this.expect('(');
    const discriminant = this.declaration();
    this.expect(')');
    this.expect('{');
    const arms: UnionArm[] = [];
    while (!this.accept('}')) {
      if (this.peek() === 'default') throw new ParseError(`union ${name}: default arms are not supported`);
      this.expect('case');
      const value = this.size();
      this.expect(':');
      const field = this.accept('void') ? null : this.declaration();
      this.expect(';');
      arms.push({ value, field });
    }
    return { kind: 'union', name, discriminant, arms };
  }

  private baseType(): BaseType {
    const word = this.identifier();
    switch (word) {
      case 'unsigned': {
        const next = this.peek();
        if (next === 'int' || next === 'hyper' || next === 'char' || next === 'short') {
          this.i++;
          return { kind: 'primitive', name: next === 'int' ? 'uint' : (`u${next}` as Primitive) };
        }
        return { kind: 'primitive', name: 'uint' };
      }
      case 'int':
      case 'hyper':
      case 'bool':
      case 'float':
      case 'double':
      case 'char':
      case 'short':
        return { kind: 'primitive', name: word };
      case 'opaque':
        return { kind: 'opaque' };
      case 'string':
        return { kind: 'string' };
      case 'enum':
      case 'struct':
        return { kind: 'named', name: this.identifier() };
      default:
        return { kind: 'named', name: word };
    }
  }

  private declaration(): Declaration {
    const type = this.baseType();
    const optional = this.accept('*');
    const name = this.identifier();
    let array: Declaration['array'] = null;
    if (this.accept('[')) {
      array = { kind: 'fixed', size: this.size() };
      this.expect(']');
    } else if (this.accept('<')) {
      array = { kind: 'variable', max: this.accept('>') ? null : this.size() };
      if (array.max !== null) this.expect('>');
    }
    if ((type.kind === 'opaque' || type.kind === 'string') && array === null) {
      throw new ParseError(`${name}: ${type.kind} needs a size`);
    }
    return { name, type, optional, array };
  }
}

/** Reads the `/** ... *\/` blocks and gives each to the `NAME = N` enum member that follows it. */
function readAnnotations(text: string): Map<string, Annotations> {
  const out = new Map<string, Annotations>();
  let current: Annotations | null = null;
  let collecting = false;
  for (const line of text.split('\n')) {
    if (collecting) {
      const opt = /^\s*\*\s*@(\w+)\s*:\s*((?:\w|:|!|\|)+)\s*$/.exec(line);
      if (opt) {
        const [, key, value] = opt as unknown as [string, string, string];
        if (key === 'acl' || key === 'aclfilter') current![key].push(value);
        else (current as unknown as Record<string, string>)[key] = value;
      } else if (/^\s*\*\/\s*$/.test(line)) {
        collecting = false;
      }
    } else if (line.includes('/**')) {
      current = { acl: [], aclfilter: [] };
      collecting = true;
    } else {
      const member = /^\s*([A-Z][A-Z0-9_]*)\s*=\s*\d+\s*,?\s*$/.exec(line);
      if (member && current) {
        out.set(member[1]!, current);
        current = null;
      }
    }
  }
  return out;
}

export function parseProtocol(text: string, fileName: string): ProtocolFile {
  try {
    return {
      definitions: new Parser(tokenize(stripComments(text))).definitions(),
      annotations: readAnnotations(text),
    };
  } catch (e) {
    if (e instanceof ParseError) throw new Error(`${fileName}: ${e.message}`);
    throw e;
  }
}
