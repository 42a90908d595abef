// SPDX-License-Identifier: GPL-2.0-only
/*
 * A minimal userspace NVMe driver: an admin queue and polled I/O queue
 * pairs. The nvme-vfio-pci tests drive it through nvme.h.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <linux/io.h>

#include <libvfio.h>

#include "nvme.h"

#define IO_TIMEOUT_MS		20000

static void *sq_doorbell(struct nvme_drv *d, u16 qid)
{
	return d->bar + NVME_REG_DBS + (2 * qid) * (4 << d->dstrd);
}

static void *cq_doorbell(struct nvme_drv *d, u16 qid)
{
	return d->bar + NVME_REG_DBS + (2 * qid + 1) * (4 << d->dstrd);
}

/* Queue @sqe without ringing the doorbell; returns its command identifier. */
u16 nvme_queue_cmd(struct nvme_drv *d, struct nvme_queue *q,
		   struct nvme_sqe *sqe)
{
	sqe->cid = d->next_cid++;
	q->sq[q->sq_tail] = *sqe;
	q->sq_tail = (q->sq_tail + 1) % QDEPTH;
	return sqe->cid;
}

void nvme_ring(struct nvme_drv *d, struct nvme_queue *q)
{
	__sync_synchronize();
	writel(q->sq_tail, sq_doorbell(d, q->qid));
}

/*
 * Wait for the next completion of @q, consume it and return its status
 * field (0 on success), or -ETIMEDOUT. @cid gets the command identifier.
 */
int nvme_reap(struct nvme_drv *d, struct nvme_queue *q, u16 *cid)
{
	u64 deadline = now_ns() + IO_TIMEOUT_MS * 1000000ull;
	struct nvme_cqe *cqe = &q->cq[q->cq_head];

	/* The device writes the entry: read its phase tag afresh each time. */
	while ((READ_ONCE(cqe->status) & 1) != q->phase) {
		if (now_ns() > deadline ||
		    (readl(d->bar + NVME_REG_CSTS) & NVME_CSTS_CFS))
			return -ETIMEDOUT;
		usleep(50);
	}
	__sync_synchronize();
	*cid = cqe->cid;
	q->cq_head = (q->cq_head + 1) % QDEPTH;
	if (!q->cq_head)
		q->phase ^= 1;
	writel(q->cq_head, cq_doorbell(d, q->qid));
	return cqe->status >> 1;
}

/* Submit one command and wait for it; returns the NVMe status or -errno. */
int nvme_sync(struct nvme_drv *d, struct nvme_queue *q, struct nvme_sqe *sqe)
{
	u16 cid, done;
	int ret;

	cid = nvme_queue_cmd(d, q, sqe);
	nvme_ring(d, q);
	ret = nvme_reap(d, q, &done);
	if (ret >= 0 && done != cid)
		return -EPROTO;
	return ret;
}

static int nvme_wait_ready(struct nvme_drv *d, bool ready)
{
	u64 cap = readq(d->bar + NVME_REG_CAP);
	u64 deadline = now_ns() + ((cap >> 24) & 0xff) * 500000000ull + 1000000000ull;

	while (!!(readl(d->bar + NVME_REG_CSTS) & NVME_CSTS_RDY) != ready) {
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

/* Reset the controller: it deletes every I/O queue and stops all DMA. */
static int nvme_disable(struct nvme_drv *d)
{
	writel(0, d->bar + NVME_REG_CC);
	return nvme_wait_ready(d, false);
}

static void nvme_init_queue(struct nvme_drv *d, struct nvme_queue *q,
			    u16 qid, int sq_page, int cq_page)
{
	q->qid = qid;
	q->sq_tail = 0;
	q->cq_head = 0;
	q->phase = 1;
	q->sq = mem_page(d, sq_page);
	q->cq = mem_page(d, cq_page);
	q->sq_iova = mem_iova(d, sq_page);
	q->cq_iova = mem_iova(d, cq_page);
	memset(q->sq, 0, PAGE);
	memset(q->cq, 0, PAGE);
}

/* Point the driver at @dev: its BAR 0 gets the doorbells from now on. */
void nvme_attach(struct nvme_drv *d, struct vfio_pci_device *dev)
{
	d->dev = dev;
	d->bar = dev->bars[0].vaddr;
	d->dstrd = (readq(d->bar + NVME_REG_CAP) >> 32) & 0xf;
}

/*
 * Create I/O queue pair @q, polled, of @entries entries: its CQ and its SQ
 * with the same ID. Returns 0, -EIO if the controller refused, or -errno.
 */
int nvme_create_pair(struct nvme_drv *d, struct nvme_queue *q, u16 entries)
{
	struct nvme_sqe sqe;
	int ret;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = NVME_ADM_CREATE_CQ;
	sqe.prp1 = q->cq_iova;
	sqe.cdw10 = (u32)(entries - 1) << 16 | q->qid;
	sqe.cdw11 = 1;	/* physically contiguous, no interrupts */
	ret = nvme_sync(d, &d->admin, &sqe);
	if (ret)
		return ret > 0 ? -EIO : ret;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = NVME_ADM_CREATE_SQ;
	sqe.prp1 = q->sq_iova;
	sqe.cdw10 = (u32)(entries - 1) << 16 | q->qid;
	sqe.cdw11 = (u32)q->qid << 16 | 1;
	ret = nvme_sync(d, &d->admin, &sqe);
	return ret > 0 ? -EIO : ret;
}

/*
 * Enable the controller of @dev with an admin queue and I/O queue pair 1,
 * having asked for @nr_io pairs in all: the caller creates pairs 2 and up.
 */
int nvme_enable(struct nvme_drv *d, struct vfio_pci_device *dev, u16 nr_io)
{
	struct nvme_sqe sqe;
	u8 *id = mem_page(d, MEM_ID);
	u32 lbaf;
	int ret;

	vfio_pci_cmd_set(dev, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	nvme_attach(d, dev);

	ret = nvme_disable(d);
	if (ret)
		return ret;
	nvme_init_queue(d, &d->admin, 0, MEM_ASQ, MEM_ACQ);
	writel((QDEPTH - 1) << 16 | (QDEPTH - 1), d->bar + NVME_REG_AQA);
	writeq(d->admin.sq_iova, d->bar + NVME_REG_ASQ);
	writeq(d->admin.cq_iova, d->bar + NVME_REG_ACQ);
	writel(NVME_CC_EN | NVME_CC_IOSQES | NVME_CC_IOCQES, d->bar + NVME_REG_CC);
	ret = nvme_wait_ready(d, true);
	if (ret)
		return ret;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = NVME_ADM_IDENTIFY;
	sqe.nsid = 1;
	sqe.prp1 = mem_iova(d, MEM_ID);
	sqe.cdw10 = NVME_ID_CNS_NS;
	ret = nvme_sync(d, &d->admin, &sqe);
	if (ret)
		return ret > 0 ? -EIO : ret;
	memcpy(&d->nsze, id, sizeof(d->nsze));
	lbaf = id[26] & 0xf;
	d->lba_shift = id[128 + 4 * lbaf + 2];
	if (!d->nsze || d->lba_shift < 9 || d->lba_shift > 12 ||
	    (d->nsze << d->lba_shift) < (u64)NBLOCKS * PAGE)
		return -ENOSPC;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = NVME_ADM_SET_FEATURES;
	sqe.cdw10 = NVME_FEAT_NUM_QUEUES;
	/* SQs and CQs, 0's based */
	sqe.cdw11 = (u32)(nr_io - 1) << 16 | (nr_io - 1);
	ret = nvme_sync(d, &d->admin, &sqe);
	if (ret)
		return ret > 0 ? -EIO : ret;

	nvme_init_queue(d, &d->io, 1, MEM_IOSQ, MEM_IOCQ);
	return nvme_create_pair(d, &d->io, QDEPTH);
}
