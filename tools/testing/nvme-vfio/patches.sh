#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Emit the upstream patch series: one commit per series/NN-*/ directory, in
# a scratch git repository that holds the base versions of the files the
# series touches, then `git format-patch` with a cover letter. The patches
# apply with `git am` to the base tree.
# usage: patches.sh BASE REPO OUTDIR
set -euo pipefail
base=$(realpath "$1")
repo=$(realpath "$2")
outdir=$3
here=$(dirname "$(realpath "$0")")
series=$repo/series
author="nvme-vfio-pci developers <nvme-vfio-pci@example.invalid>"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
git() { command git -C "$scratch" -c user.name="${author% <*}" \
	-c user.email="$(echo "$author" | sed 's/.*<\(.*\)>/\1/')" "$@"; }

git init -q -b series
touched=$( (cat "$series"/*/*.patch 2>/dev/null || true) |
	sed -n 's|^+++ b/\([^\t ]*\).*|\1|p' | sort -u)
for f in $touched MAINTAINERS; do
	if [ -f "$base/$f" ]; then
		mkdir -p "$scratch/$(dirname "$f")"
		cp "$base/$f" "$scratch/$f"
	fi
done
git add -A
git commit -q -m "base: files of $(head -n 3 "$base/Makefile" | tr '\n' ' ')"
git tag base

for dir in "$series"/[0-9]*/; do
	dir=${dir%/}
	[ -f "$dir/msg" ] || { echo "patches: ${dir#"$repo"/} has no msg" >&2; exit 1; }
	for p in "$dir"/*.patch; do
		[ -f "$p" ] || continue
		git apply --whitespace=error-all "$p"
	done
	if [ -f "$dir/files" ]; then
		grep -v '^#' "$dir/files" | while read -r f; do
			[ -n "$f" ] || continue
			if [ "$f" = MAINTAINERS ]; then
				"$here/maintainers.sh" "$repo/MAINTAINERS" "$scratch/MAINTAINERS"
			else
				mkdir -p "$scratch/$(dirname "$f")"
				cp "$repo/$f" "$scratch/$f"
			fi
		done
	fi
	git add -A
	git commit -q -F "$dir/msg"
done

rm -rf "$outdir"
mkdir -p "$outdir"
git format-patch -q --cover-letter --thread \
	-o "$outdir" base..HEAD
# The cover letter's subject and blurb come from series/cover-letter.
cover=$(ls "$outdir"/0000-*.patch)
subject=$(head -n 1 "$series/cover-letter")
blurb=$(tail -n +3 "$series/cover-letter")
python3 - "$cover" "$subject" "$blurb" <<'PY'
import sys
path, subject, blurb = sys.argv[1:]
text = open(path).read()
text = text.replace("*** SUBJECT HERE ***", subject)
text = text.replace("*** BLURB HERE ***", blurb)
open(path, "w").write(text)
PY
ls "$outdir"/*.patch
