/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the KUnit tests of nvme-vfio-pci.
 */
#ifndef NVME_VFIO_PCI_TEST_H
#define NVME_VFIO_PCI_TEST_H

#include <kunit/test.h>
#include <linux/nvme-lm.h>

#include "stream.h"

/* Offsets into a test stream */
#define COMPAT_REC	0
#define COMPAT		(COMPAT_REC + sizeof(struct nvmevf_rec_hdr))
#define STATE_REC	sizeof(struct nvmevf_compat_rec)
#define STATE		(STATE_REC + sizeof(struct nvmevf_rec_hdr))

u8 *nvmevf_test_state(struct kunit *test, u16 niosq, u16 niocq,
		      size_t vendor_len, size_t *len);
u8 *nvmevf_test_stream(struct kunit *test, const struct nvme_lm_info *info,
		       const struct nvme_lm_fmt *fmt, const u8 *state,
		       size_t len, size_t *stream_len);
size_t nvmevf_test_put_ext(u8 *rec, u16 type, u32 flags, size_t len);
int nvmevf_test_feed(struct nvmevf_stream_parser *p, const u8 *s,
		     size_t len, size_t seg);
void nvmevf_test_info(struct nvme_lm_info *info, bool dest);

#endif /* NVME_VFIO_PCI_TEST_H */
