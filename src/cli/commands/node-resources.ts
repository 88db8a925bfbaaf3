// allocpages and nodesuspend: changing the host's huge page pools and
// suspending the host, with virsh's checks and messages.
import { CommandError } from '../errors.js';
import type { Handler } from '../shell.js';
import { capabilityCells } from './host.js';

/** VIR_NODE_ALLOC_PAGES_ADD / VIR_NODE_ALLOC_PAGES_SET */
const ALLOC_PAGES_ADD = 0;
const ALLOC_PAGES_SET = 1;
const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
/** virNodeSuspendTarget by virsh's names */
const SUSPEND_TARGETS = ['mem', 'disk', 'hybrid'];

const allocpages: Handler = async (ctl, cmd) => {
  cmd.exclusive('all', 'cellno');
  const cell = cmd.number('cellno', INT_MIN, INT_MAX) ?? -1;
  const pageKiB = Math.ceil(cmd.scaled('pagesize', 1024, (2 ** 32 - 1) * 1024)! / 1024);
  const count = BigInt(cmd.number('pagecount')!);
  const flags = cmd.bool('add') ? ALLOC_PAGES_ADD : ALLOC_PAGES_SET;
  const alloc = (startCell: number) => ctl.c.invoke('nodeAllocPages', { pageSizes: [pageKiB], pageCounts: [count], startCell, cellCount: 1, flags });
  if (!cmd.bool('all')) {
    await alloc(cell);
    return;
  }
  const { cells } = await capabilityCells(ctl);
  for (const c of cells) {
    const id = c.attrs.id ?? '';
    if (!/^\d+$/.test(id)) throw new CommandError(['conversion from string failed']);
    await alloc(Number(id));
  }
};

const nodesuspend: Handler = async (ctl, cmd) => {
  const target = cmd.required('target');
  const duration = cmd.number('duration', -Number.MAX_SAFE_INTEGER)!;
  const targetNumber = SUSPEND_TARGETS.indexOf(target);
  if (targetNumber < 0) throw new CommandError(['Invalid target']);
  if (duration < 0) throw new CommandError(['Invalid duration']);
  try {
    await ctl.c.invoke('nodeSuspendForDuration', { target: targetNumber, duration: BigInt(duration), flags: 0 });
  } catch (e) {
    throw new CommandError(['The host was not suspended'], e);
  }
};

export const handlers: Record<string, Handler> = { allocpages, nodesuspend };
