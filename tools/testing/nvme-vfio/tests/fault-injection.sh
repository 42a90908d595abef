#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# VM test: faults of the PF's Migration Send/Receive, injected in QEMU's NVMe
# model over QMP (guest/qmp.py), fail the migration arc with an error and
# leave both VFs usable; the model's command counters show the commands the
# driver sent.
set -uo pipefail
here=$(dirname "$(realpath "$0")")
guest=$here/../guest
st=${NVFIO_SELFTESTS:-${NVFIO_BUILD:-}/nvfio-selftests}/vfio_pci_nvme_migration_test
pf=/machine/peripheral/nvme0

qom_get() { "$guest/qmp.py" qom-get "$pf" "$1"; }
qom_set() { "$guest/qmp.py" qom-set "$pf" "$1" "$2" >/dev/null; }
check() {	# check NAME COMMAND...
	local name=$1
	shift
	if "$@"; then echo "PASS: fault: $name"; else echo "FAIL: fault: $name"; fi
}

if ! send0=$(qom_get lm-send-count) || ! recv0=$(qom_get lm-recv-count); then
	echo "FAIL: fault: no lm-send-count/lm-recv-count over QMP (is QEMU the patched one?)"
	exit 1
fi
echo "PASS: fault: QMP from the guest reads the model's counters ($send0 sends, $recv0 receives)"

out=$("$guest/provision.sh" -n 2 -d nvme-vfio-pci) || { echo "$out"; exit 1; }
mapfile -t vfs < <(echo "$out" | sed -n 's/^VF \([^ ]*\) .*/\1/p')
[ -x "$st" ] || { echo "FAIL: fault: $st is not built"; exit 1; }

# The next Migration Send or Receive fails: the first arc that needs the PF
# fails, and the test sees the error.
qom_set lm-fail-nth 1
"$st" -t stop_copy "${vfs[0]}" "${vfs[1]}" > "$NVFIO_OUT/fault-run.log" 2>&1
check "an injected command failure fails the migration" \
	grep -q '^not ok 1 ' "$NVFIO_OUT/fault-run.log"
check "the failed arc is logged" \
	sh -c "dmesg | grep -q '${vfs[0]}: migration state .* failed'"
check "the injection fired once" [ "$(qom_get lm-fail-nth)" = 0 ]

send1=$(qom_get lm-send-count)
recv1=$(qom_get lm-recv-count)
"$st" -t stop_copy "${vfs[0]}" "${vfs[1]}" > "$NVFIO_OUT/fault-run.log" 2>&1
rc=$?
sed 's/^/    /' "$NVFIO_OUT/fault-run.log" | grep -E '^    (# [0-9a-f]{4}:|ok|not ok)'
check "both VFs migrate again after the fault" [ "$rc" = 0 ]
send2=$(qom_get lm-send-count)
recv2=$(qom_get lm-recv-count)
echo "    one migration: $((send2 - send1)) Migration Send, $((recv2 - recv1)) Migration Receive"
# Suspend and Resume of A, Suspend, Set Controller State and Resume of B at the least
check "one migration sends Migration Send commands" [ $((send2 - send1)) -ge 4 ]
check "one migration reads the state with Migration Receive" [ $((recv2 - recv1)) -ge 1 ]
