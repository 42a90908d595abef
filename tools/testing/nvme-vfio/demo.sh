#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: live-migrate an emulated NVMe VF in the test VM, step by step.
# usage: demo.sh BUILD MODROOT LOGDIR
# (vm.sh builds the selftest program the demo runs into BUILD.)
set -uo pipefail
build=$1 modroot=$2 logs=$3
here=$(dirname "$(realpath "$0")")

echo "Booting the test kernel under QEMU (TCG); the demo takes about five minutes."
NVFIO_BOOT_LIMIT=${NVFIO_BOOT_LIMIT:-400} \
"$here/vm.sh" -k "$build/arch/x86/boot/bzImage" -M "$modroot" -o "$logs/demo" \
	-t 2400 -- "$here/guest/demo.sh"
rc=$?
[ "$rc" = 0 ] || echo "demo: failed (exit $rc); console and kernel log in $logs/demo"
exit "$rc"
