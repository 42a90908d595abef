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
 * usage: vfio_pci_nvme_migration_test [harness options] BDF_A BDF_B [BDF_C [BDF_D]]
 * The VFs must be bound to nvme-vfio-pci, migration capable, with secondary
 * controllers online and at least two VQ resources each. The tests that need
 * more than two VFs (resume_fuzz runs faster with them, isolation needs a
 * third) take them from BDF_C and BDF_D.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <linux/bits.h>
#include <linux/io.h>
#include <linux/sizes.h>
#include <linux/vfio.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/drivers/nvme/nvme.h"

static char **device_bdfs;
static int nr_bdfs;

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

/* Read back blocks [@first, @last) and compare them with what was written. */
static int nvme_verify_range(struct nvme_drv *d, int first, int last)
{
	int b, i, ret;
	u64 *page;

	ret = nvme_io_range(d, first, last, false, QDEPTH / 2);
	if (ret)
		return ret;
	for (b = first; b < last; b++) {
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

static int nvme_verify(struct nvme_drv *d, int last)
{
	return nvme_verify_range(d, 0, last);
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
 * in @data_fd and 0, or -errno.
 */
static int mig_set_quiet(struct vfio_pci_device *dev, u32 state, int *data_fd)
{
	struct vfio_device_feature_mig_state ms = { .device_state = state };
	int ret;

	ret = feature(dev, VFIO_DEVICE_FEATURE_SET |
		      VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &ms, sizeof(ms));
	if (data_fd)
		*data_fd = ret ? -1 : ms.data_fd;
	return ret;
}

/* mig_set_quiet(), narrating the arc and its duration */
static int mig_set(struct vfio_pci_device *dev, u32 state, int *data_fd)
{
	u64 t = now_ns();
	int ret;

	ret = mig_set_quiet(dev, state, data_fd);
	t = now_ns() - t;
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
	u8 cq_s0pt;
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

	ksft_print_msg("    I/O CQ %llu: at %#llx, size %llu, head %llu, tail %llu, S0PT %u, %s\n",
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
	st->cq_s0pt = (attr >> 2) & 1;
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

/* VFs after A and B that some tests use: bystanders, fuzzing targets */
#define MAX_MORE	2

FIXTURE(nvme_migration) {
	struct iommu *iommu;
	struct iova_allocator *iovas;
	struct vfio_pci_device *a;
	struct vfio_pci_device *b;
	struct vfio_pci_device *more[MAX_MORE];
	int nmore;
	struct nvme_drv drv;
	/* A second driver, on a bystander VF */
	struct nvme_drv drv2;
	u64 flags;
};

/* Give @d its own DMA memory and run it on @dev; 0 or an error */
static int drv_start(struct _test_data_nvme_migration *self,
		     struct nvme_drv *d, struct vfio_pci_device *dev)
{
	/* The IOVA allocator hands out power-of-2 sizes. */
	static_assert(MEM_PAGES * PAGE <= SZ_1M);
	d->mem.size = SZ_1M;
	d->mem.vaddr = mmap(NULL, d->mem.size, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (d->mem.vaddr == MAP_FAILED)
		return -ENOMEM;
	d->mem.iova = iova_allocator_alloc(self->iovas, d->mem.size);
	iommu_map(self->iommu, &d->mem);
	d->seed = (u32)now_ns() ^ (u32)(uintptr_t)d;
	return nvme_enable(d, dev, 1);
}

static void drv_stop(struct _test_data_nvme_migration *self, struct nvme_drv *d)
{
	if (d->mem.vaddr && d->mem.vaddr != MAP_FAILED) {
		iommu_unmap(self->iommu, &d->mem);
		munmap(d->mem.vaddr, d->mem.size);
	}
}

FIXTURE_SETUP(nvme_migration)
{
	struct nvme_drv *d = &self->drv;
	int ret;

	self->iommu = iommu_init(MODE_IOMMUFD);
	self->iovas = iova_allocator_init(self->iommu);
	self->a = vfio_pci_device_init(device_bdfs[0], self->iommu);
	self->b = vfio_pci_device_init(device_bdfs[1], self->iommu);
	while (self->nmore < MAX_MORE && self->nmore + 2 < nr_bdfs) {
		self->more[self->nmore] =
			vfio_pci_device_init(device_bdfs[self->nmore + 2], self->iommu);
		self->nmore++;
	}

	self->flags = mig_flags(self->a) & mig_flags(self->b);

	ret = drv_start(self, d, self->a);
	ASSERT_EQ(0, ret) TH_LOG("enabling the controller of %s: %d", self->a->bdf, ret);
	ksft_print_msg("%s: controller enabled: admin and I/O queue 1, %d entries, LBA %u bytes\n",
		       self->a->bdf, QDEPTH, 1u << d->lba_shift);
}

FIXTURE_TEARDOWN(nvme_migration)
{
	int i;

	/* Closing the devices resets them: no DMA reaches the memory after. */
	for (i = self->nmore - 1; i >= 0; i--)
		vfio_pci_device_cleanup(self->more[i]);
	vfio_pci_device_cleanup(self->b);
	vfio_pci_device_cleanup(self->a);
	drv_stop(self, &self->drv2);
	drv_stop(self, &self->drv);
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

/*
 * Migrate A, with @inflight commands after block @n, to B through STOP_COPY;
 * the saved CQ tail must be @cq_tail unless that is negative.
 */
static void stop_copy_a_to_b(struct __test_metadata *_metadata,
			     struct _test_data_nvme_migration *self, int n,
			     int inflight, int cq_tail)
{
	struct nvme_drv *d = &self->drv;
	struct io_state st;
	u64 size, t;
	ssize_t len;
	u8 *stream;
	int fd;

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
	if (cq_tail >= 0)
		ASSERT_EQ(cq_tail, st.cq_tail);
	/*
	 * S0PT is the Phase Tag of the entry in slot 0, which this driver's
	 * memory holds: not the phase of the next entry, which differs while
	 * the tail is at slot 0.
	 */
	ASSERT_EQ(READ_ONCE(d->io.cq[0].status) & 1, st.cq_s0pt);

	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, close(fd));

	resume_on_b(_metadata, self, stream, len, n + inflight, inflight);
	free(stream);
}

TEST_F(nvme_migration, stop_copy)
{
	if (!(self->flags & VFIO_MIGRATION_STOP_COPY))
		SKIP(return, "the VFs cannot migrate");

	stop_copy_a_to_b(_metadata, self, 40, 3, -1);
}

/* An I/O CQ that never posted: its tail and slot 0's phase tag are 0 */
TEST_F(nvme_migration, idle_cq)
{
	if (!(self->flags & VFIO_MIGRATION_STOP_COPY))
		SKIP(return, "the VFs cannot migrate");

	stop_copy_a_to_b(_metadata, self, 0, 0, 0);
}

/* An I/O CQ that just wrapped: its tail is 0, slot 0's phase tag is 1 */
TEST_F(nvme_migration, wrapped_cq)
{
	if (!(self->flags & VFIO_MIGRATION_STOP_COPY))
		SKIP(return, "the VFs cannot migrate");

	stop_copy_a_to_b(_metadata, self, QDEPTH, 0, 0);
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
	/*
	 * At least the stream of a state with just its header: the 64-byte
	 * compatibility record, and 24 + 48 + 8 bytes of state record
	 */
	ASSERT_GE(running, 144);
	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, mig_data_size(self->a, &stopped));
	/* Of an idle controller: a size while running is a lower bound */
	ASSERT_LE(running, stopped);
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

/* --- Malformed streams through a resume fd --- */

/* CRC32C as the stream uses it: reflected, no inversion of its own */
static u32 crc32c(u32 crc, const u8 *p, size_t n)
{
	int k;

	while (n--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0x82f63b78 & -(crc & 1));
	}
	return crc;
}

/* Recompute the CRC of the @len-byte record at @rec */
static void set_crc(u8 *rec, size_t len)
{
	u32 crc = ~crc32c(~0u, rec, len - REC_TAIL);

	memcpy(rec + len - REC_TAIL, &crc, sizeof(crc));
}

static void put_le(u8 *p, int bytes, u64 v)
{
	while (bytes--) {
		*p++ = v;
		v >>= 8;
	}
}

/* splitmix64 */
static u64 rnd(u64 *s)
{
	u64 z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t below(u64 *s, size_t n)
{
	return n ? rnd(s) % n : 0;
}

#define COMPAT_LEN	64			/* the compatibility record */
#define CS		(COMPAT_LEN + REC_HDR)	/* the Controller State */

/*
 * Fields of a valid stream that make it invalid when one of them alone
 * changes (offset, size): the record headers, the compatibility
 * description but its state size, the Controller State section sizes and
 * the version of the NVMe-defined state.
 */
static const struct { size_t off, size; } pinned[] = {
	{ 0, 4 }, { 4, 2 }, { 6, 2 }, { 8, 4 }, { 12, 4 }, { 16, 8 },
	{ COMPAT_LEN, 4 }, { COMPAT_LEN + 4, 2 }, { COMPAT_LEN + 6, 2 },
	{ COMPAT_LEN + 8, 4 }, { COMPAT_LEN + 12, 4 }, { COMPAT_LEN + 16, 8 },
	{ REC_HDR, 2 }, { REC_HDR + 2, 1 }, { REC_HDR + 3, 5 },
	{ REC_HDR + 16, 16 }, { CS + 16, 16 }, { CS + 32, 16 }, { CS + 48, 2 },
};

struct fuzz_buf {
	u8 *p;
	size_t len;
	size_t cap;
	size_t limit;	/* max_state_size of the driver */
};

static void buf_insert(struct fuzz_buf *b, size_t at, const u8 *src, size_t n)
{
	if (b->cap - b->len < n)
		return;
	memmove(b->p + at + n, b->p + at, b->len - at);
	memcpy(b->p + at, src, n);
	b->len += n;
}

static void buf_delete(struct fuzz_buf *b, size_t at, size_t n)
{
	memmove(b->p + at, b->p + at + n, b->len - at - n);
	b->len -= n;
}

/* A pinned field changed, with the CRCs made to match */
static void change_pinned(u64 *s, struct fuzz_buf *b)
{
	size_t i = below(s, ARRAY_SIZE(pinned));

	b->p[pinned[i].off + below(s, pinned[i].size)] ^= 1 + below(s, 255);
	set_crc(b->p, COMPAT_LEN);
	set_crc(b->p + COMPAT_LEN, b->len - COMPAT_LEN);
}

/* The state not suspended, or more queues than it holds, its CRC made to match */
static void change_state(u64 *s, struct fuzz_buf *b)
{
	if (below(s, 2))
		b->p[CS + 2] &= ~1;
	else
		put_le(b->p + CS + 50, 2, 0xffff);
	set_crc(b->p + COMPAT_LEN, b->len - COMPAT_LEN);
}

/* Random bytes appended, or inserted at @at */
static void insert_bytes(u64 *s, struct fuzz_buf *b, size_t at)
{
	u8 tmp[COMPAT_LEN];
	size_t n, i;

	n = 1 + below(s, sizeof(tmp));
	for (i = 0; i < n; i++)
		tmp[i] = rnd(s);
	buf_insert(b, below(s, 2) ? b->len : at, tmp, n);
}

/* A run of bytes from @at moved elsewhere */
static void move_bytes(u64 *s, struct fuzz_buf *b, size_t at)
{
	u8 tmp[COMPAT_LEN];
	size_t n;

	n = 1 + below(s, b->len - at < sizeof(tmp) ? b->len - at : sizeof(tmp));
	memcpy(tmp, b->p + at, n);
	buf_delete(b, at, n);
	buf_insert(b, below(s, b->len + 1), tmp, n);
}

/* The compatibility record moved after the state record */
static void swap_records(struct fuzz_buf *b)
{
	u8 tmp[COMPAT_LEN];

	if (b->len > COMPAT_LEN) {
		memcpy(tmp, b->p, COMPAT_LEN);
		buf_delete(b, 0, COMPAT_LEN);
		buf_insert(b, b->len, tmp, COMPAT_LEN);
	}
}

/* The compatibility record twice */
static void double_compat(struct fuzz_buf *b)
{
	u8 tmp[COMPAT_LEN];

	if (b->len >= COMPAT_LEN) {
		memcpy(tmp, b->p, COMPAT_LEN);
		buf_insert(b, 0, tmp, COMPAT_LEN);
	}
}

/*
 * One mutation that leaves no valid stream: a pinned field changed with the
 * CRC made to match, bits flipped, bytes changed, inserted, deleted or
 * moved, the stream cut or extended, a record length set to 0, all ones, an
 * overflowing value, the limit or just past it, the records swapped or the
 * first one doubled.
 */
static void mutate(u64 *s, struct fuzz_buf *b, const u8 *orig, size_t orig_len)
{
	/* A CRC made to match must not make an earlier change valid */
	bool pristine = b->len == orig_len && !memcmp(b->p, orig, orig_len);
	const u64 lengths[] = {
		0, ~0ull, 1ull << 63, ~0ull - REC_HDR - REC_TAIL + 1,
		b->limit + REC_HDR + REC_TAIL, b->limit + REC_HDR + REC_TAIL + 1,
		rnd(s) & 0xffffffff,
	};
	size_t at = below(s, b->len), i;

	switch (b->len ? below(s, 11) : 4) {
	case 0:
		if (pristine)
			change_pinned(s, b);
		break;
	case 1:
		for (i = 1 + below(s, 8); i; i--)
			b->p[below(s, b->len)] ^= 1 << below(s, 8);
		break;
	case 2:
		for (i = 1 + below(s, 4); i; i--)
			b->p[below(s, b->len)] = rnd(s);
		break;
	case 3:
		b->len = at;
		break;
	case 4:
		insert_bytes(s, b, at);
		break;
	case 5:
		buf_delete(b, at, 1 + below(s, b->len - at < 16 ? b->len - at : 16));
		break;
	case 6:	/* a record length, the CRC left alone */
		at = below(s, 2) ? 16 : COMPAT_LEN + 16;
		if (b->len >= at + 8)
			put_le(b->p + at, 8, lengths[below(s, ARRAY_SIZE(lengths))]);
		break;
	case 7:
		swap_records(b);
		break;
	case 8:
		double_compat(b);
		break;
	case 9:
		if (pristine)
			change_state(s, b);
		break;
	default:
		move_bytes(s, b, at);
		break;
	}
}

/* Write @len bytes in random pieces; 0 or the -errno of the first failure */
static int write_pieces(u64 *s, int fd, const u8 *p, size_t len)
{
	size_t n;
	ssize_t w;

	while (len) {
		n = below(s, 3) ? 1 + below(s, len) : len;
		w = write(fd, p, n);
		if (w < 0)
			return -errno;
		p += w;
		len -= w;
	}
	return 0;
}

struct fuzz_stats {
	u32 tried;
	u32 write_rejected;
	u32 stop_rejected;
	u32 accepted;
	u32 left_resuming;
	u32 left_error;
	u32 bad;
};

/* The driver's limit on a controller state, its default if unreadable */
static size_t driver_max_state(void)
{
	FILE *f = fopen("/sys/module/nvme_vfio_pci/parameters/max_state_size",
			"r");
	unsigned long v = SZ_16M;

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = SZ_16M;
		fclose(f);
	}
	return v;
}

/* Into @b, one mutation of @orig or several, until it differs from @orig */
static void malform(u64 *s, struct fuzz_buf *b, const u8 *orig, size_t len)
{
	do {
		memcpy(b->p, orig, len);
		b->len = len;
		mutate(s, b, orig, len);
		while (below(s, 3) == 0)
			mutate(s, b, orig, len);
	} while (b->len == len && !memcmp(b->p, orig, len));
}

/* Count the state a refused stream left @dev in: RESUMING, ERROR or bad */
static void count_left_state(struct vfio_pci_device *dev, struct fuzz_stats *st)
{
	u32 state;

	if (mig_get(dev, &state))
		st->bad++;
	else if (state == VFIO_DEVICE_STATE_RESUMING)
		st->left_resuming++;
	else if (state == VFIO_DEVICE_STATE_ERROR)
		st->left_error++;
	else
		st->bad++;
}

/*
 * Write @b, malformed stream number @i of @seed, to a resume fd of @dev and
 * count how it was refused, then reset @dev; -EIO if @dev cannot even enter
 * RESUMING.
 */
static int fuzz_stream(struct vfio_pci_device *dev, u64 *s,
		       const struct fuzz_buf *b, u64 seed, u32 i,
		       struct fuzz_stats *st)
{
	int werr, serr, fd;
	u32 state;

	if (mig_set_quiet(dev, VFIO_DEVICE_STATE_RESUMING, &fd)) {
		ksft_print_msg("%s: stream %u: cannot enter RESUMING: %s\n",
			       dev->bdf, i, strerror(errno));
		st->bad++;
		return -EIO;
	}
	st->tried++;
	werr = write_pieces(s, fd, b->p, b->len);
	serr = mig_set_quiet(dev, VFIO_DEVICE_STATE_STOP, NULL);
	if (!werr && !serr) {
		ksft_print_msg("%s: stream %u (%zu bytes, seed %#llx) was accepted\n",
			       dev->bdf, i, b->len, (unsigned long long)seed);
		st->accepted++;
	} else if (werr) {
		st->write_rejected++;
	} else {
		st->stop_rejected++;
	}
	if ((werr && werr != -EINVAL) || serr != -EINVAL) {
		ksft_print_msg("%s: stream %u: write %s, RESUMING -> STOP %s\n",
			       dev->bdf, i, strerror(-werr), strerror(-serr));
		st->bad++;
	}
	count_left_state(dev, st);
	close(fd);
	if (__vfio_pci_device_reset(dev) || mig_get(dev, &state) ||
	    state != VFIO_DEVICE_STATE_RUNNING) {
		ksft_print_msg("%s: stream %u: %s\n", dev->bdf, i,
			       "a reset does not bring the device back to RUNNING");
		st->bad++;
	}
	return 0;
}

/*
 * Write malformed streams number @first, @first + @step, ... below @count,
 * each a mutation of @orig, to resume fds of @dev; each must be refused by
 * a write or by RESUMING -> STOP, leave the device in RESUMING (or ERROR),
 * and a reset must bring it back to RUNNING.
 */
static void fuzz_worker(struct vfio_pci_device *dev, const u8 *orig, size_t len,
			u64 seed, u32 first, u32 step, u32 count,
			struct fuzz_stats *st)
{
	struct fuzz_buf b = { .cap = 2 * len + 256, .limit = driver_max_state() };
	u64 s, t = now_ns();
	u32 i;

	b.p = malloc(b.cap);
	if (!b.p) {
		st->bad++;
		return;
	}
	for (i = first; i < count && st->bad < 5; i += step) {
		s = seed + i;
		malform(&s, &b, orig, len);
		if (fuzz_stream(dev, &s, &b, seed, i, st))
			break;
		if (st->tried % 1000 == 0)
			ksft_print_msg("%s: %u streams refused in %.1f s\n", dev->bdf,
				       st->tried, (now_ns() - t) / 1e9);
	}
	free(b.p);
}

static u64 env_u64(const char *name, u64 def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

/* Add the figures of one worker, @w, to @sum */
static void add_stats(struct fuzz_stats *sum, const struct fuzz_stats *w)
{
	sum->tried += w->tried;
	sum->write_rejected += w->write_rejected;
	sum->stop_rejected += w->stop_rejected;
	sum->accepted += w->accepted;
	sum->left_resuming += w->left_resuming;
	sum->left_error += w->left_error;
	sum->bad += w->bad;
}

static void print_fuzz_stats(const struct fuzz_stats *sum)
{
	ksft_print_msg("STAT: malformed streams written to a resume fd: %u\n", sum->tried);
	ksft_print_msg("STAT: malformed streams refused by a write: %u\n",
		       sum->write_rejected);
	ksft_print_msg("STAT: malformed streams refused when RESUMING ended: %u\n",
		       sum->stop_rejected);
	ksft_print_msg("STAT: malformed streams accepted: %u\n", sum->accepted);
	ksft_print_msg("devices left in RESUMING: %u, in ERROR: %u\n",
		       sum->left_resuming, sum->left_error);
}

/*
 * Write @count mutations of @stream, seeded from @seed, to the resume fds
 * of A, B and the further VFs, one process per VF; @sum gets the figures
 * of them all.
 */
static void fuzz_vfs(struct __test_metadata *_metadata,
		     struct _test_data_nvme_migration *self, const u8 *stream,
		     ssize_t len, u64 seed, u32 count, struct fuzz_stats *sum)
{
	struct vfio_pci_device *targets[2 + MAX_MORE];
	struct fuzz_stats *st;
	int status;
	u32 w, nw;
	pid_t pid;
	u64 t;

	/* A too: its controller starts afresh for the migration at the end */
	targets[0] = self->a;
	targets[1] = self->b;
	for (nw = 2; nw < 2 + (u32)self->nmore; nw++)
		targets[nw] = self->more[nw - 2];
	st = mmap(NULL, nw * sizeof(*st), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, st);
	memset(st, 0, nw * sizeof(*st));

	ksft_print_msg("%u malformed streams from a %zd-byte stream of %s, seed %#llx, on %u VFs\n",
		       count, len, self->a->bdf, (unsigned long long)seed, nw);
	t = now_ns();
	fflush(stdout);
	for (w = 0; w < nw; w++) {
		pid = fork();
		ASSERT_GE(pid, 0);
		if (!pid) {
			fuzz_worker(targets[w], stream, len, seed, w, nw, count, &st[w]);
			fflush(stdout);
			_exit(0);
		}
	}
	for (w = 0; w < nw; w++) {
		ASSERT_GT(wait(&status), 0);
		ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	}
	for (w = 0; w < nw; w++)
		add_stats(sum, &st[w]);
	munmap(st, nw * sizeof(*st));
	ksft_print_msg("%u streams in %.1f s\n", sum->tried, (now_ns() - t) / 1e9);
}

/*
 * Malformed streams (NVME_FUZZ_STREAMS, default 10000, from the seed
 * NVME_FUZZ_SEED), mutations of a real stream that A saves, written to the
 * resume fds of A, B and the further VFs, one process per VF; then A
 * migrates to B for real.
 */
TEST_F_TIMEOUT(nvme_migration, resume_fuzz, 3600)
{
	u32 count = env_u64("NVME_FUZZ_STREAMS", 10000);
	u64 seed = env_u64("NVME_FUZZ_SEED", 0x6e766d6566757a7a);
	struct fuzz_stats sum = {};
	ssize_t len;
	u8 *stream;
	int fd;

	if (!(self->flags & VFIO_MIGRATION_STOP_COPY))
		SKIP(return, "the VFs cannot migrate");

	/* A real stream: A's live queue, saved, and A running again */
	run_on_a(_metadata, self, 8, 0);
	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_STOP_COPY, &fd));
	len = read_all(fd, &stream);
	ASSERT_GT(len, CS + 56);
	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_RUNNING, NULL));
	ASSERT_EQ(0, close(fd));

	fuzz_vfs(_metadata, self, stream, len, seed, count, &sum);
	free(stream);
	print_fuzz_stats(&sum);
	ASSERT_EQ(count, sum.tried);
	ASSERT_EQ(0, sum.accepted);
	ASSERT_EQ(0, sum.bad);
	ASSERT_EQ(count, sum.write_rejected + sum.stop_rejected);

	/* A and B, after all these streams, still migrate */
	ASSERT_EQ(0, nvme_enable(&self->drv, self->a, 1));
	stop_copy_a_to_b(_metadata, self, 40, 3, -1);
}

/* --- Isolation: what the owner of one VF can do to other controllers --- */

/* Blocks of the shared namespace each driver writes: A the low half */
#define A_BLOCKS	(NBLOCKS / 2)

/* Write blocks [@first, @last) on @d's I/O queue, @d running on a bystander */
static int bystander_io(struct nvme_drv *d, int first, int last)
{
	return nvme_io_range(d, A_BLOCKS + first, A_BLOCKS + last, true, 7);
}

/*
 * On its own admin queue, A's owner sends the commands that suspend, read,
 * load, resume, take offline or give resources to a secondary controller,
 * naming every controller ID: each fails, as a secondary controller must
 * fail the primary controller's commands, and reads nothing. B, with a
 * driver of its own, goes on doing I/O.
 *
 * This checks the device, here QEMU's model, not the kernel: the commands
 * go from user space to the VF's own admin queue, which nvme-vfio-pci does
 * not see, and the driver cannot enforce the isolation; a device that
 * obeyed them would fail this test whatever the driver does.
 */
TEST_F(nvme_migration, isolation_admin)
{
	static const struct {
		u8 opcode;
		u32 cdw10;
		u32 cdw11;
		bool id_in_cdw10;
		const char *name;
	} cmds[] = {
		{ NVME_ADM_MIG_SEND, 0, 1 << 16, false, "Migration Send (Suspend)" },
		{ NVME_ADM_MIG_SEND, 1, 0, false, "Migration Send (Resume)" },
		{ NVME_ADM_MIG_SEND, 2 | 3 << 16, 1 << 16, false,
		  "Migration Send (Set Controller State)" },
		{ NVME_ADM_MIG_RECV, 0, 0, false, "Migration Receive (Get Controller State)" },
		{ NVME_ADM_VIRT_MGMT, 7, 0, true, "Virtualization Management (Secondary Offline)" },
		{ NVME_ADM_VIRT_MGMT, 8, 1, true, "Virtualization Management (Secondary Assign)" },
	};
	struct nvme_drv *d = &self->drv, *db = &self->drv2;
	u8 *buf = mem_page(d, MEM_ID);
	unsigned int i, id, j;
	struct nvme_sqe sqe;
	int ret, status = 0;

	ASSERT_EQ(0, drv_start(self, db, self->b));
	ASSERT_EQ(0, bystander_io(db, 0, 16));

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		for (id = 0; id < 32; id++) {
			memset(buf, 0xa5, PAGE);
			memset(&sqe, 0, sizeof(sqe));
			sqe.opcode = cmds[i].opcode;
			sqe.prp1 = mem_iova(d, MEM_ID);
			sqe.cdw10 = cmds[i].cdw10 | (cmds[i].id_in_cdw10 ? id << 16 : 0);
			sqe.cdw11 = cmds[i].cdw11 | (cmds[i].id_in_cdw10 ? 0 : id);
			sqe.cdw15 = PAGE / 4 - 1;
			ret = nvme_sync(d, &d->admin, &sqe);
			ASSERT_GT(ret, 0)
				TH_LOG("%s for controller %u: %d", cmds[i].name, id, ret);
			if (!id)
				status = ret;
			/* Nothing was read from another controller */
			for (j = 0; j < PAGE && buf[j] == 0xa5; j++)
				;
			ASSERT_EQ(PAGE, j);
		}
		ksft_print_msg("%s: %s, for controller IDs 0-31: failed, status %#x for ID 0\n",
			       self->a->bdf, cmds[i].name, status);
	}
	ksft_print_msg("STAT: admin commands a VF sent at other controllers: %zu\n",
		       ARRAY_SIZE(cmds) * 32);

	/* Neither the bystander nor A itself was touched */
	ASSERT_EQ(0, bystander_io(db, 16, 32));
	ASSERT_EQ(0, nvme_io_range(d, 0, 16, true, 7));
	ASSERT_EQ(0, nvme_verify_range(db, A_BLOCKS, A_BLOCKS + 32));
	ASSERT_EQ(0, nvme_verify_range(d, 0, 16));
	ksft_print_msg("%s: the bystander wrote and verified its 32 blocks throughout\n",
		       self->b->bdf);
}

/*
 * Save A's stream into @sa while @dc, the driver on the bystander C, writes
 * its blocks 12-23; @st gets what the stream carries. Returns its length.
 */
static ssize_t save_a_beside_c(struct __test_metadata *_metadata,
			       struct _test_data_nvme_migration *self,
			       struct nvme_drv *dc, u8 **sa, struct io_state *st)
{
	ssize_t la;
	int fd;

	/* Saving A stops A only: C goes on while A is suspended */
	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_STOP_COPY, &fd));
	ASSERT_EQ(0, bystander_io(dc, 12, 24));
	la = read_all(fd, sa);
	ASSERT_GT(la, 0);
	ASSERT_EQ(0, decode_stream(*sa, la, st));
	/* A's stream holds A's queue */
	ASSERT_EQ(self->drv.io.sq_iova, st->sq_prp1);
	ASSERT_EQ(0, mig_set(self->a, VFIO_DEVICE_STATE_RUNNING, NULL));
	ASSERT_EQ(0, close(fd));
	return la;
}

/* B's controller, saved, holds the queue of A's state @sa_st */
static void check_b_holds(struct __test_metadata *_metadata,
			  struct _test_data_nvme_migration *self,
			  const struct io_state *sa_st)
{
	struct io_state sb_st;
	ssize_t lb;
	u8 *sb;
	int fd;

	ASSERT_EQ(0, mig_set(self->b, VFIO_DEVICE_STATE_STOP_COPY, &fd));
	lb = read_all(fd, &sb);
	ASSERT_GT(lb, 0);
	ASSERT_EQ(0, decode_stream(sb, lb, &sb_st));
	ASSERT_EQ(sa_st->nsq, sb_st.nsq);
	ASSERT_EQ(sa_st->sq_prp1, sb_st.sq_prp1);
	ASSERT_EQ(sa_st->cq_prp1, sb_st.cq_prp1);
	ASSERT_EQ(sa_st->sq_tail, sb_st.sq_tail);
	ASSERT_EQ(sa_st->cq_head, sb_st.cq_head);
	ASSERT_EQ(0, mig_set(self->b, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, close(fd));
	free(sb);
}

/*
 * Write A's stream @sa to B with each of the controller IDs 1-15 in each
 * field where an ID could hide, and count the streams refused and those B
 * loaded: where the format has room for an ID, each must be refused.
 */
static void replay_hidden_ids(struct __test_metadata *_metadata,
			      struct _test_data_nvme_migration *self,
			      const u8 *sa, ssize_t la)
{
	/* Where an ID could hide: offset, bytes */
	static const struct { size_t off, size; bool refused; } hides[] = {
		{ 8, 4, true },			/* compatibility header flags */
		{ 12, 4, true },		/* compatibility header reserved */
		{ REC_HDR + 3, 2, true },	/* compatibility reserved */
		{ COMPAT_LEN + 8, 4, true },	/* state header flags */
		{ COMPAT_LEN + 12, 4, true },	/* state header reserved */
		{ CS + 3, 2, false },		/* Controller State reserved */
	};
	u32 refused = 0, loaded = 0;
	int fd, werr, serr;
	unsigned int i, id;
	u8 *crafted;

	crafted = malloc(la);
	ASSERT_NE(NULL, crafted);
	for (i = 0; i < ARRAY_SIZE(hides); i++) {
		for (id = 1; id < 16; id++) {
			memcpy(crafted, sa, la);
			put_le(crafted + hides[i].off, hides[i].size, id);
			set_crc(crafted, COMPAT_LEN);
			set_crc(crafted + COMPAT_LEN, la - COMPAT_LEN);
			ASSERT_EQ(0, mig_set_quiet(self->b, VFIO_DEVICE_STATE_RESUMING, &fd));
			werr = write_all(fd, crafted, la);
			serr = mig_set_quiet(self->b, VFIO_DEVICE_STATE_STOP, NULL);
			ASSERT_EQ(0, close(fd));
			if (hides[i].refused) {
				ASSERT_TRUE(werr == -EINVAL || serr == -EINVAL)
					TH_LOG("ID %u at offset %zu: write %d, stop %d",
					       id, hides[i].off, werr, serr);
				refused++;
			} else if (!werr && !serr) {
				loaded++;
			}
			ASSERT_EQ(0, __vfio_pci_device_reset(self->b));
		}
	}
	free(crafted);
	ksft_print_msg("streams naming controllers 1-15 in reserved fields: %u refused\n",
		       refused);
	ksft_print_msg("in the Controller State's reserved bytes: %u of 15 loaded into %s\n",
		       loaded, self->b->bdf);
	ksft_print_msg("STAT: streams replayed or crafted into another VF: %zu\n",
		       1 + ARRAY_SIZE(hides) * 15);
}

/*
 * A's stream replayed into B loads B's controller and no other: A and a
 * bystander C go on doing I/O, and B's state is A's. Streams that carry a
 * controller ID where the format has room for one (reserved fields) are
 * refused; in the reserved bytes of the Controller State, which go to the
 * controller as they are, the ID changes nothing but B either.
 */
TEST_F(nvme_migration, isolation_replay)
{
	struct nvme_drv *d = &self->drv, *dc = &self->drv2;
	struct vfio_pci_device *c;
	struct io_state sa_st;
	ssize_t la;
	u8 *sa;
	int fd;

	if (!(self->flags & VFIO_MIGRATION_STOP_COPY))
		SKIP(return, "the VFs cannot migrate");
	if (!self->nmore)
		SKIP(return, "needs a third VF (BDF_C)");
	c = self->more[0];

	ASSERT_EQ(0, drv_start(self, dc, c));
	ASSERT_EQ(0, bystander_io(dc, 0, 12));
	run_on_a(_metadata, self, 12, 0);
	la = save_a_beside_c(_metadata, self, dc, &sa, &sa_st);

	/* Replayed into B */
	ASSERT_EQ(0, mig_set(self->b, VFIO_DEVICE_STATE_RESUMING, &fd));
	ASSERT_EQ(0, write_all(fd, sa, la));
	ASSERT_EQ(0, mig_set(self->b, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, nvme_io_range(d, 12, 24, true, 7));
	ASSERT_EQ(0, bystander_io(dc, 24, 36));
	ksft_print_msg("%s and %s went on with their I/O after the replay into %s\n",
		       self->a->bdf, c->bdf, self->b->bdf);

	/* B's controller now holds A's queue */
	check_b_holds(_metadata, self, &sa_st);
	/* B must not run A's queue: a reset gives it a fresh controller */
	ASSERT_EQ(0, __vfio_pci_device_reset(self->b));

	/* Controller IDs hidden in the stream */
	replay_hidden_ids(_metadata, self, sa, la);

	/* A and C never noticed */
	ASSERT_EQ(0, nvme_io_range(d, 24, 36, true, 7));
	ASSERT_EQ(0, bystander_io(dc, 36, 48));
	ASSERT_EQ(0, nvme_verify_range(d, 0, 36));
	ASSERT_EQ(0, nvme_verify_range(dc, A_BLOCKS, A_BLOCKS + 48));
	ksft_print_msg("%s and %s read back and verified all their blocks\n",
		       self->a->bdf, c->bdf);
	free(sa);
}

int main(int argc, char *argv[])
{
	int nr;

	device_bdfs = vfio_selftests_get_bdfs(&argc, argv, &nr);
	if (nr < 2) {
		fprintf(stderr, "usage: %s [options] BDF_A BDF_B [BDF_C [BDF_D]]\n",
			argv[0]);
		return KSFT_SKIP;
	}
	nr_bdfs = nr;
	return test_harness_run(argc, argv);
}
