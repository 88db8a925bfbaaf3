// virsh's command grammar: quoting, separators, comments, argv form, and the
// parse errors that abort the whole command string.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgvTokens, parseCommands, ParseError, StringTokens, type ParsedCommand } from '../../src/cli/parser.js';
import { LOOKUP } from '../../src/cli/registry.js';

const parse = (s: string) => parseCommands(new StringTokens(s), LOOKUP);
const values = (c: ParsedCommand) => c.opts.map((o) => [o.def.name, o.value]);

test('commands are split on ; and newlines, empty commands are skipped', () => {
  const cmds = parse('echo a; ; echo b\necho c;');
  assert.deepEqual(cmds.map((c) => c.def.name), ['echo', 'echo', 'echo']);
  assert.deepEqual(cmds.map((c) => c.opts[0]!.value), ['a', 'b', 'c']);
});

test('quotes and escapes follow virsh: single quotes literal, backslash escapes outside them', () => {
  const [c] = parse(`echo 'a b' "c\\"d" e\\ f 'g\\h' "x'y"`);
  assert.deepEqual(c!.opts.map((o) => o.value), ['a b', 'c"d', 'e f', 'g\\h', "x'y"]);
});

test('a word starting with # comments out the rest of the line; inside a word or quotes it is literal', () => {
  const cmds = parse("echo a#b '#c' # gone; echo gone too\necho after");
  assert.deepEqual(cmds.map(values), [[['string', 'a#b'], ['string', '#c']], [['string', 'after']]]);
});

test('options: --name value, --name=value, positional slots in table order, -- ends options', () => {
  const [c] = parse('dumpxml --xpath=//name test --wrap');
  assert.deepEqual(values(c!), [['xpath', '//name'], ['domain', 'test'], ['wrap', undefined]]);
  const [d] = parse('echo -- --not-an-option');
  assert.deepEqual(values(d!), [['string', '--not-an-option']]);
});

test('aliases resolve to the option they stand for, including name=value aliases', () => {
  const [c] = parse('echo --hi');
  assert.deepEqual(values(c!), [['string', 'hello']]);
});

test('CMD --help becomes help CMD, even with required options missing', () => {
  const [c] = parse('dominfo --help');
  assert.equal(c!.def.name, 'help');
  assert.deepEqual(values(c!), [['command', 'dominfo']]);
});

test('parse errors carry virsh messages', () => {
  const cases: [string, string][] = [
    ['frobnicate x', "unknown command: 'frobnicate'"],
    ['list --bogus', "command 'list' doesn't support option --bogus"],
    ['domstate test extra', "unexpected data 'extra'"],
    ['dominfo', "command 'dominfo' requires <domain> option"],
    ['echo "open', 'missing "'],
    ['dumpxml test --xpath', 'expected syntax: --xpath <string>'],
    ['list --all --all', 'option --all already seen'],
    ['list --all=yes', "invalid '=' after option --all"],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => parse(input), (e: unknown) => e instanceof ParseError && e.message === message, input);
  }
});

test('every missing required option is reported, one line each', () => {
  assert.throws(() => parse('attach-disk test'), (e: unknown) =>
    e instanceof ParseError && e.lines.join('|') === "command 'attach-disk' requires <source> option|command 'attach-disk' requires <target> option");
});

test('argv form: every word is literal and ; does not separate commands', () => {
  const cmds = parseCommands(new ArgvTokens(['echo', 'a', ';', 'echo', "'b'"]), LOOKUP);
  assert.equal(cmds.length, 1);
  assert.deepEqual(cmds[0]!.opts.map((o) => o.value), ['a', ';', 'echo', "'b'"]);
});
