// virNodeSuspend: suspending the host for a while. Which suspend targets the
// host supports is asked, as libvirt asks, of systemd-logind over the system
// bus (CanSuspend / CanHibernate / CanHybridSleep) and, where logind is not
// there, of pm-utils' pm-is-supported; a host with neither supports none, and
// the request is refused before anything is touched. A supported request sets
// the RTC wake-up alarm (rtcwake) and runs pm-utils' command a few seconds
// later, so that the caller gets its answer first.
import { execFile, spawn } from 'node:child_process';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { runCommand } from '../../util/run-command.js';
import { checkFlags } from './driver.js';

/** virNodeSuspendTarget, with what libvirt calls it, asks logind and pm-utils, and runs. */
const TARGETS = [
  { name: 'Suspend-to-RAM', logind: 'CanSuspend', pmQuery: '--suspend', command: 'pm-suspend' },
  { name: 'Suspend-to-Disk', logind: 'CanHibernate', pmQuery: '--hibernate', command: 'pm-hibernate' },
  { name: 'Hybrid-Suspend', logind: 'CanHybridSleep', pmQuery: '--suspend-hybrid', command: 'pm-suspend-hybrid' },
] as const;
type Target = (typeof TARGETS)[number];

/** libvirt's MIN_TIME_REQ_FOR_SUSPEND: seconds */
const MIN_SUSPEND_SECONDS = 60;
/** seconds between the answer and the suspend (libvirt's SUSPEND_DELAY) */
const SUSPEND_DELAY_SECONDS = 10;

interface RunResult { code: number; stdout: string }

function run(file: string, args: readonly string[]): Promise<RunResult | undefined> {
  return new Promise((resolve) => {
    execFile(file, args, { encoding: 'utf8' }, (error, stdout) => {
      // a program that is not installed leaves the question unanswered
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') resolve(undefined);
      else resolve({ code: error ? Number(error.code ?? 1) : 0, stdout });
    });
  });
}

/** One method of the system bus's org.freedesktop.DBus or logind's manager, its JSON answer; undefined without a bus. */
async function busCall(destination: string, path: string, iface: string, method: string): Promise<unknown[] | undefined> {
  const r = await run('busctl', ['--system', '--json=short', 'call', destination, path, iface, method]);
  if (!r || r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { data: unknown[] }).data;
}

/** virSystemdHasLogind: logind is both activatable and registered on the system bus. */
async function hasLogind(): Promise<boolean> {
  const listed = async (method: string) => {
    const names = await busCall('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', method);
    return (names?.[0] as string[] | undefined)?.includes('org.freedesktop.login1') ?? false;
  };
  return (await listed('ListActivatableNames')) && (await listed('ListNames'));
}

/** Whether the host can do `target`: logind's yes or challenge, else pm-is-supported's exit status, else no. */
async function supports(target: Target, logind: boolean): Promise<boolean> {
  if (logind) {
    const answer = (await busCall('org.freedesktop.login1', '/org/freedesktop/login1', 'org.freedesktop.login1.Manager', target.logind))?.[0];
    if (answer === undefined) throw virError(ErrorCode.INTERNAL_ERROR, `logind did not answer ${target.logind}`, ErrorDomain.NONE);
    return answer === 'yes' || answer === 'challenge';
  }
  const pm = await run('pm-is-supported', [target.pmQuery]);
  return pm?.code === 0;
}

/** The supported targets, probed once per process as libvirt probes once per daemon. */
let supportedTargets: Promise<ReadonlySet<Target>> | undefined;

function probeTargets(): Promise<ReadonlySet<Target>> {
  supportedTargets ??= (async () => {
    const logind = await hasLogind();
    const supported = new Set<Target>();
    for (const target of TARGETS) if (await supports(target, logind)) supported.add(target);
    return supported;
  })();
  supportedTargets.catch(() => (supportedTargets = undefined));
  return supportedTargets;
}

let aboutToSuspend = false;

/** qemuNodeSuspendForDuration: refuses what the host cannot do; otherwise arms the wake-up alarm and suspends shortly after. */
export async function suspendHost(targetNumber: number, duration: bigint, flags: number): Promise<void> {
  checkFlags(flags, 0, 'virNodeSuspend');
  const supported = await probeTargets();
  if (aboutToSuspend) throw virError(ErrorCode.OPERATION_INVALID, 'Suspend operation already in progress', ErrorDomain.NONE);
  const target = TARGETS[targetNumber];
  if (!target) throw virError(ErrorCode.INVALID_ARG, 'Invalid suspend target', ErrorDomain.NONE);
  if (!supported.has(target)) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, target.name, ErrorDomain.NONE);
  if (duration < BigInt(MIN_SUSPEND_SECONDS)) {
    throw virError(ErrorCode.INVALID_ARG, `Suspend duration is too short, must be at least ${MIN_SUSPEND_SECONDS} seconds`, ErrorDomain.NONE);
  }
  await runCommand(['rtcwake', '-m', 'no', '-s', String(duration)], ErrorDomain.NONE);
  aboutToSuspend = true;
  // detached, so that a short-lived (embedded) caller may exit before the suspend
  const suspend = spawn('sh', ['-c', `sleep ${SUSPEND_DELAY_SECONDS} && exec "$0"`, target.command], { detached: true, stdio: 'ignore' });
  suspend.on('error', () => (aboutToSuspend = false));
  suspend.on('exit', () => (aboutToSuspend = false));
  suspend.unref();
}
