#!/bin/sh
# Records what libvirt 9.0 shows of a guest's network port: the live
# <interface> of a paused guest on a NAT network, net-port-list and
# net-port-dumpxml, and net-port-list after destroy. Runs against the private
# libvirtd of ../ref-libvirtd.sh (nothing changes on the host); uuids are
# normalised as ../normalise.sed does. Writes expected.out. Usage (root): capture.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=/tmp/tsvirt-guestport ns=tsvirt-guestport
rm -rf "$dir"
pid=$("$here/../ref-libvirtd.sh" start "$ns" "$dir")
trap '"$here/../ref-libvirtd.sh" stop "$ns" "$dir" >/dev/null 2>&1' EXIT
virsh() { nsenter -t "$pid" -m -n virsh -c qemu:///system "$@"; }
virsh net-create "$here/lan.xml" >/dev/null
virsh create "$here/netguest.xml" --paused >/dev/null
port=$(virsh net-port-list lan --uuid | head -1)
{
  echo '$ dumpxml netguest (the <interface>)'
  virsh dumpxml netguest | sed -n '/<interface/,/<\/interface>/p'
  echo '$ net-port-list lan'
  virsh net-port-list lan
  echo '$ net-port-dumpxml lan PORT'
  virsh net-port-dumpxml lan "$port"
  virsh destroy netguest >/dev/null
  echo '$ net-port-list lan (after destroy)'
  virsh net-port-list lan
} | sed -E 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/UUID/g' >"$here/expected.out"
