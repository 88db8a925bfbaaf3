#!/bin/sh
# Starts (or stops) a private libvirt 9.0 daemon that cannot touch the host:
# its own network namespace (bridges, addresses, iptables) and its own mount
# namespace with tmpfs over libvirt's run/lib/cache/log folders and a copy of
# /etc/libvirt without domains or networks. Commands run next to it with
# `nsenter -t PID -m -n CMD` (see capture.sh).
#   ref-libvirtd.sh start NS DIR   -> prints the daemon's pid
#   ref-libvirtd.sh stop NS DIR
set -eu
cmd=$1 ns=$2 dir=$3
case $cmd in
start)
  mkdir -p "$dir/etc" "$dir/lib"
  cp -a /etc/libvirt/. "$dir/etc/"
  rm -rf "$dir/etc/qemu" "$dir/etc/storage" "$dir/etc/secrets"
  mkdir -p "$dir/etc/qemu/networks"
  # no virtlogd inside the private /run
  echo 'stdio_handler = "file"' >> "$dir/etc/qemu.conf"
  ip netns add "$ns"
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" unshare -m --propagation private sh -c "
    mount --bind '$dir/etc' /etc/libvirt
    mount --bind '$dir/lib' /var/lib/libvirt
    for d in /run/libvirt /var/cache/libvirt /var/log/libvirt; do mount -t tmpfs tmpfs \$d; done
    exec libvirtd --pid-file /run/libvirt/ref-libvirtd.pid" >"$dir/libvirtd.out" 2>&1 &
  echo $! > "$dir/pid"
  # wait for the socket
  for _ in $(seq 100); do
    nsenter -t "$(cat "$dir/pid")" -m -n virsh -c qemu:///system version >/dev/null 2>&1 && break
    sleep 0.2
  done
  cat "$dir/pid"
  ;;
stop)
  pid=$(cat "$dir/pid")
  nsenter -t "$pid" -m -n sh -c 'for p in /run/libvirt/network/*.pid; do [ -f "$p" ] && kill "$(cat "$p")"; done' || true
  kill "$pid" || true
  sleep 0.5
  ip netns delete "$ns"
  ;;
esac
