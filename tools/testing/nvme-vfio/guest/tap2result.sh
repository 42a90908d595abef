#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run a kselftest program and turn its TAP results into the harness's
# "PASS: <prefix>: <test>" / "FAIL: <prefix>: <test>: <reason>" lines; the
# program's own output is kept, indented, and the figures it prints as
# "# STAT: <label>: <n>" become the harness's STAT lines. A program that dies
# without reporting a result, or reports none, is a failure.
# usage: tap2result.sh PREFIX PROGRAM [ARG...]
set -uo pipefail
prefix=$1
shift
log=$(mktemp)
"$@" 2>&1 | tee "$log" | sed 's/^/    /'
rc=${PIPESTATUS[0]}
awk -v prefix="$prefix" '
	/^ok [0-9]+ .*# SKIP/ { sub(/^ok [0-9]+ /, ""); print "SKIP: " prefix ": " $0; n++; next }
	/^ok [0-9]+ /         { sub(/^ok [0-9]+ /, ""); print "PASS: " prefix ": " $0; n++; next }
	/^not ok [0-9]+ /     { sub(/^not ok [0-9]+ /, ""); print "FAIL: " prefix ": " $0 ": see the log above"; n++; next }
	/^ *# STAT: /         { sub(/^ *# /, ""); print; next }
	END { if (!n) print "FAIL: " prefix ": reported no result" }' "$log"
rm -f "$log"
exit "$rc"
