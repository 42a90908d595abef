#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what the harness needs from Debian's archive, idempotently.
# The base kernel tree is Debian's linux-source-7.3 from trixie-backports;
# that suite (and trixie, for meson >= 1.5 and nvme-cli) is added at a low
# pin priority, so nothing is taken from it unless asked for by name.
set -euo pipefail

KVER=7.3
SRC_LIST=/etc/apt/sources.list.d/nvfio-trixie.sources
PIN=/etc/apt/preferences.d/nvfio-pin

# Host tools: kernel build, checks, the VM, the tests.
PKGS=(bc bison flex libelf-dev libssl-dev dwarves ccache cpio kmod rsync
      xz-utils python3 sparse coccinelle ocaml-nox python3-ply git patch diffutils gawk
      seabios nvme-cli util-linux iproute2 gnuplot-nox)

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
		[ "$p" = "linux-source-$KVER" ] || base+=("$p")
	done
	export DEBIAN_FRONTEND=noninteractive
	[ ${#base[@]} -eq 0 ] ||
		apt-get install -y -q --no-install-recommends "${base[@]}" >/dev/null
	[[ " ${missing[*]} " != *" linux-source-$KVER "* ]] ||
		apt-get install -y -q --no-install-recommends \
			"linux-source-$KVER/trixie-backports" >/dev/null
fi

