// The command-line builder's options as the qemu driver fills them in, shared by
// starting a domain and by domxml-to-native so both print the same paths.
import type { CommandLineOptions } from './command-line/context.js';
import type { QemuPaths } from './paths.js';

/** qemu.conf's default_tls_x509_cert_dir: /etc/pki/qemu, below the root in embed mode. */
export function defaultTlsX509CertDir(paths: Pick<QemuPaths, 'root'>): string {
  return `${paths.root ?? ''}/etc/pki/qemu`;
}

/** The options of one build: the driver's folders and environment plus what differs per call. */
export function driverCommandLineOptions(paths: QemuPaths, perCall: Pick<CommandLineOptions, 'caps' | 'domainId' | 'tapFd' | 'diskSecrets' | 'masterKey'>): CommandLineOptions {
  return { ...perCall, paths, hostEnv: process.env, tlsX509CertDir: defaultTlsX509CertDir(paths) };
}
