// A QEMU guest agent client over the unix socket QEMU listens on for the
// virtio-serial channel org.qemu.guest_agent.0.
//
// The agent speaks line-delimited JSON like QMP, but without greeting or ids, and
// the channel may hold stale replies of commands an earlier client gave up on.
// So every connection first syncs as libvirt does: a guest-sync carrying a fresh
// id, and only the reply echoing that id counts; anything older is dropped.
// Garbage before the first sync reply is normal (a half-written line of the past).
import net from 'node:net';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { formatLibvirtJson, jsonMember, JsonSyntaxError, parseJsonText, type JsonNode } from '../../util/libvirt-json.js';

/** VIR_DOMAIN_QEMU_AGENT_COMMAND_* / VIR_DOMAIN_AGENT_RESPONSE_TIMEOUT_*: wait forever, the default, don't wait */
export const AGENT_WAIT_BLOCK = -2;
export const AGENT_WAIT_DEFAULT = -1;
export const AGENT_WAIT_NOWAIT = 0;
/** QEMU_AGENT_WAIT_TIME: what "default" means, in seconds */
const AGENT_DEFAULT_SECONDS = 5;
/** a reply larger than this is an agent gone wrong (libvirt caps monitor replies the same way) */
const AGENT_MAX_REPLY_BYTES = 10 * 1024 * 1024;

const unresponsive = (message: string) => virError(ErrorCode.AGENT_UNRESPONSIVE, message, ErrorDomain.QEMU);
const disappeared = () => unresponsive('Guest agent disappeared while executing command');

/** qemuAgentStringifyErrorClass: the text for an error reply without "desc" */
const ERROR_CLASS_TEXT: Record<string, string> = {
  BufferOverrun: 'Buffer overrun',
  CommandDisabled: 'The command has been disabled for this instance',
  CommandNotFound: 'The command has not been found',
  FdNotFound: 'File descriptor not found',
  InvalidParameter: 'Invalid parameter',
  InvalidParameterType: 'Invalid parameter type',
  InvalidParameterValue: 'Invalid parameter value',
  OpenFileFailed: 'Cannot open file',
  QgaCommandFailed: 'Guest agent command failed',
  QMPBadInputObjectMember: 'Bad QMP input object member',
  QMPExtraInputObjectMember: 'Unexpected extra object member',
  UndefinedError: 'An undefined error has occurred',
  Unsupported: 'this feature or command is not currently supported',
};

/** A command the agent does not know (CommandNotFound/CommandDisabled), for callers that treat it as "no such information". */
export class AgentCommandUnsupported extends Error {}

const str = (node: JsonNode | undefined): string | undefined => (node?.kind === 'string' ? node.value : undefined);

/** One connection to a guest agent; connect() syncs it, close() ends it. */
export class GuestAgent {
  private buffer = '';
  private waiter?: (line: string | Error) => void;
  private ended?: Error;
  private readonly lines: string[] = [];

  private constructor(private readonly socket: net.Socket, private readonly defaultSeconds: number) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => this.end(disappeared()));
    socket.on('close', () => this.end(disappeared()));
  }

  /**
   * Connects to the agent's socket and syncs. `timeoutSeconds` is the domain's
   * agent timeout (guest-agent-timeout): a sync waits at most the shorter of it
   * and 5 s, as libvirt's does.
   */
  static async connect(socketPath: string, timeoutSeconds: number): Promise<GuestAgent> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(socketPath);
      s.once('connect', () => resolve(s));
      s.once('error', (e) => reject(virError(ErrorCode.SYSTEM_ERROR, `failed to connect to agent socket: ${e.message}`, ErrorDomain.QEMU)));
    });
    const agent = new GuestAgent(socket, timeoutSeconds);
    try {
      const syncSeconds = timeoutSeconds >= 0 && timeoutSeconds < AGENT_DEFAULT_SECONDS ? timeoutSeconds : AGENT_DEFAULT_SECONDS;
      // a first sync may only flush leftovers (garbage ends it): a second one settles it
      if (!(await agent.sync(syncSeconds, true)) && !(await agent.sync(syncSeconds, false))) {
        throw virError(ErrorCode.INTERNAL_ERROR, 'Missing agent reply object', ErrorDomain.QEMU);
      }
      return agent;
    } catch (e) {
      agent.close();
      throw e;
    }
  }

  close(): void {
    this.socket.destroy();
  }

  /**
   * qemuAgentCommandFull: sends `cmd` and returns the agent's whole reply
   * ({"return": ...}); an error reply becomes libvirt's error, or
   * AgentCommandUnsupported when `reportUnsupported` is false and the agent
   * lacks the command. `seconds`: AGENT_WAIT_* or a positive number.
   */
  async command(cmd: JsonNode, seconds: number = this.defaultSeconds, reportUnsupported = true): Promise<JsonNode> {
    const name = str(jsonMember(cmd, 'execute')) ?? '<unknown>';
    this.socket.write(`${formatLibvirtJson(cmd, false)}\n`);
    let reply: JsonNode;
    for (;;) {
      const line = await this.nextLine(seconds);
      const parsed = parseLine(line);
      if (parsed === undefined || jsonMember(parsed, 'QMP') || jsonMember(parsed, 'event')) continue;
      if (!jsonMember(parsed, 'return') && !jsonMember(parsed, 'error')) {
        throw virError(ErrorCode.INTERNAL_ERROR, `Unknown JSON reply '${line}'`, ErrorDomain.QEMU);
      }
      reply = parsed;
      break;
    }
    const error = jsonMember(reply, 'error');
    if (error !== undefined) {
      const klass = str(jsonMember(error, 'class'));
      if (!reportUnsupported && (klass === 'CommandNotFound' || klass === 'CommandDisabled')) throw new AgentCommandUnsupported(name);
      const detail = str(jsonMember(error, 'desc')) ?? (klass !== undefined ? ERROR_CLASS_TEXT[klass] ?? klass : 'unknown QEMU command error');
      throw virError(ErrorCode.INTERNAL_ERROR, `unable to execute QEMU agent command '${name}': ${detail}`, ErrorDomain.QEMU);
    }
    return reply;
  }

  /** qemuAgentGuestSyncSend: true when the reply echoing our id came back */
  private async sync(seconds: number, first: boolean): Promise<boolean> {
    const id = Date.now();
    this.socket.write(`{"execute":"guest-sync", "arguments":{"id":${id}}}\n`);
    for (;;) {
      const parsed = parseLine(await this.nextLine(seconds));
      // garbage on the first sync: whatever was in the pipe is now gone
      if (parsed === undefined) {
        if (first) return false;
        continue;
      }
      const ret = jsonMember(parsed, 'return');
      if (ret?.kind === 'literal' && ret.text === String(id)) return true;
      // a delayed reply to an earlier command or sync: dropped
    }
  }

  /** The next line the agent sent, waiting at most `seconds` (AGENT_WAIT_BLOCK: forever). */
  private nextLine(seconds: number): Promise<string> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.ended) return Promise.reject(this.ended);
    const wait = seconds === AGENT_WAIT_DEFAULT ? AGENT_DEFAULT_SECONDS : seconds;
    return new Promise<string>((resolve, reject) => {
      const timer = wait === AGENT_WAIT_BLOCK ? undefined : setTimeout(() => {
        this.waiter = undefined;
        reject(unresponsive('Guest agent not available for now'));
      }, wait * 1000);
      this.waiter = (line) => {
        clearTimeout(timer);
        this.waiter = undefined;
        if (line instanceof Error) reject(line);
        else resolve(line);
      };
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    if (this.buffer.length > AGENT_MAX_REPLY_BYTES) {
      this.end(virError(ErrorCode.INTERNAL_ERROR, `No complete agent response found in ${AGENT_MAX_REPLY_BYTES} bytes`, ErrorDomain.QEMU));
      this.socket.destroy();
      return;
    }
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      if (line.trim() === '') continue;
      if (this.waiter) this.waiter(line);
      else this.lines.push(line);
    }
  }

  private end(error: Error): void {
    this.ended ??= error;
    this.waiter?.(this.ended);
  }
}

/** A line of agent output as JSON; undefined for garbage (a stale half line, the 0xff delimiter). */
function parseLine(line: string): JsonNode | undefined {
  try {
    const node = parseJsonText(line.replace(/^\xff+/, ''));
    if (node.kind !== 'object') throw virError(ErrorCode.INTERNAL_ERROR, `Parsed JSON reply '${line}' isn't an object`, ErrorDomain.QEMU);
    return node;
  } catch (e) {
    if (e instanceof JsonSyntaxError) return undefined;
    throw e;
  }
}

/** qemuAgentMakeCommand: {"execute": name, "arguments": {...}} (no "arguments" when there are none) */
export function agentCommand(name: string, args?: Record<string, string | number | bigint | boolean | readonly string[]>): JsonNode {
  const members: Array<[string, JsonNode]> = [['execute', { kind: 'string', value: name }]];
  const stringNode = (value: string): JsonNode => ({ kind: 'string', value });
  if (args && Object.keys(args).length > 0) {
    members.push(['arguments', {
      kind: 'object',
      members: Object.entries(args).map(([k, v]): [string, JsonNode] => [k, typeof v === 'string' ? stringNode(v) : typeof v === 'object' ? { kind: 'array', items: v.map(stringNode) } : { kind: 'literal', text: String(v) }]),
    }]);
  }
  return { kind: 'object', members };
}
