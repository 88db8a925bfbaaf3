#!/usr/bin/python3
# virDomainSaveParams and virDomainRestoreParams (the typed-parameter save and
# restore, which virsh does not call) through python3-libvirt on a running
# guest: refusals and a save to DIR/params.save (restoring it is left out:
# tsvirt's restore of a guest with an agent channel fails, a known gap). One
# line per call: "ok" and the domain's state and reason, or the error's code,
# domain and message; guest-entry-points.test.ts compares tsvirtd's lines with libvirtd's.
# usage: save-params-client.py URI DOMAIN DIR
import os
import sys

import libvirt

uri, name, folder = sys.argv[1:4]
libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(uri)
image = os.path.join(folder, "params.save")


def show(label, call):
    try:
        call()
        state, reason = conn.lookupByName(name).state()
        out = f"ok {state} {reason}"
    except libvirt.libvirtError as e:
        out = f"ERROR {e.get_error_code()} {e.get_error_domain()} {e.get_error_message()}"
    print(f"{label}: {out}")


dom = conn.lookupByName(name)
show("save unknown param", lambda: dom.saveParams({"nope": "x"}, 0))
show("save flags 8", lambda: dom.saveParams({libvirt.VIR_DOMAIN_SAVE_PARAM_FILE: image}, 8))
show("save", lambda: dom.saveParams({libvirt.VIR_DOMAIN_SAVE_PARAM_FILE: image}, 0))
show("restore without file", lambda: conn.restoreParams({}, 0))
