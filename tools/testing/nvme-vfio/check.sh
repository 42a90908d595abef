#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Everything: lint, the upstream series, KUnit in the test VM and every VM
# test under tests/. Each KUnit case and each PASS/FAIL line of a VM test
# counts once; a stage that cannot run counts as one failure. Then a summary
# of the reliability figures: the STAT lines the stages print (inputs tried,
# faults injected, race iterations) and the kernel reports vm.sh counted in
# each VM run. The last line is "N passed, N failed".
# usage: check.sh TREE BUILD MODROOT LOGDIR REPO
set -uo pipefail
tree=$1 build=$2 modroot=$3 logs=$4 repo=$5
here=$(dirname "$(realpath "$0")")
passed=0
failed=0
mkdir -p "$logs"

result() {	# result NAME OK
	if [ "$2" = 0 ]; then
		passed=$((passed + 1)); echo "PASS: $1"
	else
		failed=$((failed + 1)); echo "FAIL: $1"
	fi
}

section() { printf '\n== %s\n' "$*"; }

# figures STAGE LOG...: keep the STAT lines and kernel report counts of a stage
stats=$logs/stats.tsv
: > "$stats"
figures() {
	local stage=$1
	shift
	sed -n "s/^STAT: \(.*\): \([0-9]*\)$/$stage\t\1\t\2/p" "$@" >> "$stats"
	sed -n "s/^vm: kernel reports: \([0-9]*\)$/$stage\treports\t\1/p" "$@" >> "$stats"
}

section "lint"
"$here/lint.sh" "$tree" "$build" "$repo" 2>&1 | tee "$logs/lint.log"
result lint "${PIPESTATUS[0]}"

section "upstream series"
"$here/patches.sh" "$(cat "$tree/.nvfio-base")" "$repo" "$logs/patches" > "$logs/patches.log" 2>&1
rc=$?
sed "s|^$logs/patches/|  |" "$logs/patches.log"
result "patches" "$rc"

section "KUnit"
"$here/kunit.sh" "$tree" "$build" "$modroot" "$logs" | tee "$logs/kunit.log"
read -r _ kp kf < <(grep '^KUNIT ' "$logs/kunit.log" | tail -n 1) || { kp=0; kf=1; }
passed=$((passed + ${kp:-0})); failed=$((failed + ${kf:-1}))
figures KUnit "$logs/kunit.log" "$logs/kunit/ktap.log"

section "VFIO selftests build"
"$here/selftests.sh" "$build" > "$logs/selftests-build.log" 2>&1
rc=$?
tail -n 3 "$logs/selftests-build.log"
result "selftests build" "$rc"

for t in "$here"/tests/*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	section "VM test: $name"
	"$here/vm.sh" -k "$build/arch/x86/boot/bzImage" \
		-M "$modroot" -o "$logs/$name" -- "$t" 2>&1 | tee "$logs/$name.log"
	rc=${PIPESTATUS[0]}
	figures "$name" "$logs/$name.log"
	p=$(grep -c '^PASS: ' "$logs/$name.log")
	f=$(grep -c '^FAIL: ' "$logs/$name.log")
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		result "$name: the VM run failed (exit $rc), logs in $logs/$name" 1
	elif [ "$p" = 0 ] && [ "$f" = 0 ]; then
		result "$name: printed no result" 1
	fi
done

section "reliability summary"
awk -F '\t' '
	$2 == "reports" { runs++; reports += $3; next }
	{ printf "  %-58s %10s  %s\n", $2, $3, $1 }
	END { printf "  %-58s %10d  %d VM runs\n",
		"kernel reports (lockdep, KASAN, UBSAN, kmemleak, WARN)", reports, runs }
' "$stats"

echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
