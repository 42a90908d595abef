#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the nested guest that stock QEMU live-migrates inside the test VM
# (guest/stock-qemu.py): a kernel from nested-kernel.config, built from the
# prepared tree, and an initramfs with Debian's static busybox, blkcheck
# (guest/blkcheck.c, built statically) and guest/nested-init.sh as /init.
# usage: nested.sh TREE OUTDIR
# Leaves OUTDIR/arch/x86/boot/bzImage and OUTDIR/nested-initramfs.cpio.gz.
set -euo pipefail
here=$(dirname "$(realpath "$0")")
tree=$1 out=$2

"$here/config.sh" "$tree" "$out" "$here/nested-kernel.config"
make -s -C "$tree" O="$out" CC="ccache gcc" -j"$(nproc)" bzImage
echo "  KERNEL  $out/arch/x86/boot/bzImage (nested guest)"

busybox=/bin/busybox
file -L "$busybox" | grep -q 'statically linked' ||
	{ echo "nested: $busybox is not static (apt install busybox-static)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys}
cp "$busybox" "$root/bin/busybox"
gcc -static -O2 -Wall -Wextra -Werror -o "$root/blkcheck" "$here/guest/blkcheck.c"
install -m 755 "$here/guest/nested-init.sh" "$root/init"
initrd=$out/nested-initramfs.cpio.gz
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible) |
	gzip -9n > "$initrd.tmp"
mv "$initrd.tmp" "$initrd"
echo "  INITRD  $initrd"
