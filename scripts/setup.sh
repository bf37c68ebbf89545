#!/usr/bin/env bash
# Installs what hv needs on a fresh Debian machine (system packages as root), then builds it: npm packages, the
# native addon, the TypeScript, and the test guests.
set -euo pipefail
cd "$(dirname "$0")/.."

# libunicorn-dev: the emulated accelerator. gcc/binutils/make: the addon and the test guests.
# qemu-system-x86: the peer the test guests and benchmarks also run under. util-linux/procps: host facts in tests.
# libvirt0: libvirt's cpu_map (CPU model and feature names of the capabilities XML) and its RelaxNG schemas;
# libvirt-clients + libxml2-utils: virt-xml-validate (it runs xmllint) and virsh, which check that XML in tests.
# libasan8/libubsan1: runtimes of the sanitizer build of the addon (engine/native/build-asan.sh) the fuzz tests use.
# iproute2: `ip netns` / `ip tuntap`, the network namespace and tap the virtio-net tests make.
packages=(libunicorn-dev gcc g++ make binutils python3 qemu-system-x86 util-linux procps acpica-tools libvirt0 libvirt-clients libxml2-utils libasan8 libubsan1 iproute2)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages (${missing[*]}); run this script as root or install them" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund
npm run build
make -s -C test/guests
