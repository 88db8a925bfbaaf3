#!/usr/bin/env python3
# Runs a command on a pseudo-terminal, as a user at a terminal would, and types
# Ctrl-C once MARKER has appeared COUNT times in its output. Prints one JSON
# line: {"output": everything the terminal showed, "code": the exit code}.
# Usage: pty-interrupt.py MARKER COUNT COMMAND [ARG...]
import json, os, pty, select, sys

marker, count = sys.argv[1].encode(), int(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[3], sys.argv[3:])
out = b''
typed = False
while True:
    ready, _, _ = select.select([fd], [], [], 0.05)
    if ready:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the command ended and closed the terminal
            break
        if not data:
            break
        out += data
    if not typed and out.count(marker) >= count:
        os.write(fd, b'\x03')
        typed = True
_, status = os.waitpid(pid, 0)
print(json.dumps({'output': out.decode('utf-8', 'replace'), 'code': os.waitstatus_to_exitcode(status)}))
