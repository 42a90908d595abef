// SPDX-License-Identifier: GPL-2.0-only
/*
 * Live migration of an NVMe VF through the VFIO uAPI (nvme-vfio-pci).
 *
 * A minimal userspace NVMe driver runs an admin queue and one I/O queue pair
 * on VF A, in memory that both VFs see at the same IOVAs (one iommufd IOAS),
 * and writes numbered blocks to the namespace the VFs share. Mid-stream, A's
 * state moves to VF B through the migration data fd, and the driver goes on
 * submitting on the same queues through B from where A stopped. Every
 * completion and every block read back is checked.
 *
 * usage: vfio_pci_nvme_migration_test [harness options] BDF_A BDF_B
 * Both VFs must be bound to nvme-vfio-pci, migration capable, with secondary
 * controllers online and at least two VQ resources each.
 */
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/bits.h>
#include <linux/io.h>
#include <linux/sizes.h>
#include <linux/vfio.h>

#include <libvfio.h>

#include "kselftest_harness.h"

static char **device_bdfs;

#define NVME_REG_CAP		0x0000
#define NVME_REG_VS		0x0008
#define NVME_REG_CC		0x0014
#define NVME_REG_CSTS		0x001c
#define NVME_REG_AQA		0x0024
#define NVME_REG_ASQ		0x0028
#define NVME_REG_ACQ		0x0030
#define NVME_REG_DBS		0x1000

#define NVME_CC_EN		BIT(0)
#define NVME_CC_IOSQES		(6u << 16)	/* 64-byte SQ entries */
#define NVME_CC_IOCQES		(4u << 20)	/* 16-byte CQ entries */
#define NVME_CSTS_RDY		BIT(0)
#define NVME_CSTS_CFS		BIT(1)

#define NVME_ADM_DELETE_SQ	0x00
#define NVME_ADM_CREATE_SQ	0x01
#define NVME_ADM_DELETE_CQ	0x04
#define NVME_ADM_CREATE_CQ	0x05
#define NVME_ADM_IDENTIFY	0x06
#define NVME_ADM_SET_FEATURES	0x09
#define NVME_CMD_WRITE		0x01
#define NVME_CMD_READ		0x02

#define NVME_FEAT_NUM_QUEUES	0x07
#define NVME_ID_CNS_NS		0x00
#define NVME_ID_CNS_CTRL	0x01

#define PAGE			4096
#define QDEPTH			32	/* entries in each queue: rings wrap */
#define NBLOCKS			96	/* 4 KiB blocks the tests write */
#define IO_TIMEOUT_MS		20000

struct nvme_sqe {
	u8 opcode;
	u8 flags;
	u16 cid;
	u32 nsid;
	u64 rsvd2;
	u64 mptr;
	u64 prp1;
	u64 prp2;
	u32 cdw10;
	u32 cdw11;
	u32 cdw12;
	u32 cdw13;
	u32 cdw14;
	u32 cdw15;
};

struct nvme_cqe {
	u32 result;
	u32 rsvd;
	u16 sq_head;
	u16 sq_id;
	u16 cid;
	u16 status;	/* bit 0: phase tag */
};

static_assert(sizeof(struct nvme_sqe) == 64);
static_assert(sizeof(struct nvme_cqe) == 16);

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
 * The userspace driver. Its queues live in @mem, which both VFs map at the
 * same IOVAs; @bar and @dev are those of the VF that currently runs them.
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

static void *mem_page(struct nvme_drv *d, int page)
{
	return d->mem.vaddr + (size_t)page * PAGE;
}

static iova_t mem_iova(struct nvme_drv *d, int page)
{
	return d->mem.iova + (u64)page * PAGE;
}

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void *sq_doorbell(struct nvme_drv *d, u16 qid)
{
	return d->bar + NVME_REG_DBS + (2 * qid) * (4 << d->dstrd);
}

static void *cq_doorbell(struct nvme_drv *d, u16 qid)
{
	return d->bar + NVME_REG_DBS + (2 * qid + 1) * (4 << d->dstrd);
}

/* Queue @sqe without ringing the doorbell; returns its command identifier. */
static u16 nvme_queue_cmd(struct nvme_drv *d, struct nvme_queue *q,
			  struct nvme_sqe *sqe)
{
	sqe->cid = d->next_cid++;
	q->sq[q->sq_tail] = *sqe;
	q->sq_tail = (q->sq_tail + 1) % QDEPTH;
	return sqe->cid;
}

static void nvme_ring(struct nvme_drv *d, struct nvme_queue *q)
{
	__sync_synchronize();
	writel(q->sq_tail, sq_doorbell(d, q->qid));
}

/*
 * Wait for the next completion of @q, consume it and return its status
 * field (0 on success), or -ETIMEDOUT. @cid gets the command identifier.
 */
static int nvme_reap(struct nvme_drv *d, struct nvme_queue *q, u16 *cid)
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
static int nvme_sync(struct nvme_drv *d, struct nvme_queue *q,
		     struct nvme_sqe *sqe)
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

static void nvme_init_queue(struct nvme_drv *d, struct nvme_queue *q, u16 qid,
			    int sq_page, int cq_page)
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
static void nvme_attach(struct nvme_drv *d, struct vfio_pci_device *dev)
{
	d->dev = dev;
	d->bar = dev->bars[0].vaddr;
	d->dstrd = (readq(d->bar + NVME_REG_CAP) >> 32) & 0xf;
}

/* Enable the controller of @dev with an admin queue and one I/O queue pair. */
static int nvme_enable(struct nvme_drv *d, struct vfio_pci_device *dev)
{
	struct nvme_sqe sqe;
	u8 *id = mem_page(d, MEM_ID);
	u32 lbaf;
	int ret;

	vfio_pci_cmd_set(dev, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	nvme_attach(d, dev);

	writel(0, d->bar + NVME_REG_CC);
	ret = nvme_wait_ready(d, false);
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
	sqe.cdw11 = 0;	/* one SQ and one CQ, 0's based */
	ret = nvme_sync(d, &d->admin, &sqe);
	if (ret)
		return ret > 0 ? -EIO : ret;

	nvme_init_queue(d, &d->io, 1, MEM_IOSQ, MEM_IOCQ);
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = NVME_ADM_CREATE_CQ;
	sqe.prp1 = d->io.cq_iova;
	sqe.cdw10 = (QDEPTH - 1) << 16 | d->io.qid;
	sqe.cdw11 = 1;	/* physically contiguous, no interrupts */
	ret = nvme_sync(d, &d->admin, &sqe);
	if (ret)
		return ret > 0 ? -EIO : ret;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = NVME_ADM_CREATE_SQ;
	sqe.prp1 = d->io.sq_iova;
	sqe.cdw10 = (QDEPTH - 1) << 16 | d->io.qid;
	sqe.cdw11 = (u32)d->io.qid << 16 | 1;
	ret = nvme_sync(d, &d->admin, &sqe);
	return ret > 0 ? -EIO : ret;
}

static u64 pattern(struct nvme_drv *d, int block, int word)
{
	return (u64)d->seed << 40 ^ (u64)block << 20 ^ word ^ 0x4e564d654c4d0000ull;
}

/* Queue a write of block @block (4 KiB at LBA block * 4 KiB) from its page. */
static u16 nvme_queue_io(struct nvme_drv *d, int block, bool write)
{
	u32 nlb = (PAGE >> d->lba_shift) - 1;
	u64 slba = (u64)block * (PAGE >> d->lba_shift);
	struct nvme_sqe sqe = {
		.opcode = write ? NVME_CMD_WRITE : NVME_CMD_READ,
		.nsid = 1,
		.prp1 = mem_iova(d, (write ? MEM_DATA : MEM_READ) + block),
		.cdw10 = (u32)slba,
		.cdw11 = (u32)(slba >> 32),
		.cdw12 = nlb,
	};
	u64 *page = mem_page(d, MEM_DATA + block);
	int i;

	if (write) {
		for (i = 0; i < PAGE / 8; i++)
			page[i] = pattern(d, block, i);
	} else {
		memset(mem_page(d, MEM_READ + block), 0, PAGE);
	}
	return nvme_queue_cmd(d, &d->io, &sqe);
}

/*
 * Write (or read) blocks [first, last) on the I/O queue, at most @batch in
 * flight, and check every completion: each completes once, successfully,
 * in whatever order the controller chooses.
 */
static int nvme_io_range(struct nvme_drv *d, int first, int last, bool write,
			 int batch)
{
	bool done[QDEPTH];
	u16 cids[QDEPTH], cid;
	int b, n, i, j, ret;

	for (b = first; b < last; b += n) {
		n = last - b < batch ? last - b : batch;
		for (i = 0; i < n; i++) {
			cids[i] = nvme_queue_io(d, b + i, write);
			done[i] = false;
		}
		nvme_ring(d, &d->io);
		for (i = 0; i < n; i++) {
			ret = nvme_reap(d, &d->io, &cid);
			if (ret)
				return ret;
			for (j = 0; j < n && (done[j] || cids[j] != cid); j++)
				;
			if (j == n)
				return -EPROTO;
			done[j] = true;
		}
	}
	return 0;
}

/* Read back blocks [0, @last) and compare them with what was written. */
static int nvme_verify(struct nvme_drv *d, int last)
{
	int b, i, ret;
	u64 *page;

	ret = nvme_io_range(d, 0, last, false, QDEPTH / 2);
	if (ret)
		return ret;
	for (b = 0; b < last; b++) {
		page = mem_page(d, MEM_READ + b);
		for (i = 0; i < PAGE / 8; i++) {
			if (page[i] != pattern(d, b, i)) {
				ksft_print_msg("block %d word %d: %#llx, expected %#llx\n",
					       b, i, (unsigned long long)page[i],
					       (unsigned long long)pattern(d, b, i));
				return -EILSEQ;
			}
		}
	}
	return 0;
}

/* --- The VFIO migration uAPI --- */

static const char *const state_names[] = {
	[VFIO_DEVICE_STATE_ERROR] = "ERROR",
	[VFIO_DEVICE_STATE_STOP] = "STOP",
	[VFIO_DEVICE_STATE_RUNNING] = "RUNNING",
	[VFIO_DEVICE_STATE_STOP_COPY] = "STOP_COPY",
	[VFIO_DEVICE_STATE_RESUMING] = "RESUMING",
	[VFIO_DEVICE_STATE_RUNNING_P2P] = "RUNNING_P2P",
	[VFIO_DEVICE_STATE_PRE_COPY] = "PRE_COPY",
	[VFIO_DEVICE_STATE_PRE_COPY_P2P] = "PRE_COPY_P2P",
};

static const char *state_name(u32 state)
{
	return state < ARRAY_SIZE(state_names) ? state_names[state] : "?";
}

static int feature(struct vfio_pci_device *dev, u32 flags, void *data,
		   size_t size)
{
	u64 buf[8] = {};
	struct vfio_device_feature *f = (void *)buf;

	VFIO_ASSERT_LE(sizeof(*f) + size, sizeof(buf));
	f->argsz = sizeof(*f) + size;
	f->flags = flags;
	memcpy(f->data, data, size);
	if (ioctl(dev->fd, VFIO_DEVICE_FEATURE, f))
		return -errno;
	memcpy(data, f->data, size);
	return 0;
}

/*
 * Move @dev to @state; returns the new data fd (or -1 if the arc opens none)
 * in @data_fd and 0, or -errno. Narrates the arc and its duration.
 */
static int mig_set(struct vfio_pci_device *dev, u32 state, int *data_fd)
{
	struct vfio_device_feature_mig_state ms = { .device_state = state };
	u64 t = now_ns();
	int ret;

	ret = feature(dev, VFIO_DEVICE_FEATURE_SET |
		      VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &ms, sizeof(ms));
	t = now_ns() - t;
	if (data_fd)
		*data_fd = ret ? -1 : ms.data_fd;
	ksft_print_msg("%s: -> %-12s %8.3f ms%s%s\n", dev->bdf, state_name(state),
		       t / 1e6, ret ? " failed: " : "", ret ? strerror(-ret) : "");
	return ret;
}

static int mig_get(struct vfio_pci_device *dev, u32 *state)
{
	struct vfio_device_feature_mig_state ms = {};
	int ret;

	ret = feature(dev, VFIO_DEVICE_FEATURE_GET |
		      VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &ms, sizeof(ms));
	*state = ms.device_state;
	return ret;
}

static int mig_data_size(struct vfio_pci_device *dev, u64 *len)
{
	struct vfio_device_feature_mig_data_size ds = {};
	int ret;

	ret = feature(dev, VFIO_DEVICE_FEATURE_GET |
		      VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, &ds, sizeof(ds));
	*len = ds.stop_copy_length;
	return ret;
}

static u64 mig_flags(struct vfio_pci_device *dev)
{
	struct vfio_device_feature_migration m = {};

	if (feature(dev, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION,
		    &m, sizeof(m)))
		return 0;
	return m.flags;
}

/* Read @fd to its end into a growing buffer; returns the length or -errno. */
static ssize_t read_all(int fd, u8 **buf)
{
	size_t len = 0, cap = 0;
	ssize_t n;

	*buf = NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			*buf = realloc(*buf, cap);
			VFIO_ASSERT_NOT_NULL(*buf);
		}
		n = read(fd, *buf + len, cap - len);
		if (n < 0)
			return -errno;
		if (!n)
			return len;
		len += n;
	}
}

/* Write @buf to @fd in odd-sized pieces: the parser must be incremental. */
static int write_all(int fd, const u8 *buf, size_t len)
{
	size_t off = 0, n;
	ssize_t w;

	while (off < len) {
		n = len - off < 61 ? len - off : 61;
		w = write(fd, buf + off, n);
		if (w < 0)
			return -errno;
		off += w;
	}
	return 0;
}

/* --- The migration stream of nvme-vfio-pci, decoded for the log --- */

#define STREAM_MAGIC	0x4d4c564e
#define STREAM_END	0x444e454c
#define REC_HDR		24
#define REC_TAIL	8

static unsigned long long le(const u8 *p, int bytes)
{
	unsigned long long v = 0;

	while (bytes--)
		v = v << 8 | p[bytes];
	return v;
}

struct io_state {
	u64 sq_prp1, cq_prp1;
	u16 sq_qid, sq_cqid, sq_head, sq_tail, sq_qsize;
	u16 cq_qid, cq_head, cq_tail, cq_qsize;
	u32 nsq, ncq;
	bool vendor;
};

/* An I/O SQ entry of the NVMe-defined state (24 bytes) */
static void decode_sq(const u8 *e, bool first, struct io_state *st)
{
	ksft_print_msg("    I/O SQ %llu: at %#llx, size %llu, CQ %llu, head %llu, tail %llu\n",
		       le(e + 10, 2), le(e, 8), le(e + 8, 2) + 1, le(e + 12, 2),
		       le(e + 16, 2), le(e + 18, 2));
	if (!first)
		return;
	st->sq_prp1 = le(e, 8);
	st->sq_qsize = le(e + 8, 2);
	st->sq_qid = le(e + 10, 2);
	st->sq_cqid = le(e + 12, 2);
	st->sq_head = le(e + 16, 2);
	st->sq_tail = le(e + 18, 2);
}

/* An I/O CQ entry of the NVMe-defined state (24 bytes) */
static void decode_cq(const u8 *e, bool first, struct io_state *st)
{
	u32 attr = le(e + 16, 4);

	ksft_print_msg("    I/O CQ %llu: at %#llx, size %llu, head %llu, tail %llu, phase %u, %s\n",
		       le(e + 10, 2), le(e, 8), le(e + 8, 2) + 1, le(e + 12, 2),
		       le(e + 14, 2), (attr >> 2) & 1,
		       (attr & 2) ? "interrupts on" : "polled");
	if (!first)
		return;
	st->cq_prp1 = le(e, 8);
	st->cq_qsize = le(e + 8, 2);
	st->cq_qid = le(e + 10, 2);
	st->cq_head = le(e + 12, 2);
	st->cq_tail = le(e + 14, 2);
}

/* The compatibility record's payload (32 bytes) */
static int decode_compat(const u8 *c, size_t len, struct io_state *st)
{
	if (len != 32)
		return -EINVAL;
	st->vendor = c[2] & 1;
	ksft_print_msg("  compatibility record: NVMe-defined state v%llu, %s, state %llu bytes\n",
		       le(c, 2), st->vendor ? "vendor-specific section" : "I/O queues only",
		       le(c + 8, 8));
	return 0;
}

/* The Controller State data structure (TP4159), NVMe-defined state v0 */
static int decode_state(const u8 *cs, size_t len, struct io_state *st)
{
	size_t nvmecss, vss;
	const u8 *e;
	u32 i;

	if (len < 48)
		return -EINVAL;
	nvmecss = le(cs + 16, 8) * 4;
	vss = le(cs + 32, 8) * 4;
	ksft_print_msg("  controller state v%llu, %s: %zu bytes NVMe-defined, %zu vendor\n",
		       le(cs, 2), (cs[2] & 1) ? "suspended" : "not suspended",
		       nvmecss, vss);
	if (48 + nvmecss + vss != len || nvmecss < 8)
		return -EINVAL;
	e = cs + 48;
	st->nsq = le(e + 2, 2);
	st->ncq = le(e + 4, 2);
	if (8 + (st->nsq + st->ncq) * 24ull > nvmecss)
		return -EINVAL;
	e += 8;
	for (i = 0; i < st->nsq; i++, e += 24)
		decode_sq(e, !i, st);
	for (i = 0; i < st->ncq; i++, e += 24)
		decode_cq(e, !i, st);
	return 0;
}

/*
 * Check the record framing of a saved stream and decode what it carries.
 * Returns 0 and fills @st with the first I/O SQ and CQ, or -EINVAL.
 */
static int decode_stream(const u8 *s, size_t len, struct io_state *st)
{
	size_t off = 0, rlen, pay;
	const u8 *rec;
	u32 type;
	int ret;

	memset(st, 0, sizeof(*st));
	for (type = 1; type <= 2; type++, off += rlen) {
		rec = s + off;
		if (len - off < REC_HDR + REC_TAIL || le(rec, 4) != STREAM_MAGIC ||
		    le(rec + 6, 2) != type)
			return -EINVAL;
		rlen = le(rec + 16, 8);
		if (rlen < REC_HDR + REC_TAIL || rlen > len - off ||
		    le(rec + rlen - 4, 4) != STREAM_END)
			return -EINVAL;
		pay = rlen - REC_HDR - REC_TAIL;
		ksft_print_msg("  record %u: %zu bytes\n", type, rlen);
		if (type == 1)
			ret = decode_compat(rec + REC_HDR, pay, st);
		else
			ret = decode_state(rec + REC_HDR, pay, st);
		if (ret)
			return ret;
	}
	return off == len ? 0 : -EINVAL;
}

/* --- Fixture: two VFs in one IOAS, the driver running on A --- */

FIXTURE(nvme_migration) {
	struct iommu *iommu;
	struct iova_allocator *iovas;
	struct vfio_pci_device *a;
	struct vfio_pci_device *b;
	struct nvme_drv drv;
	u64 flags;
};

FIXTURE_SETUP(nvme_migration)
{
	struct nvme_drv *d = &self->drv;
	int ret;

	self->iommu = iommu_init(MODE_IOMMUFD);
	self->iovas = iova_allocator_init(self->iommu);
	self->a = vfio_pci_device_init(device_bdfs[0], self->iommu);
	self->b = vfio_pci_device_init(device_bdfs[1], self->iommu);

	/* The IOVA allocator hands out power-of-2 sizes. */
	static_assert(MEM_PAGES * PAGE <= SZ_1M);
	d->mem.size = SZ_1M;
	d->mem.vaddr = mmap(NULL, d->mem.size, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, d->mem.vaddr);
	d->mem.iova = iova_allocator_alloc(self->iovas, d->mem.size);
	iommu_map(self->iommu, &d->mem);
	d->seed = (u32)now_ns();

	self->flags = mig_flags(self->a) & mig_flags(self->b);

	ret = nvme_enable(d, self->a);
	ASSERT_EQ(0, ret) TH_LOG("enabling the controller of %s: %d", self->a->bdf, ret);
	ksft_print_msg("%s: controller enabled: admin and I/O queue 1, %d entries, LBA %u bytes\n",
		       self->a->bdf, QDEPTH, 1u << d->lba_shift);
}

FIXTURE_TEARDOWN(nvme_migration)
{
	struct nvme_drv *d = &self->drv;

	/* Closing the devices resets them: no DMA reaches the memory after. */
	vfio_pci_device_cleanup(self->b);
	vfio_pci_device_cleanup(self->a);
	if (d->mem.vaddr && d->mem.vaddr != MAP_FAILED) {
		iommu_unmap(self->iommu, &d->mem);
		munmap(d->mem.vaddr, d->mem.size);
	}
	iova_allocator_cleanup(self->iovas);
	iommu_cleanup(self->iommu);
}

/* The userspace driver itself, without migration: a baseline. */
TEST_F(nvme_migration, io)
{
	struct nvme_drv *d = &self->drv;

	ASSERT_EQ(0, nvme_io_range(d, 0, NBLOCKS, true, 7));
	ASSERT_EQ(0, nvme_verify(d, NBLOCKS));
	ksft_print_msg("%s: wrote and verified %d blocks, SQ tail %u, CQ head %u\n",
		       self->a->bdf, NBLOCKS, d->io.sq_tail, d->io.cq_head);
}

/*
 * Resume @stream on B, switch the driver to B, reap the @inflight commands
 * A left behind and go on writing blocks [@next, NBLOCKS) through B; then
 * read every block back.
 */
static void resume_on_b(struct __test_metadata *_metadata,
			struct _test_data_nvme_migration *self,
			const u8 *stream, size_t len, int next, int inflight)
{
	struct nvme_drv *d = &self->drv;
	u64 t = now_ns();
	u32 state;
	u16 cid;
	int fd, i;

	ASSERT_EQ(0, mig_set(self->b, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, mig_set(self->b, VFIO_DEVICE_STATE_RESUMING, &fd));
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, write_all(fd, stream, len));
	ksft_print_msg("%s: wrote %zu bytes to the resuming data fd\n", self->b->bdf, len);
	/*
	 * Restore the command register while resuming, as QEMU restores the
	 * config space: commands queued on A but not fetched yet are fetched
	 * by B as soon as it runs, which needs bus mastering.
	 */
	vfio_pci_cmd_set(self->b, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	ASSERT_EQ(0, mig_set(self->b, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, mig_set(self->b, VFIO_DEVICE_STATE_RUNNING, NULL));
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, mig_get(self->b, &state));
	ASSERT_EQ(VFIO_DEVICE_STATE_RUNNING, state);
	ksft_print_msg("%s: resumed in %.3f ms\n", self->b->bdf, (now_ns() - t) / 1e6);

	nvme_attach(d, self->b);
	for (i = 0; i < inflight; i++)
		ASSERT_EQ(0, nvme_reap(d, &d->io, &cid))
			TH_LOG("completion %d of the commands in flight at the switch", i);
	ksft_print_msg("%s: reaped the %d commands in flight at the switch\n",
		       self->b->bdf, inflight);
	ASSERT_EQ(0, nvme_io_range(d, next, NBLOCKS, true, 5));
	ksft_print_msg("%s: wrote blocks %d-%d on the same I/O queue, SQ tail %u, CQ head %u\n",
		       self->b->bdf, next, NBLOCKS - 1, d->io.sq_tail, d->io.cq_head);
	ASSERT_EQ(0, nvme_verify(d, NBLOCKS));
	ksft_print_msg("%s: read back and verified all %d blocks\n", self->b->bdf, NBLOCKS);
}

/* Write blocks [0, @n) on A, then queue @inflight more without reaping. */
static void run_on_a(struct __test_metadata *_metadata,
		     struct _test_data_nvme_migration *self, int n, int inflight)
{
	struct nvme_drv *d = &self->drv;
	int i;

	ASSERT_EQ(0, nvme_io_range(d, 0, n, true, 7));
	for (i = 0; i < inflight; i++)
		nvme_queue_io(d, n + i, true);
	nvme_ring(d, &d->io);
	ksft_print_msg("%s: wrote blocks 0-%d, %d more in flight: SQ tail %u, CQ head %u\n",
		       self->a->bdf, n - 1, inflight, d->io.sq_tail, d->io.cq_head);
}

TEST_F(nvme_migration, stop_copy)
{
	struct nvme_drv *d = &self->drv;
	const int n = 40, inflight = 3;
	struct io_state st;
	u64 size, t;
	ssize_t len;
	u8 *stream;
	int fd;

	if (!(self->flags & VFIO_MIGRATION_STOP_COPY))
		SKIP(return, "the VFs cannot migrate");

	run_on_a(_metadata, self, n, inflight);

	t = now_ns();
	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_RUNNING_P2P, NULL));
	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, mig_data_size(self->a, &size));
	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_STOP_COPY, &fd));
	ASSERT_GE(fd, 0);
	len = read_all(fd, &stream);
	ASSERT_GT(len, 0) TH_LOG("reading the saving data fd: %s", strerror(-len));
	ksft_print_msg("%s: saved %zd bytes (data size in STOP: %llu), stopped for %.3f ms\n",
		       self->a->bdf, len, (unsigned long long)size,
		       (now_ns() - t) / 1e6);
	ASSERT_EQ(size, len);
	ASSERT_EQ(0, decode_stream(stream, len, &st));

	/* The state is the queue this driver runs. */
	ASSERT_EQ(1, st.nsq);
	ASSERT_EQ(1, st.ncq);
	ASSERT_EQ(1, st.sq_qid);
	ASSERT_EQ(1, st.sq_cqid);
	ASSERT_EQ(d->io.sq_iova, st.sq_prp1);
	ASSERT_EQ(d->io.cq_iova, st.cq_prp1);
	ASSERT_EQ(QDEPTH - 1, st.sq_qsize);
	ASSERT_EQ(d->io.sq_tail, st.sq_tail);
	ASSERT_EQ(d->io.cq_head, st.cq_head);

	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, close(fd));

	resume_on_b(_metadata, self, stream, len, n + inflight, inflight);
	free(stream);
}

TEST_F(nvme_migration, pre_copy)
{
	struct vfio_precopy_info info = { .argsz = sizeof(info) };
	const int n = 20, inflight = 2;
	u8 *stream, *rest;
	ssize_t len, r;
	int fd, fd2;

	if (!(self->flags & VFIO_MIGRATION_STOP_COPY))
		SKIP(return, "the VFs cannot migrate");

	if (!(self->flags & VFIO_MIGRATION_PRE_COPY))
		SKIP(return, "no PRE_COPY");

	run_on_a(_metadata, self, n, inflight);
	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_PRE_COPY, &fd));
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, &info));
	ksft_print_msg("%s: precopy info: %llu initial bytes, %llu dirty bytes\n",
		       self->a->bdf, info.initial_bytes, info.dirty_bytes);
	ASSERT_GT(info.initial_bytes, 0);

	stream = malloc(info.initial_bytes);
	ASSERT_NE(NULL, stream);
	len = read(fd, stream, info.initial_bytes);
	ASSERT_EQ((ssize_t)info.initial_bytes, len);
	ASSERT_EQ(0, ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, &info));
	ASSERT_EQ(0, info.initial_bytes);
	/* The temporary end of the stream while the device runs */
	ASSERT_EQ(-1, read(fd, &r, 1));
	ASSERT_EQ(ENOMSG, errno);

	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_PRE_COPY_P2P, &fd2));
	ASSERT_EQ(-1, fd2);
	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_STOP_COPY, &fd2));
	ASSERT_EQ(-1, fd2);
	/* Outside PRE_COPY and PRE_COPY_P2P the precopy info is refused. */
	ASSERT_EQ(-1, ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, &info));
	ASSERT_EQ(EINVAL, errno);
	r = read_all(fd, &rest);
	ASSERT_GT(r, 0);
	stream = realloc(stream, len + r);
	ASSERT_NE(NULL, stream);
	memcpy(stream + len, rest, r);
	free(rest);
	len += r;
	ksft_print_msg("%s: saved %zd bytes in all\n", self->a->bdf, len);
	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, close(fd));

	resume_on_b(_metadata, self, stream, len, n + inflight, inflight);
	free(stream);
}

TEST_F(nvme_migration, data_size)
{
	u64 running, stopped;
	ssize_t len;
	u8 *stream;
	int fd;

	if (!(self->flags & VFIO_MIGRATION_STOP_COPY))
		SKIP(return, "the VFs cannot migrate");

	ASSERT_EQ(0, mig_data_size(self->a, &running));
	ASSERT_GT(running, 96);	/* both record headers and trailers, and more */
	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, mig_data_size(self->a, &stopped));
	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_STOP_COPY, &fd));
	len = read_all(fd, &stream);
	ASSERT_EQ(stopped, len);
	/* Readable in every state */
	ASSERT_EQ(0, mig_data_size(self->a, &stopped));
	ASSERT_EQ(len, stopped);
	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_RUNNING, NULL));
	ASSERT_EQ(0, close(fd));
	free(stream);
}

TEST_F(nvme_migration, invalid_arcs)
{
	u32 state;
	int fd;

	if (!(self->flags & VFIO_MIGRATION_STOP_COPY))
		SKIP(return, "the VFs cannot migrate");

	ASSERT_EQ(-EINVAL, mig_set(self->a, VFIO_DEVICE_STATE_ERROR, NULL));
	ASSERT_EQ(-EINVAL, mig_set(self->a, 42, NULL));
	ASSERT_EQ(0, mig_get(self->a, &state));
	ASSERT_EQ(VFIO_DEVICE_STATE_RUNNING, state);

	/* A request for the current state is no arc and opens no fd. */
	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_RUNNING, &fd));
	ASSERT_EQ(-1, fd);

	/* Leaving RESUMING without data fails and stays in RESUMING. */
	ASSERT_EQ(0, mig_set(self->b, VFIO_DEVICE_STATE_RESUMING, &fd));
	ASSERT_GE(fd, 0);
	ASSERT_NE(0, mig_set(self->b, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, mig_get(self->b, &state));
	ASSERT_EQ(VFIO_DEVICE_STATE_RESUMING, state);
	ASSERT_EQ(0, close(fd));

	/* A reset brings the device back to RUNNING. */
	ASSERT_EQ(0, __vfio_pci_device_reset(self->b));
	ASSERT_EQ(0, mig_get(self->b, &state));
	ASSERT_EQ(VFIO_DEVICE_STATE_RUNNING, state);
}

TEST_F(nvme_migration, fd_misuse)
{
	u8 junk[64], byte;
	ssize_t len;
	u8 *stream;
	u32 state;
	int fd, rfd;

	if (!(self->flags & VFIO_MIGRATION_STOP_COPY))
		SKIP(return, "the VFs cannot migrate");

	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_STOP_COPY, &fd));
	ASSERT_GE(fd, 0);
	/* A saving fd cannot be written, nor read at an offset. */
	ASSERT_EQ(-1, write(fd, junk, sizeof(junk)));
	ASSERT_EQ(EBADF, errno);
	ASSERT_EQ(-1, pread(fd, junk, sizeof(junk), 0));
	ASSERT_EQ(ESPIPE, errno);
	len = read_all(fd, &stream);
	ASSERT_GT(len, 0);
	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_STOP, NULL));
	/* Leaving the saving states disables the fd. */
	ASSERT_EQ(-1, read(fd, &byte, 1));
	ASSERT_EQ(ENODEV, errno);
	ASSERT_EQ(0, close(fd));

	ASSERT_EQ(0, mig_set(self->b, VFIO_DEVICE_STATE_RESUMING, &rfd));
	ASSERT_GE(rfd, 0);
	ASSERT_EQ(-1, read(rfd, &byte, 1));
	ASSERT_EQ(EBADF, errno);
	/* A stream cut short is refused when RESUMING ends. */
	ASSERT_EQ(0, write_all(rfd, stream, len - 1));
	ASSERT_EQ(-EINVAL, mig_set(self->b, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, mig_get(self->b, &state));
	ASSERT_EQ(VFIO_DEVICE_STATE_RESUMING, state);
	ASSERT_EQ(0, close(rfd));

	/* A corrupt stream is refused as soon as the damage is seen. */
	ASSERT_EQ(0, __vfio_pci_device_reset(self->b));
	ASSERT_EQ(0, mig_set(self->b, VFIO_DEVICE_STATE_RESUMING, &rfd));
	stream[0] ^= 0xff;
	ASSERT_EQ(-EINVAL, write_all(rfd, stream, len));
	ASSERT_EQ(0, close(rfd));
	ASSERT_EQ(0, __vfio_pci_device_reset(self->b));
	ASSERT_EQ(0, mig_get(self->b, &state));
	ASSERT_EQ(VFIO_DEVICE_STATE_RUNNING, state);
	free(stream);
}

int main(int argc, char *argv[])
{
	int nr;

	device_bdfs = vfio_selftests_get_bdfs(&argc, argv, &nr);
	if (nr < 2) {
		fprintf(stderr, "usage: %s [options] BDF_A BDF_B\n", argv[0]);
		return KSFT_SKIP;
	}
	return test_harness_run(argc, argv);
}
