# The connection's older list calls and properties as python3-libvirt makes them:
# one domain started paused, one only defined; prints what the connection says.
import json
import sys
import uuid

import libvirt

uri, prefix = sys.argv[1], sys.argv[2]
conn = libvirt.open(uri)
XML = """<domain type='qemu'><name>{}</name><uuid>{}</uuid><memory unit='MiB'>64</memory>
<os><type arch='x86_64' machine='q35'>hvm</type></os></domain>"""
running = conn.defineXML(XML.format(prefix + '-run', uuid.uuid4()))
defined = conn.defineXML(XML.format(prefix + '-def', uuid.uuid4()))
try:
    running.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
    ids = conn.listDomainsID()
    names = conn.listDefinedDomains()
    print(json.dumps({
        'num_active': conn.numOfDomains(),
        'ids': ids,
        'running_listed': running.ID() in ids,
        'num_defined': conn.numOfDefinedDomains(),
        'defined_listed': defined.name() in names and running.name() not in names,
        'names': len(names),
        'secure': conn.isSecure(),
        'encrypted': conn.isEncrypted(),
        'alive': conn.isAlive(),
    }))
finally:
    if running.isActive():
        running.destroy()
    running.undefine()
    defined.undefine()
