#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a test kernel under QEMU (TCG) with an SR-IOV NVMe subsystem and an
# emulated Intel IOMMU, run one command inside and fail on any kernel report.
#
# The guest's root is the host's file system, read-only over virtio-9p, so the
# command and everything it uses are ordinary host paths. The run directory is
# shared writable at the same path inside the guest ($NVFIO_OUT there).
#
# usage: vm.sh [options] [--] COMMAND [ARG...]
#   -k BZIMAGE   kernel to boot (default: $NVFIO_CACHE/build/arch/x86/boot/bzImage)
#   -M MODROOT   directory holding lib/modules/<release>, from
#                "make modules_install INSTALL_MOD_PATH=MODROOT"
#                (default: $NVFIO_CACHE/build-modroot when it exists)
#   -o DIR       run directory for logs (default: $NVFIO_CACHE/vm-runs/<date>)
#   -t SECONDS   time limit for the whole VM run (default: $NVFIO_VM_LIMIT,
#                else 1200)
#   -m SIZE      guest memory (default: 1536M)
#   -v           show the kernel console too, not only the command's output
#
# Environment: QEMU (the qemu-system-x86_64 binary; default: the newest
# build of tools/qemu/build.sh, else /usr/bin's), NVFIO_CACHE (default
# ~/.cache/nvme-vfio-pci), NVFIO_NS_SIZE (namespace size, default 256M),
# NVFIO_BOOT_LIMIT (seconds the guest may take to start the command, 400),
# NVFIO_NVME_VFS, NVFIO_NVME_VQ_PER_VF and NVFIO_NVME_MDTS (the NVMe model,
# see below).
#
# Files left in the run directory: kernel.log (the serial console), output.log
# (the command's output), dmesg.txt (the ring buffer at the end: since the
# last test, under guest/run-tests.sh), kmemleak.txt (kmemleak-tests.txt
# without the objects boot code leaves behind), qemu.cmd, cmd.sh.
# The command sees NVFIO_OUT (the run directory), NVFIO_KERNEL and, for a
# kernel built with O=, NVFIO_BUILD (its build directory). Inside the guest,
# /dev/virtio-ports/org.nvfio.qmp is a QMP monitor of the VM's own QEMU (see
# guest/qmp.py); the socket printed at the start is a host-side one.
#
# The last lines on stderr count the kernel reports ("vm: kernel reports: N")
# and give the exit status: the command's, or 1 when the kernel reported a
# problem, 124 when the time limit hit, 125 for a harness error.
set -euo pipefail

here=$(dirname "$(realpath "$0")")
# The checkout, shared again at its own path: it may lie under /tmp, which
# the guest covers with a tmpfs.
repo=$(realpath "$here/../../..")
cache=${NVFIO_CACHE:-$HOME/.cache/nvme-vfio-pci}
kernel=$cache/build/arch/x86/boot/bzImage
modroot=
[ -d "$cache/build-modroot/lib/modules" ] && modroot=$cache/build-modroot
outdir=
limit=${NVFIO_VM_LIMIT:-1200}
mem=1536M
verbose=

die() { echo "vm: $*" >&2; exit 125; }

while getopts k:M:o:t:m:vh opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	M) modroot=$OPTARG ;;
	o) outdir=$OPTARG ;;
	t) limit=$OPTARG ;;
	m) mem=$OPTARG ;;
	v) verbose=1 ;;
	*) sed -n '/^# usage/,/^# Exit/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 125 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || die "no command given (try -h)"

# The QEMU binary: $QEMU, else the build of tools/qemu/build.sh for the
# patches of this checkout (not the newest build in the cache, which may be
# of other patches), else the system's (no TP4159 model: enough for the
# harness).
if [ -z "${QEMU:-}" ]; then
	QEMU=$(NVFIO_CACHE=$cache "$here/../../qemu/build.sh" --path) ||
		QEMU=/usr/bin/qemu-system-x86_64
fi
[ -x "$QEMU" ] || die "no QEMU at $QEMU"
# Firmware: a private build keeps it in ../share; else Debian's packages.
firmware=()
for d in "$(dirname "$QEMU")/../share" "$(dirname "$QEMU")/../share/qemu" \
	 /usr/share/qemu /usr/share/seabios; do
	[ -d "$d" ] && firmware+=(-L "$(realpath "$d")")
done
[ -f "$kernel" ] || die "no kernel at $kernel"
kernel=$(realpath "$kernel")
if [ -n "$modroot" ]; then
	[ -d "$modroot/lib/modules" ] || die "$modroot has no lib/modules"
	modroot=$(realpath "$modroot")
fi

# The build directory of a kernel built with O=: the guest tests run the
# VFIO selftests that `make selftests` builds there.
build=${kernel%/arch/x86/boot/bzImage}

[ -n "$outdir" ] || outdir=$cache/vm-runs/$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$outdir"
outdir=$(realpath "$outdir")
rm -f "$outdir"/{kernel.log,output.log,dmesg.txt,kmemleak*.txt}

# UNIX socket paths are short: keep the sockets and the namespace in /tmp.
run=$(mktemp -d /tmp/nvfio-vm.XXXXXX)
trap 'rm -rf "$run"' EXIT
ns=$run/ns0.img
truncate -s "${NVFIO_NS_SIZE:-256M}" "$ns"

# The command, run in the guest from the current directory.
{
	echo "cd $(printf %q "$PWD") || exit 125"
	echo "export NVFIO_OUT=$(printf %q "$outdir")"
	echo "export NVFIO_KERNEL=$(printf %q "$kernel")"
	# The build directory of a kernel built with O=, where the harness
	# keeps what it builds for the guest (the selftests).
	[ "$build" = "$kernel" ] || echo "export NVFIO_BUILD=$(printf %q "$build")"
	printf 'exec'
	printf ' %q' "$@"
	echo
} > "$outdir/cmd.sh"

cmdline="console=ttyS0 root=/dev/root rootfstype=9p ro"
cmdline+=" rootflags=trans=virtio,version=9p2000.L,cache=loose,msize=262144"
cmdline+=" init=$here/guest/init.sh panic=-1 intel_iommu=on"
# TCG on a loaded host can miss the early check that the timer interrupt
# arrives through the remapped IO-APIC, and the kernel then panics.
cmdline+=" no_timer_check"
cmdline+=" nvfio_out=$outdir nvfio_modroot=$modroot nvfio_tty=/dev/ttyS1"
cmdline+=" nvfio_repo=$repo"

# One NVMe subsystem: a PF with SR-IOV ($NVFIO_NVME_VFS VFs, 4 by default)
# and one namespace that every controller shares. Each VF can be given up to
# $NVFIO_NVME_VQ_PER_VF VQ resources (the admin queue and I/O queue pairs, 4
# by default) and 2 VI resources (interrupt vectors). NVFIO_NVME_MDTS sets
# the PF's MDTS (QEMU's default: 7).
vfs=${NVFIO_NVME_VFS:-4}
vq_per_vf=${NVFIO_NVME_VQ_PER_VF:-4}
nvme_pf="nvme,id=nvme0,bus=rp0,serial=NVFIO0000,subsys=nvfio-subsys"
nvme_pf+=",max_ioqpairs=$((vfs * vq_per_vf + 10)),msix_qsize=$((vfs * 2 + 9))"
nvme_pf+=",sriov_max_vfs=$vfs,sriov_vq_flexible=$((vfs * vq_per_vf))"
nvme_pf+=",sriov_vi_flexible=$((vfs * 2))"
nvme_pf+=",sriov_max_vq_per_vf=$vq_per_vf,sriov_max_vi_per_vf=2"
nvme_pf+=${NVFIO_NVME_MDTS:+,mdts=$NVFIO_NVME_MDTS}

# shellcheck disable=SC2054 # commas separate QEMU's suboptions
qemu=(
	"$QEMU" "${firmware[@]}" -nodefaults -no-user-config -display none -no-reboot
	-machine q35,kernel-irqchip=split -accel tcg,thread=multi
	-cpu max,la57=off -smp 2 -m "$mem"
	-device intel-iommu,intremap=on,caching-mode=on
	-kernel "$kernel" -append "$cmdline"
	-chardev "file,id=klog,path=$outdir/kernel.log" -serial chardev:klog
	-chardev stdio,id=out,signal=off -serial chardev:out
	-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap
	-device virtio-9p-pci,fsdev=root,mount_tag=/dev/root
	-fsdev "local,id=out,path=$outdir,security_model=none,multidevs=remap"
	-device virtio-9p-pci,fsdev=out,mount_tag=nvfio_out
	-fsdev "local,id=repo,path=$repo,security_model=none,readonly=on,multidevs=remap"
	-device virtio-9p-pci,fsdev=repo,mount_tag=nvfio_repo
	-device virtio-serial-pci
	-chardev "socket,id=qmpmon,path=$run/qmp-guest.sock,server=on,wait=off"
	-mon chardev=qmpmon,mode=control
	-chardev "socket,id=qmpport,path=$run/qmp-guest.sock"
	-device virtserialport,chardev=qmpport,name=org.nvfio.qmp
	-qmp "unix:$run/qmp.sock,server=on,wait=off"
	-device pcie-root-port,id=rp0,chassis=1,slot=1
	-drive "file=$ns,if=none,id=ns0,format=raw,cache=unsafe"
	-device nvme-subsys,id=nvfio-subsys,nqn=nvfio-subsys
	-device "$nvme_pf"
	-device nvme-ns,drive=ns0,nsid=1,shared=on
)
printf '%q ' "${qemu[@]}" > "$outdir/qemu.cmd"
echo >> "$outdir/qemu.cmd"

export NVFIO_QMP=$run/qmp.sock
echo "vm: $(basename "$QEMU") $("$QEMU" --version | head -n 1 | sed 's/.*version //'), kernel $kernel, logs in $outdir, QMP on $NVFIO_QMP" >&2
start=$(date +%s%N)
[ -n "$verbose" ] && { tail -F -n +1 "$outdir/kernel.log" 2>/dev/null & }
tailpid=${!:-}
# A kernel that does not reach init within $NVFIO_BOOT_LIMIT seconds is
# stuck (missing firmware, a hang in early boot): stop early.
(
	for _ in $(seq "${NVFIO_BOOT_LIMIT:-400}"); do
		sleep 1
		grep -qs '^NVFIO-START' "$outdir/output.log" && exit 0
	done
	echo "vm: FAIL: the guest did not start its command in ${NVFIO_BOOT_LIMIT:-400} s" >&2
	kill "$(cat "$run/qemu.pid" 2>/dev/null)" 2>/dev/null
) &
watchdog=$!
set +e
timeout -k 15 "$limit" "${qemu[@]}" -pidfile "$run/qemu.pid" < /dev/null |
	stdbuf -oL tr -d '\r' | tee "$outdir/output.log"
qrc=${PIPESTATUS[0]}
set -e
kill "$watchdog" 2>/dev/null || true
wait "$watchdog" 2>/dev/null || true
[ -z "$verbose" ] || kill "$tailpid" 2>/dev/null || true
elapsed=$((($(date +%s%N) - start) / 1000000))
printf 'vm: QEMU exited (%s) after %d.%03d s\n' "$qrc" $((elapsed / 1000)) $((elapsed % 1000)) >&2

rc=$(sed -n 's/^NVFIO-EXIT \([0-9]*\).*/\1/p' "$outdir/output.log" | tail -n 1)
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "vm: FAIL: the VM did not finish within $limit s" >&2
	rc=124
elif [ -z "$rc" ]; then
	echo "vm: FAIL: the guest did not report an exit status (QEMU status $qrc)" >&2
	rc=125
fi

# Any report of the kernel's debug facilities fails the run.
reports='BUG:|WARNING:|Oops|Call Trace|Kernel panic|general protection fault'
reports+='|UBSAN:|inconsistent lock state|circular locking|possible recursive locking'
reports+='|unreferenced object|hung_task|soft lockup|rcu_sched self-detected|INFO: task'
logs=("$outdir/kernel.log")
# kmemleak also finds objects that start_kernel() left unreferenced before
# init ran (the initial rootfs mount): those are not the tests'.
if [ -s "$outdir/kmemleak.txt" ]; then
	awk '/^unreferenced object/ { if (blk !~ /start_kernel/) printf "%s", blk; blk = "" }
	     { blk = blk $0 "\n" }
	     END { if (blk !~ /start_kernel/) printf "%s", blk }' \
		"$outdir/kmemleak.txt" > "$outdir/kmemleak-tests.txt"
	logs+=("$outdir/kmemleak-tests.txt")
fi
# The count is the check target's "kernel reports" figure.
nreports=$(cat "${logs[@]}" | grep -E -c "$reports" || true)
echo "vm: kernel reports: $nreports" >&2
if [ "$nreports" != 0 ]; then
	echo "vm: FAIL: kernel reports in ${logs[*]}:" >&2
	grep -E -h -A 40 "$reports" "${logs[@]}" | head -n 200 >&2
	[ "$rc" = 0 ] && rc=1
fi
echo "vm: exit status $rc" >&2
exit "$rc"
