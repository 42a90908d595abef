#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The demo, inside the test VM: provision two VFs for nvme-vfio-pci, run live
# NVMe I/O on VF A from userspace through VFIO, move A's live controller state
# to VF B through the VFIO migration uAPI and carry on on B. Then Debian's
# QEMU live-migrates a guest doing I/O on the VFs between them, 3 round
# trips (NVFIO_ROUNDS). Ends with one "VERDICT:" line.
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
echo "  uAPI: VF A's live I/O queue moved to VF B ($bytes bytes of state), all $blocks blocks verified"

step "Debian's QEMU live-migrates a guest that writes and checks blocks on the VF," \
     "between VF A and VF B, ${NVFIO_ROUNDS:-3} round trips"
"$here/stock-qemu.py" -r "${NVFIO_ROUNDS:-3}" "${vfs[@]}" | tee "$log" | sed 's/^PASS: stock-qemu: /  /'
[ "${PIPESTATUS[0]}" = 0 ] || verdict 1 "FAIL: $(sed -n 's/^FAIL: stock-qemu: //p' "$log" | head -n 1)"
summary=$(sed -n 's/^PASS: stock-qemu: \([0-9]* live migrations\).*/\1/p' "$log")
downtime=$(sed -n 's/.*downtime (query-migrate): \(.*\) over.*/\1/p' "$log")
verdict 0 "PASS: VF A's live I/O queue moved to VF B by the uAPI ($bytes bytes, $blocks blocks verified); QEMU made $summary of a guest doing I/O, which never noticed (downtime $downtime)"
