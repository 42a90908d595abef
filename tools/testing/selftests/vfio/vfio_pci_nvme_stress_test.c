// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault injection and races for the live migration of NVMe VFs
 * (nvme-vfio-pci), through the VFIO uAPI.
 *
 * fault: walks a migration from VF A to VF B that takes every arc issuing a
 * Migration Send or Receive, and makes each of those commands fail once in
 * QEMU's NVMe model (over the VM's QMP port): with an NVMe status, or by
 * stalling it past the PF's admin timeout. Each time the ioctl must return
 * what the driver documents, the device must be in the state it documents
 * (the last it reached, or ERROR where the controller's state is lost),
 * no data fd may be left behind, the open data fds must be disabled by
 * VFIO_DEVICE_RESET, and then both VFs must migrate again.
 *
 * race: several threads per VF change the migration state at random,
 * reset the device, read and write the data fds, on every VF at once; then
 * resets the devices in every state and closes them in the middle of a save
 * and of a resume. With -x, the PF may go away or reset under the test (the
 * harness does it): any error is accepted as long as it is an errno.
 *
 * outlive: a PRE_COPY data fd outlives its device: the device fd is closed
 * and the VF removed (SR-IOV disabled on its PF), then every operation of
 * the data fd must fail with an errno, without touching the freed device
 * (which only KASAN, on in the test kernels, can tell).
 *
 * pfgone: the PF's driver is unbound while a VF is suspended, in STOP: the
 * next arc must fail with ENODEV and leave the device in ERROR, which no
 * arc and no reset leaves while the PF is gone (the harness binds it
 * again).
 *
 * usage: vfio_pci_nvme_stress_test fault -f FAULT -c /dev/nvmeN -s SCID,SCID BDF_A BDF_B
 *        vfio_pci_nvme_stress_test race [-i ITERATIONS] [-j THREADS] [-T SECONDS] [-x] BDF...
 *        vfio_pci_nvme_stress_test outlive BDF
 *        vfio_pci_nvme_stress_test pfgone BDF
 * FAULT: an NVMe status in hex (SCT and SC, as lm-fail-status takes it), or
 * "stall". -c names the PF's controller and -s the secondary controllers of
 * A and B, which the test brings back online after a stall's PF reset, or
 * resumes after a Controller Not Suspended that the model did not mean.
 * Prints one PASS:/FAIL: line per case and STAT: lines.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include <linux/nvme_ioctl.h>
#include <linux/sizes.h>
#include <linux/vfio.h>

#include <libvfio.h>

#include "vfio_pci_nvme_mig.h"
#include "vfio_pci_nvme_qmp.h"

static u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

/* The open file descriptors of this process */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	VFIO_ASSERT_NOT_NULL(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own */
}

/* --- fault: the matrix --- */

/*
 * One step of the migration the matrix walks: a state change or a data
 * size query of VF A (dev 0) or B (dev 1), with the Migration Send and
 * Receive commands it issues. A failed command fails the step, which leaves
 * the device in @fail_state, the state before it (or ERROR, fault_expect()
 * says when), unless the step is @tolerant: the data size
 * and PRE_COPY of a running controller go on without the state's size.
 * Only the first step of each arc gets faults (@inject).
 */
struct step {
	const char *arc;
	int dev;
	bool size;
	u32 state;
	int ncmds;
	const char *cmds[2];
	bool tolerant;
	bool inject;
	u32 fail_state;
};

#define SEND_SUSPEND	"Migration Send (Suspend)"
#define SEND_RESUME	"Migration Send (Resume)"
#define SEND_SET	"Migration Send (Set Controller State)"
#define RECV_HDR	"Migration Receive (Get Controller State, header)"
#define RECV_STATE	"Migration Receive (Get Controller State)"

static const struct step steps[] = {
	{ "A RUNNING->RUNNING_P2P", 0, false, RUNNING_P2P, 1, { SEND_SUSPEND },
	  false, true, RUNNING },
	{ "A RUNNING_P2P->STOP", 0, false, STOP },
	{ "A data size in STOP", 0, true, STOP, 1, { RECV_HDR },
	  false, true, STOP },
	{ "A STOP->STOP_COPY", 0, false, STOP_COPY, 2, { RECV_HDR, RECV_STATE },
	  false, true, STOP },
	{ "A STOP_COPY->STOP", 0, false, STOP },
	{ "A STOP->RUNNING_P2P->RUNNING", 0, false, RUNNING, 1, { SEND_RESUME },
	  false, true, RUNNING_P2P },
	{ "A data size in RUNNING", 0, true, RUNNING, 1, { RECV_HDR },
	  true, true, RUNNING },
	{ "A RUNNING->PRE_COPY", 0, false, PRE_COPY, 1, { RECV_HDR },
	  true, true, PRE_COPY },
	{ "A PRE_COPY->PRE_COPY_P2P", 0, false, PRE_COPY_P2P, 1, { SEND_SUSPEND },
	  false, true, PRE_COPY },
	{ "A PRE_COPY_P2P->PRE_COPY", 0, false, PRE_COPY, 1, { SEND_RESUME },
	  false, true, PRE_COPY_P2P },
	{ "A PRE_COPY->PRE_COPY_P2P", 0, false, PRE_COPY_P2P, 1, { SEND_SUSPEND } },
	{ "A PRE_COPY_P2P->STOP_COPY", 0, false, STOP_COPY, 2,
	  { RECV_HDR, RECV_STATE }, false, true, PRE_COPY_P2P },
	{ "A STOP_COPY->STOP", 0, false, STOP },
	{ "B RUNNING->RUNNING_P2P", 1, false, RUNNING_P2P, 1, { SEND_SUSPEND },
	  false, true, RUNNING },
	{ "B RUNNING_P2P->STOP->RESUMING", 1, false, RESUMING },
	{ "B RESUMING->STOP", 1, false, STOP, 1, { SEND_SET },
	  false, true, RESUMING },
	{ "B STOP->RUNNING_P2P->RUNNING", 1, false, RUNNING, 1, { SEND_RESUME },
	  false, true, RUNNING_P2P },
	{ "A STOP->RUNNING_P2P->RUNNING", 0, false, RUNNING, 1, { SEND_RESUME } },
};

#define STREAM_MAX	SZ_1M

struct walk {
	int fds[2];
	int save_fd;		/* A's saving data fd */
	int resume_fd;		/* B's resuming data fd */
	u8 *stream;
	size_t len;
};

struct fault {
	bool stall;
	int status;
	int err;		/* the errno the failed step returns */
	const char *name;
	const char *pf;		/* the PF's controller */
	int scid[2];
	int admin_timeout;
};

static int cases, failures, injected;

static void report(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf(ok ? "PASS: " : "FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	cases++;
	failures += !ok;
}

/*
 * Run step @i of the walk. Returns 0 or -errno, and keeps the data fds and
 * the stream the walk needs further on.
 */
static int run_step(struct walk *w, int i)
{
	const struct step *s = &steps[i];
	int fd = w->fds[s->dev], data_fd, ret;
	ssize_t n;
	u64 size;

	if (s->size)
		return mig_data_size(fd, &size);

	ret = mig_set(fd, s->state, &data_fd);
	if (ret)
		return ret;

	switch (s->state) {
	case STOP_COPY:
		/* From STOP a new fd, from PRE_COPY_P2P the same one */
		if (data_fd >= 0) {
			if (w->save_fd >= 0)
				close(w->save_fd);
			w->save_fd = data_fd;
			w->len = 0;
		}
		n = read_fd(w->save_fd, w->stream + w->len, STREAM_MAX - w->len);
		if (n <= 0)
			return n ? n : -ENODATA;
		w->len += n;
		break;
	case PRE_COPY:
		if (data_fd < 0)
			break;	/* back from PRE_COPY_P2P */
		if (w->save_fd >= 0)
			close(w->save_fd);
		w->save_fd = data_fd;
		n = read_fd(w->save_fd, w->stream, STREAM_MAX);
		if (n <= 0)
			return n ? n : -ENODATA;
		w->len = n;
		break;
	case RESUMING:
		w->resume_fd = data_fd;
		return write_fd(w->resume_fd, w->stream, w->len);
	case STOP:
		/* Leaving the saving or resuming states ends the data fds */
		if (s->dev == 0 && w->save_fd >= 0) {
			close(w->save_fd);
			w->save_fd = -1;
		}
		if (s->dev == 1 && w->resume_fd >= 0) {
			close(w->resume_fd);
			w->resume_fd = -1;
		}
		break;
	}
	if (data_fd >= 0 && data_fd != w->save_fd && data_fd != w->resume_fd)
		close(data_fd);
	return 0;
}

static void close_walk(struct walk *w)
{
	if (w->save_fd >= 0)
		close(w->save_fd);
	if (w->resume_fd >= 0)
		close(w->resume_fd);
	w->save_fd = -1;
	w->resume_fd = -1;
}

/* Wait for the PF's controller to be live again after its reset */
static bool pf_wait_live(const char *pf)
{
	char path[128], state[32] = "";
	u64 deadline = now_ms() + 60000;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/nvme/%s/state",
		 strrchr(pf, '/') + 1);
	while (now_ms() < deadline) {
		f = fopen(path, "r");
		if (f) {
			if (!fgets(state, sizeof(state), f))
				state[0] = '\0';
			fclose(f);
		}
		if (!strncmp(state, "live", 4))
			return true;
		usleep(100000);
	}
	return false;
}

/* An admin command without data, through the PF's controller @pf */
static int pf_admin(const char *pf, u8 opcode, u32 cdw10, u32 cdw11)
{
	struct nvme_admin_cmd c = {
		.opcode = opcode,
		.cdw10 = cdw10,
		.cdw11 = cdw11,
	};
	int fd, ret;

	fd = open(pf, O_RDWR);
	if (fd < 0)
		return -errno;
	ret = ioctl(fd, NVME_IOCTL_ADMIN_CMD, &c);
	ret = ret < 0 ? -errno : ret;
	close(fd);
	return ret;
}

/* Virtualization Management on the PF: action @act for controller @cntlid */
static int virt_mgmt(const char *pf, int cntlid, int act, int rt, int nr)
{
	return pf_admin(pf, 0x1c, (u32)cntlid << 16 | rt << 8 | act, nr);
}

/*
 * A reset of the PF's controller takes its secondary controllers offline,
 * and QEMU's model takes their flexible resources back: give those of A
 * and B their resources (4 VQ, 2 VI, as provision.sh) and bring them
 * online again, as the documentation tells.
 */
static bool pf_recover(const struct fault *f)
{
	int i, ret;

	if (!pf_wait_live(f->pf)) {
		printf("# %s did not come back live\n", f->pf);
		return false;
	}
	for (i = 0; i < 2; i++) {
		ret = virt_mgmt(f->pf, f->scid[i], 8, 0, 4);
		if (!ret)
			ret = virt_mgmt(f->pf, f->scid[i], 8, 1, 2);
		if (!ret)
			ret = virt_mgmt(f->pf, f->scid[i], 9, 0, 0);
		if (ret) {
			printf("# cannot bring secondary controller %d online: %d\n",
			       f->scid[i], ret);
			return false;
		}
	}
	return true;
}

/* Walk the whole migration without faults: both VFs must migrate */
static bool clean_walk(struct walk *w, const char **why)
{
	u32 state;
	int i, ret;

	for (i = 0; i < (int)ARRAY_SIZE(steps); i++) {
		ret = run_step(w, i);
		if (ret) {
			*why = steps[i].arc;
			printf("# clean walk: %s: %s\n", steps[i].arc, strerror(-ret));
			close_walk(w);
			return false;
		}
	}
	close_walk(w);
	for (i = 0; i < 2; i++) {
		if (mig_get(w->fds[i], &state) || state != RUNNING) {
			*why = "not RUNNING after the walk";
			return false;
		}
	}
	return true;
}

/* The outcome the driver documents for a step that failed */
struct outcome {
	int err;		/* the positive errno the step returns, or 0 */
	u32 state;		/* the state it leaves the device in */
	bool lied;		/* the model's controller stays suspended */
};

/*
 * What the step returns when command @cmd fails with fault @f
 * (Documentation/driver-api/vfio-pci-nvme.rst, "Failures"). Controller Not
 * Suspended says the controller runs: the arc a Resume makes succeeds,
 * though the model did not run the command and keeps the controller
 * suspended; any other command fails with EIO, and loses the state of a
 * suspended controller.
 */
static void fault_expect(const struct fault *f, const struct step *s, int cmd,
			 struct outcome *o)
{
	o->err = f->err;
	o->state = s->fail_state;
	o->lied = false;
	if (s->tolerant)
		return;
	/* A cancelled command loses the controller's state */
	if (f->stall)
		o->state = ERROR_STATE;
	if (f->err != EALREADY)
		return;
	if (!strcmp(s->cmds[cmd], SEND_RESUME)) {
		o->err = 0;
		o->state = s->state;
		o->lied = true;
		return;
	}
	o->err = EIO;
	if (s->fail_state != RUNNING && s->fail_state != PRE_COPY)
		o->state = ERROR_STATE;
}

static void fail(const char **why, const char *reason)
{
	if (!*why)
		*why = reason;
}

/* Check the outcome of step @s, which returned @ret */
static void fault_check(struct walk *w, const struct step *s,
			const struct outcome *o, int ret, const char **why)
{
	struct vfio_precopy_info info = { .argsz = sizeof(info) };
	static char buf[128];
	u32 state;

	if (s->tolerant && ret)
		fail(why, "a running controller's size is optional, yet the step failed");
	if (!s->tolerant && ret != -o->err) {
		snprintf(buf, sizeof(buf), "returned %s, expected %s",
			 ret ? strerror(-ret) : "success",
			 o->err ? strerror(o->err) : "success");
		fail(why, buf);
	}
	if (mig_get(w->fds[s->dev], &state) || state != o->state)
		fail(why, "not in the documented state");
	/* A saving fd of the PRE_COPY states outlives a failed arc */
	if (!s->tolerant && w->save_fd >= 0 && s->dev == 0 &&
	    (o->state == PRE_COPY || o->state == PRE_COPY_P2P) &&
	    ioctl(w->save_fd, VFIO_MIG_GET_PRECOPY_INFO, &info))
		fail(why, "the PRE_COPY data fd stopped working");
}

/*
 * Bring both VFs back: the PF after a stall, the controller the model kept
 * suspended (as the driver does, with a Resume through the PF), then a
 * reset of each VF, which must end the migration and disable the data fds.
 */
static void fault_recover(struct walk *w, const struct fault *f,
			  const struct step *s, const struct outcome *o,
			  const char **why)
{
	u32 state;
	u8 byte;
	int i;

	if (f->stall && !pf_recover(f))
		fail(why, "the PF did not recover");
	if (o->lied && pf_admin(f->pf, 0x41, 1, f->scid[s->dev]))
		fail(why, "cannot resume the controller through the PF");
	for (i = 0; i < 2; i++) {
		if (dev_reset(w->fds[i]))
			fail(why, "VFIO_DEVICE_RESET failed");
		if (mig_get(w->fds[i], &state) || state != RUNNING)
			fail(why, "not RUNNING after VFIO_DEVICE_RESET");
	}
	if (w->save_fd >= 0 &&
	    (read(w->save_fd, &byte, 1) != -1 || errno != ENODEV))
		fail(why, "the saving data fd works after the reset");
	if (w->resume_fd >= 0 &&
	    (write(w->resume_fd, &byte, 1) != -1 || errno != ENODEV))
		fail(why, "the resuming data fd works after the reset");
	close_walk(w);
}

/* Make command @cmd of step @s fail with @f, run the step, check the outcome */
static void fault_inject(struct walk *w, const struct fault *f,
			 const struct step *s, int cmd,
			 const struct outcome *o, const char **why)
{
	int ret;

	if (f->stall) {
		qom_set("lm-stall-ms", f->admin_timeout * 1000L + 3000);
	} else {
		qom_set("lm-fail-status", f->status);
		qom_set("lm-fail-nth", cmd + 1);
	}
	ret = run_step(w, s - steps);
	if (f->stall)
		qom_set("lm-stall-ms", 0);
	else if (qom_get("lm-fail-nth"))
		fail(why, "the command was not issued");
	injected++;
	fault_check(w, s, o, ret, why);
}

static void fault_report(const struct fault *f, const struct step *s, int cmd,
			 const struct outcome *o, const char *why)
{
	const char *sep = why ? ": " : "";

	if (s->tolerant)
		report(!why, "fault: %s, %s, %s: tolerated%s%s", s->arc,
		       s->cmds[cmd], f->name, sep, why ?: "");
	else
		report(!why, "fault: %s, %s, %s: %s in %s%s%s", s->arc,
		       s->cmds[cmd], f->name,
		       o->err ? strerror(o->err) : "success",
		       state_name(o->state), sep, why ?: "");
}

/*
 * Fail command @cmd (0-based) of step @target once, then check the
 * outcome, reset both devices and walk the migration again.
 */
static void fault_case(struct walk *w, const struct fault *f, int target,
		       int cmd)
{
	const struct step *s = &steps[target];
	const char *why = NULL;
	static char buf[128];
	struct outcome o;
	int fds0, ret, i;

	fault_expect(f, s, cmd, &o);
	fds0 = count_fds();
	for (i = 0; i < target && !why; i++) {
		ret = run_step(w, i);
		if (ret) {
			snprintf(buf, sizeof(buf), "step %s before the fault failed: %s",
				 steps[i].arc, strerror(-ret));
			why = buf;
		}
	}
	if (!why)
		fault_inject(w, f, s, cmd, &o, &why);
	fault_recover(w, f, s, &o, &why);
	if (count_fds() != fds0)
		fail(&why, "file descriptors left behind");
	if (!why)
		clean_walk(w, &why);
	fault_report(f, s, cmd, &o, why);
}

/* The negative errno each NVMe status maps to (include/linux/nvme-lm.h) */
static int status_errno(int status)
{
	switch (status & 0x7ff) {
	case 0x002:	/* Invalid Field in Command */
	case 0x11f:	/* Invalid Controller Identifier */
		return -EINVAL;
	case 0x139:	/* Controller Suspended */
		return -EBUSY;
	case 0x13a:	/* Controller Not Suspended */
		return -EALREADY;
	case 0x138:	/* Not Enough Resources */
		return -ENOSPC;
	default:
		return -EIO;
	}
}

/* Parse the options of fault into @f; false if they are wrong */
static bool fault_parse(int argc, char *argv[], int nr, struct fault *f)
{
	FILE *p;
	int opt;

	while ((opt = getopt(argc, argv, "f:c:s:")) != -1) {
		if (opt == 'f')
			f->name = optarg;
		else if (opt == 'c')
			f->pf = optarg;
		else if (opt != 's' ||
			 sscanf(optarg, "%d,%d", &f->scid[0], &f->scid[1]) != 2)
			return false;
	}
	if (!f->name || !f->pf || f->scid[1] < 0 || nr != 2)
		return false;
	f->stall = !strcmp(f->name, "stall");
	if (!f->stall) {
		f->status = strtol(f->name, NULL, 16);
		f->err = -status_errno(f->status);
		return true;
	}
	p = fopen("/sys/module/nvme_core/parameters/admin_timeout", "r");
	VFIO_ASSERT_NOT_NULL(p);
	opt = fscanf(p, "%d", &f->admin_timeout);
	fclose(p);
	VFIO_ASSERT_EQ(opt, 1);
	/* Cancelled by the timeout, then by the PF's reset */
	f->err = ECANCELED;
	return true;
}

static int fault_main(int argc, char *argv[], char **bdfs, int nr)
{
	struct fault f = { .scid = { -1, -1 } };
	struct vfio_pci_device *dev[2];
	struct iommu *iommu;
	struct walk w = { .save_fd = -1, .resume_fd = -1 };
	int i, c;
	u64 t;

	if (!fault_parse(argc, argv, nr, &f)) {
		fprintf(stderr, "usage: fault -f STATUS|stall -c CTRL -s SCID,SCID BDF_A BDF_B\n");
		return KSFT_FAIL;
	}

	qmp_open();
	iommu = iommu_init(MODE_IOMMUFD);
	for (i = 0; i < 2; i++) {
		dev[i] = vfio_pci_device_init(bdfs[i], iommu);
		w.fds[i] = dev[i]->fd;
	}
	w.stream = malloc(STREAM_MAX);
	VFIO_ASSERT_NOT_NULL(w.stream);

	t = now_ms();
	for (i = 0; i < (int)ARRAY_SIZE(steps); i++) {
		if (!steps[i].inject)
			continue;
		/* A stall delays every command: only the first can be chosen */
		for (c = 0; c < (f.stall ? 1 : steps[i].ncmds); c++)
			fault_case(&w, &f, i, c);
	}
	printf("# faults injected (%s): %d\n", f.name, injected);
	printf("# %d cases in %llu ms\n", cases, (unsigned long long)(now_ms() - t));

	free(w.stream);
	for (i = 1; i >= 0; i--)
		vfio_pci_device_cleanup(dev[i]);
	iommu_cleanup(iommu);
	return failures ? KSFT_FAIL : KSFT_PASS;
}

/* --- race --- */

#define MAX_VFS		8
#define MAX_THREADS	8

static const u32 valid_states[] = {
	RUNNING, STOP, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P,
};

struct vf {
	struct vfio_pci_device *dev;
	const char *bdf;
	u8 stream[4096];	/* a stream this VF saved, for RESUMING */
	size_t len;
	pthread_mutex_t lock;	/* protects @stream and @len */
};

struct worker {
	pthread_t thread;
	struct vf *vf;
	unsigned int seed;
	int iterations;
	u64 deadline;
	long done;
	long errors;		/* times the VF was found in ERROR */
	long errs[128];
	char why[160];
};

static struct iommu *race_iommu;
/* The PF may reset or go away: a VF may lose its state, which is ERROR */
static bool pf_disturbed;

/*
 * Whether a failed call is acceptable: any errno is, but the uAPI calls
 * that cannot fail on a sane device must not, unless the PF is disturbed.
 */
static bool race_check(struct worker *wk, const char *what, int ret,
		       bool must_work)
{
	if (ret < 0 && -ret < (int)ARRAY_SIZE(wk->errs))
		wk->errs[-ret]++;
	if (!ret || (!must_work && ret < 0))
		return true;
	snprintf(wk->why, sizeof(wk->why), "%s: %s: %s", wk->vf->bdf, what,
		 ret < 0 ? strerror(-ret) : "not an errno");
	return false;
}

/* Use a data fd a state change returned, at random, then close it */
static void race_use_fd(struct worker *wk, int data_fd, u32 state)
{
	struct vf *vf = wk->vf;
	u8 buf[4096];
	ssize_t n;

	switch (rand_r(&wk->seed) % 4) {
	case 0:
		break;
	case 1:
		if (state == RESUMING) {
			pthread_mutex_lock(&vf->lock);
			memcpy(buf, vf->stream, vf->len);
			n = vf->len;
			pthread_mutex_unlock(&vf->lock);
			/* All of it, or a part */
			if (n && rand_r(&wk->seed) % 2)
				n = rand_r(&wk->seed) % n;
			if (write(data_fd, buf, n) < 0 && errno == 0)
				snprintf(wk->why, sizeof(wk->why), "write without errno");
		} else {
			n = read(data_fd, buf, sizeof(buf));
			if (n > 0 && state == STOP_COPY) {
				pthread_mutex_lock(&vf->lock);
				memcpy(vf->stream, buf, n);
				vf->len = n;
				pthread_mutex_unlock(&vf->lock);
			}
		}
		break;
	case 2:
		n = read(data_fd, buf, sizeof(buf));
		n = write(data_fd, buf, sizeof(buf));
		(void)n;
		break;
	case 3:
		/*
		 * Write from the VF's mmap()ed BAR 0, whose page faults take
		 * the device's memory_lock, which a reset holds while it
		 * disables the data fds.
		 */
		if (state == RESUMING && vf->dev->bars[0].vaddr &&
		    write(data_fd, vf->dev->bars[0].vaddr, 64) < 0 && errno == 0)
			snprintf(wk->why, sizeof(wk->why), "write without errno");
		break;
	}
	close(data_fd);
}

static void *race_thread(void *arg)
{
	struct worker *wk = arg;
	int fd = wk->vf->dev->fd, data_fd, ret, i;
	u32 state;
	u64 size;

	for (i = 0; i < wk->iterations && !wk->why[0]; i++, wk->done++) {
		if (wk->deadline && now_ms() > wk->deadline)
			break;
		switch (rand_r(&wk->seed) % 8) {
		case 0:
			ret = dev_reset(fd);
			race_check(wk, "VFIO_DEVICE_RESET", ret, false);
			break;
		case 1:
			ret = mig_data_size(fd, &size);
			race_check(wk, "data size", ret, false);
			break;
		case 2:
			ret = mig_get(fd, &state);
			if (race_check(wk, "get state", ret, true) && !ret &&
			    state >= ARRAY_SIZE(state_names))
				snprintf(wk->why, sizeof(wk->why),
					 "%s: in state %u", wk->vf->bdf, state);
			/*
			 * Only a reset that raced a state load leaves a sane
			 * PF's VF in ERROR, and a reset of its own leaves it
			 */
			if (!ret && state == ERROR_STATE && !pf_disturbed) {
				wk->errors++;
				race_check(wk, "VFIO_DEVICE_RESET", dev_reset(fd),
					   true);
			}
			break;
		default:
			state = valid_states[rand_r(&wk->seed) %
					     ARRAY_SIZE(valid_states)];
			ret = mig_set(fd, state, &data_fd);
			race_check(wk, state_name(state), ret, false);
			if (data_fd >= 0)
				race_use_fd(wk, data_fd, state);
			break;
		}
	}
	return NULL;
}

/* Threads that change the state of every VF at once */
static bool race_threads(struct vf *vfs, int nr, int threads, int iterations,
			 u64 deadline, long *total)
{
	static struct worker wk[MAX_VFS * MAX_THREADS];
	long errs[128] = {}, errors = 0;
	bool ok = true;
	int i, e, n = nr * threads;

	for (i = 0; i < n; i++) {
		wk[i].vf = &vfs[i % nr];
		wk[i].seed = i * 7919 + (unsigned int)now_ms();
		wk[i].iterations = iterations;
		wk[i].deadline = deadline;
		VFIO_ASSERT_EQ(pthread_create(&wk[i].thread, NULL, race_thread,
					      &wk[i]), 0);
	}
	for (i = 0; i < n; i++) {
		pthread_join(wk[i].thread, NULL);
		*total += wk[i].done;
		errors += wk[i].errors;
		for (e = 0; e < (int)ARRAY_SIZE(errs); e++)
			errs[e] += wk[i].errs[e];
		if (wk[i].why[0]) {
			printf("# %s\n", wk[i].why);
			ok = false;
		}
	}
	for (e = 0; e < (int)ARRAY_SIZE(errs); e++)
		if (errs[e])
			printf("# calls failed with %s: %ld\n", strerror(e), errs[e]);
	printf("# VFs found in ERROR after a reset raced a state load: %ld\n",
	       errors);
	return ok;
}

/* A reset in every state returns to RUNNING and disables the data fd */
static bool race_reset_every_state(struct vf *vf)
{
	int fd = vf->dev->fd, data_fd, ret, i;
	u8 byte = 0;
	u32 state;
	ssize_t n;

	for (i = 0; i < (int)ARRAY_SIZE(valid_states); i++) {
		ret = dev_reset(fd);
		if (!ret)
			ret = mig_set(fd, valid_states[i], &data_fd);
		if (ret) {
			printf("# %s: reaching %s: %s\n", vf->bdf,
			       state_name(valid_states[i]), strerror(-ret));
			return false;
		}
		ret = dev_reset(fd);
		if (ret || mig_get(fd, &state) || state != RUNNING) {
			printf("# %s: reset in %s: %s\n", vf->bdf,
			       state_name(valid_states[i]),
			       ret ? strerror(-ret) : "not RUNNING");
			return false;
		}
		if (data_fd < 0)
			continue;
		if (valid_states[i] == RESUMING)
			n = write(data_fd, &byte, 1);
		else
			n = read(data_fd, &byte, 1);
		close(data_fd);
		if (n != -1 || errno != ENODEV) {
			printf("# %s: the data fd of %s works after a reset\n",
			       vf->bdf, state_name(valid_states[i]));
			return false;
		}
	}
	return true;
}

struct closer {
	pthread_t thread;
	struct vf *vf;
	int data_fd;
	bool resume;
	size_t bytes;
	int err;
};

/*
 * Read the saving data fd or write a whole stream to the resuming one, a
 * byte at a time, until the fd fails: the device is closed meanwhile.
 */
static void *closer_thread(void *arg)
{
	struct closer *c = arg;
	int polls = 0;
	u8 byte;
	ssize_t n;

	while (polls < 5000) {
		if (c->resume) {
			byte = c->bytes < c->vf->len ? c->vf->stream[c->bytes] : 0;
			n = write(c->data_fd, &byte, 1);
		} else {
			n = read(c->data_fd, &byte, 1);
		}
		if (n < 0) {
			c->err = errno;
			return NULL;
		}
		c->bytes += n;
		/* The end of the saved stream: wait for the close */
		if (!n)
			polls++;
		usleep(20);
	}
	return NULL;
}

/* Save a stream of @vf, for the resumes */
static bool race_save(struct vf *vf)
{
	int fd = vf->dev->fd, data_fd, ret;
	ssize_t n;

	ret = dev_reset(fd);
	if (!ret)
		ret = mig_set(fd, STOP_COPY, &data_fd);
	if (ret) {
		printf("# %s: STOP_COPY: %s\n", vf->bdf, strerror(-ret));
		return false;
	}
	n = read_fd(data_fd, vf->stream, sizeof(vf->stream));
	close(data_fd);
	vf->len = n > 0 ? n : 0;
	return n > 0 && !dev_reset(fd);
}

/*
 * Close the device while another thread reads the saving data fd or writes
 * the resuming one: the fd is disabled, the device reopens and works.
 * Returns whether the close came before the end of the stream in @mid.
 */
static bool race_close_mid(struct vf *vf, bool resume, bool *mid)
{
	struct closer c = { .vf = vf, .resume = resume };
	struct vfio_pci_device *dev = vf->dev;
	u32 state = resume ? RESUMING : STOP_COPY;
	int ret;

	ret = mig_set(dev->fd, state, &c.data_fd);
	if (ret) {
		printf("# %s: %s: %s\n", vf->bdf, state_name(state), strerror(-ret));
		return false;
	}
	VFIO_ASSERT_EQ(pthread_create(&c.thread, NULL, closer_thread, &c), 0);
	usleep(rand() % 2000);
	vfio_pci_device_cleanup(dev);
	pthread_join(c.thread, NULL);
	close(c.data_fd);
	vf->dev = vfio_pci_device_init(vf->bdf, race_iommu);
	*mid = c.bytes < vf->len;
	/* Past the end of a resumed stream, a header of zeroes is refused */
	if (c.err != ENODEV && !(resume && !*mid && c.err == EINVAL)) {
		printf("# %s: the data fd of %s ended with %s after %zu bytes\n",
		       vf->bdf, state_name(state),
		       c.err ? strerror(c.err) : "no error", c.bytes);
		return false;
	}
	ret = mig_get(vf->dev->fd, &state);
	if (ret || state != RUNNING) {
		printf("# %s: reopened in %s\n", vf->bdf, state_name(state));
		return false;
	}
	return true;
}

/* A reset in every state, then closes in the middle of a save and a resume */
static void race_resets_and_closes(struct vf *vfs, int nr)
{
	int closes_mid = 0, i, k;
	bool ok, mid;

	for (ok = true, i = 0; i < nr; i++)
		ok &= race_reset_every_state(&vfs[i]);
	report(ok, "race: a reset in every state: RUNNING, data fd disabled");

	for (ok = true, i = 0; i < nr; i++)
		ok &= race_save(&vfs[i]);
	for (k = 0; ok && k < 10; k++) {
		for (i = 0; i < nr; i++) {
			ok &= race_close_mid(&vfs[i], k % 2, &mid);
			closes_mid += mid;
		}
	}
	report(ok, "race: closes mid-save, mid-resume: data fd disabled, reopens RUNNING");
	printf("# %d of %d closes came before the end of the stream\n",
	       closes_mid, 10 * nr);
}

static int race_main(int argc, char *argv[], char **bdfs, int nr)
{
	struct vf vfs[MAX_VFS] = {};
	int iterations = 200, threads = 3, seconds = 0, opt, i;
	long total = 0;
	bool ok;
	u64 t;

	while ((opt = getopt(argc, argv, "i:j:T:x")) != -1) {
		switch (opt) {
		case 'i':
			iterations = atoi(optarg);
			break;
		case 'T':
			seconds = atoi(optarg);
			break;
		case 'j':
			threads = atoi(optarg);
			break;
		case 'x':
			pf_disturbed = true;
			break;
		default:
			return KSFT_FAIL;
		}
	}
	VFIO_ASSERT_LE(nr, MAX_VFS);
	VFIO_ASSERT_LE(threads, MAX_THREADS);
	VFIO_ASSERT_GE(threads, 1);

	race_iommu = iommu_init(MODE_IOMMUFD);
	for (i = 0; i < nr; i++) {
		vfs[i].bdf = bdfs[i];
		vfs[i].dev = vfio_pci_device_init(bdfs[i], race_iommu);
		pthread_mutex_init(&vfs[i].lock, NULL);
	}

	t = now_ms();
	ok = race_threads(vfs, nr, threads, iterations,
			  seconds ? now_ms() + seconds * 1000ull : 0, &total);
	if (!pf_disturbed)
		report(ok, "race: %d threads on each of %d VFs, %d iterations each",
		       threads, nr, iterations);
	printf("# race iterations: %ld\n", total);
	printf("# %ld iterations in %llu ms\n", total,
	       (unsigned long long)(now_ms() - t));

	if (!pf_disturbed)
		race_resets_and_closes(vfs, nr);

	for (i = nr - 1; i >= 0; i--) {
		vfio_pci_device_cleanup(vfs[i].dev);
		pthread_mutex_destroy(&vfs[i].lock);
	}
	iommu_cleanup(race_iommu);
	return failures ? KSFT_FAIL : KSFT_PASS;
}

/* --- outlive --- */

/* Write @val to the sysfs file @path: 0 or -errno */
static int sysfs_write(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -errno;
	ret = fputs(val, f) < 0 ? -EIO : 0;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

/* The BDF of the PF of VF @vf, in @pf */
static void pf_of(const char *vf, char *pf, size_t size)
{
	char path[256], link[128];
	const char *name;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/physfn", vf);
	n = readlink(path, link, sizeof(link) - 1);
	VFIO_ASSERT_GT(n, 0);
	link[n] = '\0';
	name = strrchr(link, '/');
	snprintf(pf, size, "%s", name ? name + 1 : link);
}

static int outlive_main(char **bdfs, int nr)
{
	struct vfio_precopy_info info = { .argsz = sizeof(info) };
	struct vfio_pci_device *dev;
	char path[256], pf[64];
	struct iommu *iommu;
	int data_fd, ret;
	ssize_t n;
	u8 byte;

	VFIO_ASSERT_EQ(nr, 1);
	pf_of(bdfs[0], pf, sizeof(pf));

	iommu = iommu_init(MODE_IOMMUFD);
	dev = vfio_pci_device_init(bdfs[0], iommu);
	ret = mig_set(dev->fd, PRE_COPY, &data_fd);
	report(!ret && data_fd >= 0 &&
	       !ioctl(data_fd, VFIO_MIG_GET_PRECOPY_INFO, &info),
	       "outlive: PRE_COPY data fd with its precopy info");
	vfio_pci_device_cleanup(dev);
	iommu_cleanup(iommu);

	/* Remove the VF: its device is freed, the data fd stays open */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/sriov_numvfs", pf);
	ret = sysfs_write(path, "0");
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdfs[0]);
	report(!ret && access(path, F_OK), "outlive: the VF is removed");

	ret = ioctl(data_fd, VFIO_MIG_GET_PRECOPY_INFO, &info);
	report(ret == -1 && errno == EINVAL,
	       "outlive: precopy info of the data fd of a removed VF: EINVAL");
	n = read(data_fd, &byte, 1);
	report(n == -1 && errno == ENODEV,
	       "outlive: read of the data fd of a removed VF: ENODEV");
	report(!close(data_fd), "outlive: the data fd closes");
	return failures ? KSFT_FAIL : KSFT_PASS;
}

/* --- pfgone --- */

static int pfgone_main(char **bdfs, int nr)
{
	struct vfio_pci_device *dev;
	struct iommu *iommu;
	int data_fd, ret;
	char pf[64];
	u32 state;

	VFIO_ASSERT_EQ(nr, 1);
	pf_of(bdfs[0], pf, sizeof(pf));

	iommu = iommu_init(MODE_IOMMUFD);
	dev = vfio_pci_device_init(bdfs[0], iommu);
	ret = mig_set(dev->fd, STOP, &data_fd);
	report(!ret, "pfgone: the VF's controller is suspended (STOP)");

	ret = sysfs_write("/sys/bus/pci/drivers/nvme/unbind", pf);
	report(!ret, "pfgone: the PF's driver is unbound");

	ret = mig_set(dev->fd, STOP_COPY, &data_fd);
	report(ret == -ENODEV, "pfgone: STOP -> STOP_COPY fails with ENODEV (%s)",
	       strerror(-ret));
	report(!mig_get(dev->fd, &state) && state == ERROR_STATE,
	       "pfgone: the device is in ERROR (%s)", state_name(state));
	ret = mig_set(dev->fd, RUNNING, &data_fd);
	report(ret == -EINVAL, "pfgone: no arc leaves ERROR (%s)", strerror(-ret));
	ret = dev_reset(dev->fd);
	report(!ret && !mig_get(dev->fd, &state) && state == ERROR_STATE,
	       "pfgone: a reset that cannot resume the controller stays in ERROR (%s)",
	       state_name(state));

	vfio_pci_device_cleanup(dev);
	iommu_cleanup(iommu);
	return failures ? KSFT_FAIL : KSFT_PASS;
}

int main(int argc, char *argv[])
{
	char **bdfs;
	int nr;

	bdfs = vfio_selftests_get_bdfs(&argc, argv, &nr);
	if (argc < 2) {
		fprintf(stderr, "usage: %s fault|race|outlive|pfgone [options] BDF...\n", argv[0]);
		return KSFT_SKIP;
	}
	if (!strcmp(argv[1], "fault"))
		return fault_main(argc - 1, argv + 1, bdfs, nr);
	if (!strcmp(argv[1], "race"))
		return race_main(argc - 1, argv + 1, bdfs, nr);
	if (!strcmp(argv[1], "outlive"))
		return outlive_main(bdfs, nr);
	if (!strcmp(argv[1], "pfgone"))
		return pfgone_main(bdfs, nr);
	fprintf(stderr, "%s: unknown mode %s\n", argv[0], argv[1]);
	return KSFT_FAIL;
}
