#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the project's KUnit suites inside the test VM and print their results
# as one KTAP document, which "tools/testing/kunit/kunit.py parse" reads.
#
# usage: kunit.sh [MODULE...]
# Without arguments, loads every test module of the NVMe host and VFIO PCI
# directories found in modules.order (CONFIG_NVME_HOST_LM_KUNIT_TEST,
# CONFIG_NVME_VFIO_PCI_KUNIT_TEST). Each module runs its suites when it is
# loaded; the results are read from /sys/kernel/debug/kunit/<suite>/results
# before the module is removed again.
#
# The KTAP document is also written to $NVFIO_OUT/kunit.ktap. After it, one
# "PASS: kunit: <suite>.<case>" or "FAIL: ..." line per test case.
set -uo pipefail

kunitfs=/sys/kernel/debug/kunit
modorder=${NVFIO_MODULES:-/lib/modules/$(uname -r)}/modules.order
ktap=$(mktemp)
summary=$(mktemp)
trap 'rm -f "$ktap" "$summary"' EXIT

[ -d "$kunitfs" ] || { echo "FAIL: kunit: $kunitfs missing (CONFIG_KUNIT_DEBUGFS)"; exit 1; }

# modprobe waits, in D state, while a module's suites run, and the fuzz
# case alone takes 5-15 min under TCG (KUNIT_CASE_SLOW: three times KUnit's
# base timeout of 300 s). Here KUnit's own time-out watches the cases: the
# base goes to 600 s, so that the slow case gets 30 min, longer than this
# VM's limit, and the hung task detector, which would report modprobe, is
# turned off.
echo 600 > /sys/module/kunit/parameters/timeout
echo 0 > /proc/sys/kernel/hung_task_timeout_secs

modules=()
if [ $# -gt 0 ]; then
	modules=("$@")
else
	mapfile -t modules < <(sed -n \
		's#^kernel/drivers/\(nvme/host\|vfio/pci/nvme\)/\([^/]*test[^/]*\)\.ko.*$#\2#p' \
		"$modorder" 2>/dev/null)
fi
[ ${#modules[@]} -gt 0 ] || { echo "FAIL: kunit: no test modules in $modorder"; exit 1; }

nsuites=0
body=$(mktemp)
trap 'rm -f "$ktap" "$summary" "$body"' EXIT
for m in "${modules[@]}"; do
	before=$(ls "$kunitfs")
	if ! modprobe "$m"; then
		echo "FAIL: kunit: cannot load $m" >> "$summary"
		continue
	fi
	for suite in $(comm -13 <(echo "$before") <(ls "$kunitfs")); do
		nsuites=$((nsuites + 1))
		# Each results file is a KTAP document of one suite ("1..1"):
		# drop its header and number the suite in the combined one.
		tail -n +3 "$kunitfs/$suite/results" |
			sed "s/^\(\(not \)\{0,1\}ok\) 1 $suite\b/\1 $nsuites $suite/" >> "$body"
		awk -v suite="$suite" '
			/^    (not )?ok [0-9]+ / {
				name = $0
				sub(/^    (not )?ok [0-9]+ /, "", name)
				if (name ~ /# SKIP/) { sub(/ *# SKIP.*/, "", name); print "SKIP: kunit: " suite "." name; next }
				if ($1 == "ok") print "PASS: kunit: " suite "." name
				else print "FAIL: kunit: " suite "." name
			}' "$kunitfs/$suite/results" >> "$summary"
	done
	rmmod "$m" || echo "FAIL: kunit: cannot remove $m" >> "$summary"
done
[ "$nsuites" -gt 0 ] || echo "FAIL: kunit: the modules ran no suite" >> "$summary"

{ echo "KTAP version 1"; echo "1..$nsuites"; cat "$body"; } > "$ktap"
cat "$ktap"
[ -n "${NVFIO_OUT:-}" ] && cp "$ktap" "$NVFIO_OUT/kunit.ktap"
cat "$summary"
! grep -q '^FAIL:' "$summary"
