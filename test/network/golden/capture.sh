#!/bin/bash
# Records libvirt 9.0's answers to the net-* scenarios in scenarios/*.cmds,
# against the private libvirtd of ref-libvirtd.sh (own network + mount
# namespace, nothing changes on the host). Writes scenarios/NAME.out.
# Usage (root): test/network/golden/capture.sh [SCENARIO...]
# Each .cmds line is a virsh command (words as in sh), or a probe:
#   @conf NAME   the dnsmasq config, hostsfile and addnhosts of network NAME
#   @fw          iptables-save and ip6tables-save (tables with rules only)
#   @link DEV    DEV's mtu, state and addresses, or "DEV absent"
#   @dnsmasq NAME  whether a dnsmasq serves network NAME
#   @ports NAME  the status files of network NAME's ports (run/network/NAME/ports)
#   @macs BRIDGE the MAC map of a bridge's ports (lib/dnsmasq/BRIDGE.macs)
#   @sh CMD      a setup command inside the namespace (output not kept)
# Each scenario runs against a fresh daemon in a fresh namespace.
# Output is normalised by normalise.sed: uuids, generated MACs, state paths.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=${REF_DIR:-/tmp/tsvirt-netref}
ns=${REF_NS:-tsvirt-netref}
# each scenario gets a fresh daemon and namespace: libvirt's private chains,
# once created, outlive the networks that needed them
start() { rm -rf "$dir"; pid=$("$here/ref-libvirtd.sh" start "$ns" "$dir"); }
stop() { "$here/ref-libvirtd.sh" stop "$ns" "$dir" >/dev/null 2>&1; }
trap stop EXIT
inns() { nsenter -t "$pid" -m -n "$@"; }
probe() {
  case $1 in
  @conf) for ext in conf hostsfile addnhosts; do
           f=/var/lib/libvirt/dnsmasq/$2.$ext
           if inns test -f "$f"; then echo "== $2.$ext"; inns cat "$f"; else echo "== $2.$ext absent"; fi
         done ;;
  @fw) inns iptables-save; inns ip6tables-save ;;
  @link) if inns ip link show "$2" >/dev/null 2>&1; then
           inns ip -o link show "$2" | sed -E 's/^[0-9]+: ([^:@]+).* mtu ([0-9]+).* state ([A-Z]+).*/\1 mtu \2 \3/'
           inns ip -o addr show dev "$2" | awk '{print $2, $3, $4}' | grep -v ' fe80::'
         else echo "$2 absent"; fi ;;
  @dnsmasq) if inns pgrep -f "dnsmasq/$2.conf" >/dev/null; then echo "dnsmasq $2 running"; else echo "dnsmasq $2 absent"; fi ;;
  @ports) d=/run/libvirt/network/$2/ports
          if inns test -d "$d"; then
            for f in $(inns ls "$d" | sort); do echo "== $f"; inns cat "$d/$f"; done
          else echo "$d absent"; fi ;;
  @macs) f=/var/lib/libvirt/dnsmasq/$2.macs
         if inns test -f "$f"; then echo "== $2.macs"; inns cat "$f"; else echo "== $2.macs absent"; fi ;;
  @sh) shift; inns sh -c "$*" >/dev/null 2>&1 ;;
  esac
}
cd "$here/xml"
[ $# -gt 0 ] || set -- "$here"/scenarios/*.cmds
for cmds in "$@"; do
  [ -f "$cmds" ] || cmds=$here/scenarios/$cmds.cmds
  out=${cmds%.cmds}.out
  start
  while IFS= read -r line; do
    [ -z "$line" ] && continue
    echo "\$ $line"
    case $line in
    @*) eval "probe $line" ;;
    *) eval "set -- $line"; inns -w"$here/xml" virsh -c qemu:///system "$@" 2>&1; echo "rc=$?" ;;
    esac
  done < "$cmds" | sed -E -f "$here/normalise.sed" > "$out"
  stop
  echo "recorded $(basename "$out")"
done
