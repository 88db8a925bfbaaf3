#!/usr/bin/python3
# A python3-libvirt client of tsvirtd's network events (libvirt's own remote
# driver on the other end): registers for lifecycle events of every network,
# drives a network through its life on its own connection, prints each event
# as "EVENT NAME EVENT DETAIL", then deregisters and checks that nothing more
# arrives. Usage: net-events-client.py URI NETWORK-XML TIMEOUT-SECONDS
import sys
import threading
import time

import libvirt

uri, xml_file, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
libvirt.virEventRegisterDefaultImpl()


def loop():
    while True:
        libvirt.virEventRunDefaultImpl()


threading.Thread(target=loop, daemon=True).start()

conn = libvirt.open(uri)
events = []
lock = threading.Condition()


def lifecycle(_conn, net, event, detail, _opaque):
    with lock:
        events.append((net.name(), event, detail))
        print("EVENT %s %d %d" % (net.name(), event, detail), flush=True)
        lock.notify_all()


def wait_for(count):
    deadline = time.time() + timeout
    with lock:
        while len(events) < count and time.time() < deadline:
            lock.wait(deadline - time.time())
    return len(events) >= count


cb = conn.networkEventRegisterAny(None, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, lifecycle, None)
xml = open(xml_file).read()
net = conn.networkDefineXML(xml)
net.create()
net.destroy()
net.undefine()
if not wait_for(4):
    print("TIMEOUT after %d events" % len(events), flush=True)
    sys.exit(1)
conn.networkEventDeregisterAny(cb)
conn.networkDefineXML(xml).undefine()
time.sleep(1)
print("AFTER %d" % len(events), flush=True)
conn.close()
