#!/usr/bin/env bash
# Sets up tsvirt and shows its main job on the embedded QEMU driver: boot the
# tiny test guest (a Debian kernel + busybox initramfs, TCG is enough), print
# its first console lines, hotplug a NIC into the pcie-root-port tsvirt keeps
# free for it, show the PCI topology before and after, then clean up.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${DEMO_SKIP_SETUP:-0}" = 1 ] || bash scripts/setup.sh
guest=$(sh test/guest/build-guest.sh | tail -n1)
root=$(mktemp -d /tmp/tsvirt-demo.XXXXXX)
# as root, QEMU runs as the unprivileged tsvirt-qemu user, which must reach its files under the root
chmod 0755 "$root"
uri="qemu:///embed?root=$root"
tsvirsh() { bin/tsvirsh -c "$uri" "$@"; }
cleanup() {
  tsvirsh destroy demo >/dev/null 2>&1 || true
  tsvirsh undefine demo >/dev/null 2>&1 || true
  rm -rf "$root"
}
trap cleanup EXIT
cat > "$root/demo.xml" <<XML
<domain type='qemu'>
  <name>demo</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$guest/vmlinuz</kernel>
    <initrd>$guest/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <serial type='file'><source path='$root/console.log'/></serial>
  </devices>
</domain>
XML
cat > "$root/nic.xml" <<'XML'
<interface type='user'><model type='virtio'/></interface>
XML

# Waits (at most 60 s) until the guest's console has a line matching $1.
wait_console() {
  for _ in $(seq 600); do
    grep -q "$1" "$root/console.log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "demo: the guest did not print '$1' within 60 s" >&2
  exit 1
}

t0=$(date +%s%N)
set -x
tsvirsh define "$root/demo.xml"
tsvirsh start demo
{ set +x; } 2>/dev/null
wait_console '^@@PCI-END'
echo "--- the guest's first console lines:"
head -n 12 "$root/console.log" | tr -d '\r'
set -x
tsvirsh list
tsvirsh domtopology demo
tsvirsh attach-device demo "$root/nic.xml" --live
{ set +x; } 2>/dev/null
wait_console '^@@PCI-ADD'
echo "--- the guest saw the hotplug:"
grep '^@@PCI-ADD' "$root/console.log" | tr -d '\r'
set -x
tsvirsh domtopology demo
tsvirsh domiflist demo
tsvirsh destroy demo
tsvirsh undefine demo
{ set +x; } 2>/dev/null
echo "demo finished in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
