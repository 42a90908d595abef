// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmark of the live migration of NVMe VFs (nvme-vfio-pci): the device's
 * share of a migration's downtime, against the floor of the same PF
 * commands issued back to back from userspace.
 *
 * VF A runs the userspace NVMe driver with each of the given numbers of I/O
 * queue pairs and migrates to VF B and back, REPS times for each number.
 * Each migration times the arcs of the downtime: on the source
 * RUNNING->RUNNING_P2P, ->STOP, STOP->STOP_COPY with the read of the data
 * fd to its end; on the destination STOP->RESUMING with the write of the
 * stream, RESUMING->STOP, STOP->RUNNING. The floor is the same state moved
 * by the same commands (Migration Send Suspend, Migration Receive Get
 * Controller State, Migration Send Set Controller State and Resume),
 * issued through the NVMe admin passthrough of the PF, in the chunks
 * nvme-pci uses. Also measured: the Migration Send and Receive commands of
 * each migration, from the counters of QEMU's NVMe model (over QMP); the
 * kernel memory the migration holds, as charged to this process' memory
 * cgroup; and PAIRS pairs of VFs migrating at once against the same pairs
 * one after the other.
 *
 * usage: vfio_pci_nvme_migration_bench -p /dev/nvmeN -s SCID_A,SCID_B -c CHUNK
 *            [-q 1,16,...] [-r REPS] [-o FILE] BDF_A BDF_B [BDF_SRC BDF_DST]...
 *   -p  the PF's controller, for the floor
 *   -s  the secondary controller IDs of A and B
 *   -c  the largest transfer of the PF's admin queue in bytes, as nvme-pci
 *       chunks the controller state (its MDTS, at most 1 MiB)
 *   -q  I/O queue pair counts for A (default 1)
 *   -r  migrations per count (default 50)
 *   -o  file for the figures as JSON, FILE.dat gets them for gnuplot
 * The pairs after A and B migrate at once with A and B (without a further
 * pair there is no concurrent run). Prints the figures as a table. The
 * memory figures need a memory cgroup of this process' own.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/nvme_ioctl.h>
#include <linux/sizes.h>

#include <libvfio.h>

#include "lib/drivers/nvme/nvme.h"
#include "vfio_pci_nvme_mig.h"
#include "vfio_pci_nvme_qmp.h"

#define MAX_COUNTS	8
#define MAX_PAIRS	32
#define STREAM_MAX	SZ_4M
/* The stream around the controller state: compatibility record, state record */
#define STREAM_OVERHEAD	(64 + 24 + 8)
/* memcg flushes its statistics into memory.stat at least this often */
#define MEMCG_FLUSH_US	2500000

/* The userspace driver's own memory; the IOVA allocator takes powers of 2 */
static_assert(MEM_PAGES * PAGE <= SZ_1M);

/*
 * The figures taken from each migration: the driver's arcs and their sum,
 * then the floor's commands and their sum.
 */
enum col {
	ARC_P2P, ARC_STOP, ARC_SAVE, ARC_RESUMING, ARC_LOAD, ARC_RUN,
	DRIVER,
	FLOOR_SUSPEND, FLOOR_GET, FLOOR_SET, FLOOR_RESUME,
	FLOOR,
	NR_COLS,
};

static const char *const col_names[NR_COLS] = {
	"src RUNNING->RUNNING_P2P", "src RUNNING_P2P->STOP",
	"src STOP->STOP_COPY+read", "dst STOP->RESUMING+write",
	"dst RESUMING->STOP", "dst STOP->RUNNING", "driver (sum)",
	"floor Suspend", "floor Get Controller State",
	"floor Set Controller State", "floor Resume", "floor (sum)",
};

struct opts {
	const char *pf;
	int scid[2];
	size_t chunk;
	int counts[MAX_COUNTS];
	int ncounts;
	int reps;
	const char *out;
};

/* A pair of VFs: the source runs a userspace driver */
struct pair {
	struct vfio_pci_device *dev[2];
	struct nvme_drv drv;
	int src;		/* which of @dev holds the state now */
	u8 *stream;
};

struct stats {
	double median, p10, p90;
};

struct result {
	int queues;
	size_t state;
	struct stats col[NR_COLS];
	double sends, recvs;
	long min_cmds;
	long mem_src, mem_dst, mem_after;
};

static struct iommu *iommu;
static struct iova_allocator *iovas;

static void die(const char *what, int err)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Median and 10th/90th percentiles of @n samples in ns, in ms */
static struct stats stats_of(u64 *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return (struct stats){ v[n / 2] / 1e6, v[(n - 1) / 10] / 1e6,
			       v[(n - 1) * 9 / 10] / 1e6 };
}

static void map_region(struct dma_region *r, size_t size)
{
	r->size = size;
	r->vaddr = mmap(NULL, size, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r->vaddr == MAP_FAILED)
		die("mmap", errno);
	r->iova = iova_allocator_alloc(iovas, size);
	iommu_map(iommu, r);
}

static size_t pow2_at_least(size_t n)
{
	size_t p = PAGE;

	while (p < n)
		p <<= 1;
	return p;
}

/*
 * Enable @p's source with @nr I/O queue pairs: pair 1 in the driver's own
 * memory, the others in @qmem, two pages each.
 */
static void enable_queues(struct pair *p, struct dma_region *qmem, int nr)
{
	struct nvme_queue q;
	int i, ret;

	ret = nvme_enable(&p->drv, p->dev[p->src], nr);
	if (ret)
		die("enabling the controller", ret);
	for (i = 2; i <= nr; i++) {
		q.qid = i;
		q.sq_iova = qmem->iova + (size_t)(2 * (i - 2)) * PAGE;
		q.cq_iova = q.sq_iova + PAGE;
		ret = nvme_create_pair(&p->drv, &q, 2);
		if (ret)
			die("creating an I/O queue pair", ret);
	}
}

static void set_state(struct vfio_pci_device *dev, u32 state, int *fd)
{
	int ret, unused;

	ret = mig_set(dev->fd, state, fd ? fd : &unused);
	if (ret) {
		fprintf(stderr, "bench: %s -> %s: %s\n", dev->bdf,
			state_name(state), strerror(-ret));
		exit(1);
	}
}

static u64 timed_set(struct vfio_pci_device *dev, u32 state, int *fd)
{
	u64 t = now_ns();

	set_state(dev, state, fd);
	return now_ns() - t;
}

/* --- Kernel memory charged to this process' memory cgroup --- */

static char cgroup[256];

static void memcg_find(void)
{
	char line[256], path[320];
	FILE *f = fopen("/proc/self/cgroup", "r");

	VFIO_ASSERT_NOT_NULL(f);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "0::", 3) && strcmp(line, "0::/"))
			snprintf(cgroup, sizeof(cgroup), "/sys/fs/cgroup%s",
				 line + 3);
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/memory.high", cgroup);
	if (cgroup[0] && access(path, W_OK))
		cgroup[0] = '\0';
}

static FILE *memcg_file(const char *name, const char *mode)
{
	char path[320];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", cgroup, name);
	f = fopen(path, mode);
	VFIO_ASSERT_NOT_NULL(f, "%s\n", path);
	return f;
}

/*
 * memcg caches up to a page of slab statistics per CPU: a memory.high below
 * the usage makes it drain them, and put back to "max" it reclaims nothing
 * more.
 */
static void memcg_drain(void)
{
	long cur = 0;
	FILE *f;

	f = memcg_file("memory.current", "r");
	if (fscanf(f, "%ld", &cur) != 1)
		die("memory.current", EINVAL);
	fclose(f);
	f = memcg_file("memory.high", "w");
	fprintf(f, "%ld\n", cur > PAGE ? cur - PAGE : 0);
	fclose(f);
	f = memcg_file("memory.high", "w");
	fprintf(f, "max\n");
	fclose(f);
}

/* Slab and vmalloc bytes of the cgroup, drained and flushed */
static long kmem(void)
{
	char key[64];
	long v, sum = 0;
	FILE *f;

	if (!cgroup[0])
		return 0;
	memcg_drain();
	usleep(MEMCG_FLUSH_US);
	f = memcg_file("memory.stat", "r");
	while (fscanf(f, "%63s %ld", key, &v) == 2)
		if (!strcmp(key, "slab") || !strcmp(key, "vmalloc"))
			sum += v;
	fclose(f);
	return sum;
}

/*
 * Migrate @p from its source, in RUNNING, to the other VF, in STOP, which
 * ends in RUNNING; @t gets the time of each arc and their sum in ns. With
 * @mem, the kernel memory held is measured too (see kmem()), which makes the
 * times meaningless. Returns the length of the stream.
 */
static size_t migrate(struct pair *p, u64 t[NR_COLS], struct result *mem)
{
	struct vfio_pci_device *s = p->dev[p->src], *d = p->dev[!p->src];
	long base = mem ? kmem() : 0;
	ssize_t len;
	int fd, i;
	u64 t0;

	t[ARC_P2P] = timed_set(s, RUNNING_P2P, NULL);
	t[ARC_STOP] = timed_set(s, STOP, NULL);
	t0 = now_ns();
	set_state(s, STOP_COPY, &fd);
	len = read_fd(fd, p->stream, STREAM_MAX);
	t[ARC_SAVE] = now_ns() - t0;
	if (len < 0)
		die("reading the saving data fd", len);
	if (mem)
		mem->mem_src = kmem() - base;
	/* The old source, stopped, is the next destination */
	set_state(s, STOP, NULL);
	close(fd);
	t0 = now_ns();
	set_state(d, RESUMING, &fd);
	if (write_fd(fd, p->stream, len))
		die("writing the resuming data fd", errno);
	t[ARC_RESUMING] = now_ns() - t0;
	if (mem)
		mem->mem_dst = kmem() - base;
	t[ARC_LOAD] = timed_set(d, STOP, NULL);
	close(fd);
	t[ARC_RUN] = timed_set(d, RUNNING, NULL);
	t[DRIVER] = 0;
	for (i = ARC_P2P; i < DRIVER; i++)
		t[DRIVER] += t[i];
	if (mem)
		mem->mem_after = kmem() - base;
	p->src = !p->src;
	return len;
}

/* --- The floor: the PF's admin passthrough --- */

static int pf_fd = -1;

static int pf_cmd(u8 opcode, u32 cdw10, u32 cdw11, u64 off, void *buf,
		  u32 len, u32 numd)
{
	struct nvme_admin_cmd c = {
		.opcode = opcode,
		.addr = (uintptr_t)buf,
		.data_len = len,
		.cdw10 = cdw10,
		.cdw11 = cdw11,
		.cdw12 = (u32)off,
		.cdw13 = off >> 32,
		.cdw15 = numd,
	};
	int ret = ioctl(pf_fd, NVME_IOCTL_ADMIN_CMD, &c);

	ret = ret < 0 ? -errno : ret ? -EIO : 0;
	if (ret)
		fprintf(stderr, "bench: PF command %#x CDW10 %#x failed: %s\n",
			opcode, cdw10, strerror(-ret));
	return ret;
}

static int pf_suspend(int scid)
{
	return pf_cmd(NVME_ADM_MIG_SEND, 0, scid | 1 << 16, 0, NULL, 0, 0);
}

static int pf_resume(int scid)
{
	return pf_cmd(NVME_ADM_MIG_SEND, 1, scid, 0, NULL, 0, 0);
}

/* CSVI and CSUUIDI as the driver picks them: version 0, first vendor UUID */
static void pf_formats(int *csvi, int *csuuidi)
{
	u8 *id = calloc(1, PAGE);
	int i, ret;

	VFIO_ASSERT_NOT_NULL(id);
	ret = pf_cmd(NVME_ADM_IDENTIFY, 0x20, 0, 0, id, PAGE, 0);
	if (ret)
		die("Identify Supported Controller State Formats", ret);
	*csvi = 0;
	for (i = 0; i < id[0]; i++)
		if (!id[2 + 2 * i] && !id[3 + 2 * i])
			*csvi = i + 1;
	*csuuidi = id[1] ? 1 : 0;
	free(id);
	if (!*csvi)
		die("the PF offers no version 0 controller state", EINVAL);
}

/*
 * Move the state of controller @src to the suspended @dst with the PF's
 * passthrough; @dst ends running, @src suspended. @t gets the time of each
 * command, the chunks of a state added up, and their sum in ns.
 */
static void floor_migrate(const struct opts *o, int src, int dst, u8 *buf,
			  size_t len, int csvi, int csuuidi, u64 t[NR_COLS])
{
	size_t off, n;
	int seq, ret;
	u64 t0;

	t0 = now_ns();
	ret = pf_suspend(src);
	t[FLOOR_SUSPEND] = now_ns() - t0;
	t0 = now_ns();
	for (off = 0; !ret && off < len; off += n) {
		n = len - off < o->chunk ? len - off : o->chunk;
		ret = pf_cmd(NVME_ADM_MIG_RECV, csvi << 16, src | csuuidi << 16,
			     off, buf + off, n, n / 4 - 1);
	}
	t[FLOOR_GET] = now_ns() - t0;
	t0 = now_ns();
	for (off = 0; !ret && off < len; off += n) {
		n = len - off < o->chunk ? len - off : o->chunk;
		seq = (off == 0 ? 1 : 0) | (off + n == len ? 2 : 0);
		ret = pf_cmd(NVME_ADM_MIG_SEND, 2 | seq << 16,
			     dst | csvi << 16 | csuuidi << 24, off, buf + off,
			     n, n / 4);
	}
	t[FLOOR_SET] = now_ns() - t0;
	t0 = now_ns();
	if (!ret)
		ret = pf_resume(dst);
	t[FLOOR_RESUME] = now_ns() - t0;
	if (ret)
		die("the floor's commands", ret);
	t[FLOOR] = t[FLOOR_SUSPEND] + t[FLOOR_GET] + t[FLOOR_SET] +
		   t[FLOOR_RESUME];
}

/* --- One queue count --- */

static long div_up(size_t a, size_t b)
{
	return (a + b - 1) / b;
}

/*
 * The commands of ten migrations, through the driver alone, as QEMU counts
 * them; and the fewest that move @r's state: Suspend, the state read and
 * loaded in chunks, Resume.
 */
static void count_commands(const struct opts *o, struct pair *p,
			   struct result *r)
{
	u64 sample[NR_COLS], send0, recv0;
	int i;

	send0 = qom_get("lm-send-count");
	recv0 = qom_get("lm-recv-count");
	for (i = 0; i < 10; i++)
		migrate(p, sample, NULL);
	r->sends = (qom_get("lm-send-count") - send0) / 10.0;
	r->recvs = (qom_get("lm-recv-count") - recv0) / 10.0;
	r->min_cmds = 2 + 2 * div_up(r->state, o->chunk);
}

/*
 * Each migration through the driver is followed by the floor on the
 * same controllers, the state moving back. The floor leaves the
 * driver's source running and its destination suspended: commands
 * outside the timing put them back as the driver left them.
 */
static void time_migrations(const struct opts *o, struct pair *p,
			    struct result *r, int csvi, int csuuidi)
{
	u64 *t[NR_COLS], sample[NR_COLS];
	int i, c, src, dst;

	for (c = 0; c < NR_COLS; c++) {
		t[c] = calloc(o->reps, sizeof(u64));
		VFIO_ASSERT_NOT_NULL(t[c]);
	}
	for (i = 0; i < o->reps; i++) {
		migrate(p, sample, NULL);
		src = o->scid[p->src];
		dst = o->scid[!p->src];
		floor_migrate(o, src, dst, p->stream, r->state, csvi, csuuidi,
			      sample);
		if (pf_resume(src) || pf_suspend(dst))
			die("putting the controllers back", EIO);
		for (c = 0; c < NR_COLS; c++)
			t[c][i] = sample[c];
	}
	for (c = 0; c < NR_COLS; c++) {
		r->col[c] = stats_of(t[c], o->reps);
		free(t[c]);
	}
}

/* Measure the migrations of @p with @queues I/O queue pairs into @r */
static void run_count(const struct opts *o, struct pair *p, int queues,
		      struct result *r)
{
	struct dma_region qmem = {};
	u64 sample[NR_COLS];
	int i, csvi, csuuidi;
	size_t len;

	if (queues > 1)
		map_region(&qmem, pow2_at_least((size_t)2 * (queues - 1) * PAGE));

	/* A afresh with @queues pairs, B stopped */
	for (i = 0; i < 2; i++)
		VFIO_ASSERT_EQ(dev_reset(p->dev[i]->fd), 0);
	p->src = 0;
	enable_queues(p, &qmem, queues);
	set_state(p->dev[1], STOP, NULL);
	pf_formats(&csvi, &csuuidi);

	/* A migration there and back to warm up */
	len = migrate(p, sample, NULL);
	migrate(p, sample, NULL);
	r->queues = queues;
	r->state = len - STREAM_OVERHEAD;

	count_commands(o, p, r);
	time_migrations(o, p, r, csvi, csuuidi);

	/* The kernel memory one more migration holds */
	migrate(p, sample, r);

	if (qmem.vaddr) {
		for (i = 0; i < 2; i++)
			VFIO_ASSERT_EQ(dev_reset(p->dev[i]->fd), 0);
		iommu_unmap(iommu, &qmem);
		munmap(qmem.vaddr, qmem.size);
	}
}

/* --- Pairs migrating at once --- */

static pthread_barrier_t barrier;

static void *pair_thread(void *arg)
{
	struct pair *p = arg;
	u64 t[NR_COLS];

	pthread_barrier_wait(&barrier);
	migrate(p, t, NULL);
	return NULL;
}

/*
 * @n pairs migrate at once, @rounds times: the wall time of each round,
 * against the same migrations one pair after the other.
 */
static void run_pairs(struct pair *pairs, int n, int rounds, double *conc,
		      double *seq)
{
	pthread_t th[MAX_PAIRS];
	u64 *tc, *ts, t[NR_COLS], t0;
	int i, r;

	tc = calloc(rounds, sizeof(u64));
	ts = calloc(rounds, sizeof(u64));
	VFIO_ASSERT_NOT_NULL(tc);
	VFIO_ASSERT_NOT_NULL(ts);
	for (r = 0; r < rounds; r++) {
		t0 = now_ns();
		for (i = 0; i < n; i++)
			migrate(&pairs[i], t, NULL);
		ts[r] = now_ns() - t0;

		VFIO_ASSERT_EQ(pthread_barrier_init(&barrier, NULL, n + 1), 0);
		for (i = 0; i < n; i++)
			VFIO_ASSERT_EQ(pthread_create(&th[i], NULL, pair_thread,
						      &pairs[i]), 0);
		pthread_barrier_wait(&barrier);
		t0 = now_ns();
		for (i = 0; i < n; i++)
			pthread_join(th[i], NULL);
		tc[r] = now_ns() - t0;
		pthread_barrier_destroy(&barrier);
	}
	*conc = stats_of(tc, rounds).median;
	*seq = stats_of(ts, rounds).median;
	free(tc);
	free(ts);
}

/* --- Output --- */

static void print_stats(FILE *f, const char *name, struct stats s,
			const char *end)
{
	fprintf(f, "\"%s\": {\"median_ms\": %.4f, \"p10_ms\": %.4f, \"p90_ms\": %.4f}%s",
		name, s.median, s.p10, s.p90, end);
}

/* The figures as a table on stdout */
static void print_table(const struct opts *o, const struct result *res, int n,
			int npairs, double conc, double seq)
{
	const struct result *r;
	int i, a;

	printf("# migration of VF A to VF B and back, %d times per row; ms: median [p10, p90]\n",
	       o->reps);
	for (i = 0; i < n; i++) {
		r = &res[i];
		printf("# %d I/O queue pair(s), controller state %zu bytes (%ld chunks of %zu)\n",
		       r->queues, r->state, div_up(r->state, o->chunk), o->chunk);
		for (a = 0; a < NR_COLS; a++)
			printf("#   %-28s %8.3f [%.3f, %.3f]\n", col_names[a],
			       r->col[a].median, r->col[a].p10, r->col[a].p90);
	}
	printf("#\n# %7s %10s %10s %10s %8s %9s %9s %8s %10s %10s %9s\n",
	       "queues", "state B", "driver ms", "floor ms", "ratio", "sends",
	       "receives", "minimum", "src mem B", "dst mem B", "after B");
	for (i = 0; i < n; i++) {
		r = &res[i];
		printf("# %7d %10zu %10.3f %10.3f %8.3f %9.1f %9.1f %8ld %10ld %10ld %9ld\n",
		       r->queues, r->state, r->col[DRIVER].median,
		       r->col[FLOOR].median,
		       r->col[DRIVER].median / r->col[FLOOR].median, r->sends,
		       r->recvs,
		       r->min_cmds, r->mem_src, r->mem_dst, r->mem_after);
	}
	if (npairs > 1)
		printf("# %d pairs at once: %.1f ms, one after the other: %.1f ms, ratio %.3f\n",
		       npairs, conc, seq, conc / seq);
	if (!cgroup[0])
		printf("# no memory cgroup of this process' own: memory not measured\n");
}

/* The figures of one queue count, @r, as a JSON object */
static void print_json_count(FILE *f, const struct result *r, const char *end)
{
	int a;

	fprintf(f, "  {\"queues\": %d, \"state_bytes\": %zu, ", r->queues,
		r->state);
	for (a = 0; a < NR_COLS; a++)
		print_stats(f, col_names[a], r->col[a], ", ");
	fprintf(f, "\"ratio\": %.4f, \"sends_per_migration\": %.2f, ",
		r->col[DRIVER].median / r->col[FLOOR].median, r->sends);
	fprintf(f, "\"receives_per_migration\": %.2f, \"minimum_commands\": %ld, ",
		r->recvs, r->min_cmds);
	fprintf(f, "\"memory_source_bytes\": %ld, ", r->mem_src);
	fprintf(f, "\"memory_destination_bytes\": %ld, ", r->mem_dst);
	fprintf(f, "\"memory_after_bytes\": %ld}%s\n", r->mem_after, end);
}

/* The figures as JSON, into the file of -o */
static void write_json(const struct opts *o, const struct result *res, int n,
		       int npairs, double conc, double seq)
{
	FILE *f;
	int i;

	f = fopen(o->out, "w");
	VFIO_ASSERT_NOT_NULL(f);
	fprintf(f, "{\"reps\": %d, \"chunk_bytes\": %zu, \"counts\": [\n",
		o->reps, o->chunk);
	for (i = 0; i < n; i++)
		print_json_count(f, &res[i], i + 1 < n ? "," : "");
	fprintf(f, "], \"concurrent\": {\"pairs\": %d, ", npairs);
	fprintf(f, "\"at_once_ms\": %.3f, \"one_by_one_ms\": %.3f}}\n",
		conc, seq);
	fclose(f);
}

/* The driver's and the floor's downtimes per queue count, for gnuplot */
static void write_dat(const struct opts *o, const struct result *res, int n)
{
	char path[512];
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s.dat", o->out);
	f = fopen(path, "w");
	VFIO_ASSERT_NOT_NULL(f);
	fprintf(f, "# queues state_bytes driver_ms driver_p10 driver_p90");
	fprintf(f, " floor_ms floor_p10 floor_p90\n");
	for (i = 0; i < n; i++)
		fprintf(f, "%d %zu %.4f %.4f %.4f %.4f %.4f %.4f\n",
			res[i].queues, res[i].state, res[i].col[DRIVER].median,
			res[i].col[DRIVER].p10, res[i].col[DRIVER].p90,
			res[i].col[FLOOR].median, res[i].col[FLOOR].p10,
			res[i].col[FLOOR].p90);
	fclose(f);
}

static void report(const struct opts *o, const struct result *res, int n,
		   int npairs, double conc, double seq)
{
	print_table(o, res, n, npairs, conc, seq);
	if (!o->out)
		return;
	write_json(o, res, n, npairs, conc, seq);
	write_dat(o, res, n);
}

static void print_usage(const char *prog)
{
	fprintf(stderr, "usage: %s -p /dev/nvmeN -s SCID_A,SCID_B -c CHUNK\n",
		prog);
	fprintf(stderr, "\t[-q 1,16,...] [-r REPS] [-o FILE] BDF_A BDF_B [BDF_SRC BDF_DST]...\n");
	exit(2);
}

/* The options before the BDFs, which vfio_selftests_get_bdfs() took off */
static void parse_opts(int argc, char *argv[], struct opts *o)
{
	char *tok, *save;
	int opt;

	while ((opt = getopt(argc, argv, "p:s:c:q:r:o:")) != -1) {
		switch (opt) {
		case 'p':
			o->pf = optarg;
			break;
		case 's':
			if (sscanf(optarg, "%d,%d", &o->scid[0], &o->scid[1]) != 2)
				print_usage(argv[0]);
			break;
		case 'c':
			o->chunk = strtoul(optarg, NULL, 0);
			break;
		case 'q':
			o->ncounts = 0;
			for (tok = strtok_r(optarg, ",", &save);
			     tok && o->ncounts < MAX_COUNTS;
			     tok = strtok_r(NULL, ",", &save))
				o->counts[o->ncounts++] = atoi(tok);
			break;
		case 'r':
			o->reps = atoi(optarg);
			break;
		case 'o':
			o->out = optarg;
			break;
		default:
			print_usage(argv[0]);
		}
	}
}

/* Exit with the usage unless @o and the @nbdfs VFs make a benchmark */
static void check_opts(const struct opts *o, int nbdfs, const char *prog)
{
	int i;

	if (!o->scid[0] || !o->scid[1] || o->chunk < 512 || o->chunk % 4 ||
	    o->reps < 10 || nbdfs % 2 || nbdfs / 2 > MAX_PAIRS)
		print_usage(prog);
	for (i = 0; i < o->ncounts; i++)
		if (o->counts[i] < 1)
			print_usage(prog);
}

/* Open the @npairs pairs of VFs in @bdfs, each with its stream and driver memory */
static struct pair *open_pairs(char **bdfs, int npairs)
{
	struct pair *pairs;
	int i;

	pairs = calloc(npairs, sizeof(*pairs));
	VFIO_ASSERT_NOT_NULL(pairs);
	for (i = 0; i < npairs; i++) {
		pairs[i].dev[0] = vfio_pci_device_init(bdfs[2 * i], iommu);
		pairs[i].dev[1] = vfio_pci_device_init(bdfs[2 * i + 1], iommu);
		pairs[i].stream = malloc(STREAM_MAX);
		VFIO_ASSERT_NOT_NULL(pairs[i].stream);
		map_region(&pairs[i].drv.mem, SZ_1M);
	}
	return pairs;
}

static void close_pairs(struct pair *pairs, int npairs)
{
	int i;

	for (i = npairs - 1; i >= 0; i--) {
		vfio_pci_device_cleanup(pairs[i].dev[1]);
		vfio_pci_device_cleanup(pairs[i].dev[0]);
		free(pairs[i].stream);
	}
	free(pairs);
}

/* The pairs, each afresh with one I/O queue pair, at once and one by one */
static void run_concurrent(struct pair *pairs, int npairs, double *conc,
			   double *seq)
{
	int i;

	for (i = 0; i < npairs; i++) {
		pairs[i].src = 0;
		enable_queues(&pairs[i], NULL, 1);
		set_state(pairs[i].dev[1], STOP, NULL);
	}
	run_pairs(pairs, npairs, 10, conc, seq);
}

int main(int argc, char *argv[])
{
	struct opts o = { .reps = 50, .counts = { 1 }, .ncounts = 1 };
	struct result res[MAX_COUNTS];
	double conc = 0, seq = 0;
	struct pair *pairs;
	int nbdfs, npairs, i;
	char **bdfs;

	bdfs = vfio_selftests_get_bdfs(&argc, argv, &nbdfs);
	parse_opts(argc, argv, &o);
	npairs = nbdfs / 2;
	/* Run bare, as the kselftest runner does, the benchmark skips */
	if (!o.pf || nbdfs < 2) {
		fprintf(stderr, "bench: no PF (-p) or fewer than two VFs: nothing to measure\n");
		return KSFT_SKIP;
	}
	check_opts(&o, nbdfs, argv[0]);

	pf_fd = open(o.pf, O_RDWR);
	if (pf_fd < 0)
		die(o.pf, errno);
	qmp_open();
	memcg_find();
	iommu = iommu_init(MODE_IOMMUFD);
	iovas = iova_allocator_init(iommu);
	pairs = open_pairs(bdfs, npairs);

	for (i = 0; i < o.ncounts; i++) {
		run_count(&o, &pairs[0], o.counts[i], &res[i]);
		printf("# %d queue pair(s): driver %.3f ms, floor %.3f ms\n",
		       o.counts[i], res[i].col[DRIVER].median,
		       res[i].col[FLOOR].median);
		fflush(stdout);
	}

	if (npairs > 1)
		run_concurrent(pairs, npairs, &conc, &seq);

	report(&o, res, o.ncounts, npairs, conc, seq);

	close_pairs(pairs, npairs);
	iova_allocator_cleanup(iovas);
	iommu_cleanup(iommu);
	close(pf_fd);
	return 0;
}
