// AMD SEV commands: nodesevinfo, domlaunchsecinfo, domsetlaunchsecstate, printed as virsh prints them.
import { plainParams, typedParam } from '../../api/types.js';
import { attempt, CommandError } from '../errors.js';
import { readInputBytes } from '../files.js';
import type { Handler } from '../shell.js';

/** VIR_TYPED_PARAM_STRING_OKAY: the library adds it for a driver that takes string parameters */
const TYPED_PARAM_STRING_OKAY = 4;
/** virsh reads the secret and its header with virFileReadAll(path, 64 KiB) */
const MAX_SECRET_FILE = 64 * 1024;

/** vshGetTypedParamValue */
function valueText(value: string | number | bigint | boolean): string {
  return typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value);
}

const nodesevinfo: Handler = async (ctl) => {
  const { params } = await attempt('Unable to get host SEV information', ctl.c.invoke('nodeGetSEVInfo', { nparams: 0, flags: TYPED_PARAM_STRING_OKAY }));
  for (const p of plainParams(params)) ctl.print(`${p.field.padEnd(18)}: ${valueText(p.value)}\n`);
};

const domlaunchsecinfo: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const { params } = await attempt('Unable to get launch security parameters',
    dom.connection.invoke('domainGetLaunchSecurityInfo', { dom: dom.ref, flags: TYPED_PARAM_STRING_OKAY }));
  for (const p of plainParams(params)) ctl.print(`${p.field.padEnd(15)}: ${valueText(p.value)}\n`);
};

const domsetlaunchsecstate: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const headerFile = cmd.string('secrethdr');
  const secretFile = cmd.string('secret');
  if (headerFile === undefined || secretFile === undefined) throw new CommandError(['Both secret and the secret header are required']);
  const header = readInputBytes(headerFile, MAX_SECRET_FILE).toString('utf8');
  const secret = readInputBytes(secretFile, MAX_SECRET_FILE).toString('utf8');
  const address = cmd.number('set-address');
  const params = [
    typedParam.string('sev-secret-header', header),
    typedParam.string('sev-secret', secret),
    ...(address !== undefined ? [typedParam.ullong('sev-secret-set-address', address)] : []),
  ];
  await attempt('Unable to set launch security state', dom.connection.invoke('domainSetLaunchSecurityState', { dom: dom.ref, params, flags: 0 }));
};

export const handlers: Record<string, Handler> = { nodesevinfo, domlaunchsecinfo, domsetlaunchsecstate };
