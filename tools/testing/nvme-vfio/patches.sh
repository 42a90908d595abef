#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Emit the upstream patch series: one commit per series/NN-*/ directory, in
# a scratch git repository that holds the base versions of the files the
# series touches, then `git format-patch` with a cover letter. The patches
# apply with `git am` to the base tree. A directory holds the commit
# message (msg), patches to upstream files (*.patch), the new files the
# commit adds or changes (files), and stage.diff for a new file that a
# later commit of the series changes.
#
# Whoever emits the series authors and signs off its commits: git's
# user.name and user.email, as configured for REPO. Without them it fails,
# unless NVFIO_UNSIGNED=1 (the checks, which only lint the series) asks for
# commits without a Signed-off-by.
# usage: patches.sh BASE REPO OUTDIR
set -euo pipefail
base=$(realpath "$1")
repo=$(realpath "$2")
outdir=$3
here=$(dirname "$(realpath "$0")")
series=$repo/series

name=$(command git -C "$repo" config user.name || true)
email=$(command git -C "$repo" config user.email || true)
signoff=-s
if [ -z "$name" ] || [ -z "$email" ]; then
	if [ "${NVFIO_UNSIGNED:-0}" != 1 ]; then
		echo "patches: git's user.name and user.email are not set: the series is signed off by whoever emits it (git config --global user.name/user.email)" >&2
		exit 1
	fi
	name=unsigned email=unsigned@invalid signoff=
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
git() { command git -C "$scratch" -c user.name="$name" -c user.email="$email" "$@"; }

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
	# A file that later commits change (main.c before migration, say)
	# is taken back to its version of this commit by stage.diff
	if [ -f "$dir/stage.diff" ]; then
		git apply --whitespace=error-all "$dir/stage.diff"
	fi
	git add -A
	git commit -q $signoff -F "$dir/msg"
done

rm -rf "$outdir"
mkdir -p "$outdir"
# RFC while the series is tested on an emulated controller only; the
# changelog in series/cover-letter is that of this version
version=2
git format-patch -q --cover-letter --thread --rfc --reroll-count=$version \
	-o "$outdir" base..HEAD
# The cover letter's subject and blurb come from series/cover-letter.
cover=$(ls "$outdir"/v$version-0000-*.patch)
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
