// The QEMU command line libvirt 9.0 builds for a domain (qemuBuildCommandLine),
// as an environment + binary + argument array. The concern modules under
// command-line/ each append their options; this file fixes their order.
import { child } from '../../util/xml.js';
import type { XmlElement } from '../../util/xml.js';
import { ArgvBuilder, DomainView, domainRuntimePaths } from './command-line/context.js';
import type { BuildContext, CommandLineOptions, QemuCommandLine } from './command-line/context.js';
import * as machine from './command-line/machine.js';
import { buildMemory, buildMemoryDevices, buildNuma } from './command-line/memory.js';
import { buildLoader, buildPflashBlockdevs } from './command-line/firmware.js';
import { buildFilesystems } from './command-line/filesystems.js';
import { buildCpu, buildIOThreads, buildSmp } from './command-line/cpu.js';
import { buildControllers, buildControllersOfType, buildGlobalControllers } from './command-line/controllers.js';
import { buildDisks, buildManagedPrHelper } from './command-line/disks.js';
import { buildNetworks } from './command-line/net.js';
import { buildChannels, buildConsoles, buildParallels, buildSerials } from './command-line/chardev.js';
import { buildAudio, buildGraphics } from './command-line/graphics.js';
import * as devices from './command-line/devices.js';
import * as platform from './command-line/platform.js';
import { buildHostdevs } from './command-line/hostdevs.js';
import { buildFwCfg, buildSmbios } from './command-line/sysinfo.js';

export type { CommandLineOptions, QemuCommandLine, QemuStatePaths } from './command-line/context.js';

/** Environment passed through from the parent process (virCommandAddEnvPassCommon). */
const PASSED_ENV = ['LD_PRELOAD', 'LD_LIBRARY_PATH', 'DYLD_INSERT_LIBRARIES', 'DYLD_FORCE_FLAT_NAMESPACE', 'PATH', 'HOME', 'USER', 'LOGNAME', 'TMPDIR'];

function buildEnvironment(ctx: BuildContext): void {
  const { cmd } = ctx;
  cmd.setEnv('LC_ALL', 'C');
  for (const name of PASSED_ENV) {
    const value = ctx.options.hostEnv[name];
    if (value !== undefined) cmd.setEnv(name, value);
  }
  // A privileged QEMU gets the per-domain folder as HOME and XDG dirs, so nothing it links touches '/'.
  const dir = ctx.runtime.libDir;
  cmd.setEnv('HOME', dir);
  cmd.setEnv('XDG_DATA_HOME', `${dir}/.local/share`);
  cmd.setEnv('XDG_CACHE_HOME', `${dir}/.cache`);
  cmd.setEnv('XDG_CONFIG_HOME', `${dir}/.config`);
}

/** Builds the command line for a canonical (defaults filled, addresses assigned) domain tree. */
export function buildQemuCommandLine(def: XmlElement, options: CommandLineOptions): QemuCommandLine {
  const view = new DomainView(def);
  const ctx: BuildContext = { view, options, runtime: domainRuntimePaths(options.paths, options.domainId, view.name), cmd: new ArgvBuilder(def) };
  buildEnvironment(ctx);
  const steps: Array<(c: BuildContext) => void> = [
    machine.buildName,
    platform.buildCompatDeprecated,
    (c) => c.cmd.add('-S'),
    machine.buildMasterKey,
    buildManagedPrHelper,
    buildPflashBlockdevs,
    machine.buildMachine,
    machine.buildAccel,
    platform.buildTseg,
    buildCpu,
    buildLoader,
    buildMemory,
    buildSmp,
    buildIOThreads,
    buildNuma,
    machine.buildUuid,
    buildSmbios,
    buildFwCfg,
    platform.buildVMGenID,
    machine.buildNoGraphics,
    machine.buildMonitor,
    machine.buildClock,
    machine.buildPowerManagement,
    machine.buildBoot,
    platform.buildIommu,
    buildGlobalControllers,
    buildControllers,
    buildMemoryDevices,
    devices.buildHubs,
    (c) => buildControllersOfType(c, 'ccid'),
    platform.buildFloppyController,
    buildDisks,
    buildFilesystems,
    buildNetworks,
    devices.buildSmartcards,
    buildSerials,
    buildParallels,
    buildChannels,
    buildConsoles,
    devices.buildInputs,
    buildAudio,
    buildGraphics,
    devices.buildVideos,
    devices.buildSounds,
    devices.buildWatchdogs,
    devices.buildRedirdevs,
    buildHostdevs,
    devices.buildMemballoon,
    devices.buildRngs,
    platform.buildVMCoreInfo,
    platform.buildQemuNamespace,
    machine.buildSandbox,
    platform.buildPanic,
    platform.buildShmems,
    platform.buildVsock,
    machine.buildMessageTimestamps,
  ];
  for (const step of steps) step(ctx);
  const binary = child(view.devices, 'emulator')?.text.trim() ?? '';
  return { env: ctx.cmd.env, binary, args: ctx.cmd.args };
}

/** Shell metacharacters that make virBufferEscapeShell quote a word. */
const SHELL_SPECIAL = /[\r\t\n !"#$&'()*;<>?[\\\]^`{|}~]/;

/** virBufferEscapeShell: bare if safe, else single-quoted with ' written as '\''. */
export function shellQuote(word: string): string {
  if (word === '') return "''";
  if (!SHELL_SPECIAL.test(word)) return word;
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** The text `virsh domxml-to-native qemu-argv` prints (virCommandToString): env, binary, args. */
export function formatArgvLikeVirsh(cmd: QemuCommandLine): string {
  const words = [
    ...cmd.env.map(([name, value]) => `${name}=${shellQuote(value)}`),
    shellQuote(cmd.binary),
    ...cmd.args.map(shellQuote),
  ];
  return words.join(' ');
}
