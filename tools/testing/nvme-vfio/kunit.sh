#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run our KUnit suites inside the test VM (they are modules of the test
# kernel) and parse the KTAP output with the kernel's kunit.py. Prints each
# suite's result, the STAT lines of the cases and, last,
# "KUNIT <passed> <failed>".
# usage: kunit.sh TREE BUILD MODROOT LOGDIR
set -uo pipefail
tree=$1 build=$2 modroot=$3 logs=$4
here=$(dirname "$(realpath "$0")")
out=$logs/kunit
mkdir -p "$out"

"$here/vm.sh" -k "$build/arch/x86/boot/bzImage" -M "$modroot" -o "$out/vm" \
	-t 1800 -- "$here/guest/kunit.sh" > "$out/ktap.log" 2>&1
vm_rc=$?

python3 "$tree/tools/testing/kunit/kunit.py" parse --json="$out/results.json" \
	"$out/ktap.log" > "$out/parsed.log" 2>&1
# Each suite's result, every case that did not pass, and the total.
grep -E '=+ \[[A-Z]+\] .* =+$|\[(FAILED|CRASHED)\]|Testing complete' \
	"$out/parsed.log" | sed 's/^\[[0-9:]*\] //'
# The figures the cases print ("# <case>: STAT: <label>: <n>"), as STAT lines
sed -n 's/^ *# [^ ]*: \(STAT: .*\)$/\1/p' "$out/ktap.log" | awk '!seen[$0]++'

python3 - "$out/results.json" "$vm_rc" <<'PY'
import json, sys
path, vm_rc = sys.argv[1], int(sys.argv[2])
passed = failed = 0
def walk(t):
    global passed, failed
    subs = t.get("sub_groups") or []
    cases = t.get("test_cases") or []
    for c in cases:
        if c.get("status") == "PASS":
            passed += 1
        elif c.get("status") != "SKIP":
            failed += 1
    for s in subs:
        walk(s)
try:
    walk(json.load(open(path)))
except (OSError, ValueError):
    failed += 1
if passed + failed == 0:
    print("kunit: no test case ran")
    failed += 1
if vm_rc != 0:
    print(f"kunit: the test VM failed (exit {vm_rc}): see its logs")
    failed += 1
print(f"KUNIT {passed} {failed}")
PY
