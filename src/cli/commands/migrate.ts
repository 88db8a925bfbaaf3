// The migration tunables of a domain: migrate-setmaxdowntime/getmaxdowntime,
// migrate-setspeed/getspeed, migrate-compcache and migrate-postcopy, as virsh
// reads their options and prints their answers.
import { CommandError } from '../errors.js';
import type { Handler } from '../shell.js';
import { prettyCapacity } from './domain-monitor.js';

/** VIR_DOMAIN_MIGRATE_MAX_SPEED_POSTCOPY */
const MAX_SPEED_POSTCOPY = 1 << 0;

const speedFlags = (postcopy: boolean) => (postcopy ? MAX_SPEED_POSTCOPY : 0);

const setMaxDowntime: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const downtime = cmd.unsigned64('downtime') ?? 0n;
  if (downtime < 1n) throw new CommandError(['migrate: Invalid downtime']);
  await dom.connection.invoke('domainMigrateSetMaxDowntime', { dom: dom.ref, downtime, flags: 0 });
};

const getMaxDowntime: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const { downtime } = await dom.connection.invoke('domainMigrateGetMaxDowntime', { dom: dom.ref, flags: 0 });
  ctl.print(`${downtime}\n`);
};

const compCache: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const size = cmd.unsigned64('size');
  if (size !== undefined) await dom.connection.invoke('domainMigrateSetCompressionCache', { dom: dom.ref, cacheSize: size, flags: 0 });
  const { cacheSize } = await dom.connection.invoke('domainMigrateGetCompressionCache', { dom: dom.ref, flags: 0 });
  const pretty = prettyCapacity(Number(cacheSize));
  ctl.print(`Compression cache: ${pretty.value.toFixed(3)} ${pretty.unit}`);
};

const setSpeed: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  // an unsigned long in virsh: "-1" wraps to its largest value
  const bandwidth = cmd.unsigned64('bandwidth', true) ?? 0n;
  await dom.connection.invoke('domainMigrateSetMaxSpeed', { dom: dom.ref, bandwidth, flags: speedFlags(cmd.bool('postcopy')) });
};

const getSpeed: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const { bandwidth } = await dom.connection.invoke('domainMigrateGetMaxSpeed', { dom: dom.ref, flags: speedFlags(cmd.bool('postcopy')) });
  ctl.print(`${bandwidth}\n`);
};

const postCopy: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  await dom.connection.invoke('domainMigrateStartPostCopy', { dom: dom.ref, flags: 0 });
};

export const handlers: Record<string, Handler> = {
  'migrate-setmaxdowntime': setMaxDowntime,
  'migrate-getmaxdowntime': getMaxDowntime,
  'migrate-compcache': compCache,
  'migrate-setspeed': setSpeed,
  'migrate-getspeed': getSpeed,
  'migrate-postcopy': postCopy,
};
