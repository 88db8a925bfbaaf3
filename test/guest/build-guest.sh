#!/bin/sh
# build-guest.sh [OUTDIR]  -- builds the tiny x86_64 end-to-end test guest:
#   OUTDIR/vmlinuz    a stock Debian kernel booted directly (<kernel>)
#   OUTDIR/initrd.img a busybox-static initramfs (<initrd>) made with cpio
# Only Debian packages are used. The kernel is the cloud flavour fetched with
# `apt-get download` (LZ4, boots ~2x faster under TCG than the generic one); when
# the archive is unreachable, the installed generic kernel in /boot is used.
# Guest protocol on the serial console (lines starting with @@, see
# ../shared/docs/test-guest.md): @@GUEST-UP, @@PCI / @@PCI-END listing,
# @@PCI-ADD / @@PCI-DEL on hotplug, @@POWEROFF on the ACPI power button, and a
# command channel: a line written to the console runs in sh, then "@@DONE rc=N".
# /bin/qga answers QEMU guest agent commands on the org.qemu.guest_agent.0 port.
# The output is cached: a complete OUTDIR built by this same script is reused
# unless FORCE=1 (OUTDIR/recipe holds the script's checksum).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/../../build/test-guest/amd64}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
RECIPE=$(sha256sum "$HERE/build-guest.sh" | cut -d' ' -f1)
if [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.img" ] && [ "$(cat "$OUT/recipe" 2>/dev/null)" = "$RECIPE" ] && [ "${FORCE:-0}" != 1 ]; then
  echo "$OUT"; exit 0
fi
W=$(mktemp -d); chmod 755 "$W"; trap 'rm -rf "$W"' EXIT
MODS="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net virtio_blk virtio_console button evdev"
mkdir -p "$W/deb" "$W/k" "$W/root/lib/modules"

KPKG=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
if [ -n "$KPKG" ] && (cd "$W/deb" && apt-get -qq download "$KPKG" >/dev/null 2>&1); then
  PATS=$(for m in $MODS; do printf " */%s.ko" "$m"; done)
  # tar exits 2 for modules the kernel has built in (pattern not found): expected.
  dpkg-deb --fsys-tarfile "$W"/deb/linux-image-*.deb | tar -x -C "$W/k" --wildcards './boot/vmlinuz-*' $PATS 2>/dev/null || true
  KERNEL=$(ls "$W"/k/boot/vmlinuz-* | head -n1); MODDIR=$W/k/lib/modules
else
  KERNEL=$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -n1)
  KPKG=installed:$(basename "$KERNEL")
  MODDIR=/lib/modules/${KERNEL##*/vmlinuz-}
fi
[ -f "$KERNEL" ] || { echo "build-guest: no kernel found (apt-get download failed and /boot has none)" >&2; exit 1; }
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || { echo "build-guest: busybox-static is not installed" >&2; exit 1; }

R=$W/root
mkdir -p "$R/bin" "$R/etc/acpi/PWRF" "$R/proc" "$R/sys" "$R/dev" "$R/tmp"
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
echo 'root:*:0:0:99999:7:::' >"$R/etc/shadow"
cp "$BUSYBOX" "$R/bin/busybox"
for m in $MODS; do
  f=$(find "$MODDIR" -name "$m.ko" | head -n1)
  [ -z "$f" ] || cp "$f" "$R/lib/modules/"
done

cat >"$R/init" <<'EOF'
#!/bin/busybox sh
# PID 1 of the test guest (busybox ash). Never exits.
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /var/log /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
stty -echo 2>/dev/null          # the host sends commands: don't echo them back
# Modules in dependency order; the ones the kernel has built in are absent and skipped.
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
         failover net_failover virtio_net virtio_blk virtio_console button evdev; do
  [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko
done
# ACPI power button -> KEY_POWER -> acpid runs /etc/acpi/PWRF/00000080 -> poweroff -f.
acpid -c /etc/acpi -l /var/log/acpid.log
# PCI hot(un)plug: busybox uevent listens on the kernel's netlink socket.
uevent /bin/pci-event &
hostname tsvirt-guest
ip link set lo up
/bin/qga &
read up _ </proc/uptime
echo "@@GUEST-UP arch=$(uname -m) kernel=$(uname -r) uptime=$up"
/bin/pci-list
while :; do
  if read -r line; then
    [ -n "$line" ] || continue
    sh -c "$line"
    echo "@@DONE rc=$?"
  else
    sleep 1
  fi
done
EOF
cat >"$R/bin/pci-list" <<'EOF'
#!/bin/sh
# @@PCI <domain:bus:dev.fn> <vendor>:<device> class=<class> driver=<driver|->
n=0
for d in /sys/bus/pci/devices/*; do
  [ -e "$d/vendor" ] || continue
  read v <"$d/vendor"; read p <"$d/device"; read c <"$d/class"
  drv=-; [ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
  echo "@@PCI ${d##*/} ${v#0x}:${p#0x} class=${c#0x} driver=$drv"
  n=$((n+1))
done
echo "@@PCI-END count=$n"
EOF
cat >"$R/bin/pci-event" <<'EOF'
#!/bin/sh
# Run by busybox uevent for every kernel uevent; the environment holds the event.
[ "$SUBSYSTEM" = pci ] || exit 0
case "$ACTION" in add) t=ADD ;; remove) t=DEL ;; *) exit 0 ;; esac
id=$(echo "$PCI_ID" | tr A-F a-f)
echo "@@PCI-$t $PCI_SLOT_NAME $id class=$(printf %06x "0x$PCI_CLASS")" >/dev/console
EOF
cat >"$R/bin/qga" <<'EOF'
#!/bin/sh
# A minimal QEMU guest agent: one JSON command per line on the agent's virtio
# port, answered with values read in the guest. Unknown commands get
# CommandNotFound, as qemu-ga answers them.
port=
for d in /sys/class/virtio-ports/*; do
  [ "$(cat "$d/name" 2>/dev/null)" = org.qemu.guest_agent.0 ] && port=/dev/${d##*/}
done
[ -n "$port" ] || exit 0
exec 3<>"$port"
arg() { echo "$line" | sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\).*/\1/p"; }
str() { printf '"%s"' "$(printf %s "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
now_ns() { adjtimex | awk '/tv_sec/ {s=$2} /tv_usec/ {u=$2} END {printf "%d%06d000", s, u}'; }
interfaces() {
  sep=
  printf '['
  for n in /sys/class/net/*; do
    i=${n##*/}
    printf '%s{"name":%s,"hardware-address":%s,"ip-addresses":[' "$sep" "$(str "$i")" "$(str "$(cat "$n/address")")"
    ip -o addr show dev "$i" | awk '{ split($4, a, "/"); t = ($3 == "inet6") ? "ipv6" : "ipv4";
      printf "%s{\"ip-address-type\":\"%s\",\"ip-address\":\"%s\",\"prefix\":%d}", (k++ ? "," : ""), t, a[1], a[2] }'
    printf ']}'
    sep=,
  done
  printf ']'
}
fsinfo() {
  sep=
  printf '['
  while read -r dev mnt type _; do
    case $dev in /dev/*) ;; *) continue ;; esac
    name=${dev#/dev/}
    set -- $(stat -f -c '%S %b %f %a' "$mnt")
    used=$(( ($2 - $3) * $1 )); total=$(( ($2 - $3 + $4) * $1 ))
    pci=$(readlink -f "/sys/block/$name" | tr / '\n' | grep -E '^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$' | tail -n1)
    disk=
    if [ -n "$pci" ]; then
      disk=$(echo "$pci" | tr ':.' '  ' | { read -r pd pb ps pf
        printf '{"pci-controller":{"domain":%d,"bus":%d,"slot":%d,"function":%d},"bus-type":"virtio","bus":0,"target":0,"unit":0,"dev":"%s"}' "0x$pd" "0x$pb" "0x$ps" "0x$pf" "$dev"; })
    fi
    printf '%s{"name":%s,"mountpoint":%s,"type":%s,"used-bytes":%s,"total-bytes":%s,"disk":[%s]}' "$sep" "$(str "$name")" "$(str "$mnt")" "$(str "$type")" "$used" "$total" "$disk"
    sep=,
  done </proc/mounts
  printf ']'
}
# mount points of block-device filesystems, the ones qemu-ga freezes and trims
mounts() { awk '$1 ~ /^\/dev\// {print $2}' /proc/mounts; }
# a freeze that froze nothing leaves the agent thawed, as in qemu-ga
freeze() {
  want=$(echo "$line" | sed -n 's/.*"mountpoints": *\[\([^]]*\)\].*/\1/p' | tr ',' '\n' | sed 's/^ *"//; s/" *$//')
  n=0
  for m in $(mounts); do
    if echo "$line" | grep -q '"mountpoints"' && ! echo "$want" | grep -qxF "$m"; then continue; fi
    fsfreeze --freeze "$m" 2>/dev/null && { echo "$m" >>/tmp/qga-frozen; n=$((n + 1)); }
  done
  echo "{\"return\": $n}"
}
thaw() {
  n=0
  for m in $(cat /tmp/qga-frozen 2>/dev/null); do fsfreeze --unfreeze "$m" 2>/dev/null && n=$((n + 1)); done
  rm -f /tmp/qga-frozen
  echo "{\"return\": $n}"
}
trim() {
  min=$(arg minimum); sep=
  printf '{"return": {"paths": ['
  for m in $(mounts); do
    if fstrim -m "${min:-0}" "$m" 2>/dev/null; then printf '%s{"path":%s}' "$sep" "$(str "$m")"
    else printf '%s{"path":%s,"error":"trim failed"}' "$sep" "$(str "$m")"; fi
    sep=,
  done
  echo ']}}'
}
# a CPU without an online switch (the boot CPU) is online and cannot go offline, as qemu-ga says
vcpus() {
  sep=
  printf '['
  for c in /sys/devices/system/cpu/cpu[0-9]*; do
    id=${c##*/cpu}
    if [ -e "$c/online" ]; then on=$( [ "$(cat "$c/online")" = 1 ] && echo true || echo false ); off=true; else on=true; off=false; fi
    printf '%s{"logical-id":%d,"online":%s,"can-offline":%s}' "$sep" "$id" "$on" "$off"
    sep=,
  done
  printf ']'
}
set_vcpus() {
  n=0
  for pair in $(echo "$line" | grep -o '"logical-id": *[0-9]*, *"online": *[a-z]*' | tr -d ' "' | sed 's/logical-id://; s/,online:/=/'); do
    id=${pair%=*}; want=$( [ "${pair#*=}" = true ] && echo 1 || echo 0 ); f=/sys/devices/system/cpu/cpu$id/online
    if [ -e "$f" ]; then echo "$want" >"$f" 2>/dev/null || break
    elif [ ! -d "/sys/devices/system/cpu/cpu$id" ] || [ "$want" = 0 ]; then break; fi
    n=$((n + 1))
  done
  if [ "$n" = 0 ]; then echo "{\"error\": {\"class\": \"GenericError\", \"desc\": \"cannot set the state of vCPU ${id:-?}\"}}"; else echo "{\"return\": $n}"; fi
}
# ~USER/.ssh/authorized_keys as qemu-ga keeps it: the keys of a JSON array, one a line
sshkeys() { echo "$line" | sed -n 's/.*"keys": *\[\([^]]*\)\].*/\1/p' | tr '"' '\n' | awk 'NR % 2 == 0'; }
ssh_keys() {
  user=$(arg username); home=$(awk -F: -v u="$user" '$1 == u {print $6}' /etc/passwd); f=$home/.ssh/authorized_keys
  if [ -z "$home" ]; then echo "{\"error\": {\"class\": \"GenericError\", \"desc\": \"failed to lookup user '$user'\"}}"; return; fi
  case $cmd in
    guest-ssh-get-authorized-keys)
      if [ ! -f "$f" ]; then echo "{\"error\": {\"class\": \"GenericError\", \"desc\": \"failed to read '$f'\"}}"; return; fi
      printf '{"return": {"keys": ['
      grep -v -e '^#' -e '^$' "$f" | { sep=; while IFS= read -r k; do printf '%s%s' "$sep" "$(str "$k")"; sep=,; done; }
      echo ']}}' ;;
    guest-ssh-add-authorized-keys)
      mkdir -p -m 700 "$home/.ssh"
      if [ "$(arg reset)" = true ]; then : >"$f"; else touch "$f"; fi
      sshkeys | while IFS= read -r k; do grep -qxF -e "$k" "$f" || printf '%s\n' "$k" >>"$f"; done
      echo '{"return": {}}' ;;
    guest-ssh-remove-authorized-keys)
      if [ -f "$f" ]; then sshkeys >/tmp/qga-rm; grep -vxF -f /tmp/qga-rm "$f" >"$f.new"; mv "$f.new" "$f"; fi
      echo '{"return": {}}' ;;
  esac
}
answer() {
  cmd=$(arg execute)
  case $cmd in
    guest-sync) echo "{\"return\": $(arg id)}" ;;
    guest-sync-delimited) printf '\377'; echo "{\"return\": $(arg id)}" ;;
    guest-ping) echo '{"return": {}}' ;;
    guest-get-time) echo "{\"return\": $(now_ns)}" ;;
    guest-set-time)
      t=$(arg time)
      if [ -n "$t" ]; then date -s "@${t%?????????}" >/dev/null; else hwclock -s; fi
      echo '{"return": {}}' ;;
    guest-get-host-name) echo "{\"return\": {\"host-name\": $(str "$(hostname)")}}" ;;
    guest-get-timezone)
      z=$(date +%z); off=$(( ${z%??} * 3600 + ${z#???} * 60 ))
      echo "{\"return\": {\"zone\": $(str "$(date +%Z)"), \"offset\": $off}}" ;;
    guest-get-osinfo)
      echo "{\"return\": {\"kernel-release\": $(str "$(uname -r)"), \"kernel-version\": $(str "$(uname -v)"), \"machine\": $(str "$(uname -m)")}}" ;;
    guest-get-users) echo '{"return": []}' ;;
    guest-network-get-interfaces) echo "{\"return\": $(interfaces)}" ;;
    guest-get-fsinfo) echo "{\"return\": $(fsinfo)}" ;;
    guest-fsfreeze-freeze|guest-fsfreeze-freeze-list) freeze ;;
    guest-fsfreeze-thaw) thaw ;;
    guest-fsfreeze-status) if [ -s /tmp/qga-frozen ]; then echo '{"return": "frozen"}'; else echo '{"return": "thawed"}'; fi ;;
    guest-fstrim) trim ;;
    guest-get-vcpus) echo "{\"return\": $(vcpus)}" ;;
    guest-set-vcpus) set_vcpus ;;
    guest-set-user-password)
      user=$(arg username); pass=$(arg password | base64 -d)
      [ "$(arg crypted)" = true ] || pass=$(mkpasswd -m sha512 "$pass")
      if grep -q "^$user:" /etc/shadow; then
        sed -i "s|^$user:[^:]*:|$user:$pass:|" /etc/shadow
        echo '{"return": {}}'
      else
        echo "{\"error\": {\"class\": \"GenericError\", \"desc\": \"user '$user' does not exist\"}}"
      fi ;;
    guest-ssh-*-authorized-keys) ssh_keys ;;
    *) echo "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command $cmd has not been found\"}}" ;;
  esac
}
while :; do
  # EOF while no host program holds the socket: keep the port open and wait
  if read -r line <&3; then answer >&3; else sleep 0.2; fi
done
EOF
cat >"$R/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "@@POWEROFF" >/dev/console
sync
poweroff -f
EOF
chmod 755 "$R/init" "$R/bin/qga" "$R/bin/pci-list" "$R/bin/pci-event" "$R/etc/acpi/PWRF/00000080"
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9n >"$W/initrd.img"
cp "$KERNEL" "$W/vmlinuz"
# Publish atomically so a concurrent or interrupted build never leaves half a guest.
mv "$W/vmlinuz" "$OUT/vmlinuz.tmp" && mv "$W/initrd.img" "$OUT/initrd.img"
mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
echo "$KPKG" >"$OUT/kernel-package"
echo "$RECIPE" >"$OUT/recipe"
echo "$OUT"
