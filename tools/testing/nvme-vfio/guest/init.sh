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

# Every process costs about a second in the debug kernel under TCG: once
# /proc is there (mount(8) needs it), one mount(8) call mounts the rest, from
# a table written with builtins into the devtmpfs the kernel mounted
# (CONFIG_DEVTMPFS_MOUNT).
mount -t proc proc /proc
fstab=/dev/nvfio-fstab
{
	echo "sysfs /sys sysfs defaults 0 0"
	echo "devpts /dev/pts devpts X-mount.mkdir 0 0"
	echo "tmpfs /dev/shm tmpfs X-mount.mkdir 0 0"
	echo "debugfs /sys/kernel/debug debugfs defaults 0 0"
	for d in /tmp /run /var/tmp /var/log /var/lib /var/cache; do
		echo "tmpfs $d tmpfs defaults 0 0"
	done
	# The run directory and the checkout may lie under those tmpfs.
	opts=trans=virtio,version=9p2000.L,msize=262144,X-mount.mkdir
	echo "nvfio_out $nvfio_out 9p $opts 0 0"
	[ -z "${nvfio_repo:-}" ] || echo "nvfio_repo $nvfio_repo 9p $opts,ro 0 0"
} > "$fstab"
mount -a -T "$fstab"

tty=${nvfio_tty:-/dev/ttyS1}
stty -F "$tty" -opost -echo 2>/dev/null
exec </dev/null >"$tty" 2>&1

read -r release < /proc/sys/kernel/osrelease
# The test kernel's modules are not installed on the read-only root: point
# modprobe (the users' and the kernel's) at them.
if [ -n "$nvfio_modroot" ] && [ -d "$nvfio_modroot/lib/modules/$release" ]; then
	mkdir -p /run/nvfio/bin
	printf '#!/bin/sh\nexec /usr/sbin/modprobe -d %s "$@"\n' "$nvfio_modroot" \
		> /run/nvfio/bin/modprobe
	printf '#!/bin/sh\nexec /usr/sbin/modinfo -b %s "$@"\n' "$nvfio_modroot" \
		> /run/nvfio/bin/modinfo
	chmod +x /run/nvfio/bin/modprobe /run/nvfio/bin/modinfo
	export PATH=/run/nvfio/bin:$PATH
	NVFIO_MODULES=$nvfio_modroot/lib/modules/$release
	export NVFIO_MODULES
	echo /run/nvfio/bin/modprobe > /proc/sys/kernel/modprobe
fi

# What udev would add: /dev/fd for process substitution, /dev/std*, and the
# virtio serial ports by name.
links=("/proc/self/fd /dev/fd" "/proc/self/fd/0 /dev/stdin"
       "/proc/self/fd/1 /dev/stdout" "/proc/self/fd/2 /dev/stderr")
for p in /sys/class/virtio-ports/*; do
	[ -f "$p/name" ] && read -r name < "$p/name" &&
		links+=("/dev/${p##*/} /dev/virtio-ports/$name")
done
perl -e 'mkdir "/dev/virtio-ports";
	 for (@ARGV) { my ($to, $at) = split / /; unlink $at;
		       symlink $to, $at or warn "$at: $!\n" }' \
	"${links[@]}"

kmemleak=/sys/kernel/debug/kmemleak

cpus=(/sys/devices/system/cpu/cpu[0-9]*)
read -r up _ < /proc/uptime
echo "NVFIO-START $release ${#cpus[@]} cpus, up $up s"
bash "$nvfio_out/cmd.sh"
rc=$?
cd /

# A leak is reported once its object is older than five seconds and has
# stayed unreferenced over two scans.
if [ -w "$kmemleak" ]; then
	read -r t _ < /proc/uptime
	echo scan > "$kmemleak"
	sleep 5
	echo scan > "$kmemleak"
	cat "$kmemleak" > "$nvfio_out/kmemleak.txt"
	read -r up _ < /proc/uptime
	echo "NVFIO-KMEMLEAK $(grep -c '^unreferenced object' "$nvfio_out/kmemleak.txt") objects, scanned from $t s to $up s"
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
