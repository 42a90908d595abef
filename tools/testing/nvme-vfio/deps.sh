#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what the harness needs from Debian's archive, idempotently.
# The base kernel tree is Debian's linux-source-7.3 from trixie-backports;
# that suite (and trixie, for meson >= 1.5 and nvme-cli) is added at a low
# pin priority, so nothing is taken from it unless asked for by name.
# bookworm-backports (pinned low as well) provides the stock QEMU 10.0 that
# the tests run inside the VM as the migration client.
set -euo pipefail

KVER=7.3
SRC_LIST=/etc/apt/sources.list.d/nvfio-trixie.sources
BPO_LIST=/etc/apt/sources.list.d/nvfio-bookworm-backports.sources
PIN=/etc/apt/preferences.d/nvfio-pin
# Stock QEMU with the VFIO migration v2 protocol and iommufd: 10.0 or newer.
STOCK_QEMU=qemu-system-x86
STOCK_QEMU_MIN=1:10.0

# Host tools: kernel build, checks, the VM, the tests.
PKGS=(bc bison flex libelf-dev libssl-dev dwarves ccache cpio kmod rsync
      xz-utils python3 sparse coccinelle ocaml-nox python3-ply python3-git git patch diffutils gawk
      seabios nvme-cli util-linux iproute2 gnuplot-nox busybox-static file)

need_update=0
if [ ! -f "$SRC_LIST" ]; then
	cat > "$SRC_LIST" <<'SRC'
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: trixie trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	need_update=1
fi
if [ ! -f "$BPO_LIST" ]; then
	cat > "$BPO_LIST" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	need_update=1
fi
if [ ! -f "$PIN" ]; then
	cat > "$PIN" <<'PINS'
Package: *
Pin: release n=trixie
Pin-Priority: 100

Package: *
Pin: release n=trixie-backports
Pin-Priority: 100
PINS
	need_update=1
fi

missing=()
for p in "${PKGS[@]}" "linux-source-$KVER"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
stock_qemu=$(dpkg-query -W -f='${Version}' "$STOCK_QEMU" 2>/dev/null) || stock_qemu=
dpkg --compare-versions "${stock_qemu:-0}" ge "$STOCK_QEMU_MIN" || missing+=("$STOCK_QEMU")

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$need_update" = 1 ] || [ -z "$(find /var/lib/apt/lists -name '*trixie-backports*Packages*' -mmin -1440 2>/dev/null)" ]; then
		apt-get update -q
	fi
	if [[ " ${missing[*]} " == *" linux-source-$KVER "* ]] &&
	   ! apt-cache show "linux-source-$KVER" >/dev/null 2>&1; then
		echo "deps: linux-source-$KVER is no longer in Debian's archive" >&2
		echo "deps: point the harness at a $KVER tree: make KERNEL_SRC=/path/to/linux-$KVER ..." >&2
		exit 1
	fi
	echo "  APT     ${missing[*]}"
	base=()
	for p in "${missing[@]}"; do
		[ "$p" = "linux-source-$KVER" ] || [ "$p" = "$STOCK_QEMU" ] || base+=("$p")
	done
	export DEBIAN_FRONTEND=noninteractive
	[ ${#base[@]} -eq 0 ] ||
		apt-get install -y -q --no-install-recommends "${base[@]}" >/dev/null
	[[ " ${missing[*]} " != *" $STOCK_QEMU "* ]] ||
		apt-get install -y -q --no-install-recommends -t bookworm-backports \
			"$STOCK_QEMU" >/dev/null
	[[ " ${missing[*]} " != *" linux-source-$KVER "* ]] ||
		apt-get install -y -q --no-install-recommends \
			"linux-source-$KVER/trixie-backports" >/dev/null
fi

