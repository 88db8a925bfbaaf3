// qemuConnectURIProbe: which qemu driver a connection opened without a URI
// reaches. libvirt's answer is its driver's configured URI, and that follows
// the privilege the driver runs with: root's is the system instance, anybody
// else's their own session.

/** The qemu:/// URI a connection without one opens, for a process with `uid` (default: this process's). */
export function qemuConnectURIProbe(uid: number | undefined = process.getuid?.()): string {
  return uid === 0 ? 'qemu:///system' : 'qemu:///session';
}
