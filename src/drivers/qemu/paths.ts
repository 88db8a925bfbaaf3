// Where the qemu driver keeps its state, per connection URI.
//
// qemu:///embed?root=DIR uses libvirt's embed layout under DIR verbatim.
// qemu:///session uses libvirt's per-user folders (as virtqemud --session does).
// qemu:///system uses libvirt's system layout with "libvirt" replaced by
// "tsvirt" (/etc/tsvirt, /var/lib/tsvirt/qemu, /run/tsvirt/qemu, ...): a host
// may also run the real libvirtd, whose /etc/libvirt/qemu/NAME.xml files and
// /var/lib/libvirt/qemu/domain-ID-NAME runtime folders tsvirt must not
// overwrite or be confused by. Everything inside the tree is laid out as libvirt does.

import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import type { ParsedURI } from '../../driver/uri.js';

export type QemuDriverMode = 'embed' | 'session' | 'system';

export interface QemuPaths {
  mode: QemuDriverMode;
  /** canonical connection URI */
  uri: string;
  /** the embed root, only in embed mode */
  root?: string;
  /** etc: holds qemu.conf and qemu/ */
  configBaseDir: string;
  /** qemu.conf */
  configFile: string;
  /** persistent domain configs: NAME.xml */
  configDir: string;
  /** symlinks NAME.xml -> ../NAME.xml for autostarted domains */
  autostartDir: string;
  /** runtime state: status XML, pid files, locks */
  stateDir: string;
  cacheDir: string;
  /** per-domain runtime folders (domain-ID-NAME), save images, nvram, ... */
  libDir: string;
  logDir: string;
  saveDir: string;
  snapshotDir: string;
  checkpointDir: string;
  autoDumpPath: string;
  channelTargetDir: string;
  nvramDir: string;
  memoryBackingDir: string;
  /** cross-process locks of this driver instance */
  lockDir: string;
}

function layout(mode: QemuDriverMode, uri: string, base: { configBase: string; state: string; cache: string; lib: string; log: string }, libSubdirBase: string, root?: string): QemuPaths {
  return {
    mode,
    uri,
    ...(root !== undefined ? { root } : {}),
    configBaseDir: base.configBase,
    configFile: join(base.configBase, 'qemu.conf'),
    configDir: join(base.configBase, 'qemu'),
    autostartDir: join(base.configBase, 'qemu', 'autostart'),
    stateDir: base.state,
    cacheDir: base.cache,
    libDir: base.lib,
    logDir: base.log,
    saveDir: join(libSubdirBase, 'save'),
    snapshotDir: join(libSubdirBase, 'snapshot'),
    checkpointDir: join(libSubdirBase, 'checkpoint'),
    autoDumpPath: join(libSubdirBase, 'dump'),
    channelTargetDir: join(libSubdirBase, 'channel', 'target'),
    nvramDir: join(libSubdirBase, 'nvram'),
    memoryBackingDir: join(libSubdirBase, 'ram'),
    lockDir: join(base.state, 'tsvirt-locks'),
  };
}

/** libvirt's embed layout under `root`. */
function embedLayout(mode: QemuDriverMode, uri: string, root: string): QemuPaths {
  const lib = join(root, 'lib', 'qemu');
  return layout(mode, uri, {
    configBase: join(root, 'etc'),
    state: join(root, 'run', 'qemu'),
    cache: join(root, 'cache', 'qemu'),
    lib,
    log: join(root, 'log', 'qemu'),
  }, lib, root);
}

/**
 * Computes the state layout of a qemu:/// URI (virQEMUDriverConfigNew). With a
 * `stateRoot` (tsvirtd --root DIR), qemu:///system and qemu:///session keep their
 * URI but lay their state out under it as an embed root would.
 */
export function qemuPathsForURI(uri: ParsedURI, stateRoot?: string): QemuPaths {
  const bad = () => virError(ErrorCode.INTERNAL_ERROR, `unexpected QEMU URI path '${uri.path}', try qemu:///system`, ErrorDomain.QEMU);
  if (uri.path === '/embed') {
    const rootParam = uri.params.get('root');
    if (!rootParam) throw virError(ErrorCode.INVALID_ARG, "Missing URI parameter 'root'", ErrorDomain.NONE);
    if (!isAbsolute(rootParam)) throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'root path must be absolute', ErrorDomain.NONE);
    const root = resolve(rootParam);
    return embedLayout('embed', `qemu:///embed?root=${root}`, root);
  }
  if (stateRoot !== undefined) {
    if (uri.path === '/session') return embedLayout('session', 'qemu:///session', resolve(stateRoot));
    if (uri.path === '/system' || uri.path === '/system/') return embedLayout('system', 'qemu:///system', resolve(stateRoot));
    throw bad();
  }
  if (uri.path === '/session') {
    const home = homedir();
    const configBase = join(process.env.XDG_CONFIG_HOME || join(home, '.config'), 'libvirt');
    const cacheBase = join(process.env.XDG_CACHE_HOME || join(home, '.cache'), 'libvirt');
    const runtimeBase = join(process.env.XDG_RUNTIME_DIR || cacheBase, 'libvirt');
    return layout('session', 'qemu:///session', {
      configBase,
      state: join(runtimeBase, 'qemu', 'run'),
      cache: join(cacheBase, 'qemu', 'cache'),
      lib: join(configBase, 'qemu', 'lib'),
      log: join(cacheBase, 'qemu', 'log'),
    }, join(configBase, 'qemu'));
  }
  if (uri.path === '/system' || uri.path === '/system/') {
    const lib = '/var/lib/tsvirt/qemu';
    return layout('system', 'qemu:///system', {
      configBase: '/etc/tsvirt',
      state: '/run/tsvirt/qemu',
      cache: '/var/cache/tsvirt/qemu',
      lib,
      log: '/var/log/tsvirt/qemu',
    }, lib);
  }
  throw bad();
}

/** The folders that must exist before the driver touches any state. */
export function requiredDirs(p: QemuPaths): string[] {
  return [p.configDir, p.autostartDir, p.stateDir, p.cacheDir, p.libDir, p.logDir, p.lockDir];
}
