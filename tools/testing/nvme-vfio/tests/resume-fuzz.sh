#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# VM test: malformed migration streams through the real resume fd. The
# selftest's resume_fuzz writes NVME_FUZZ_STREAMS (default 10000) seeded
# mutations of a stream that VF A saves to the resume fds of the four VFs,
# one process per VF: each stream must be refused by a write or by
# RESUMING -> STOP, and a reset must bring the VF back to RUNNING. Then A
# migrates to B for real and B verifies the I/O. vm.sh scans kmemleak at the
# end of the run and fails it on any report, as on any KASAN, UBSAN or
# lockdep report. Each VF must log why it rejected a stream.
set -uo pipefail
here=$(dirname "$(realpath "$0")")
guest=$here/../guest
st=${NVFIO_SELFTESTS:-${NVFIO_BUILD:-}/nvfio-selftests}/vfio_pci_nvme_migration_test

out=$("$guest/provision.sh" -n 4 -d nvme-vfio-pci) || { echo "$out"; exit 1; }
mapfile -t vfs < <(echo "$out" | sed -n 's/^VF \([^ ]*\) .*/\1/p')
[ ${#vfs[@]} = 4 ] || { echo "FAIL: resume-fuzz: the 4 VFs are not provisioned"; exit 1; }
[ -x "$st" ] || { echo "FAIL: resume-fuzz: $st is not built"; exit 1; }

log=$NVFIO_OUT/resume-fuzz.log
t0=$(date +%s%N)
NVME_FUZZ_STREAMS=${NVME_FUZZ_STREAMS:-10000} \
	"$guest/tap2result.sh" resume-fuzz "$st" -t resume_fuzz "${vfs[@]}" | tee "$log" |
	grep -v '^    # [0-9a-f:.]*: [0-9]* streams refused in'
echo "resume-fuzz: $(( ($(date +%s%N) - t0) / 1000000 )) ms"

# Each VF logs why it refused a stream (rate-limited: not every stream)
for vf in "${vfs[@]}"; do
	line=$(dmesg | grep -m 1 "$vf: migration stream rejected: ")
	if [ -n "$line" ]; then
		echo "PASS: resume-fuzz: $vf logs why a stream is rejected (${line#*rejected: })"
	else
		echo "FAIL: resume-fuzz: $vf logged no reason for rejecting a stream"
	fi
done
