#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The demo, inside the test VM: provision two VFs for nvme-vfio-pci, run live
# NVMe I/O on VF A from userspace through VFIO, move A's live controller state
# to VF B through the VFIO migration uAPI and carry on on B. Ends with one
# "VERDICT:" line.
set -uo pipefail
here=$(dirname "$(realpath "$0")")
test=${NVFIO_SELFTESTS:-${NVFIO_BUILD:-}/nvfio-selftests}/vfio_pci_nvme_migration_test

step() { printf '\n=== %s\n' "$*"; }
verdict() {	# verdict STATUS TEXT...
	local rc=$1
	shift
	printf '\nVERDICT: %s\n' "$*"
	exit "$rc"
}

step "Provisioning: nvme-pci drives the PF; two secondary controllers get" \
     "flexible resources, go online and their VFs bind to nvme-vfio-pci"
out=$("$here/provision.sh" -n 2 -d nvme-vfio-pci) || { echo "$out"; verdict 1 "FAIL: provisioning"; }
echo "$out" | sed 's/^PASS: provision: /  /; s/^VF /  VF /'
mapfile -t vfs < <(echo "$out" | sed -n 's/^VF \([^ ]*\) .*/\1/p')
dmesg | grep -E 'nvme-vfio-pci .*(live migration|bound)' | sed 's/^\[[^]]*\] /  kernel: /'

[ -x "$test" ] || verdict 1 "FAIL: $test is not built"
step "Live migration of VF A (${vfs[0]}) to VF B (${vfs[1]}) through the VFIO uAPI"
log=$(mktemp)
"$test" -t stop_copy "${vfs[0]}" "${vfs[1]}" > "$log" 2>&1
rc=$?
# The test's narration, without the TAP framing.
sed -n '/^# *\(OK\|FAIL\|SKIP\) /d; s/^# \([0-9a-f]\{4\}:\)/  \1/p; s/^#   /    /p' "$log"
if [ "$rc" != 0 ] || ! grep -q '^ok 1 ' "$log"; then
	sed 's/^/  | /' "$log"
	verdict 1 "FAIL: the migration did not complete (see above and the kernel log)"
fi
blocks=$(sed -n 's/.*read back and verified all \([0-9]*\) blocks.*/\1/p' "$log")
bytes=$(sed -n 's/.*: saved \([0-9]*\) bytes.*/\1/p' "$log")
verdict 0 "PASS: VF A's live I/O queue moved to VF B ($bytes bytes of state), I/O went on where it stopped, all $blocks blocks verified"
