#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Insert the overlay's MAINTAINERS entry into an upstream MAINTAINERS file,
# before the first section whose title sorts after it.
# usage: maintainers.sh ENTRY_FILE MAINTAINERS_FILE
set -euo pipefail
entry=$1 file=$2
title=$(head -n 1 "$entry")
if grep -qxF "$title" "$file"; then
	echo "maintainers: $file already has $title" >&2
	exit 1
fi
awk -v title="$title" -v entry="$entry" '
	function emit(  l) { while ((getline l < entry) > 0) print l; print "" }
	/^3C59X NETWORK DRIVER/ { started = 1 }
	!done && started && /^[A-Z0-9]/ && prev == "" && $0 > title { emit(); done = 1 }
	{ print; prev = $0 }
' "$file" > "$file.new"
mv "$file.new" "$file"
grep -qxF "$title" "$file" || { echo "maintainers: could not place $title" >&2; exit 1; }
