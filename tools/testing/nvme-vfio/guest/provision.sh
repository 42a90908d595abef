#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Provision NVMe SR-IOV VFs for live migration the way an operator does
# (Documentation/driver-api/vfio-pci-nvme.rst), inside the test VM:
#
#   1. nvme-pci drives the PF; VFs are not auto-probed.
#   2. Virtualization Management gives each secondary controller its
#      flexible VQ and VI resources, then the VFs are enabled and their
#      secondary controllers brought online.
#   3. Each VF is bound to DRIVER with driver_override.
#
# usage: provision.sh [-n NUM_VFS] [-q VQ] [-i VI] [-d DRIVER] [PF_BDF]
#   -n NUM_VFS  VFs to enable (default 2)
#   -q VQ       VQ resources per VF: the admin queue and VQ-1 I/O queue pairs
#               (default 4); a comma-separated list gives VF 1, VF 2, ...
#               theirs, its last entry the VFs after
#   -i VI       VI resources (interrupt vectors) per VF (default 2)
#   -d DRIVER   driver for the VFs (default nvme-vfio-pci; "none" leaves them
#               unbound)
# PF_BDF defaults to the first NVMe function that supports SR-IOV.
#
# Prints one "VF <bdf> scid=<id> group=<iommu group> driver=<driver>" line per
# VF and PASS:/FAIL: lines for the steps.
set -uo pipefail

numvfs=2
nvq=4
nvi=2
driver=nvme-vfio-pci

while getopts n:q:i:d:h opt; do
	case $opt in
	n) numvfs=$OPTARG ;;
	q) nvq=$OPTARG ;;
	i) nvi=$OPTARG ;;
	d) driver=$OPTARG ;;
	*) sed -n '/^# usage/,/^# PF_BDF/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

fail() { echo "FAIL: provision: $*"; exit 1; }
pass() { echo "PASS: provision: $*"; }
# Builtins where they do: a process costs about a second in the test VM.
# ms_since T: milliseconds since T, a time in microseconds from $EPOCHREALTIME
ms_since() { local t=${EPOCHREALTIME/./}; echo $(((t - $1) / 1000)); }
# name_of LINK: the last path component of what a sysfs link points to
name_of() { (cd -P "$1" 2>/dev/null && echo "${PWD##*/}"); }

sysfs=/sys/bus/pci/devices
t0=${EPOCHREALTIME/./}

pf=${1:-}
if [ -z "$pf" ]; then
	for d in "$sysfs"/*; do
		# NVMe programming interface: class 01, subclass 08, prog-if 02
		read -r class < "$d/class"
		[ "$class" = 0x010802 ] && [ -f "$d/sriov_totalvfs" ] || continue
		pf=${d##*/}
		break
	done
fi
[ -n "$pf" ] || fail "no NVMe function with SR-IOV found"
pfdir=$sysfs/$pf
total=0
{ read -r total < "$pfdir/sriov_totalvfs"; } 2>/dev/null
[ "$total" -ge "$numvfs" ] 2>/dev/null ||
	fail "$pf cannot enable $numvfs VFs"

# 1. nvme-pci drives the PF.
modprobe -q nvme 2>/dev/null
for ((i = 0; i < 100; i++)); do
	ctrl=
	state=
	for c in "$pfdir"/nvme/nvme*; do
		[ -e "$c" ] || continue
		ctrl=${c##*/}
		read -r state < "$c/state"
		break
	done
	[ "$state" = live ] && break
	sleep 0.1
done
[ "$pfdir/driver" -ef /sys/bus/pci/drivers/nvme ] || fail "nvme-pci does not drive $pf"
[ -n "$ctrl" ] || fail "no NVMe controller under $pf"
dev=/dev/$ctrl
pass "nvme-pci drives PF $pf as $ctrl"

read -r n < "$pfdir/sriov_numvfs"
if [ "$n" != 0 ]; then
	echo 0 > "$pfdir/sriov_numvfs" || fail "cannot disable the VFs of $pf"
fi
echo 0 > "$pfdir/sriov_drivers_autoprobe" || fail "cannot clear sriov_drivers_autoprobe"

# The PF's Secondary Controller List as "SCID SCS VFN" lines, in decimal.
seclist() {
	nvme list-secondary "$dev" 2>/dev/null | while read -r f _ _ _ _ _ v _; do
		case $f in
		SCID) scid=$((v)) ;;
		SCS) scs=$((v)) ;;
		VFN) echo "$scid $scs $((v))" ;;
		esac
	done
}
# The secondary controller of VF n (VFN n, 1-based) in list $2.
scid_of() { echo "$2" | while read -r id _ vfn; do [ "$vfn" = "$1" ] && echo "$id"; done; }
# Whether secondary controller n is online in list $2.
online() { echo "$2" | while read -r id scs _; do [ "$id" = "$1" ] && echo "$scs"; done; }

# 2. Flexible resources, before the VFs exist; online after.
t1=${EPOCHREALTIME/./}
declare -A scid
list=$(seclist)
for ((vf = 1; vf <= numvfs; vf++)); do
	id=$(scid_of "$vf" "$list")
	[ -n "$id" ] || fail "no secondary controller for VF $vf in the list of $dev"
	scid[$vf]=$id
	if [ "$(online "$id" "$list")" = 1 ]; then
		nvme virt-mgmt "$dev" -c "$id" -a 7 >/dev/null ||
			fail "cannot take secondary controller $id offline"
	fi
	# VF n gets entry n of the list, or its last
	IFS=, read -ra vqs <<< "$nvq"
	vq=${vqs[$((vf <= ${#vqs[@]} ? vf - 1 : ${#vqs[@]} - 1))]}
	nvme virt-mgmt "$dev" -c "$id" -r 0 -a 8 -n "$vq" >/dev/null ||
		fail "cannot assign $vq VQ resources to secondary controller $id"
	nvme virt-mgmt "$dev" -c "$id" -r 1 -a 8 -n "$nvi" >/dev/null ||
		fail "cannot assign $nvi VI resources to secondary controller $id"
done
pass "assigned $nvq VQ and $nvi VI resources to each of $numvfs secondary controllers ($(ms_since "$t1") ms)"

t1=${EPOCHREALTIME/./}
echo "$numvfs" > "$pfdir/sriov_numvfs" || fail "cannot enable $numvfs VFs on $pf"
pass "enabled $numvfs VFs ($(ms_since "$t1") ms)"

t1=${EPOCHREALTIME/./}
for ((vf = 1; vf <= numvfs; vf++)); do
	nvme virt-mgmt "$dev" -c "${scid[$vf]}" -a 9 >/dev/null ||
		fail "cannot bring secondary controller ${scid[$vf]} online"
done
list=$(seclist)
for ((vf = 1; vf <= numvfs; vf++)); do
	[ "$(online "${scid[$vf]}" "$list")" = 1 ] ||
		fail "secondary controller ${scid[$vf]} is not online"
done
pass "brought $numvfs secondary controllers online ($(ms_since "$t1") ms)"

# 3. Bind each VF to the migration driver with driver_override.
t1=${EPOCHREALTIME/./}
if [ "$driver" != none ]; then
	modprobe "$driver" 2>/dev/null
fi
for ((vf = 1; vf <= numvfs; vf++)); do
	vfbdf=$(name_of "$pfdir/virtfn$((vf - 1))")
	[ -n "$vfbdf" ] || fail "VF $vf of $pf has no PCI function"
	bound=
	if [ "$driver" != none ]; then
		echo "$driver" > "$sysfs/$vfbdf/driver_override"
		echo "$vfbdf" > /sys/bus/pci/drivers_probe
		bound=$(name_of "$sysfs/$vfbdf/driver")
		[ "$bound" = "$driver" ] || fail "$vfbdf is bound to '${bound:-nothing}', not $driver"
	fi
	group=$(name_of "$sysfs/$vfbdf/iommu_group")
	echo "VF $vfbdf scid=${scid[$vf]} group=${group:-none} driver=${bound:-none}"
done
[ "$driver" = none ] || pass "bound $numvfs VFs to $driver ($(ms_since "$t1") ms)"
pass "provisioned $numvfs VFs of $pf in $(ms_since "$t0") ms"
