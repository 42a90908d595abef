#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# VM test: provision four VFs for nvme-vfio-pci as the documentation tells
# an operator to, check that each is bound and can migrate, run the VFIO
# uAPI selftest (vfio_pci_nvme_migration_test, but for the subtests other
# VM tests run) on two of them, on the model's strict readings and then on
# its lenient ones, then disable SR-IOV with the driver bound.
set -uo pipefail
here=$(dirname "$(realpath "$0")")
guest=$here/../guest
sysfs=/sys/bus/pci/devices

out=$("$guest/provision.sh" -n 4 -d nvme-vfio-pci)
echo "$out"
mapfile -t vfs < <(echo "$out" | sed -n 's/^VF \([^ ]*\) .*driver=nvme-vfio-pci.*/\1/p')
[ ${#vfs[@]} = 4 ] || { echo "FAIL: migration: the VFs are not bound to nvme-vfio-pci"; exit 1; }

for vf in "${vfs[@]}"; do
	if dmesg | grep -q "$vf: live migration on"; then
		echo "PASS: migration: $vf can migrate"
	else
		echo "FAIL: migration: $vf: $(dmesg | grep "$vf: live migration" | tail -n 1)"
	fi
	if compgen -G "$sysfs/$vf/vfio-dev/vfio*" >/dev/null; then
		echo "PASS: migration: $vf has a VFIO device"
	else
		echo "FAIL: migration: $vf has no VFIO device"
	fi
done

st=${NVFIO_SELFTESTS:-${NVFIO_BUILD:-}/nvfio-selftests}
pfq=/machine/peripheral/nvme0
if [ -x "$st/vfio_pci_nvme_migration_test" ]; then
	# The fuzzer and the isolation subtests have VM tests of their own,
	# which run them on the VFs and guest CPUs they need.
	"$guest/tap2result.sh" selftest "$st/vfio_pci_nvme_migration_test" \
		-T resume_fuzz -T isolation_admin -T isolation_replay "${vfs[0]}" "${vfs[1]}"
	# The other pair, migrating the other way.
	"$guest/tap2result.sh" selftest-rev "$st/vfio_pci_nvme_migration_test" \
		-t stop_copy "${vfs[3]}" "${vfs[2]}"
	# The model's lenient readings of what the specification leaves open
	# (tools/qemu/README.md): the driver must work with both.
	if "$guest/qmp.py" qom-set "$pfq" lm-strict false > /dev/null; then
		"$guest/tap2result.sh" selftest-lenient "$st/vfio_pci_nvme_migration_test" \
			-t stop_copy -t pre_copy -t wrapped_cq "${vfs[0]}" "${vfs[1]}"
		"$guest/qmp.py" qom-set "$pfq" lm-strict true > /dev/null
	else
		echo "FAIL: migration: cannot turn the model's lm-strict off over QMP"
	fi
else
	echo "FAIL: selftest: $st/vfio_pci_nvme_migration_test is not built (tools/testing/nvme-vfio/selftests.sh)"
fi

# A data fd outlives its device: outlive closes VF A and disables SR-IOV,
# with the VFs bound, then uses the data fd of the removed VF.
pf=$(basename "$(readlink "$sysfs/${vfs[0]}/physfn")")
if [ -x "$st/vfio_pci_nvme_stress_test" ]; then
	"$st/vfio_pci_nvme_stress_test" outlive "${vfs[0]}"
fi
[ -e "$sysfs/${vfs[0]}" ] && echo 0 > "$sysfs/$pf/sriov_numvfs"
if [ ! -e "$sysfs/${vfs[0]}" ] && [ ! -e "$sysfs/${vfs[3]}" ]; then
	echo "PASS: migration: disabled SR-IOV with the VFs bound"
else
	echo "FAIL: migration: could not disable SR-IOV on $pf"
fi
