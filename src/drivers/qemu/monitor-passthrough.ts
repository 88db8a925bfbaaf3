// libvirt-qemu's pass-through API in the qemu driver: a client's own monitor
// command (QMP as JSON text, or HMP through human-monitor-command), and every
// QMP event as a monitor event message. Everything here
// bypasses libvirt's model of the domain, as libvirt warns ("taints" the domain).
import type { DriverEvent } from '../../driver/events.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { formatLibvirtJson, jsonMember, JsonSyntaxError, parseJsonText, type JsonNode } from '../../util/libvirt-json.js';
import { QmpCommandError, type QmpClient, type QmpEvent } from './qmp.js';

/** VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP */
export const MONITOR_COMMAND_HMP = 1 << 0;

/** qemuMonitorArbitraryCommand: QEMU's reply as libvirt hands it back (QMP: the whole reply, compact; HMP: the text). */
export async function arbitraryMonitorCommand(qmp: QmpClient, cmd: string, hmp: boolean): Promise<string> {
  return hmp ? humanCommand(qmp, cmd) : qmpCommand(qmp, cmd);
}

/** A command text a client passed through (monitor or agent), parsed with libvirt's error for bad JSON. */
export function parsePassthroughJson(cmd: string): JsonNode {
  try {
    return parseJsonText(cmd);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    throw virError(ErrorCode.INTERNAL_ERROR, `cannot parse json ${cmd}: ${e.message}`, ErrorDomain.QEMU);
  }
}

async function qmpCommand(qmp: QmpClient, cmd: string): Promise<string> {
  const message = parsePassthroughJson(cmd);
  // libvirt appends its command id to the message: only an object without one takes it
  if (message.kind !== 'object' || jsonMember(message, 'id') !== undefined) {
    throw virError(ErrorCode.INTERNAL_ERROR, "Unable to append command 'id' string", ErrorDomain.QEMU);
  }
  const execute = jsonMember(message, 'execute');
  const withId = (id: string): string => formatLibvirtJson({ kind: 'object', members: [...message.members, ['id', { kind: 'string', value: id }]] }, false);
  // virJSONValueToString(reply, false): QEMU's reply without its spaces
  return formatLibvirtJson(parseJsonText(await qmp.executeArbitrary(execute?.kind === 'string' ? execute.value : '', withId)), false);
}

async function humanCommand(qmp: QmpClient, cmd: string): Promise<string> {
  try {
    const output = await qmp.execute<unknown>('human-monitor-command', { 'command-line': cmd });
    return typeof output === 'string' ? output : '';
  } catch (e) {
    if (e instanceof QmpCommandError && e.qmpClass === 'CommandNotFound') {
      throw virError(ErrorCode.OPERATION_UNSUPPORTED, `Human monitor command is not available to run ${cmd}`, ErrorDomain.QEMU);
    }
    throw e;
  }
}

/** virDomainQemuMonitorEventNew: a QMP event as the monitor event message carries it (details: the data as JSON, if any). */
export function monitorEvent(dom: { name: string; uuid: string; id: number }, event: QmpEvent): DriverEvent {
  const { seconds, microseconds } = event.timestamp ?? { seconds: 0, microseconds: 0 };
  return {
    key: 'domainQemuMonitorEvent',
    body: { dom, event: event.event, seconds: BigInt(seconds), micros: microseconds, details: event.hasData ? JSON.stringify(event.data) : null },
  };
}
