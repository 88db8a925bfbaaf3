// The --xpath option of dumpxml and friends (virshDumpXML): a location-path
// subset of XPath 1.0 evaluated over the parsed document, with results
// re-serialised the way libxml2's xmlNodeDump prints them (double-quoted
// attributes, two-space indentation, blank text dropped).
import { escapeXml, type XmlElement } from '../util/xml.js';
import { CommandError, RawDiagnostic } from './errors.js';

type Node = { kind: 'element'; el: XmlElement; parent?: Node } | { kind: 'attr'; name: string; value: string; owner: XmlElement };

type Predicate = { kind: 'index'; n: number } | { kind: 'path'; path: Step[]; absolute: boolean; equals?: string };

interface Step {
  axis: 'child' | 'descendant-or-self' | 'attribute' | 'self' | 'parent';
  name: string; // '*' for any
  predicates: Predicate[];
}

interface Path {
  absolute: boolean;
  steps: Step[];
}

/** A syntax error at an offset of the expression, reported as libxml2 does. */
class XPathSyntax extends Error {
  constructor(readonly pos: number) {
    super('Invalid expression');
  }
}

const NAME = /[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?/y;

class PathParser {
  pos = 0;
  constructor(readonly s: string) {}

  private peek(str: string): boolean {
    return this.s.startsWith(str, this.pos);
  }

  private ws(): void {
    while (this.s[this.pos] === ' ') this.pos++;
  }

  /** A union of location paths; undefined when the expression is not a node-set path. */
  parseUnion(): Path[] | undefined {
    const paths: Path[] = [];
    for (;;) {
      this.ws();
      const p = this.parsePath();
      if (!p) return undefined;
      paths.push(p);
      this.ws();
      if (this.peek('|')) {
        this.pos++;
        continue;
      }
      return paths;
    }
  }

  parsePath(): Path | undefined {
    const steps: Step[] = [];
    let absolute = false;
    if (this.peek('//')) {
      absolute = true;
      this.pos += 2;
      steps.push({ axis: 'descendant-or-self', name: '*', predicates: [] });
    } else if (this.peek('/')) {
      absolute = true;
      this.pos += 1;
      if (this.pos >= this.s.length || /[\s|\])=]/.test(this.s[this.pos]!)) return { absolute, steps };
    }
    for (;;) {
      const step = this.parseStep();
      if (!step) {
        if (steps.length === 0 && !absolute) return undefined;
        throw new XPathSyntax(this.pos);
      }
      steps.push(step);
      if (this.peek('//')) {
        this.pos += 2;
        steps.push({ axis: 'descendant-or-self', name: '*', predicates: [] });
        continue;
      }
      if (this.peek('/')) {
        this.pos++;
        continue;
      }
      return { absolute, steps };
    }
  }

  private parseStep(): Step | undefined {
    let axis: Step['axis'] = 'child';
    if (this.peek('..')) {
      this.pos += 2;
      return { axis: 'parent', name: '*', predicates: [] };
    }
    if (this.peek('.')) {
      this.pos += 1;
      return { axis: 'self', name: '*', predicates: [] };
    }
    if (this.peek('@')) {
      axis = 'attribute';
      this.pos++;
    }
    let name: string;
    if (this.peek('*')) {
      name = '*';
      this.pos++;
    } else {
      NAME.lastIndex = this.pos;
      const m = NAME.exec(this.s);
      if (!m) {
        if (axis === 'attribute') throw new XPathSyntax(this.pos);
        return undefined;
      }
      name = m[0];
      this.pos += name.length;
      if (this.peek('(')) throw new NotNodeSet();
    }
    const predicates: Predicate[] = [];
    while (this.peek('[')) {
      this.pos++;
      this.ws();
      predicates.push(this.parsePredicate());
      this.ws();
      if (!this.peek(']')) throw new XPathSyntax(this.pos);
      this.pos++;
    }
    return { axis, name, predicates };
  }

  private parsePredicate(): Predicate {
    const num = /^\d+/.exec(this.s.slice(this.pos));
    if (num) {
      this.pos += num[0].length;
      return { kind: 'index', n: Number(num[0]) };
    }
    const path = this.parsePath();
    if (!path) throw new XPathSyntax(this.pos);
    this.ws();
    if (this.peek('=')) {
      this.pos++;
      this.ws();
      const q = this.s[this.pos];
      if (q !== "'" && q !== '"') throw new XPathSyntax(this.pos);
      const end = this.s.indexOf(q, this.pos + 1);
      if (end < 0) throw new XPathSyntax(this.pos);
      const value = this.s.slice(this.pos + 1, end);
      this.pos = end + 1;
      return { kind: 'path', path: path.steps, absolute: path.absolute, equals: value };
    }
    return { kind: 'path', path: path.steps, absolute: path.absolute };
  }
}

/** The expression is valid XPath but does not select nodes (count(), string(), ...). */
class NotNodeSet extends Error {}

function stepMatches(step: Step, node: Node): Node[] {
  if (node.kind === 'attr') return step.axis === 'self' ? [node] : [];
  const el = node.el;
  switch (step.axis) {
    case 'self':
      return [node];
    case 'parent':
      return node.parent ? [node.parent] : [];
    case 'attribute':
      return Object.entries(el.attrs)
        .filter(([n]) => step.name === '*' || n === step.name)
        .map(([name, value]) => ({ kind: 'attr', name, value, owner: el }));
    case 'child':
      return el.children.filter((c) => step.name === '*' || c.name === step.name).map((c) => ({ kind: 'element', el: c, parent: node }));
    case 'descendant-or-self': {
      const out: Node[] = [];
      const walk = (n: Node & { kind: 'element' }) => {
        out.push(n);
        for (const c of n.el.children) walk({ kind: 'element', el: c, parent: n });
      };
      walk(node);
      return out;
    }
  }
}

function nodeString(n: Node): string {
  if (n.kind === 'attr') return n.value;
  const collect = (el: XmlElement): string => el.text + el.children.map(collect).join('');
  return collect(n.el);
}

function evalSteps(steps: Step[], start: Node[], root: Node): Node[] {
  let current = start;
  for (const step of steps) {
    const next: Node[] = [];
    for (const n of current) {
      let matched = stepMatches(step, n);
      for (const pred of step.predicates) {
        if (pred.kind === 'index') matched = matched[pred.n - 1] ? [matched[pred.n - 1]!] : [];
        else
          matched = matched.filter((m) => {
            const found = evalSteps(pred.path, pred.absolute ? [root] : [m], root);
            return pred.equals === undefined ? found.length > 0 : found.some((f) => nodeString(f) === pred.equals);
          });
      }
      for (const m of matched) if (!next.includes(m) && !next.some((x) => sameNode(x, m))) next.push(m);
    }
    current = next;
  }
  return current;
}

function sameNode(a: Node, b: Node): boolean {
  if (a.kind === 'element' && b.kind === 'element') return a.el === b.el;
  if (a.kind === 'attr' && b.kind === 'attr') return a.owner === b.owner && a.name === b.name;
  return false;
}

function attrText(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\r/g, '&#13;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

/** xmlNodeDump with format=1 of a blank-stripped tree. */
function dumpElement(el: XmlElement, indent: number): string {
  const pad = '  '.repeat(indent);
  const attrs = Object.entries(el.attrs)
    .map(([k, v]) => ` ${k}="${attrText(v)}"`)
    .join('');
  const text = el.text.trim() === '' ? '' : el.text;
  if (el.children.length === 0 && text === '') return `<${el.name}${attrs}/>`;
  if (el.children.length === 0) return `<${el.name}${attrs}>${escapeXml(text)}</${el.name}>`;
  const inner = el.children.map((c) => `${pad}  ${dumpElement(c, indent + 1)}\n`).join('');
  return `<${el.name}${attrs}>\n${inner}${pad}</${el.name}>`;
}

function dumpNode(n: Node): string {
  return n.kind === 'attr' ? ` ${n.name}="${attrText(n.value)}"` : dumpElement(n.el, 0);
}

/** Evaluates `expr` against the document and renders the selected nodes as virsh prints them. */
export function xpathDump(root: XmlElement, expr: string, wrap: boolean): string {
  const rootNode: Node = { kind: 'element', el: { name: '#document', attrs: {}, children: [root], text: '', line: 0 } };
  const top: Node = { kind: 'element', el: root, parent: rootNode };
  let nodes: Node[];
  try {
    const parser = new PathParser(expr);
    const paths = parser.parseUnion();
    if (!paths) throw new NotNodeSet();
    if (parser.pos !== expr.length) throw new XPathSyntax(parser.pos);
    nodes = [];
    for (const p of paths) {
      for (const n of evalSteps(p.steps, p.absolute ? [rootNode] : [top], rootNode)) if (!nodes.some((x) => sameNode(x, n))) nodes.push(n);
    }
  } catch (e) {
    if (e instanceof XPathSyntax) throw new RawDiagnostic(`XPath error : Invalid expression\n${expr}\n${' '.repeat(e.pos)}^\n`);
    if (e instanceof NotNodeSet) throw new CommandError([], new CommandError([`internal error: Incorrect xpath '${expr}'`]));
    throw e;
  }
  nodes = nodes.filter((n) => n !== rootNode);
  if (wrap) {
    const body = nodes.map((n) => (n.kind === 'attr' ? `  ${dumpNode(n)}\n` : `  ${dumpElement(n.el, 1)}\n`)).join('');
    return body === '' ? '<nodes/>\n' : `<nodes>\n${body}</nodes>\n`;
  }
  return nodes.map((n) => `${dumpNode(n)}\n`).join('');
}
