#!/usr/bin/python3
# Event latency for bench/daemon.ts: a python3-libvirt client (libvirt's own
# remote driver) starts the test guest, waits until it is up, has it run
# `poweroff -f` on its serial console, and times the guest's power-off (QEMU's
# own timestamp of its SHUTDOWN event, heard as a QEMU monitor event) to the
# client's lifecycle callbacks SHUTDOWN and STOPPED. Repeats ROUNDS times.
# Prints "LATENCY <shutdown_ms> <stopped_ms>" per round.
# usage: event-latency.py URI DOMAIN_XML_FILE ROUNDS TIMEOUT_S
import os
import queue
import re
import sys
import threading
import time
import tty

import libvirt
import libvirt_qemu

uri, xml_file, rounds, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])

libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)], daemon=True).start()

heard = queue.Queue()


def on_lifecycle(_conn, _dom, event, _detail, _opaque):
    heard.put(("life", event, time.time()))


def on_monitor(_conn, _dom, event, seconds, micros, _details, _opaque):
    heard.put(("qmp", event, seconds + micros / 1e6))


conn = libvirt.open(uri)
with open(xml_file) as f:
    dom = conn.defineXML(f.read())
conn.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, on_lifecycle, None)
libvirt_qemu.qemuMonitorEventRegister(conn, dom, "SHUTDOWN", on_monitor, None, 0)


def boot_and_poweroff(deadline):
    """Starts the guest, sends `poweroff -f` on its console once it is up, until it stops."""
    dom.create()
    pty = re.search(r"<serial type='pty'>\s*<source path='(/dev/pts/\d+)'", dom.XMLDesc()).group(1)
    fd = os.open(pty, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    console = bytearray()

    def read_console():
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return
            if not chunk:
                return
            console.extend(chunk)

    threading.Thread(target=read_console, daemon=True).start()
    qemu_shutdown = life_shutdown = life_stopped = None
    while life_stopped is None:
        if time.monotonic() > deadline:
            sys.exit("timed out")
        try:
            kind, event, at = heard.get(timeout=1)
        except queue.Empty:
            if b"@@GUEST-UP" in console:
                try:
                    os.write(fd, b"poweroff -f\n")
                except OSError:
                    pass  # QEMU is gone: the events are on their way
            continue
        if kind == "qmp":
            qemu_shutdown = at
        elif event == libvirt.VIR_DOMAIN_EVENT_SHUTDOWN:
            life_shutdown = at
        elif event == libvirt.VIR_DOMAIN_EVENT_STOPPED:
            life_stopped = at
    os.close(fd)
    # the monitor event may trail the lifecycle ones
    while qemu_shutdown is None and time.monotonic() < deadline:
        try:
            kind, event, at = heard.get(timeout=2)
        except queue.Empty:
            break
        if kind == "qmp":
            qemu_shutdown = at
    return qemu_shutdown, life_shutdown, life_stopped


for _ in range(rounds):
    q, s, t = boot_and_poweroff(time.monotonic() + timeout)
    if q is None or s is None:
        sys.exit("the power-off was not reported (no QEMU SHUTDOWN or no lifecycle SHUTDOWN)")
    print(f"LATENCY {(s - q) * 1000:.1f} {(t - q) * 1000:.1f}", flush=True)
    # drain what came late (the monitor event may trail the lifecycle one)
    time.sleep(0.5)
    while not heard.empty():
        heard.get()
dom.undefine()
conn.close()
