#!/usr/bin/python3
# A libvirt client of tsvirtd's qemu driver (python3-libvirt, libvirt's own
# remote driver): registers a domain lifecycle callback, then defines, starts,
# suspends and resumes the test guest and has the guest power itself off.
# Prints "EVENT <name> <event> <detail>" per lifecycle event and "STATE <state>
# <reason>" once the guest stopped; the test (qemu-events.test.ts) judges them.
# usage: qemu-events-client.py URI DOMAIN_XML_FILE TIMEOUT_S
#    or: qemu-events-client.py URI --watch TIMEOUT_S   (prints READY once
#        registered, then the events until a domain stops)
#    or: qemu-events-client.py URI --api DOMAIN_XML_FILE TIMEOUT_S  (a second
#        connection defines, starts paused, destroys, redefines and undefines;
#        prints the events this connection heard until UNDEFINED)
import os
import queue
import re
import sys
import threading
import time
import tty

import libvirt

uri, xml_file, timeout = sys.argv[1], sys.argv[2], float(sys.argv[-1])
deadline = time.monotonic() + timeout

libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)], daemon=True).start()

events = queue.Queue()


def on_lifecycle(_conn, dom, event, detail, _opaque):
    print(f"EVENT {dom.name()} {event} {detail}", flush=True)
    events.put(event)


def wait_event(wanted, what, on_idle=None):
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            sys.exit(f"timed out waiting for {what}")
        try:
            if events.get(timeout=min(left, 5)) == wanted:
                return
        except queue.Empty:
            if on_idle:
                on_idle()


conn = libvirt.open(uri)
conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, on_lifecycle, None)
if xml_file == "--watch":
    print("READY", flush=True)
    wait_event(libvirt.VIR_DOMAIN_EVENT_STOPPED, "STOPPED")
    sys.exit(0)
if xml_file == "--api":
    other = libvirt.open(uri)
    with open(sys.argv[3]) as f:
        xml = f.read()
    dom = other.defineXML(xml)
    dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
    dom.destroy()
    other.defineXML(xml).undefine()
    wait_event(libvirt.VIR_DOMAIN_EVENT_UNDEFINED, "UNDEFINED")
    sys.exit(0)
with open(xml_file) as f:
    dom = conn.defineXML(f.read())
dom.create()
wait_event(libvirt.VIR_DOMAIN_EVENT_STARTED, "STARTED")
dom.suspend()
wait_event(libvirt.VIR_DOMAIN_EVENT_SUSPENDED, "SUSPENDED")
dom.resume()
wait_event(libvirt.VIR_DOMAIN_EVENT_RESUMED, "RESUMED")

# The guest's serial console is a pty: once the guest is up, its command channel
# runs `poweroff -f` (test-guest.md), resent until the guest stops.
pty = re.search(r"<serial type='pty'>\s*<source path='(/dev/pts/\d+)'", dom.XMLDesc()).group(1)
fd = os.open(pty, os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)  # no echo of the guest's output back into it
console = bytearray()


def read_console():
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return  # EIO once QEMU is gone
        if not chunk:
            return
        console.extend(chunk)


threading.Thread(target=read_console, daemon=True).start()


def ask_poweroff():
    if b"@@GUEST-UP" in console:
        os.write(fd, b"poweroff -f\n")


wait_event(libvirt.VIR_DOMAIN_EVENT_STOPPED, "STOPPED", on_idle=ask_poweroff)
state, reason = dom.state()
print(f"STATE {state} {reason}", flush=True)
conn.close()
