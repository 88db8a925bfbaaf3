// Where the storage driver keeps its pools, per connection URI (storageStateInitialize):
//   embed root DIR        DIR/etc/storage, DIR/etc/storage/autostart, DIR/run/storage
//   qemu:///session       ~/.config/libvirt/storage, $XDG_RUNTIME_DIR/libvirt/storage/run
//   qemu:///system        /etc/tsvirt/storage, /run/tsvirt/storage: libvirt's layout with
//                         "libvirt" replaced by "tsvirt", as the qemu driver does, so a host
//                         running the real libvirtd keeps its own pools apart.
// tsvirtd --root DIR lays qemu:///system and /session out as an embed root would.
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { ParsedURI } from '../../driver/uri.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';

export interface StoragePaths {
  /** persistent pool configs: NAME.xml */
  readonly configDir: string;
  /** links NAME.xml -> ../NAME.xml of autostarted pools */
  readonly autostartDir: string;
  /** live pool state: NAME.xml, and tsvirt's NAME.volumes.xml */
  readonly stateDir: string;
}

function embedLayout(root: string): StoragePaths {
  const configDir = join(root, 'etc', 'storage');
  return { configDir, autostartDir: join(configDir, 'autostart'), stateDir: join(root, 'run', 'storage') };
}

export function storagePathsForURI(uri: ParsedURI, stateRoot?: string): StoragePaths {
  if (uri.path === '/embed') {
    const root = uri.params.get('root');
    if (!root) throw virError(ErrorCode.INVALID_ARG, "Missing URI parameter 'root'", ErrorDomain.NONE);
    if (!isAbsolute(root)) throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'root path must be absolute', ErrorDomain.NONE);
    return embedLayout(resolve(root));
  }
  if (stateRoot !== undefined) return embedLayout(resolve(stateRoot));
  if (uri.path === '/session') {
    const home = homedir();
    const configDir = join(process.env.XDG_CONFIG_HOME || join(home, '.config'), 'libvirt', 'storage');
    const runtime = process.env.XDG_RUNTIME_DIR || join(process.env.XDG_CACHE_HOME || join(home, '.cache'));
    return { configDir, autostartDir: join(configDir, 'autostart'), stateDir: join(runtime, 'libvirt', 'storage', 'run') };
  }
  return { configDir: '/etc/tsvirt/storage', autostartDir: '/etc/tsvirt/storage/autostart', stateDir: '/run/tsvirt/storage' };
}
