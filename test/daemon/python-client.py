#!/usr/bin/env python3
# A python3-libvirt client of tsvirtd (run by python-client.test.ts): open, list, define,
# start, an event callback, destroy, undefine. Prints one JSON report on stdout.
import json
import sys
import threading
import time

import libvirt

uri = sys.argv[1]
xml = """<domain type='test'><name>py-ev</name><uuid>c0ffee00-0000-4000-8000-0000000000a1</uuid>
<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>"""

libvirt.virEventRegisterDefaultImpl()
events = []


def lifecycle(_conn, dom, event, detail, _opaque):
    events.append([dom.name(), event, detail])


def loop():
    while True:
        libvirt.virEventRunDefaultImpl()


threading.Thread(target=loop, daemon=True).start()
conn = libvirt.open(uri)
report = {"lib": conn.getLibVersion(), "type": conn.getType()}
report["before"] = sorted(d.name() for d in conn.listAllDomains())
cb = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, None)
dom = conn.defineXML(xml)
dom.create()
report["running"] = dom.isActive()
report["state"] = dom.state()
report["xml_has_name"] = "<name>py-ev</name>" in dom.XMLDesc()
dom.destroy()
dom.undefine()
report["after"] = sorted(d.name() for d in conn.listAllDomains())
try:
    conn.lookupByName("py-ev")
    report["lookup_error"] = None
except libvirt.libvirtError as e:
    report["lookup_error"] = [e.get_error_code(), e.get_error_domain()]
time.sleep(0.3)
conn.domainEventDeregisterAny(cb)
report["events"] = events
conn.close()
print(json.dumps(report))
