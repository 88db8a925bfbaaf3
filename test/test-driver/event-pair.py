# Two connections to one test:///default: the first registers lifecycle callbacks
# (domains, metadata, networks, storage pools), the second changes objects; prints
# one line per event the first receives, in arrival order, as JSON lines.
# Usage: python3 event-pair.py URI   (test+unix:///default?socket=...)
import json
import sys
import threading
import time

import libvirt

uri = sys.argv[1]
libvirt.virEventRegisterDefaultImpl()


def loop():
    while True:
        libvirt.virEventRunDefaultImpl()


threading.Thread(target=loop, daemon=True).start()

received = []


def record(kind, name, *values):
    received.append([kind, name, *values])


def domain_id(dom):
    # ids grow with the node's history; what matters is running (> 0) or not (-1)
    return -1 if dom.ID() == -1 else 'running'


watcher = libvirt.open(uri)
watcher.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                               lambda c, d, e, det, o: record('domain', d.name(), e, det, domain_id(d)), None)
watcher.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                               lambda c, d, t, ns, o: record('metadata', d.name(), t, ns), None)
watcher.networkEventRegisterAny(None, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE,
                                lambda c, n, e, det, o: record('network', n.name(), e, det), None)
watcher.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE,
                                    lambda c, p, e, det, o: record('pool', p.name(), e, det), None)
watcher.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH,
                                    lambda c, p, o: record('pool-refresh', p.name()), None)

DOMAIN = """<domain type='test'><name>evpair</name><uuid>5d1bd00e-4e5a-4c7f-9a43-2fd1c8b3c0a1</uuid>
<memory>1048576</memory><vcpu>1</vcpu><os><type>hvm</type></os>%s</domain>"""
TRANSIENT = """<domain type='test'><name>evpair-transient</name><memory>1048576</memory><vcpu>1</vcpu>
<os><type>hvm</type></os></domain>"""
NETWORK = """<network><name>evpair-net</name><bridge name='evpairbr0'/>
<ip address='192.168.177.1' netmask='255.255.255.0'/></network>"""
POOL = """<pool type='dir'><name>evpair-pool</name><target><path>/var/tmp/evpair-pool</path></target></pool>"""
SNAPSHOT = "<domainsnapshot><name>s1</name></domainsnapshot>"

actor = libvirt.open(uri)
dom = actor.defineXML(DOMAIN % '')
actor.defineXML(DOMAIN % '<description>again</description>')
dom.create()
dom.suspend()
dom.resume()
dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_TITLE, 'a title', None, None, libvirt.VIR_DOMAIN_AFFECT_LIVE)
dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, '<ev/>', 'ev', 'http://example.org/ev', libvirt.VIR_DOMAIN_AFFECT_CONFIG)
dom.shutdown()
dom.create()
dom.managedSave()
dom.create()
snap = dom.snapshotCreateXML(SNAPSHOT, libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_HALT)
dom.revertToSnapshot(snap, libvirt.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED)
dom.destroy()
dom.rename('evpair-renamed')
dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
transient = actor.createXML(TRANSIENT)
transient.destroy()

net = actor.networkDefineXML(NETWORK)
net.create()
net.destroy()
net.undefine()

pool = actor.storagePoolDefineXML(POOL)
pool.build()
pool.create()
pool.refresh()
pool.destroy()
pool.delete()
pool.undefine()

# events travel asynchronously: wait until they stop coming
deadline = time.time() + 30
seen = -1
while time.time() < deadline and seen != len(received):
    seen = len(received)
    time.sleep(1.5)

for event in received:
    print(json.dumps(event))
actor.close()
watcher.close()
