#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# VM test: Debian's own QEMU, unpatched, runs a Linux guest (nested.sh) that
# owns VF A and writes and checks numbered blocks on its namespace without
# pause, and live-migrates it to VF B and back, one round trip
# (NVFIO_ROUNDS), with guest/stock-qemu.py: QEMU's VFIO migration code drives
# nvme-vfio-pci through PRE_COPY, STOP_COPY, RESUMING and back to RUNNING on
# every switch, and the guest must never notice. Then the uAPI selftest
# moves a live I/O queue between the same two VFs, which shows that the
# migrations left both controllers in working order.
#
# A nested migration takes 20 s to minutes under TCG: one round trip makes
# both VFs source and destination once; the 20 of the long run are
# `make soak`, which passes NVFIO_ROUNDS=20 and a longer limit.
#
# vm-alone: its nested guest keeps the VM busy for 10-20 min, which run
# beside the other VM tests in a VM of its own
set -uo pipefail
here=$(dirname "$(realpath "$0")")
guest=$here/../guest
st=${NVFIO_SELFTESTS:-${NVFIO_BUILD:-}/nvfio-selftests}/vfio_pci_nvme_migration_test

out=$("$guest/provision.sh" -n 2 -d nvme-vfio-pci) || { echo "$out"; exit 1; }
mapfile -t vfs < <(echo "$out" | sed -n 's/^VF \([^ ]*\) .*driver=nvme-vfio-pci.*/\1/p')
[ ${#vfs[@]} = 2 ] || { echo "$out"; echo "FAIL: stock-qemu: the VFs are not bound to nvme-vfio-pci"; exit 1; }

"$guest/stock-qemu.py" -r "${NVFIO_ROUNDS:-1}" "${vfs[@]}"

if [ -x "$st" ]; then
	"$guest/tap2result.sh" stock-qemu-after "$st" -t stop_copy "${vfs[0]}" "${vfs[1]}"
else
	echo "FAIL: stock-qemu: $st is not built"
fi
