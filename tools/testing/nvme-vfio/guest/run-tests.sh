#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run VM tests one after another in one boot of the test VM: a boot and a
# kmemleak scan of the debug kernel under TCG cost minutes, a test's own
# work often less. Each test gets a section header and at most
# $NVFIO_TEST_LIMIT seconds (1800); one that exits non-zero without a FAIL
# line, or prints no result at all, gets a FAIL line here.
#
# The kernel's ring buffer is cleared before each test, so that a test that
# reads dmesg sees its own messages only; the serial console (kernel.log)
# keeps all of them, each test's behind an "nvfio: VM test" line.
#
# usage: run-tests.sh TEST...
set -uo pipefail
limit=${NVFIO_TEST_LIMIT:-1800}
rc=0

for t in "$@"; do
	name=${t##*/}
	name=${name%.sh}
	printf '\n== VM test: %s\n' "$name"
	dmesg -C
	echo "nvfio: VM test $name" > /dev/kmsg
	start=$SECONDS
	timeout -k 30 "$limit" "$t" 2>&1 | tee "$NVFIO_OUT/$name.out"
	trc=${PIPESTATUS[0]}
	p=0
	f=0
	while read -r word _; do
		case $word in
		PASS:) p=$((p + 1)) ;;
		FAIL:) f=$((f + 1)) ;;
		esac
	done < "$NVFIO_OUT/$name.out"
	if [ "$trc" != 0 ] && [ "$f" = 0 ]; then
		echo "FAIL: $name: exited $trc$([ "$trc" = 124 ] && echo " (time limit, $limit s)")"
	elif [ "$p" = 0 ] && [ "$f" = 0 ]; then
		echo "FAIL: $name: printed no result"
	fi
	[ "$trc" = 0 ] && [ "$f" = 0 ] || rc=1
	echo "$name: $((SECONDS - start)) s"
done
exit "$rc"
