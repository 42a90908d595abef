#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: the migration benchmark, in a test VM whose NVMe PF has 32 VFs
# that may have up to 1024 VQ resources each, and an MDTS of 1 (8 KiB
# transfers), so that the state of a VF with many queues spans several
# commands. Prints the table of guest/bench.sh, then renders the driver and
# floor times against the state size with gnuplot.
# usage: bench.sh BUILD MODROOT SELFTESTS LOGDIR [guest/bench.sh options]
# BUILD is the kernel's build directory (the benchmark's kernel, without
# debug options), SELFTESTS the directory of the VFIO selftests.
# Leaves bench.json, bench.png and bench.txt in LOGDIR/bench.
set -uo pipefail
build=$1 modroot=$2 selftests=$3 logs=$4
shift 4
here=$(dirname "$(realpath "$0")")
out=$logs/bench
mkdir -p "$out"

echo "Booting the benchmark kernel under QEMU (TCG); the run takes about 2 minutes."
NVFIO_NVME_VFS=32 NVFIO_NVME_VQ_PER_VF=1024 NVFIO_NVME_MDTS=1 \
"$here/vm.sh" -k "$build/arch/x86/boot/bzImage" -M "$modroot" -o "$out" \
	-m 3G -t 3600 -- "$here/guest/bench.sh" -s "$selftests" "$@" |
	tee "$out/bench.txt"
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] && [ -s "$out/bench.json.dat" ] ||
	{ echo "bench: failed (exit $rc); console and kernel log in $out"; exit 1; }

gnuplot <<GP
set terminal pngcairo size 900,560
set output "$out/bench.png"
set title "nvme-vfio-pci: device share of migration downtime (QEMU TCG, MDTS 8 KiB)"
set xlabel "controller state (bytes); I/O queue pairs at each point"
set ylabel "ms, median with 10th-90th percentile"
set key top left
set logscale x 2
set grid
plot "$out/bench.json.dat" using 2:3:4:5 with yerrorlines lw 2 title "driver (VFIO uAPI)", \
     "" using 2:6:7:8 with yerrorlines lw 2 title "floor (PF admin passthrough)", \
     "" using 2:3:(sprintf("%d", \$1)) with labels offset 0,1.5 notitle
GP
echo "bench: figures in $out/bench.json, plot in $out/bench.png"
