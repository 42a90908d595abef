#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unpack Debian's linux-source-VER into the cache, once.
# usage: unpack.sh VER DEST
set -euo pipefail
ver=$1 dest=$2
tarball=/usr/src/linux-source-$ver.tar.xz
if [ ! -f "$tarball" ]; then
	echo "unpack: $tarball is missing: run 'make deps', or use KERNEL_SRC=/path" >&2
	exit 1
fi
tmp=$dest.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
echo "  UNPACK  $tarball"
tar -C "$tmp" -xf "$tarball"
rm -rf "$dest"
mv "$tmp/linux-source-$ver" "$dest"
rmdir "$tmp"
