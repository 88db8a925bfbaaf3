// Where the network driver keeps its files, in libvirt's layout: persistent
// definitions in etc/qemu/networks (autostart links in its autostart/), live
// state and dnsmasq pid files in run/network, dnsmasq's files in lib/dnsmasq.
// qemu:///system uses /etc/tsvirt, /run/tsvirt and /var/lib/tsvirt so that the
// host's own libvirtd state is never touched; a state root (tsvirtd --root,
// qemu:///embed?root=) holds the same tree under it.

import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ParsedURI } from '../../driver/uri.js';

export interface NetworkPaths {
  configDir: string;
  autostartDir: string;
  stateDir: string;
  dnsmasqDir: string;
}

function under(root: string): NetworkPaths {
  return {
    configDir: join(root, 'etc', 'qemu', 'networks'),
    autostartDir: join(root, 'etc', 'qemu', 'networks', 'autostart'),
    stateDir: join(root, 'run', 'network'),
    dnsmasqDir: join(root, 'lib', 'dnsmasq'),
  };
}

export function networkPathsForURI(uri: ParsedURI, stateRoot?: string): NetworkPaths {
  const embedRoot = uri.path === '/embed' ? uri.params.get('root') : null;
  if (embedRoot) return under(resolve(embedRoot));
  if (stateRoot !== undefined) return under(resolve(stateRoot));
  if (uri.path === '/session') {
    const config = join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'tsvirt');
    const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tsvirt');
    return {
      configDir: join(config, 'qemu', 'networks'),
      autostartDir: join(config, 'qemu', 'networks', 'autostart'),
      stateDir: join(process.env.XDG_RUNTIME_DIR || cache, 'tsvirt', 'network'),
      dnsmasqDir: join(cache, 'dnsmasq'),
    };
  }
  return {
    configDir: '/etc/tsvirt/qemu/networks',
    autostartDir: '/etc/tsvirt/qemu/networks/autostart',
    stateDir: '/run/tsvirt/network',
    dnsmasqDir: '/var/lib/tsvirt/dnsmasq',
  };
}
