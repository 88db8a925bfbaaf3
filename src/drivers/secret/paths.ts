// Where the secret driver keeps its secrets, per connection URI (secretStateInitialize):
//   embed root DIR        DIR/etc/secrets, DIR/run/secrets
//   qemu:///session       ~/.config/libvirt/secrets, $XDG_RUNTIME_DIR/libvirt/secrets/run
//   qemu:///system        /etc/tsvirt/secrets, /run/tsvirt/secrets: libvirt's layout with
//                         "libvirt" replaced by "tsvirt", as the storage driver does, so a
//                         host running the real libvirtd keeps its own secrets apart.
// tsvirtd --root DIR lays qemu:///system and /session out as an embed root would.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ParsedURI } from '../../driver/uri.js';

export interface SecretPaths {
  /** persistent secrets: UUID.xml and the value as UUID.base64, both 0600 */
  readonly configDir: string;
  /** the driver's runtime folder (tsvirt keeps ephemeral secrets there between connections of separate processes) */
  readonly stateDir: string;
}

function embedLayout(root: string): SecretPaths {
  return { configDir: join(root, 'etc', 'secrets'), stateDir: join(root, 'run', 'secrets') };
}

export function secretPathsForURI(uri: ParsedURI, stateRoot?: string): SecretPaths {
  // the registry has checked an embed URI's root (absolute, present)
  const embedRoot = uri.path === '/embed' ? uri.params.get('root') : null;
  if (embedRoot) return embedLayout(resolve(embedRoot));
  if (stateRoot !== undefined) return embedLayout(resolve(stateRoot));
  if (uri.path === '/session') {
    const home = homedir();
    const configDir = join(process.env.XDG_CONFIG_HOME || join(home, '.config'), 'libvirt', 'secrets');
    const runtime = process.env.XDG_RUNTIME_DIR || join(process.env.XDG_CACHE_HOME || join(home, '.cache'));
    return { configDir, stateDir: join(runtime, 'libvirt', 'secrets', 'run') };
  }
  return { configDir: '/etc/tsvirt/secrets', stateDir: '/run/tsvirt/secrets' };
}
