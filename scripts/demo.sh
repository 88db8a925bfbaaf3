#!/usr/bin/env bash
# Sets up tsvirt and walks through the define path on the embedded QEMU driver:
# define a q35 guest, print libvirt's canonical XML with every PCI address,
# the PCI topology, and the QEMU command line libvirt 9.0 would run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
root=$(mktemp -d /tmp/tsvirt-demo.XXXXXX)
uri="qemu:///embed?root=$root"
cat > "$root/demo.xml" <<'XML'
<domain type='qemu'>
  <name>demo</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/tmp/demo.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='user'><model type='virtio'/></interface>
    <serial type='pty'/>
  </devices>
</domain>
XML
set -x
bin/tsvirsh -c "$uri" define "$root/demo.xml"
bin/tsvirsh -c "$uri" list --all
bin/tsvirsh -c "$uri" dumpxml demo
bin/tsvirsh -c "$uri" domtopology demo
bin/tsvirsh -c "$uri" domxml-to-native qemu-argv --domain demo
bin/tsvirsh -c "$uri" undefine demo
