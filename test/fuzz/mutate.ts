// Mutations of domain XML for the fuzz harness: structural ones on the parsed
// tree (deletion, duplication, type confusion, huge numbers, deep nesting,
// grafts from other inputs) and byte-level ones on the text (invalid UTF-8,
// NUL bytes, truncation, bit flips). Everything is driven by a seeded PRNG so
// that any failing input is reproduced from (seed, index) alone.

import { cloneElement, formatXml, parseXml, type XmlElement } from '../../src/util/xml.js';

/** mulberry32: small, fast, good enough to pick mutations deterministically. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** Values that are the wrong type, sign or shape for whatever they replace. */
const CONFUSED_VALUES = [
  '', ' ', '-1', '-0', '0', '1.5', 'abc', 'yes', 'no', 'on', 'NaN', 'Infinity', '1e400', '0x10', '0x', '010', '+5',
  ' 7 ', '1,2', '0-', '-', '^', 'a'.repeat(5000), '/', '../../../etc/passwd', 'a,b=c', "'\"<>&", '\u00e9\u4e2d\u{1f600}',
  'none', 'pci', 'pcie-root', 'virtio', 'q35', 'pc', 'x86_64', 'aarch64', 'kvm', 'qemu', 'KiB', 'TiB', 'bogus',
];

/** Numbers past every C type libvirt parses into (int, uint, ullong) and past JS's safe integers. */
const HUGE_NUMBERS = [
  '2147483647', '2147483648', '4294967295', '4294967296', '9007199254740993', '18446744073709551615',
  '18446744073709551616', '-9223372036854775809', '99999999999999999999999999999', '1e308', '0xffffffffffffffff',
  '255', '256', '31', '32', '65535', '65536', '16384', '16385',
];

const ELEMENT_NAMES = ['devices', 'controller', 'address', 'disk', 'interface', 'memory', 'vcpu', 'os', 'cpu', 'numa', 'cell', 'target', 'source', 'model', 'driver', 'x'];

export type Input = { kind: 'text'; text: string; ops: string[] } | { kind: 'bytes'; bytes: Buffer; ops: string[] };

function allElements(root: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (el: XmlElement) => {
    out.push(el);
    el.children.forEach(walk);
  };
  walk(root);
  return out;
}

/** Elements that have children, with the index of one child: a place to delete, insert or duplicate at. */
function pickSlot(rng: Rng, root: XmlElement): { parent: XmlElement; index: number } {
  const parents = allElements(root).filter((e) => e.children.length > 0);
  const parent = parents.length ? rng.pick(parents) : root;
  return { parent, index: rng.int(parent.children.length + 1) };
}

function pickAttr(rng: Rng, root: XmlElement): { el: XmlElement; key: string } | undefined {
  const withAttrs = allElements(root).filter((e) => Object.keys(e.attrs).length > 0);
  if (!withAttrs.length) return undefined;
  const el = rng.pick(withAttrs);
  return { el, key: rng.pick(Object.keys(el.attrs)) };
}

/** Replaces an attribute value or an element's text. */
function replaceValue(rng: Rng, root: XmlElement, values: readonly string[], preferNumeric: boolean): string {
  const value = rng.pick(values);
  const useText = rng.next() < 0.35;
  if (useText) {
    const leaves = allElements(root).filter((e) => e.children.length === 0 && e.text.trim() !== '' && (!preferNumeric || /^\s*-?\d/.test(e.text)));
    if (leaves.length) {
      const el = rng.pick(leaves);
      el.text = value;
      return `text <${el.name}>=${value.slice(0, 24)}`;
    }
  }
  let target = pickAttr(rng, root);
  if (preferNumeric) {
    const numeric = allElements(root).flatMap((el) => Object.keys(el.attrs).filter((k) => /^\s*-?(0x)?\d/.test(el.attrs[k]!)).map((key) => ({ el, key })));
    if (numeric.length) target = rng.pick(numeric);
  }
  if (!target) return 'noop';
  target.el.attrs[target.key] = value;
  return `attr ${target.el.name}@${target.key}=${value.slice(0, 24)}`;
}

const TREE_MUTATIONS: Record<string, (rng: Rng, root: XmlElement, donors: readonly XmlElement[]) => string> = {
  deleteElement(rng, root) {
    const { parent } = pickSlot(rng, root);
    if (!parent.children.length) return 'noop';
    const [gone] = parent.children.splice(rng.int(parent.children.length), 1);
    return `delete <${gone!.name}>`;
  },
  deleteAttribute(rng, root) {
    const t = pickAttr(rng, root);
    if (!t) return 'noop';
    delete t.el.attrs[t.key];
    return `delete @${t.key} of <${t.el.name}>`;
  },
  duplicateElement(rng, root) {
    const { parent } = pickSlot(rng, root);
    if (!parent.children.length) return 'noop';
    const i = rng.int(parent.children.length);
    const copies = 1 + (rng.next() < 0.1 ? rng.int(300) : 0);
    for (let n = 0; n < copies; n++) parent.children.splice(i, 0, cloneElement(parent.children[i]!));
    return `duplicate <${parent.children[i]!.name}> x${copies}`;
  },
  typeConfusion: (rng, root) => replaceValue(rng, root, CONFUSED_VALUES, false),
  hugeNumber: (rng, root) => replaceValue(rng, root, HUGE_NUMBERS, true),
  deepNesting(rng, root) {
    const { parent, index } = pickSlot(rng, root);
    const depth = 10 + rng.int(400);
    const name = rng.pick(ELEMENT_NAMES);
    let inner: XmlElement = { name, attrs: {}, children: [], text: '', line: 0 };
    for (let d = 1; d < depth; d++) inner = { name, attrs: {}, children: [inner], text: '', line: 0 };
    parent.children.splice(index, 0, inner);
    return `nest <${name}> x${depth}`;
  },
  graft(rng, root, donors) {
    const donor = rng.pick(allElements(rng.pick(donors)));
    const { parent, index } = pickSlot(rng, root);
    parent.children.splice(index, 0, cloneElement(donor));
    return `graft <${donor.name}> into <${parent.name}>`;
  },
  renameElement(rng, root) {
    const el = rng.pick(allElements(root));
    const from = el.name;
    el.name = rng.pick(ELEMENT_NAMES);
    return `rename <${from}> to <${el.name}>`;
  },
  addAttribute(rng, root) {
    const el = rng.pick(allElements(root));
    const key = rng.pick(['index', 'bus', 'slot', 'function', 'domain', 'type', 'model', 'unit', 'port', 'chassis', 'id', 'cpus', 'memory', 'placement']);
    el.attrs[key] = rng.pick(rng.next() < 0.5 ? HUGE_NUMBERS : CONFUSED_VALUES);
    return `add @${key} to <${el.name}>`;
  },
};

function insertBytes(rng: Rng, bytes: Buffer, insert: Buffer): Buffer {
  const at = rng.int(bytes.length + 1);
  return Buffer.concat([bytes.subarray(0, at), insert, bytes.subarray(at)]);
}

const INVALID_UTF8 = [[0xff], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80]];

const BYTE_MUTATIONS: Record<string, (rng: Rng, bytes: Buffer) => Buffer> = {
  invalidUtf8: (rng, b) => insertBytes(rng, b, Buffer.from(rng.pick(INVALID_UTF8))),
  nulByte: (rng, b) => insertBytes(rng, b, Buffer.from([0])),
  truncate: (rng, b) => b.subarray(0, rng.int(b.length)),
  flipBits(rng, b) {
    const out = Buffer.from(b);
    for (let n = 1 + rng.int(4); n > 0 && out.length; n--) out[rng.int(out.length)]! ^= 1 << rng.int(8);
    return out;
  },
};

/** One fuzz input derived from `seed` (a domain XML text): mostly one mutation, so that many inputs still pass the parser. */
export function mutate(rng: Rng, seed: string, donors: readonly XmlElement[]): Input {
  const ops: string[] = [];
  const treeNames = Object.keys(TREE_MUTATIONS);
  let text = seed;
  // most inputs get structural mutations: they reach post-parse, addresses and argv
  if (rng.next() < 0.85) {
    const root = parseXml(seed);
    for (let n = rng.next() < 0.6 ? 1 : 2 + rng.int(2); n > 0; n--) {
      const name = rng.pick(treeNames);
      ops.push(`${name}: ${TREE_MUTATIONS[name]!(rng, root, donors)}`);
    }
    text = formatXml(root);
  }
  if (ops.length === 0 || rng.next() < 0.15) {
    let bytes: Buffer = Buffer.from(text, 'utf8');
    const name = rng.pick(Object.keys(BYTE_MUTATIONS));
    bytes = BYTE_MUTATIONS[name]!(rng, bytes);
    ops.push(name);
    return { kind: 'bytes', bytes, ops };
  }
  return { kind: 'text', text, ops };
}
