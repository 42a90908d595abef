#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# VM test: the owner of a VF cannot make the PF act on another controller.
# isolation_admin sends, on VF A's own admin queue, every command that
# suspends, reads, loads, resumes or takes offline a secondary controller,
# for every controller ID, while VF B does I/O: each must fail, the PF's
# migration command counters must not move and every secondary controller
# must stay online. isolation_replay replays A's stream into B and streams
# naming other controllers into B, while A and a bystander C do I/O.
set -uo pipefail
here=$(dirname "$(realpath "$0")")
guest=$here/../guest
st=${NVFIO_SELFTESTS:-${NVFIO_BUILD:-}/nvfio-selftests}/vfio_pci_nvme_migration_test
pfobj=/machine/peripheral/nvme0

check() {	# check NAME COMMAND...
	local name=$1
	shift
	if "$@"; then echo "PASS: isolation: $name"; else echo "FAIL: isolation: $name"; fi
}
counts() { echo "$("$guest/qmp.py" qom-get "$pfobj" lm-send-count) $("$guest/qmp.py" qom-get "$pfobj" lm-recv-count)"; }

out=$("$guest/provision.sh" -n 4 -d nvme-vfio-pci) || { echo "$out"; exit 1; }
mapfile -t vfs < <(echo "$out" | sed -n 's/^VF \([^ ]*\) .*/\1/p')
[ ${#vfs[@]} = 4 ] || { echo "FAIL: isolation: the 4 VFs are not provisioned"; exit 1; }
[ -x "$st" ] || { echo "FAIL: isolation: $st is not built"; exit 1; }
pf=$(basename "$(readlink "/sys/bus/pci/devices/${vfs[0]}/physfn")")
for n in "/sys/bus/pci/devices/$pf/nvme"/nvme*; do ctrl=/dev/${n##*/}; break; done

before=$(counts) || { echo "FAIL: isolation: no lm-send-count/lm-recv-count over QMP"; exit 1; }
"$guest/tap2result.sh" isolation "$st" -t isolation_admin "${vfs[0]}" "${vfs[1]}"
after=$(counts)
check "the PF handled no Migration Send or Receive for them ($before -> $after)" \
	[ "$before" = "$after" ]
# "SCS : Secondary Controller State : 0x0001 (Online)" lines
online=$(nvme list-secondary "$ctrl" | while read -r f _ _ _ _ _ v _; do
	[ "$f" = SCS ] && [ $((v & 1)) = 1 ] && echo; done | wc -l)
check "all 4 secondary controllers are still online ($online)" [ "$online" = 4 ]

"$guest/tap2result.sh" isolation "$st" -t isolation_replay "${vfs[@]}"
