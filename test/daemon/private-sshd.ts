// A private sshd for the ssh transport's tests and bench: on a spare port of
// 127.0.0.1, host key, authorized key and known_hosts in a temp dir, root by key
// only, and an `ssh` wrapper (libvirt's `command` parameter) that keeps the
// host key out of root's own known_hosts.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './pki.js';

export const SSHD = '/usr/sbin/sshd';

export interface PrivateSshd {
  /** root@127.0.0.1:PORT */
  readonly authority: string;
  /** the URI parameters that log in with the test key through the wrapper, without a host key prompt */
  readonly params: string;
  readonly dir: string;
  stop(): Promise<void>;
}

/** Why a private sshd cannot run here, or null. */
export function sshdUnavailable(): string | null {
  if (!existsSync(SSHD)) return 'sshd is not installed (apt openssh-server)';
  if (process.getuid?.() !== 0) return 'the private sshd logs in as root and needs to run as root';
  return null;
}

function waitForPort(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const attempt = () => {
      const s = netConnect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => (Date.now() > deadline ? reject(new Error(`sshd did not listen on ${port}`)) : setTimeout(attempt, 50)));
    };
    attempt();
  });
}

export async function startSshd(): Promise<PrivateSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'tsvirt-sshd-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'hostkey')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'userkey')]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'userkey.pub')));
  chmodSync(join(dir, 'authorized_keys'), 0o600);
  const port = await freePort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [`Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'hostkey')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no', `PidFile ${join(dir, 'sshd.pid')}`].join('\n') + '\n',
  );
  // sshd's privilege separation directory
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const sshd = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'ignore'] });
  const exited = new Promise<void>((resolve) => sshd.once('exit', () => resolve()));
  await waitForPort(port);
  const wrapper = join(dir, 'ssh');
  writeFileSync(wrapper, `#!/bin/sh\nexec ssh -o UserKnownHostsFile=${join(dir, 'known_hosts')} "$@"\n`, { mode: 0o755 });
  return {
    authority: `root@127.0.0.1:${port}`,
    params: `keyfile=${join(dir, 'userkey')}&no_tty=1&no_verify=1&command=${wrapper}`,
    dir,
    stop: async () => {
      if (sshd.exitCode === null && sshd.signalCode === null) {
        sshd.kill();
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
