/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * QMP from inside the nvme-vfio-pci test VM to the VM's own QEMU, over the
 * virtio serial port the harness (tools/testing/nvme-vfio/vm.sh) gives it:
 * the fault knobs and the command counters of QEMU's NVMe model.
 */
#ifndef SELFTESTS_VFIO_NVME_QMP_H
#define SELFTESTS_VFIO_NVME_QMP_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvfio.h>

#define QMP_PORT	"/dev/virtio-ports/org.nvfio.qmp"
#define QMP_NVME	"/machine/peripheral/nvme0"

static int qmp_fd = -1;
static unsigned int qmp_seq;

/* Run one QMP command; returns 0 and the text after "return": in @ret */
static inline int qmp(const char *cmd, const char *args, char *ret,
		      size_t retlen)
{
	static char buf[65536];
	static size_t have;
	char tag[32], req[512], *nl, *p;
	ssize_t n;

	snprintf(tag, sizeof(tag), "\"nvfio-%u\"", ++qmp_seq);
	n = snprintf(req, sizeof(req), "{\"execute\": \"%s\"%s%s%s, \"id\": %s}\n",
		     cmd, args ? ", \"arguments\": " : "", args ? args : "",
		     "", tag);
	VFIO_ASSERT_EQ(write(qmp_fd, req, n), n);
	for (;;) {
		nl = memchr(buf, '\n', have);
		if (!nl) {
			VFIO_ASSERT_LT(have, sizeof(buf) - 1);
			n = read(qmp_fd, buf + have, sizeof(buf) - 1 - have);
			VFIO_ASSERT_GT(n, 0, "QMP port closed\n");
			have += n;
			continue;
		}
		*nl = '\0';
		if (strstr(buf, tag)) {
			p = strstr(buf, "\"return\":");
			if (p && ret)
				snprintf(ret, retlen, "%s", p + 9);
			n = p ? 0 : -EIO;
			if (!p)
				fprintf(stderr, "QMP %s failed: %s\n", cmd, buf);
		} else {
			n = 1;	/* the greeting, an event or an old answer */
		}
		have -= nl + 1 - buf;
		memmove(buf, nl + 1, have);
		if (n <= 0)
			return n;
	}
}

static inline void qmp_open(void)
{
	qmp_fd = open(QMP_PORT, O_RDWR | O_NOCTTY);
	VFIO_ASSERT_GE(qmp_fd, 0, "no QMP port %s\n", QMP_PORT);
	/* The monitor may have negotiated its capabilities with another user */
	qmp("qmp_capabilities", NULL, NULL, 0);
}

static inline void qom_set(const char *prop, long value)
{
	char args[256];

	snprintf(args, sizeof(args),
		 "{\"path\": \"%s\", \"property\": \"%s\", \"value\": %ld}",
		 QMP_NVME, prop, value);
	VFIO_ASSERT_EQ(qmp("qom-set", args, NULL, 0), 0);
}

static inline long qom_get(const char *prop)
{
	char args[256], ret[64];

	snprintf(args, sizeof(args), "{\"path\": \"%s\", \"property\": \"%s\"}",
		 QMP_NVME, prop);
	VFIO_ASSERT_EQ(qmp("qom-get", args, ret, sizeof(ret)), 0);
	return strtol(ret, NULL, 0);
}

#endif /* SELFTESTS_VFIO_NVME_QMP_H */
