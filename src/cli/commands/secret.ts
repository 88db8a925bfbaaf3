// Secret commands (virsh-secret.c): define, dump, set and get values, undefine.
// secret-list lives with the other host-object listings (host.ts).
import { closeSync, openSync, readSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { SecretRef } from '../../api/types.js';
import { ErrorCode, ErrorDomain, VirError } from '../../util/error.js';
import { parseUUID } from '../../util/uuid.js';
import { CommandError, attempt } from '../errors.js';
import { readInputBytes, readInputFile } from '../files.js';
import type { Handler, Invocation, Shell } from '../shell.js';
import { dumpXml } from './domain.js';

/** virFileReadAll's cap on a secret value file in secret-set-value. */
const SECRET_FILE_MAX = 1024;

/** virshCommandOptSecret: the secret named by its UUID (virSecretLookupByUUIDString). */
async function optSecret(ctl: Shell, cmd: Invocation): Promise<{ secret: SecretRef; uuid: string }> {
  const uuid = cmd.required('secret');
  const failed = `failed to get secret '${uuid}'`;
  if (parseUUID(uuid) === undefined) {
    // virReportInvalidArg in the public API, before any driver is asked
    throw new CommandError([failed], new VirError(ErrorCode.INVALID_ARG, ErrorDomain.SECRET, 'uuidstr in virSecretLookupByUUIDString must be a valid UUID'));
  }
  const { secret } = await attempt(failed, ctl.c.invoke('secretLookupByUUID', { uuid }));
  return { secret, uuid };
}

const secretDefine: Handler = async (ctl, cmd) => {
  const file = cmd.required('file');
  const xml = readInputFile(file);
  const { secret } = await attempt(`Failed to set attributes from ${file}`, ctl.c.invoke('secretDefineXML', { xml, flags: cmd.bool('validate') ? 1 : 0 }));
  ctl.printExtra(`Secret ${secret.uuid} created\n`);
};

const secretDumpxml: Handler = async (ctl, cmd) => {
  const { secret } = await optSecret(ctl, cmd);
  const { xml } = await ctl.c.invoke('secretGetXMLDesc', { secret, flags: 0 });
  dumpXml(ctl, xml, cmd.opts.find((o) => o.def.name === 'xpath')?.value || undefined, cmd.bool('wrap'));
};

/**
 * getpass(""): a line from the terminal with echo off, or from standard input
 * when the process has no terminal; the newline is dropped.
 */
function readPassword(): string {
  let fd: number;
  let terminal = true;
  try {
    fd = openSync('/dev/tty', 'r');
  } catch {
    fd = 0;
    terminal = false;
  }
  const echo = (on: boolean) => terminal && spawnSync('stty', [on ? 'echo' : '-echo'], { stdio: [fd, 'ignore', 'ignore'] });
  echo(false);
  try {
    const bytes: number[] = [];
    const one = Buffer.alloc(1);
    while (readSync(fd, one, 0, 1, null) === 1 && one[0] !== 0x0a) bytes.push(one[0]!);
    return Buffer.from(bytes).toString('utf8');
  } finally {
    echo(true);
    if (terminal) closeSync(fd);
  }
}

const secretSetValue: Handler = async (ctl, cmd) => {
  cmd.exclusive('file', 'base64');
  cmd.exclusive('plain', 'base64');
  cmd.exclusive('interactive', 'base64');
  cmd.exclusive('interactive', 'plain');
  cmd.exclusive('interactive', 'file');
  const { secret } = await optSecret(ctl, cmd);
  const base64 = cmd.string('base64');
  const file = cmd.string('file');
  let plain = cmd.bool('plain');
  let value: Buffer;
  if (base64 !== undefined) {
    // virsh warns and goes on
    ctl.error('Passing secret value as command-line argument is insecure!');
    value = Buffer.from(base64);
  } else if (file !== undefined) {
    value = readInputBytes(file, SECRET_FILE_MAX);
  } else if (cmd.bool('interactive')) {
    ctl.print('Enter new value for secret:');
    value = Buffer.from(readPassword());
    plain = true;
  } else {
    throw new CommandError(['Input secret value is missing']);
  }
  if (!plain) {
    const text = value.toString('latin1');
    value.fill(0);
    value = Buffer.from(text, 'base64');
  }
  try {
    await attempt('Failed to set secret value', ctl.c.invoke('secretSetValue', { secret, value, flags: 0 }));
  } finally {
    value.fill(0);
  }
  ctl.printExtra('Secret value set\n');
};

const secretGetValue: Handler = async (ctl, cmd) => {
  const { secret } = await optSecret(ctl, cmd);
  const { value } = await ctl.c.invoke('secretGetValue', { secret, flags: 0 });
  try {
    // virsh writes the bytes as they are
    if (!cmd.bool('plain')) ctl.print(value.toString('base64'));
    else if (ctl.output.outBytes) ctl.output.outBytes(value);
    else ctl.output.out(value.toString('utf8'));
  } finally {
    value.fill(0);
  }
};

const secretUndefine: Handler = async (ctl, cmd) => {
  const { secret, uuid } = await optSecret(ctl, cmd);
  await attempt(`Failed to delete secret ${uuid}`, ctl.c.invoke('secretUndefine', { secret }));
  ctl.printExtra(`Secret ${uuid} deleted\n`);
};

export const handlers: Record<string, Handler> = {
  'secret-define': secretDefine,
  'secret-dumpxml': secretDumpxml,
  'secret-set-value': secretSetValue,
  'secret-get-value': secretGetValue,
  'secret-undefine': secretUndefine,
};
