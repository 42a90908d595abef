/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VFIO migration uAPI on a raw device fd, for the nvme-vfio-pci
 * selftests.
 */
#ifndef SELFTESTS_VFIO_NVME_MIG_H
#define SELFTESTS_VFIO_NVME_MIG_H

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include <linux/vfio.h>

#include <libvfio.h>

#define ERROR_STATE	VFIO_DEVICE_STATE_ERROR
#define RUNNING		VFIO_DEVICE_STATE_RUNNING
#define STOP		VFIO_DEVICE_STATE_STOP
#define STOP_COPY	VFIO_DEVICE_STATE_STOP_COPY
#define RESUMING	VFIO_DEVICE_STATE_RESUMING
#define RUNNING_P2P	VFIO_DEVICE_STATE_RUNNING_P2P
#define PRE_COPY	VFIO_DEVICE_STATE_PRE_COPY
#define PRE_COPY_P2P	VFIO_DEVICE_STATE_PRE_COPY_P2P

static const char *const state_names[] = {
	[ERROR_STATE] = "ERROR", [STOP] = "STOP", [RUNNING] = "RUNNING",
	[STOP_COPY] = "STOP_COPY", [RESUMING] = "RESUMING",
	[RUNNING_P2P] = "RUNNING_P2P", [PRE_COPY] = "PRE_COPY",
	[PRE_COPY_P2P] = "PRE_COPY_P2P",
};

static inline const char *state_name(u32 state)
{
	return state < ARRAY_SIZE(state_names) ? state_names[state] : "?";
}

static inline int feature(int fd, u32 flags, void *data, size_t size)
{
	u64 buf[8] = {};
	struct vfio_device_feature *f = (void *)buf;

	f->argsz = sizeof(*f) + size;
	f->flags = flags;
	memcpy(f->data, data, size);
	if (ioctl(fd, VFIO_DEVICE_FEATURE, f))
		return -errno;
	memcpy(data, f->data, size);
	return 0;
}

/* Move to @state: 0 and the new data fd (or -1) in @data_fd, or -errno */
static inline int mig_set(int fd, u32 state, int *data_fd)
{
	struct vfio_device_feature_mig_state ms = { .device_state = state };
	int ret;

	ret = feature(fd, VFIO_DEVICE_FEATURE_SET |
		      VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &ms, sizeof(ms));
	*data_fd = ret ? -1 : ms.data_fd;
	return ret;
}

static inline int mig_get(int fd, u32 *state)
{
	struct vfio_device_feature_mig_state ms = {};
	int ret;

	ret = feature(fd, VFIO_DEVICE_FEATURE_GET |
		      VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &ms, sizeof(ms));
	*state = ms.device_state;
	return ret;
}

static inline int mig_data_size(int fd, u64 *len)
{
	struct vfio_device_feature_mig_data_size ds = {};
	int ret;

	ret = feature(fd, VFIO_DEVICE_FEATURE_GET |
		      VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, &ds, sizeof(ds));
	*len = ds.stop_copy_length;
	return ret;
}

static inline int dev_reset(int fd)
{
	return ioctl(fd, VFIO_DEVICE_RESET, NULL) ? -errno : 0;
}

/* Read what @fd offers into @buf (up to @cap bytes): the length or -errno */
static inline ssize_t read_fd(int fd, u8 *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while (len < cap) {
		n = read(fd, buf + len, cap - len);
		if (n < 0)
			return len && errno == ENOMSG ? (ssize_t)len : -errno;
		if (!n)
			break;
		len += n;
	}
	return len;
}

static inline int write_fd(int fd, const u8 *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

#endif /* SELFTESTS_VFIO_NVME_MIG_H */
