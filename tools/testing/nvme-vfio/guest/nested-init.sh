#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the nested guest that guest/stock-qemu.py live-migrates (built
# into an initramfs by nested.sh): wait for the VF's namespace and
# run blkcheck on it until the guest is stopped.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
dev=/dev/nvme0n1
i=0
while [ ! -b $dev ] && [ $i -lt 600 ]; do
	sleep 1
	i=$((i + 1))
done
echo "guest: $(uname -r), up $(cut -d' ' -f1 /proc/uptime) s, $(ls /dev | grep -c '^nvme') NVMe nodes"
/blkcheck $dev "${blocks:-1024}" "${every:-16}"
echo "guest: blkcheck exited with status $?"
poweroff -f
