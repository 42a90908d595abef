#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the VFIO selftests of a prepared kernel tree (with our NVMe live
# migration test) against the tree's UAPI headers, into BUILD/nvfio-selftests.
# The test VM finds them there: its root is this machine's.
# usage: selftests.sh BUILD    (BUILD/source is the tree, as O= builds make it)
set -euo pipefail
build=$(realpath "$1")
tree=$(realpath "$build/source")
out=$build/nvfio-selftests
mkdir -p "$out"
make -s -C "$tree" O="$build" headers >/dev/null
# An object's dependency file still names a header that was removed or
# moved since it was built, which make cannot remake: rebuild that object.
find "$out" -name '*.d' | while read -r dep; do
	for f in $(sed 's/^[^:]*://; s/\\$//' "$dep"); do
		if [ ! -e "$f" ] && [ ! -e "$tree/tools/testing/selftests/vfio/$f" ]; then
			rm -f "$dep" "${dep%.d}.o"
			break
		fi
	done
done
make -s -C "$tree/tools/testing/selftests/vfio" OUTPUT="$out" \
	KHDR_INCLUDES="-isystem $build/usr/include" \
	"$out/vfio_pci_nvme_migration_test" "$out/vfio_pci_nvme_stress_test" \
	"$out/vfio_pci_nvme_migration_bench" "$out/vfio_pci_driver_test"
echo "  SELFTEST $out/vfio_pci_nvme_migration_test $out/vfio_pci_nvme_stress_test $out/vfio_pci_nvme_migration_bench"
