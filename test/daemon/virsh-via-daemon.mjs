#!/usr/bin/env node
// Real virsh redirected to a tsvirtd: every test:/// URI in the arguments becomes
// test+unix:///...?socket=$TSVIRTD_SOCKET (a /proc/self/cwd/ path is resolved here,
// since the daemon's own cwd is elsewhere). Used as run-virsh.mjs's --virsh program.
import { spawn } from 'node:child_process';

const socket = process.env.TSVIRTD_SOCKET;
if (!socket) {
  process.stderr.write('virsh-via-daemon: TSVIRTD_SOCKET is not set\n');
  process.exit(2);
}
const redirect = (arg) =>
  arg.replace(/test:\/\/\/([^\s;'"]*)/g, (_, rest) => {
    const path = rest.replace(/^proc\/self\/cwd\//, `${process.cwd().slice(1)}/`);
    return `test+unix:///${path}${path.includes('?') ? '&' : '?'}socket=${socket}`;
  });
const child = spawn('virsh', process.argv.slice(2).map(redirect), { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(signal ? 1 : code ?? 1));
