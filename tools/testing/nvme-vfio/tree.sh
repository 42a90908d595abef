#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prepare a kernel work tree: a copy of BASE with the series' patches applied
# and the overlay's files synced in. Only files whose content changed are
# rewritten, so a re-run after an edit rebuilds only what the edit touched.
#
# usage: tree.sh BASE TREE REPO
set -euo pipefail

base=$(realpath "$1")
tree=$2
repo=$(realpath "$3")
series=$repo/series

die() { echo "tree: $*" >&2; exit 1; }

[ -f "$base/Makefile" ] && [ -d "$base/drivers/vfio/pci" ] ||
	die "$base is not a kernel source tree"

mkdir -p "$tree"
tree=$(realpath "$tree")
if [ "$(cat "$tree/.nvfio-base" 2>/dev/null)" != "$base" ]; then
	echo "  COPY    $base -> $tree"
	rsync -a --delete --exclude=/.git "$base/" "$tree/"
	echo "$base" > "$tree/.nvfio-base"
	: > "$tree/.nvfio-manifest"
fi

# Sync FILE (relative) from SRC into the tree unless it is already the same.
sync_file() {
	local src=$1 rel=$2
	if ! cmp -s "$src" "$tree/$rel"; then
		mkdir -p "$(dirname "$tree/$rel")"
		cp "$src" "$tree/$rel"
		echo "  SYNC    $rel"
	fi
}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# The upstream files the series edits, staged from the base and patched.
patches=$(find "$series" -mindepth 2 -maxdepth 2 -name '*.patch' | sort)
touched=$(for p in $patches; do sed -n 's|^+++ b/\([^\t ]*\).*|\1|p' "$p"; done | sort -u)
for f in $touched MAINTAINERS; do
	mkdir -p "$stage/$(dirname "$f")"
	[ -f "$base/$f" ] && cp "$base/$f" "$stage/$f"
done
for p in $patches; do
	patch -s -p1 -d "$stage" --no-backup-if-mismatch -r - < "$p" ||
		die "${p#"$repo"/} does not apply to $base"
done

"$(dirname "$(realpath "$0")")/maintainers.sh" "$repo/MAINTAINERS" "$stage/MAINTAINERS"

new_manifest=$(mktemp)
for f in $touched MAINTAINERS; do
	sync_file "$stage/$f" "$f"
	echo "$f" >> "$new_manifest"
done

# New files, as the series lists them.
for list in "$series"/*/files; do
	[ -f "$list" ] || continue
	grep -v '^#' "$list" | while read -r f; do
		[ -n "$f" ] && [ "$f" != MAINTAINERS ] || continue
		[ -f "$repo/$f" ] || die "${list#"$repo"/} names $f, which does not exist"
		sync_file "$repo/$f" "$f"
		echo "$f" >> "$new_manifest"
	done
done

# What an earlier run put in the tree and the series no longer has.
sort -u "$new_manifest" -o "$new_manifest"
comm -23 <(sort -u "$tree/.nvfio-manifest") "$new_manifest" | while read -r f; do
	if [ -f "$base/$f" ]; then
		sync_file "$base/$f" "$f"
	else
		rm -f "$tree/$f"
		echo "  REMOVE  $f"
	fi
done
mv "$new_manifest" "$tree/.nvfio-manifest"
