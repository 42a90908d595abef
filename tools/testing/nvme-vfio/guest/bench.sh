#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The migration benchmark, inside the test VM (tools/testing/nvme-vfio/bench.sh
# boots it with 32 VFs that may have 1024 VQ resources each):
#   1. Provisions VFs A and B with QUEUES+1 VQ resources and the others with
#      two, and binds them all to nvme-vfio-pci.
#   2. Runs vfio_pci_nvme_migration_bench in a memory cgroup of its own: A
#      and B at 1, 16 and QUEUES I/O queue pairs, then PAIRS pairs at once.
#   3. Measures the kernel memory a bound idle VF takes: Slab and
#      VmallocUsed of /proc/meminfo with every VF unbound, then bound to
#      vfio-pci, then to nvme-vfio-pci, three times.
# usage: bench.sh [-s SELFTESTS_DIR] [-q QUEUES] [-r REPS] [-p PAIRS]
# Writes bench.json, bench.json.dat and bench-idle.txt to $NVFIO_OUT.
set -uo pipefail
here=$(dirname "$(realpath "$0")")
bench=${NVFIO_SELFTESTS:-${NVFIO_BUILD:-}/nvfio-selftests}/vfio_pci_nvme_migration_bench
queues=1023
reps=50
pairs=16

while getopts s:q:r:p: opt; do
	case $opt in
	s) bench=$OPTARG/vfio_pci_nvme_migration_bench ;;
	q) queues=$OPTARG ;;
	r) reps=$OPTARG ;;
	p) pairs=$OPTARG ;;
	*) sed -n '/^# usage/p' "$0" >&2; exit 2 ;;
	esac
done

fail() { echo "FAIL: bench: $*"; exit 1; }
[ -x "$bench" ] || fail "$bench is not built"

nvfs=$((2 * pairs))
out=$("$here/provision.sh" -n "$nvfs" -q "$((queues + 1)),$((queues + 1)),2" -i 1) ||
	{ echo "$out"; fail "provisioning"; }
mapfile -t vfs < <(echo "$out" | sed -n 's/^VF \([^ ]*\) .*/\1/p')
mapfile -t scids < <(echo "$out" | sed -n 's/^VF .* scid=\([0-9]*\) .*/\1/p')
pf=$(echo "$out" | sed -n 's/.*drives PF \([^ ]*\) as .*/\1/p')
ctrl=$(echo "$out" | sed -n 's/.* as \(nvme[0-9]*\)$/\1/p')

# nvme-pci moves the state in transfers of up to MDTS, at most 1 MiB
ns=$(ls -d /sys/class/nvme/"$ctrl"/"$ctrl"n* 2>/dev/null | head -n 1)
kb=$(cat "/sys/block/${ns##*/}/queue/max_hw_sectors_kb") || fail "no namespace on $ctrl"
chunk=$((kb > 1024 ? 1024 * 1024 : kb * 1024))
echo "# PF $pf ($ctrl), transfers of $chunk bytes; $nvfs VFs, A and B with $queues I/O queue pairs at most"

# A memory cgroup of the benchmark's own: the driver charges what the
# migration holds to the process that drives it
cg=/sys/fs/cgroup
mountpoint -q "$cg" || mount -t cgroup2 none "$cg" || fail "cannot mount cgroup2"
echo +memory > "$cg/cgroup.subtree_control" || fail "no memory controller"
mkdir -p "$cg/nvfio-bench"

q16=$((queues < 16 ? queues : 16))
(
	echo $BASHPID > "$cg/nvfio-bench/cgroup.procs"
	exec "$bench" -p "/dev/$ctrl" -s "${scids[0]},${scids[1]}" -c "$chunk" \
		-q "1,$q16,$queues" -r "$reps" -o "$NVFIO_OUT/bench.json" "${vfs[@]}"
)
rc=$?
[ "$rc" = 0 ] || fail "the benchmark exited with $rc"

# Kernel memory of a bound idle VF, per driver
kmem() { awk '/^(Slab|VmallocUsed):/ { s += $2 } END { print s }' /proc/meminfo; }
bind_all() {	# bind_all DRIVER ("" unbinds)
	local vf
	for vf in "${vfs[@]}"; do
		[ -e "/sys/bus/pci/devices/$vf/driver" ] &&
			echo "$vf" > "/sys/bus/pci/devices/$vf/driver/unbind"
		echo "$1" > "/sys/bus/pci/devices/$vf/driver_override"
		[ -z "$1" ] || echo "$vf" > /sys/bus/pci/drivers_probe
	done
	sleep 3
}
modprobe vfio-pci
{
	echo "# kernel memory per bound idle VF, Slab + VmallocUsed over $nvfs VFs (KiB)"
	for i in 1 2 3; do
		bind_all ""
		base=$(kmem)
		bind_all vfio-pci
		v=$(kmem)
		bind_all ""
		bind_all nvme-vfio-pci
		n=$(kmem)
		awk -v b="$base" -v v="$v" -v n="$n" -v k="$nvfs" -v i="$i" 'BEGIN {
			printf "round %d: vfio-pci %.1f, nvme-vfio-pci %.1f\n", i, (v - b) / k, (n - b) / k }'
	done
} | tee "$NVFIO_OUT/bench-idle.txt"
echo "PASS: bench: figures in $NVFIO_OUT/bench.json"
