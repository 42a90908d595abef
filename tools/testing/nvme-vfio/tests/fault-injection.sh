#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# VM test: faults of the PF's Migration Send/Receive, injected in QEMU's NVMe
# model over QMP (guest/qmp.py), fail the migration arc with an error and
# leave both VFs usable; the model's command counters show the commands the
# driver sent. Then the fault matrix: every Migration Send and Receive of
# every arc fails once with each status code TP4159 defines, with generic
# errors, and by stalling past the PF's admin timeout
# (vfio_pci_nvme_stress_test fault); after each kind of fault a VF with I/O
# in flight still migrates.
#
# vm-alone: it sets nvme_core's admin_timeout to 2 s for the PF
set -uo pipefail
here=$(dirname "$(realpath "$0")")
guest=$here/../guest
bin=${NVFIO_SELFTESTS:-${NVFIO_BUILD:-}/nvfio-selftests}
st=$bin/vfio_pci_nvme_migration_test
stress=$bin/vfio_pci_nvme_stress_test
pf=/machine/peripheral/nvme0
# Seconds the PF's admin commands may take: a stall outlasts it
admin_timeout=2

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

# The admin queue takes nvme_core's admin_timeout when nvme-pci probes the
# PF: set it, then probe the PF again.
echo "$admin_timeout" > /sys/module/nvme_core/parameters/admin_timeout
for d in /sys/bus/pci/drivers/nvme/0000:*; do
	[ -f "$d/sriov_totalvfs" ] || continue
	echo "${d##*/}" > /sys/bus/pci/drivers/nvme/unbind
	echo "${d##*/}" > /sys/bus/pci/drivers/nvme/bind
done

out=$("$guest/provision.sh" -n 2 -d nvme-vfio-pci) || { echo "$out"; exit 1; }
mapfile -t vfs < <(echo "$out" | sed -n 's/^VF \([^ ]*\) .*/\1/p')
mapfile -t scids < <(echo "$out" | sed -n 's/^VF .* scid=\([0-9]*\) .*/\1/p')
ctrl=$(echo "$out" | sed -n 's/.* as \(nvme[0-9]*\)$/\1/p')
[ -x "$st" ] || { echo "FAIL: fault: $st is not built"; exit 1; }
[ -x "$stress" ] || { echo "FAIL: fault: $stress is not built"; exit 1; }

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

# The matrix. TP4159's status codes (SCT 1h): Invalid Controller Data Queue,
# Not Enough Resources, Controller Suspended, Controller Not Suspended,
# Controller Data Queue Full; Invalid Controller Identifier; the generic
# Invalid Field in Command and Internal Error; a stall.
total=0
t0=$(date +%s)
for fault in 0x137 0x138 0x139 0x13a 0x13b 0x11f 0x002 0x006 stall; do
	t1=$(date +%s)
	"$stress" fault -f "$fault" -c "/dev/$ctrl" -s "${scids[0]},${scids[1]}" \
		"${vfs[0]}" "${vfs[1]}" > "$NVFIO_OUT/fault-$fault.log" 2>&1
	grep -E '^(PASS|FAIL)' "$NVFIO_OUT/fault-$fault.log"
	n=$(sed -n 's/^# faults injected ([^)]*): \([0-9]*\)$/\1/p' "$NVFIO_OUT/fault-$fault.log")
	[ -n "$n" ] || { echo "FAIL: fault: $fault: the matrix did not finish"; tail -n 5 "$NVFIO_OUT/fault-$fault.log"; }
	total=$((total + ${n:-0}))
	"$st" -t stop_copy "${vfs[0]}" "${vfs[1]}" > "$NVFIO_OUT/fault-run.log" 2>&1
	check "after the $fault faults, a VF with I/O in flight migrates ($(($(date +%s) - t1)) s)" \
		[ $? = 0 ]
done
echo "    fault matrix: $total faults in $(($(date +%s) - t0)) s"
echo "STAT: faults injected: $total"
