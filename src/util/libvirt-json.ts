// JSON text as libvirt writes it (virJSONValueToString, through yajl's generator):
// compact, or "pretty" with two-space indents, `"key": value`, and an empty
// object or array opened and closed on lines of their own. Works on the text's
// tokens, so numbers keep every digit (QEMU's 64-bit counters exceed a double).

export type JsonNode =
  | { readonly kind: 'object'; readonly members: ReadonlyArray<readonly [string, JsonNode]> }
  | { readonly kind: 'array'; readonly items: readonly JsonNode[] }
  /** a number, true, false or null, as written */
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'string'; readonly value: string };

export class JsonSyntaxError extends Error {}

/** Parses JSON text, keeping numbers as their text; JsonSyntaxError on anything else. */
export function parseJsonText(text: string): JsonNode {
  let pos = 0;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at offset ${pos}`);
  };
  const skipSpace = () => {
    while (pos < text.length && ' \t\r\n'.includes(text[pos]!)) pos++;
  };
  const stringToken = (): string => {
    const start = pos;
    pos++;
    while (pos < text.length && text[pos] !== '"') pos += text[pos] === '\\' ? 2 : 1;
    if (pos >= text.length) fail('unterminated string');
    pos++;
    try {
      return JSON.parse(text.slice(start, pos)) as string;
    } catch {
      return fail('invalid string');
    }
  };
  const value = (): JsonNode => {
    skipSpace();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const members: Array<[string, JsonNode]> = [];
      skipSpace();
      if (text[pos] === '}') {
        pos++;
        return { kind: 'object', members };
      }
      for (;;) {
        skipSpace();
        if (text[pos] !== '"') fail('expected a key');
        const key = stringToken();
        skipSpace();
        if (text[pos++] !== ':') fail("expected ':'");
        members.push([key, value()]);
        skipSpace();
        const sep = text[pos++];
        if (sep === '}') return { kind: 'object', members };
        if (sep !== ',') fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      pos++;
      const items: JsonNode[] = [];
      skipSpace();
      if (text[pos] === ']') {
        pos++;
        return { kind: 'array', items };
      }
      for (;;) {
        items.push(value());
        skipSpace();
        const sep = text[pos++];
        if (sep === ']') return { kind: 'array', items };
        if (sep !== ',') fail("expected ',' or ']'");
      }
    }
    if (c === '"') return { kind: 'string', value: stringToken() };
    const literal = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(pos, pos + 400));
    if (!literal) return fail('unexpected character');
    pos += literal[0].length;
    return { kind: 'literal', text: literal[0] };
  };
  const root = value();
  skipSpace();
  if (pos !== text.length) fail('trailing characters');
  return root;
}

/** The member `key` of an object node. */
export function jsonMember(node: JsonNode, key: string): JsonNode | undefined {
  return node.kind === 'object' ? node.members.find(([k]) => k === key)?.[1] : undefined;
}

/** yajl's string escapes: quote, backslash and control characters; everything else as is. */
function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (code < 0x20) out += `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** virJSONValueToString(node, pretty), without the newline yajl ends a pretty document with. */
export function formatLibvirtJson(node: JsonNode, pretty: boolean, depth = 0): string {
  const indent = (d: number) => '  '.repeat(d);
  switch (node.kind) {
    case 'literal':
      return node.text;
    case 'string':
      return quote(node.value);
    case 'object': {
      const parts = node.members.map(([k, v]) => (pretty ? `${indent(depth + 1)}${quote(k)}: ${formatLibvirtJson(v, true, depth + 1)}` : `${quote(k)}:${formatLibvirtJson(v, false)}`));
      return pretty ? `{\n${parts.join(',\n')}\n${indent(depth)}}` : `{${parts.join(',')}}`;
    }
    case 'array': {
      const parts = node.items.map((v) => (pretty ? `${indent(depth + 1)}${formatLibvirtJson(v, true, depth + 1)}` : formatLibvirtJson(v, false)));
      return pretty ? `[\n${parts.join(',\n')}\n${indent(depth)}]` : `[${parts.join(',')}]`;
    }
  }
}
