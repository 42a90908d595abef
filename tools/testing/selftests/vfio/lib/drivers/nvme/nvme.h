/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The selftests' userspace NVMe driver, as the nvme-vfio-pci tests use it
 * beside its vfio_pci_driver_ops: an admin queue and polled I/O queue pairs
 * on a function opened through libvfio, in DMA memory the caller maps.
 */
#ifndef SELFTESTS_VFIO_LIB_DRIVERS_NVME_NVME_H
#define SELFTESTS_VFIO_LIB_DRIVERS_NVME_NVME_H

#include <time.h>

#include <libvfio.h>

#include "hw.h"

#define PAGE			4096
#define QDEPTH			32	/* entries in each queue: rings wrap */
#define NBLOCKS			96	/* 4 KiB blocks the tests write */

struct nvme_queue {
	u16 qid;
	u16 sq_tail;
	u16 cq_head;
	u8 phase;
	struct nvme_sqe *sq;
	struct nvme_cqe *cq;
	iova_t sq_iova;
	iova_t cq_iova;
};

/*
 * The userspace driver. Its queues live in @mem, which a test may map for
 * several functions at the same IOVAs; @bar and @dev are those of the
 * function that currently runs them.
 */
struct nvme_drv {
	struct vfio_pci_device *dev;
	void *bar;
	u32 dstrd;
	struct dma_region mem;
	struct nvme_queue admin;
	struct nvme_queue io;
	u16 next_cid;
	u32 lba_shift;
	u64 nsze;
	u32 seed;
};

/* Page layout of the DMA memory */
enum {
	MEM_ASQ, MEM_ACQ, MEM_IOSQ, MEM_IOCQ, MEM_ID,
	MEM_DATA,				/* NBLOCKS pages written */
	MEM_READ = MEM_DATA + NBLOCKS,		/* NBLOCKS pages read back */
	MEM_PAGES = MEM_READ + NBLOCKS,
};

static inline void *mem_page(struct nvme_drv *d, int page)
{
	return d->mem.vaddr + (size_t)page * PAGE;
}

static inline iova_t mem_iova(struct nvme_drv *d, int page)
{
	return d->mem.iova + (u64)page * PAGE;
}

static inline u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

u16 nvme_queue_cmd(struct nvme_drv *d, struct nvme_queue *q,
		   struct nvme_sqe *sqe);
void nvme_ring(struct nvme_drv *d, struct nvme_queue *q);
int nvme_reap(struct nvme_drv *d, struct nvme_queue *q, u16 *cid);
int nvme_sync(struct nvme_drv *d, struct nvme_queue *q, struct nvme_sqe *sqe);
void nvme_attach(struct nvme_drv *d, struct vfio_pci_device *dev);
int nvme_create_pair(struct nvme_drv *d, struct nvme_queue *q, u16 entries);
int nvme_enable(struct nvme_drv *d, struct vfio_pci_device *dev, u16 nr_io);

#endif /* SELFTESTS_VFIO_LIB_DRIVERS_NVME_NVME_H */
