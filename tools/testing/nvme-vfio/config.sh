#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Make the test kernel's .config: tinyconfig plus our fragment. Redone only
# when the fragment or the Kconfig files the series touches change; every symbol the
# fragment sets must survive, so a typo or an unmet dependency fails here.
# usage: config.sh TREE BUILD FRAGMENT
set -euo pipefail
tree=$1 build=$2 frag=$(realpath "$3")
mkdir -p "$build"
stamp=$build/.nvfio-config-stamp
kconfigs=$(grep 'Kconfig' "$tree/.nvfio-manifest" 2>/dev/null | sed "s|^|$tree/|")
# shellcheck disable=SC2086
sum=$(cat "$frag" $kconfigs | sha256sum)
if [ -f "$build/.config" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then
	exit 0
fi
echo "  CONFIG  tinyconfig + ${frag##*/}"
make -s -C "$tree" O="$build" tinyconfig >/dev/null
"$tree/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$frag" >/dev/null
make -s -C "$tree" O="$build" olddefconfig >/dev/null
bad=0
while read -r line; do
	case "$line" in
	CONFIG_*=n) sym=${line%=n}
		grep -q "^$sym=[ym]" "$build/.config" && { echo "config: $sym is set" >&2; bad=1; } ;;
	CONFIG_*=*) grep -qxF "$line" "$build/.config" ||
		{ echo "config: $line did not take effect" >&2; bad=1; } ;;
	esac
done < "$frag"
[ "$bad" = 0 ] || exit 1
echo "$sum" > "$stamp"
