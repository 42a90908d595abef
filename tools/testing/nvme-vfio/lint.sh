#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Lint our files and patches only, with the kernel's own tools:
# checkpatch --strict on every emitted upstream patch, sparse (C=2) and W=1
# on the objects we add or patch, coccicheck on our directories and
# kernel-doc on our sources. Any finding fails.
# usage: lint.sh TREE BUILD REPO
set -uo pipefail
tree=$1 build=$2 repo=$3
here=$(dirname "$(realpath "$0")")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0

finding() { echo "lint: $*"; fail=1; }

# Our C sources and headers: the new files and the upstream files we patch.
new=$(cat "$repo"/series/*/files | grep -v '^#' | grep -E '\.[ch]$' | grep -v '^tools/')
patched=$(cat "$repo"/series/*/*.patch | sed -n 's|^+++ b/\([^\t ]*\.[ch]\).*|\1|p' | grep -v '^tools/' | sort -u)
ours=$(printf '%s\n' $new $patched | sort -u)
dirs=$(for f in $ours; do case $f in *.c) dirname "$f";; esac; done | sort -u)

echo "  LINT    checkpatch --strict"
# Without git's identity the series is emitted unsigned, and then has no
# Signed-off-by to check.
ignore=FILE_PATH_CHANGES
git -C "$repo" config user.email > /dev/null || ignore+=,MISSING_SIGN_OFF
NVFIO_UNSIGNED=1 "$here/patches.sh" "$(cat "$tree/.nvfio-base")" "$repo" "$out/series" >/dev/null ||
	finding "the upstream series could not be emitted"
# checkpatch runs spdxcheck.py with the python3 in PATH: use Debian's, which has ply.
for p in "$out"/series/*.patch; do
	case ${p##*/} in *-0000-cover-letter.patch) continue ;; esac
	PATH=/usr/bin:$PATH "$tree/scripts/checkpatch.pl" --strict --quiet --no-summary \
		--ignore "$ignore" "$p" > "$out/cp" 2>&1 ||
		{ finding "checkpatch: ${p##*/}"; cat "$out/cp"; }
done

echo "  LINT    each patch of the driver builds (W=1)"
# The driver lands in several patches, each of which must build: apply
# them one by one to the driver's directory alone and build it as an
# external module against the kernel built from the whole series.
drv=drivers/vfio/pci/nvme
mkdir -p "$out/drv"
for p in "$out"/series/*.patch; do
	grep -q "^+++ b/$drv/" "$p" || continue
	git -C "$out/drv" apply --include="$drv/*" "$p" ||
		{ finding "${p##*/} does not apply to the driver"; continue; }
	rm -rf "$out/mod" && cp -r "$out/drv/$drv" "$out/mod"
	make -C "$tree" O="$build" CC="ccache gcc" W=1 M="$out/mod" modules \
		> "$out/mod.log" 2>&1 ||
		{ finding "${p##*/}: the driver does not build"; tail -20 "$out/mod.log"; }
	if grep -E "(warning|error):" "$out/mod.log"; then
		finding "${p##*/}: warnings in the driver"
	fi
done

echo "  LINT    W=1 C=2" $dirs
# Debian's sparse (0.6.4) predates __typeof_unqual__, and the kernel then
# silently skips it: spell the keyword as __typeof__ for it. That sparse also
# calls every MODULE_*() and module_param*() line a "bad constant
# expression" (upstream drivers get the same): those lines alone are passed
# over, and counted.
sparse_cmd="sparse -D__typeof_unqual__=__typeof__"
"$tree/scripts/checker-valid.sh" $sparse_cmd > "$out/sparse-ok" 2>&1
[ "$(cat "$out/sparse-ok")" = 1 ] || finding "sparse does not run on this tree"
# Force a rebuild of our objects so their warnings are seen again.
for f in $ours; do
	case $f in *.c) rm -f "$build/${f%.c}.o" ;; esac
done
# shellcheck disable=SC2086
make -C "$tree" O="$build" CC="ccache gcc" -j"$(nproc)" W=1 C=2 \
	CHECK="$sparse_cmd" $(for d in $dirs; do echo "$d/"; done) \
	> "$out/build" 2>&1 ||
	{ finding "W=1 C=2 build failed"; tail -40 "$out/build"; }
python3 - "$tree" "$out/build" $ours > "$out/warn" <<'PY'
import re, sys
tree, log, ours = sys.argv[1], sys.argv[2], set(sys.argv[3:])
known = 0
for line in open(log, errors="replace"):
    m = re.match(r"(?:%s/)?([^:\s]+):(\d+):\d+: (warning|error): (.*)" % re.escape(tree), line)
    if not m or m.group(1) not in ours:
        continue
    path, num, msg = m.group(1), int(m.group(2)), m.group(4)
    src = open(f"{tree}/{path}", errors="replace").read().split("\n")[num - 1]
    if msg == "bad constant expression" and re.match(r"(MODULE_|module_param)", src):
        known += 1
        continue
    print(line.rstrip().replace(tree + "/", ""))
print(f"sparse 0.6.4 false positives on MODULE_*() lines passed over: {known}", file=sys.stderr)
PY
if [ -s "$out/warn" ]; then
	finding "compiler or sparse warnings"; cat "$out/warn"
fi

echo "  LINT    coccicheck"
pattern=$(printf '%s\n' $ours | sed 's/[.]/\\./g' | paste -sd'|')
# coccicheck takes a directory: give it one holding only our sources (and
# the headers next to them), so upstream files are neither read nor judged.
for d in $dirs; do
	scratch=nvfio-cocci/$d
	rm -rf "$tree/nvfio-cocci"
	mkdir -p "$tree/$scratch"
	cp "$tree/$d"/*.h "$tree/$scratch/" 2>/dev/null || true
	for f in $new; do
		[ "$(dirname "$f")" = "$d" ] && cp "$tree/$f" "$tree/$scratch/"
	done
	make -C "$tree" O="$build" coccicheck MODE=report M="$scratch" \
		J="$(nproc)" > "$out/cocci" 2>&1 ||
		{ finding "coccicheck could not run in $d"; tail -5 "$out/cocci"; }
	grep -E '^\./[^ ]+:[0-9]+' "$out/cocci" | sed "s|^\./|$d/|" |
		grep -E "^($pattern):" > "$out/cocci-ours" || true
	if [ -s "$out/cocci-ours" ]; then
		finding "coccicheck in $d"; cat "$out/cocci-ours"
	fi
	rm -rf "$tree/nvfio-cocci"
done

echo "  LINT    kernel-doc"
# shellcheck disable=SC2086
(cd "$tree" && scripts/kernel-doc -none -Wall $new) > "$out/kdoc" 2>&1
if [ -s "$out/kdoc" ]; then
	finding "kernel-doc"; cat "$out/kdoc"
fi

echo "  LINT    Kconfig sources"
for k in $(sed -n 's/^source "\(.*\)"/\1/p' "$repo/Kconfig"); do
	grep -rqsF "source \"$k\"" --include='Kconfig*' "$tree/drivers" ||
		finding "the tree does not source $k (listed in the overlay's Kconfig)"
done

if [ "$fail" = 0 ]; then
	echo "  LINT    no findings"
fi
exit "$fail"
