#!/usr/bin/python3
# Per-call latency for bench/daemon.ts: one python3-libvirt connection (libvirt's
# own remote driver) defines, dumps (inactive XML) and undefines each case's
# domain, timing every call separately, ROUNDS times over the cases.
# Prints "CALL <name> <median_ms>" for define, dumpxml and undefine.
# usage: per-call.py URI ROUNDS XML_FILE...
import statistics
import sys
import time

import libvirt

uri, rounds, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
xmls = [open(f).read() for f in files]
conn = libvirt.open(uri)
times = {"define": [], "dumpxml": [], "undefine": []}


def timed(name, fn):
    t0 = time.perf_counter()
    result = fn()
    times[name].append((time.perf_counter() - t0) * 1000)
    return result


for _ in range(rounds):
    for xml in xmls:
        dom = timed("define", lambda: conn.defineXML(xml))
        timed("dumpxml", lambda: dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        timed("undefine", dom.undefine)
conn.close()
for name, samples in times.items():
    print(f"CALL {name} {statistics.median(samples):.3f}")
