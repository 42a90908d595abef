// SPDX-License-Identifier: GPL-2.0-only
/*
 * A minimal userspace NVMe driver: an admin queue and polled I/O queue
 * pairs. The nvme-vfio-pci tests drive it through nvme.h; nvme_ops runs it
 * for vfio_pci_driver_test, copying memory through namespace 1.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <linux/io.h>
#include <linux/pci_ids.h>
#include <linux/sizes.h>

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

/* --- vfio_pci_driver_ops: memcpy through namespace 1 --- */

/*
 * Every controller of a subsystem may share namespace 1, and the nvme tests
 * write their NBLOCKS blocks from LBA 0: copy i goes through its own page
 * at NVME_MEMCPY_OFFSET + i * PAGE, well past them. What the namespace held
 * there is overwritten.
 */
#define NVME_MEMCPY_OFFSET	SZ_8M

/* All the copies of a memcpy are in flight at once, on one I/O queue. */
#define NVME_MEMCPY_MAX		(QDEPTH - 1)

/* The driver's state, in the first page of device->driver.region */
struct nvme_state {
	struct nvme_drv drv;
	/* The memcpy in progress; its Writes took the CIDs from @write_cid */
	iova_t dst;
	u64 size;
	u16 count;
	u16 write_cid;
};

static_assert(sizeof(struct nvme_state) <= PAGE, "the state fits its page");

static struct nvme_state *to_nvme_state(struct vfio_pci_device *device)
{
	return device->driver.region.vaddr;
}

static int nvme_probe(struct vfio_pci_device *device)
{
	u32 class = vfio_pci_config_readl(device, PCI_CLASS_REVISION) >> 8;

	return class == PCI_CLASS_STORAGE_EXPRESS ? 0 : -ENODEV;
}

static void nvme_init(struct vfio_pci_device *device)
{
	struct dma_region *region = &device->driver.region;
	struct nvme_state *s = to_nvme_state(device);
	struct nvme_drv *d = &s->drv;
	int ret;

	/* The state takes the first page, the queues the pages after it. */
	VFIO_ASSERT_GE(region->size, (u64)(1 + MEM_DATA) * PAGE);
	VFIO_ASSERT_EQ(region->iova & (PAGE - 1), 0);
	memset(s, 0, sizeof(*s));
	d->mem.vaddr = region->vaddr + PAGE;
	d->mem.iova = region->iova + PAGE;
	d->mem.size = region->size - PAGE;

	/* Until MSI-X is on, a PF signals admin completions by INTx. */
	vfio_pci_cmd_set(device, PCI_COMMAND_INTX_DISABLE);
	ret = nvme_enable(d, device, 1);
	VFIO_ASSERT_EQ(ret, 0, "nvme: enabling the controller: %d\n", ret);
	VFIO_ASSERT_GE(d->nsze << d->lba_shift,
		       NVME_MEMCPY_OFFSET + (u64)NVME_MEMCPY_MAX * PAGE,
		       "nvme: namespace 1 is too small for the copies\n");

	/*
	 * The admin commands above completed on vector 0 before MSI-X was
	 * on, so they signalled nothing: send_msi() alone signals it.
	 */
	vfio_pci_msix_enable(device, 0, 1);

	device->driver.msi = 0;
	/* One memory page: PRP1, and PRP2 if the page boundary is crossed */
	device->driver.max_memcpy_size = PAGE;
	device->driver.max_memcpy_count = NVME_MEMCPY_MAX;
}

static void nvme_remove(struct vfio_pci_device *device)
{
	VFIO_ASSERT_EQ(nvme_disable(&to_nvme_state(device)->drv), 0);
	vfio_pci_msix_disable(device);
}

/* Queue the Write from @addr, or the Read into it, of copy @i's blocks */
static void nvme_queue_copy(struct nvme_state *s, u16 i, iova_t addr,
			    bool write)
{
	struct nvme_drv *d = &s->drv;
	u64 slba = (NVME_MEMCPY_OFFSET + (u64)i * PAGE) >> d->lba_shift;
	struct nvme_sqe sqe = {
		.opcode = write ? NVME_CMD_WRITE : NVME_CMD_READ,
		.nsid = 1,
		.prp1 = addr,
		.cdw10 = (u32)slba,
		.cdw11 = (u32)(slba >> 32),
		.cdw12 = (s->size >> d->lba_shift) - 1,
	};

	/* PRP2 takes the rest of a transfer that crosses a page boundary. */
	if ((addr & (PAGE - 1)) + s->size > PAGE)
		sqe.prp2 = (addr & ~(u64)(PAGE - 1)) + PAGE;
	nvme_queue_cmd(d, &d->io, &sqe);
}

/*
 * Only the Writes start here: NVMe orders no two commands, so the Read of
 * a copy may only be submitted once its Write completed, in memcpy_wait().
 */
static void nvme_memcpy_start(struct vfio_pci_device *device,
			      iova_t src, iova_t dst, u64 size, u64 count)
{
	struct nvme_state *s = to_nvme_state(device);
	struct nvme_drv *d = &s->drv;
	u16 i;

	/* The device moves whole blocks, to and from dword-aligned PRPs. */
	VFIO_ASSERT_GT(size, 0);
	VFIO_ASSERT_EQ(size & ((1u << d->lba_shift) - 1), 0,
		       "nvme: copies are of %u-byte blocks\n", 1u << d->lba_shift);
	VFIO_ASSERT_EQ((src | dst) & 3, 0);

	s->dst = dst;
	s->size = size;
	s->count = count;
	/* nvme_queue_cmd() numbers the commands in the order queued */
	s->write_cid = d->next_cid;
	for (i = 0; i < count; i++)
		nvme_queue_copy(s, i, src, true);
	nvme_ring(d, &d->io);
}

static int nvme_memcpy_wait(struct vfio_pci_device *device)
{
	struct nvme_state *s = to_nvme_state(device);
	struct nvme_drv *d = &s->drv;
	int left, err = 0, ret;
	u16 cid, i;

	for (left = s->count; left > 0; left--) {
		ret = nvme_reap(d, &d->io, &cid);
		/* Without the completions, the queue cannot be used again. */
		VFIO_ASSERT_GE(ret, 0, "nvme: no completion: %s\n", strerror(-ret));
		i = (u16)(cid - s->write_cid);
		VFIO_ASSERT_LT(i, 2 * s->count, "nvme: unknown CID %u\n", cid);
		if (ret) {
			dev_err(device, "nvme: %s of a copy failed: status %#x\n",
				i < s->count ? "Write" : "Read", ret);
			err = ret;
		} else if (i < s->count) {
			/* Copy i is in the namespace: read it back into dst. */
			nvme_queue_copy(s, i, s->dst, false);
			nvme_ring(d, &d->io);
			left++;
		}
	}
	return err;
}

/*
 * The Admin Completion Queue is always on interrupt vector 0 with
 * interrupts enabled, and interrupt coalescing applies to I/O completion
 * queues only: one admin command's completion makes the controller send
 * vector 0 once, as nvme_sync() moves the CQ head past it. Get Features
 * (Number of Queues) transfers no data and changes nothing.
 */
static void nvme_send_msi(struct vfio_pci_device *device)
{
	struct nvme_drv *d = &to_nvme_state(device)->drv;
	struct nvme_sqe sqe = {
		.opcode = NVME_ADM_GET_FEATURES,
		.cdw10 = NVME_FEAT_NUM_QUEUES,
	};

	VFIO_ASSERT_EQ(nvme_sync(d, &d->admin, &sqe), 0);
}

struct vfio_pci_driver_ops nvme_ops = {
	.name = "nvme",
	.probe = nvme_probe,
	.init = nvme_init,
	.remove = nvme_remove,
	.memcpy_start = nvme_memcpy_start,
	.memcpy_wait = nvme_memcpy_wait,
	.send_msi = nvme_send_msi,
};
