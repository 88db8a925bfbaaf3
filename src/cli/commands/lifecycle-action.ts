// set-lifecycle-action: a domain's on_poweroff / on_reboot / on_crash, as virsh's cmdSetLifecycleAction.
import { CommandError, attempt } from '../errors.js';
import type { Handler } from '../shell.js';

/** virshDomainLifecycle and virshDomainLifecycleAction: the index is the API's number */
const TYPES = ['poweroff', 'reboot', 'crash'];
const ACTIONS = ['destroy', 'restart', 'rename-restart', 'preserve', 'coredump-destroy', 'coredump-restart'];

const setLifecycleAction: Handler = async (ctl, cmd) => {
  cmd.exclusive('current', 'live');
  cmd.exclusive('current', 'config');
  const flags = (cmd.bool('live') ? 1 : 0) | (cmd.bool('config') ? 2 : 0);
  const typeName = cmd.required('type');
  const actionName = cmd.required('action');
  const type = TYPES.indexOf(typeName);
  if (type < 0) throw new CommandError([`Invalid lifecycle type '${typeName}'.`]);
  const action = ACTIONS.indexOf(actionName);
  if (action < 0) throw new CommandError([`Invalid lifecycle action '${actionName}'.`]);
  const { dom } = await ctl.domain(cmd);
  await attempt('Unable to change lifecycle action.', dom.connection.invoke('domainSetLifecycleAction', { dom: dom.ref, type, action, flags }));
};

export const handlers: Record<string, Handler> = { 'set-lifecycle-action': setLifecycleAction };
