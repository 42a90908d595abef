#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the nvme-vfio-pci test VM (started by vm.sh).
#
# The root file system is the host's, read-only over virtio-9p. This script
# gives the guest writable scratch space, the test kernel's modules and the
# host's run directory, runs the requested command, collects the kernel log
# and a kmemleak scan, then powers the VM off. The command's exit status is
# reported on the output port as "NVFIO-EXIT <rc>".
#
# vm.sh passes its parameters on the kernel command line, which the kernel
# hands to init as environment variables:
#   nvfio_out      host run directory, shared writable over 9p (tag nvfio_out)
#   nvfio_repo     the checkout, shared read-only over 9p (tag nvfio_repo)
#   nvfio_modroot  directory holding lib/modules/<release> (may be empty),
#                  which modprobe is pointed at
#   nvfio_tty      the port that carries the command's output

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
: "${nvfio_out:?vm.sh passes nvfio_out on the kernel command line}"
nvfio_modroot=${nvfio_modroot:-}
export HOME=/tmp LANG=C.UTF-8 TERM=dumb

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/virtio-ports
# What udev would add: process substitution needs /dev/fd.
ln -sfn /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug
for d in /tmp /run /var/tmp /var/log /var/lib /var/cache; do
	mountpoint -q "$d" || mount -t tmpfs tmpfs "$d"
done
# The run directory and the checkout may lie under the tmpfs mounts above.
mkdir -p "$nvfio_out" 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 nvfio_out "$nvfio_out"
if [ -n "${nvfio_repo:-}" ]; then
	mkdir -p "$nvfio_repo" 2>/dev/null
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro nvfio_repo "$nvfio_repo"
fi

tty=${nvfio_tty:-/dev/ttyS1}
stty -F "$tty" -opost -echo 2>/dev/null
exec </dev/null >"$tty" 2>&1

# The test kernel's modules are not installed on the read-only root: point
# modprobe (the users' and the kernel's) at them.
if [ -n "$nvfio_modroot" ] && [ -d "$nvfio_modroot/lib/modules/$(uname -r)" ]; then
	mkdir -p /run/nvfio/bin
	for tool in modprobe modinfo; do
		printf '#!/bin/sh\nexec /usr/sbin/%s -%s %s "$@"\n' "$tool" \
			"$([ $tool = modprobe ] && echo d || echo b)" "$nvfio_modroot" \
			> /run/nvfio/bin/$tool
		chmod +x /run/nvfio/bin/$tool
	done
	export PATH=/run/nvfio/bin:$PATH
	NVFIO_MODULES=$nvfio_modroot/lib/modules/$(uname -r)
	export NVFIO_MODULES
	echo /run/nvfio/bin/modprobe > /proc/sys/kernel/modprobe
fi

# udev is not running: name the virtio serial ports as it would.
for p in /sys/class/virtio-ports/*; do
	[ -f "$p/name" ] && ln -sf "/dev/${p##*/}" "/dev/virtio-ports/$(cat "$p/name")"
done

kmemleak=/sys/kernel/debug/kmemleak

echo "NVFIO-START $(uname -r) $(nproc) cpus, up $(cut -d' ' -f1 /proc/uptime) s"
bash "$nvfio_out/cmd.sh"
rc=$?
cd /

# A leak is reported once its object is older than five seconds and has
# stayed unreferenced over two scans.
if [ -w "$kmemleak" ]; then
	t=$(cut -d' ' -f1 /proc/uptime)
	echo scan > "$kmemleak"
	sleep 5
	echo scan > "$kmemleak"
	cat "$kmemleak" > "$nvfio_out/kmemleak.txt"
	echo "NVFIO-KMEMLEAK $(grep -c '^unreferenced object' "$nvfio_out/kmemleak.txt") objects, scanned from $t s to $(cut -d' ' -f1 /proc/uptime) s"
fi
dmesg > "$nvfio_out/dmesg.txt"
echo "NVFIO-EXIT $rc"
echo "NVFIO-EXIT $rc" > /dev/kmsg

sync
umount "$nvfio_out"
# reboot(LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_POWER_OFF)
perl -e 'syscall(169, 0xfee1dead, 672274793, 0x4321fedc, 0)'
# Should the power-off fail, the kernel panics when init exits and QEMU,
# started with -no-reboot, stops on the reboot that follows.
exit "$rc"
