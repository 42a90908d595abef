#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the patched QEMU used as the nvme-vfio-pci test platform.
#
# Source: Debian trixie's qemu source package, version QEMU_DEBVER below
# (QEMU 10.0.13 with Debian's patches applied by dpkg-source -x).  trixie is
# Debian's current stable release, so this version receives security fixes
# and stays in the archive; it is new enough for the hw/nvme SR-IOV model
# (secondary controllers, Virtualization Management) and builds with
# bookworm's toolchain once meson >= 1.5 comes from trixie.
#
# The result is cached in $NVFIO_CACHE/qemu-<hash>/ where <hash> covers this
# script and tools/qemu/patches/.  A warm run only prints the binary path.
# The last line printed is always the absolute path of qemu-system-x86_64.
#
# Usage: tools/qemu/build.sh [-j N]
#        tools/qemu/build.sh --path   (print the path of the build of these
#                                      patches, or fail if there is none)

set -euo pipefail

QEMU_DEBVER="1:10.0.13+ds-0+deb13u1"
QEMU_SUITE="trixie"

here=$(cd "$(dirname "$0")" && pwd)
cache=${NVFIO_CACHE:-$HOME/.cache/nvme-vfio-pci}
jobs=2
if [ "${1:-}" = "-j" ] && [ -n "${2:-}" ]; then
	jobs=$2
fi

log() { echo "qemu/build.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

hash=$( (cat "$here/build.sh" "$here/patches/series";
	 while read -r p; do
		 case "$p" in ''|'#'*) continue ;; esac
		 cat "$here/patches/$p"
	 done < "$here/patches/series") | sha256sum | cut -c1-16)
prefix=$cache/qemu-$hash
bin=$prefix/bin/qemu-system-x86_64

if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi
[ "${1:-}" != --path ] || exit 1

# Whether apt knows the pinned source version (no grep -q: pipefail+SIGPIPE).
have_source() {
	apt-cache showsrc qemu 2>/dev/null | grep -Fxc "Version: $QEMU_DEBVER" >/dev/null
}

# --- apt: deb-src entry for trixie, pinned so nothing else comes from it ---
ensure_apt() {
	local src=/etc/apt/sources.list.d/nvfio-trixie.sources
	local pin=/etc/apt/preferences.d/nvfio-pin
	local changed=0

	if ! grep -rqs "^Suites:.*\b$QEMU_SUITE\b" /etc/apt/sources.list.d/*.sources &&
	   ! grep -rqsE "^deb-src .* $QEMU_SUITE( |$)" /etc/apt/sources.list /etc/apt/sources.list.d/*.list; then
		log "adding $src"
		cat > "$src" <<-EOF
		Types: deb deb-src
		URIs: http://deb.debian.org/debian
		Suites: $QEMU_SUITE
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
		changed=1
	fi
	if ! grep -qs "n=$QEMU_SUITE\$" /etc/apt/preferences.d/* 2>/dev/null; then
		log "adding $pin"
		cat >> "$pin" <<-EOF
		Package: *
		Pin: release n=$QEMU_SUITE
		Pin-Priority: 100

		EOF
		changed=1
	fi
	if [ $changed = 1 ] || ! have_source; then
		apt-get update -q >&2
	fi
}

deps="meson/$QEMU_SUITE ninja-build libglib2.0-dev libpixman-1-dev libfdt-dev
      libslirp-dev libcap-ng-dev libattr1-dev python3-venv python3-pycotap
      flex bison pkg-config dpkg-dev gcc gcc-multilib make rsync patch
      xz-utils seabios"

ensure_deps() {
	local missing=0 d

	for d in $deps; do
		dpkg -s "${d%/*}" >/dev/null 2>&1 || missing=1
	done
	if [ $missing = 0 ] && meson --version 2>/dev/null |
	   awk -F. '{ exit !($1 > 1 || ($1 == 1 && $2 >= 5)) }'; then
		return
	fi
	ensure_apt
	log "installing build dependencies"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $deps >&2
}

ensure_deps

# --- source: download once, unpack once (Debian patches applied) ----------
dl=$cache/qemu-dl
work=$cache/qemu-work
upver=${QEMU_DEBVER#*:}
dsc=$dl/qemu_$upver.dsc
mkdir -p "$dl" "$work"

if [ ! -f "$dsc" ]; then
	ensure_apt
	if ! have_source; then
		die "Debian source package qemu=$QEMU_DEBVER is no longer in the archive ($QEMU_SUITE); update QEMU_DEBVER in $0 and rebase tools/qemu/patches"
	fi
	log "downloading qemu=$QEMU_DEBVER"
	(cd "$dl" && apt-get source -q --download-only "qemu=$QEMU_DEBVER" >&2) ||
		die "cannot download qemu=$QEMU_DEBVER"
fi

pristine=$work/pristine-$upver
if [ ! -f "$pristine/.unpacked" ]; then
	rm -rf "$pristine"
	log "unpacking $dsc"
	dpkg-source --no-check -x "$dsc" "$pristine" >&2
	# dpkg-source leaves a copy of the upstream tarball next to the tree
	rm -f "$work"/qemu_*.orig.tar.*
	touch "$pristine/.unpacked"
fi

# --- apply our series on a hardlinked copy, sync changed files only --------
# Syncing by content keeps the timestamps of untouched files, so ninja only
# rebuilds what our patches change.
stage=$work/stage
src=$work/src
rm -rf "$stage"
cp -al "$pristine" "$stage"
while read -r p; do
	case "$p" in ''|'#'*) continue ;; esac
	log "applying $p"
	patch -d "$stage" -p1 -s --no-backup-if-mismatch < "$here/patches/$p" ||
		die "patch $p does not apply to qemu $upver"
done < "$here/patches/series"
mkdir -p "$src"
rsync -rl --checksum --delete --exclude=/build "$stage/" "$src/"
rm -rf "$stage"

# --- configure once, then build qemu-system-x86_64 only --------------------
# ccache through its gcc symlinks: configure's probe for the x86 option ROM
# compiler runs "$cc" as one word, so --cc="ccache gcc" would disable them.
if [ -d /usr/lib/ccache ]; then
	export PATH=/usr/lib/ccache:$PATH CCACHE_DIR=$cache/ccache
fi

build=$src/build
if [ ! -f "$build/build.ninja" ]; then
	rm -rf "$build"
	mkdir -p "$build"
	log "configuring"
	(cd "$build" && ../configure \
		--cc=gcc --python=/usr/bin/python3 --prefix=/usr \
		--target-list=x86_64-softmmu \
		--without-default-features \
		--enable-tcg --enable-kvm --enable-attr --enable-cap-ng \
		--enable-virtfs --enable-slirp --enable-fdt=system \
		--disable-install-blobs --disable-docs --disable-werror \
		--disable-download >&2) || die "configure failed"
fi

log "building (ninja -j$jobs)"
start=$(date +%s)
ninja -C "$build" -j"$jobs" qemu-system-x86_64 >&2 ||
	die "build failed"
# The x86 option ROMs (linuxboot_dma.bin for -kernel) are built by make.
make -C "$build/pc-bios/optionrom" -j"$jobs" >&2 ||
	die "option ROMs (linuxboot_dma.bin for -kernel) failed to build"
log "built in $(( $(date +%s) - start ))s"

# --- install into the hashed prefix ----------------------------------------
tmp=$prefix.tmp.$$
rm -rf "$tmp"
mkdir -p "$tmp/bin" "$tmp/share"
cp "$build/qemu-system-x86_64" "$tmp/bin/"
cp "$build/trace-events-all" "$tmp/share/" 2>/dev/null || true
for f in linuxboot_dma.bin kvmvapic.bin pvh.bin multiboot_dma.bin; do
	if [ -f "$build/pc-bios/optionrom/$f" ]; then
		cp "$build/pc-bios/optionrom/$f" "$tmp/share/"
	fi
done
# SeaBIOS from Debian's seabios package.
cp /usr/share/seabios/bios-256k.bin /usr/share/seabios/bios.bin "$tmp/share/"
cp -r "$src/pc-bios/keymaps" "$tmp/share/"
rm -rf "$prefix"
mv "$tmp" "$prefix"
# Use the firmware next to the binary: run with -L $prefix/share.
echo "$bin"
