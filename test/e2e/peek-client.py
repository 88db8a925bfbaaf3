#!/usr/bin/python3
# The calls virsh has no command for (virDomainBlockPeek, virDomainMemoryPeek,
# virDomainIsUpdated) through python3-libvirt (libvirt's own client library)
# on a running guest with a raw disk vdb and a qcow2 disk vdc. One line per call: the bytes in hex,
# or the error's code, domain and message; guest-entry-points.test.ts compares
# tsvirtd's lines with libvirtd's.
# usage: peek-client.py URI DOMAIN VDB_IMAGE_PATH
import sys

import libvirt

uri, name, image = sys.argv[1:4]
libvirt.registerErrorHandler(lambda ctx, err: None, None)
dom = libvirt.open(uri).lookupByName(name)
PHYSICAL, VIRTUAL = libvirt.VIR_MEMORY_PHYSICAL, libvirt.VIR_MEMORY_VIRTUAL


def show(label, call):
    try:
        out = call().hex()
    except libvirt.libvirtError as e:
        out = f"ERROR {e.get_error_code()} {e.get_error_domain()} {e.get_error_message()}"
    print(f"{label}: {out}")


show("block vdb 1024+16", lambda: dom.blockPeek("vdb", 1024, 16, 0))
show("block by path 1024+16", lambda: dom.blockPeek(image, 1024, 16, 0))
show("block vdb 0+0", lambda: dom.blockPeek("vdb", 0, 0, 0))
show("block vdb past the end", lambda: dom.blockPeek("vdb", 8 * 1024 * 1024 - 8, 16, 0))
show("block vdc (qcow2)", lambda: dom.blockPeek("vdc", 0, 16, 0))
show("block unknown disk", lambda: dom.blockPeek("vdz", 0, 16, 0))
show("block flags 1", lambda: dom.blockPeek("vdb", 0, 16, 1))
show("block too large", lambda: dom.blockPeek("vdb", 0, 4 * 1024 * 1024 + 1, 0))
# the reset vector and date of the guest's firmware (SeaBIOS, the same on both
# sides; the last byte before 1 MiB changes from boot to boot)
show("memory physical 0xffff0+15", lambda: dom.memoryPeek(0xFFFF0, 15, PHYSICAL))
show("memory physical beyond RAM", lambda: dom.memoryPeek(0x40000000, 16, PHYSICAL))
show("memory virtual 0+16", lambda: dom.memoryPeek(0, 16, VIRTUAL))
show("memory flags 0", lambda: dom.memoryPeek(0, 16, 0))
show("memory both flags", lambda: dom.memoryPeek(0, 16, PHYSICAL | VIRTUAL))
show("memory flags 4", lambda: dom.memoryPeek(0, 16, 4))
show("is updated", lambda: bytes([dom.isUpdated()]))
