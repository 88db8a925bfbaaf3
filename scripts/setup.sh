#!/usr/bin/env bash
# Installs everything tsvirt needs on Debian 12 and builds it.
# Debian packages are installed only when missing and when running as root.
set -euo pipefail
cd "$(dirname "$0")/.."

# QEMU for both guest architectures with the firmware images and descriptors libvirt's
# reference host had (firmware selection depends on them), qemu-img, what the test
# guest is built from, tmux for the interactive-shell test, and libvirt0 for libvirt's CPU
# model data (/usr/share/libvirt/cpu_map, read at run time by the host CPU checks);
# openssl (test certificates), ssh, sshd and nc for the remote driver's tls and ssh transports.
packages=(qemu-system-x86 qemu-system-arm qemu-utils ovmf qemu-efi-aarch64 qemu-efi-arm ipxe-qemu seabios
  busybox-static cpio linux-image-amd64 tmux libvirt0
  openssl openssh-client openssh-server netcat-openbsd)
# The network driver runs what libvirt runs for a virtual network: iproute2 (bridges,
# addresses, `ip netns` for its tests), iptables (libvirt's firewall rules) and dnsmasq.
packages+=(iproute2 iptables dnsmasq-base)
# The storage driver's logical pools run LVM's tools (lvm2); blkid probes source devices.
packages+=(lvm2 util-linux)
# In CI the reference libvirt too: the differential tests ask a running libvirtd
# (qemu:///system) the same questions as tsvirt, on the same host, and real libvirt
# clients (virsh, python3-libvirt, virt-install) talk to tsvirtd.
if [ "${CI:-}" = true ]; then packages+=(libvirt-daemon-system libvirt-clients python3-libvirt virtinst); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages (run as root to install): ${missing[*]}" >&2
  fi
fi

# CI: libvirt 9.0.0's source beside the project (../src-libvirt, never committed), which the
# protocol regeneration and CPU-baseline tests read: `apt-get source` (deb-src enabled, dpkg-dev)
# downloads 9.1 MB, unpacks 160 MB, ~20 s. Elsewhere: LIBVIRT_SRC, or those tests skip loudly.
libvirt_src=../src-libvirt/libvirt-9.0.0
if [ "${CI:-}" = true ] && [ "$(id -u)" = 0 ] && [ -z "${LIBVIRT_SRC:-}" ] && ! grep -qs "version: '9.0.0'," "$libvirt_src/meson.build"; then
  echo "setup: fetching libvirt 9.0.0's source into $libvirt_src"
  sources=/etc/apt/sources.list.d/debian.sources
  if [ -f "$sources" ]; then sed -i '/^Types:/{/deb-src/!s/$/ deb-src/}' "$sources"; fi
  apt-get update -qq
  dpkg-query -W -f='${Status}' dpkg-dev 2>/dev/null | grep -q 'install ok installed' ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpkg-dev >/dev/null
  rm -rf "$libvirt_src" && mkdir -p "$(dirname "$libvirt_src")"
  (cd "$(dirname "$libvirt_src")" && apt-get source -qq -o APT::Sandbox::User=root libvirt >/dev/null)
  grep -qs "version: '9.0.0'," "$libvirt_src/meson.build" || { echo "setup: apt-get source libvirt did not give libvirt 9.0.0 in $libvirt_src" >&2; exit 1; }
fi

# CI: libvirt's daemons, started when not running (a container has no init to start them).
if [ "${CI:-}" = true ] && [ "$(id -u)" = 0 ] && command -v libvirtd >/dev/null; then
  # A socket file can outlive its daemon (a restored machine): ask for the process instead.
  pgrep -x virtlogd >/dev/null || virtlogd -d || echo "setup: virtlogd did not start" >&2
  if ! virsh -c qemu:///system uri >/dev/null 2>&1; then
    libvirtd -d || echo "setup: libvirtd did not start" >&2
    for _ in $(seq 1 30); do virsh -c qemu:///system uri >/dev/null 2>&1 && break; sleep 1; done
  fi
fi

# /dev/kvm is only used where the CPU really has vmx/svm; the group fix stops
# permission-probing differences between root and the kvm group.
if [ -e /dev/kvm ] && [ "$(id -u)" = 0 ] && getent group kvm >/dev/null; then
  chgrp kvm /dev/kvm && chmod 0660 /dev/kvm || true
fi

# The unprivileged user a root tsvirt runs QEMU as (qemu.conf user/group default,
# src/drivers/qemu/security/identity.ts): no login, no home, in group kvm so /dev/kvm opens.
if [ "$(id -u)" = 0 ] && ! getent passwd tsvirt-qemu >/dev/null; then
  getent group kvm >/dev/null || groupadd --system kvm
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
    --groups kvm --comment 'tsvirt QEMU' tsvirt-qemu
fi

# tsvirsh loads Node built-ins on first use through process.getBuiltinModule (Node 20.16)
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 16) ? 0 : 1)' ||
  { echo "tsvirt needs Node.js 20.16 or newer (found $(node -v))" >&2; exit 1; }

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
npm run build --silent
