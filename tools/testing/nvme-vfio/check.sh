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

# figures STAGE LOG...: keep the STAT lines and kernel report counts of a
# stage; in a VM run of several tests, a STAT line counts for its test
stats=$logs/stats.tsv
: > "$stats"
figures() {
	awk -v run="$1" '
		BEGIN { stage = run }
		/^== VM test: / { stage = $4 }
		/^STAT: .*: [0-9]+$/ {
			label = $0
			sub(/^STAT: /, "", label)
			sub(/: [0-9]+$/, "", label)
			printf "%s\t%s\t%s\n", stage, label, $NF
		}
		/^vm: kernel reports: [0-9]+$/ { printf "%s\treports\t%s\n", run, $NF }
	' "${@:2}" >> "$stats"
}

section "lint"
"$here/lint.sh" "$tree" "$build" "$repo" 2>&1 | tee "$logs/lint.log"
result lint "${PIPESTATUS[0]}"

section "upstream series"
NVFIO_UNSIGNED=1 "$here/patches.sh" "$(cat "$tree/.nvfio-base")" "$repo" "$logs/patches" > "$logs/patches.log" 2>&1
rc=$?
sed "s|^$logs/patches/|  |" "$logs/patches.log"
result "patches" "$rc"

section "VFIO selftests build"
"$here/selftests.sh" "$build" > "$logs/selftests-build.log" 2>&1
rc=$?
tail -n 3 "$logs/selftests-build.log"
result "selftests build" "$rc"

# KUnit's VM and the boots of the VM tests run $NVFIO_JOBS at a time (the
# number of CPUs by default): a VM under TCG keeps about one host CPU busy,
# so two CPUs run two VMs in little more than the time of the longer one.
# Each job's output goes to LOGDIR/<job>.log and is printed when it ends.

# vm_job NAME TEST...: the VM tests in one boot of the test VM
vm_job() {
	local name=$1
	shift
	"$here/vm.sh" -k "$build/arch/x86/boot/bzImage" -M "$modroot" \
		-o "$logs/$name" -t $((1800 * $# + 600)) -- \
		"$here/guest/run-tests.sh" "$@" > "$logs/$name.log" 2>&1
	echo $? > "$logs/$name.rc"
}

# report JOB: print a finished job's output and count its results
report() {
	local name=$1 rc p f kp kf
	if [ "$name" = KUnit ]; then
		section "KUnit"
		cat "$logs/kunit.log"
		read -r _ kp kf < <(grep '^KUNIT ' "$logs/kunit.log" | tail -n 1) ||
			{ kp=0; kf=1; }
		passed=$((passed + ${kp:-0})); failed=$((failed + ${kf:-1}))
		figures KUnit "$logs/kunit.log" "$logs/kunit/ktap.log"
		return
	fi
	section "VM run: $name"
	cat "$logs/$name.log"
	read -r rc < "$logs/$name.rc" || rc=125
	figures "$name" "$logs/$name.log"
	p=$(grep -c '^PASS: ' "$logs/$name.log")
	f=$(grep -c '^FAIL: ' "$logs/$name.log")
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		result "$name: the VM run failed (exit $rc), logs in $logs/$name" 1
	fi
}

# The VM tests share one boot, but for those that change settings the tests
# after them would inherit, or that run long enough to be worth a VM of
# their own beside the others: a "# vm-alone:" line in such a test says
# which. The shared boot, the longest, starts first; KUnit last.
shared=()
jobs_queue=(vm-tests)
for t in "$here"/tests/*.sh; do
	if grep -q '^# vm-alone: ' "$t"; then
		jobs_queue+=("$(basename "$t" .sh)")
	else
		shared+=("$t")
	fi
done
[ ${#shared[@]} -gt 0 ] || jobs_queue=("${jobs_queue[@]:1}")
jobs_queue+=(KUnit)

declare -A running=()
planned=${#jobs_queue[@]} ended=0
max=${NVFIO_JOBS:-$(nproc)}
while [ ${#jobs_queue[@]} -gt 0 ] || [ ${#running[@]} -gt 0 ]; do
	while [ ${#jobs_queue[@]} -gt 0 ] && [ ${#running[@]} -lt "$max" ]; do
		name=${jobs_queue[0]}
		jobs_queue=("${jobs_queue[@]:1}")
		if [ "$name" = KUnit ]; then
			"$here/kunit.sh" "$tree" "$build" "$modroot" "$logs" \
				> "$logs/kunit.log" 2>&1 &
		elif [ "$name" = vm-tests ]; then
			vm_job "$name" "${shared[@]}" &
		else
			vm_job "$name" "$here/tests/$name.sh" &
		fi
		running[$!]=$name
		echo "$(date +%T) started: $name"
	done
	wait -n -p pid
	name=${running[$pid]}
	unset "running[$pid]"
	echo "$(date +%T) ended: $name"
	ended=$((ended + 1))
	report "$name"
done
[ "$ended" = "$planned" ] || result "VM jobs: $ended of $planned ended" 1

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
