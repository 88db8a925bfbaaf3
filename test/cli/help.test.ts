// Help rendered from the command table, in virsh 9.0's layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCommandHelp, formatGroupHelp } from '../../src/cli/help.js';
import { LOOKUP, groupByName } from '../../src/cli/registry.js';

test('command help: NAME, SYNOPSIS, DESCRIPTION, OPTIONS', () => {
  assert.equal(
    formatCommandHelp(LOOKUP.command('domstate')!),
    '  NAME\n    domstate - domain state\n\n  SYNOPSIS\n    domstate <domain> [--reason]\n\n' +
      '  DESCRIPTION\n    Returns state about a domain.\n\n  OPTIONS\n' +
      '    [--domain] <string>  domain name, id or uuid\n    --reason         also print reason for the state\n\n',
  );
});

test('argv options after positional ones are shown as [[--name] <string>]...', () => {
  assert.match(formatCommandHelp(LOOKUP.command('snapshot-create-as')!), / \[\[--diskspec\] <string>\]\.\.\.\n/);
});

test('group help lists visible commands with their summaries', () => {
  const text = formatGroupHelp(groupByName('snapshot')!);
  assert.ok(text.startsWith(" Snapshot (help keyword 'snapshot'):\n    snapshot-create                Create a snapshot from XML\n"));
});
