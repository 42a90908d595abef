// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the nvme-vfio-pci migration state machine and data fds,
 * driven through the device's vfio_migration_ops against a fake PF: every
 * arc, the failure of each PF command, a reset in each state and a PF that
 * went away.
 */

#include <kunit/device.h>
#include <kunit/test.h>
#include <kunit/test-bug.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mman.h>
#include <linux/sched.h>
#include <linux/nvme.h>
#include <linux/sizes.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <linux/vfio.h>

#include "common.h"
#include "stream.h"
#include "test.h"

enum {
	FAKE_SUSPEND,
	FAKE_RESUME,
	FAKE_SIZE,
	FAKE_GET,
	FAKE_SET,
	FAKE_NR,
};

/* A PF with one VF, shared by the source and the destination device */
struct nvmevf_fake_pf {
	struct nvme_lm_info info;
	u8 *state;
	size_t len;
	int err[FAKE_NR];
	int calls[FAKE_NR];
	int size_err_running;
	bool suspended;
	bool flr_resumes;
	struct nvmevf_pci_core_device *reset_in_suspend;
	bool reset_after_suspend;
	struct nvmevf_pci_core_device *reset_in_set;
	struct task_struct *resetting;
	bool resume_in_reset;
	u8 *loaded;
	size_t loaded_len;
	struct nvme_lm_fmt loaded_fmt;
	char __user *ubuf;
};

/* Where the precopy ioctl argument goes in the user buffer */
#define UINFO	2048

/*
 * The PF of the running test. Not the current test's: the Resume after a
 * reset may come from a work item, which has none.
 */
static struct nvmevf_fake_pf *fake_current;

static struct nvmevf_fake_pf *fake_pf(void)
{
	return fake_current;
}

static int fake_cmd(int cmd)
{
	struct nvmevf_fake_pf *pf = fake_pf();

	pf->calls[cmd]++;
	return pf->err[cmd];
}

/*
 * A function level reset of the VF. Whether it ends a suspension is not
 * said: by default the fake takes the reading a driver cannot rely on, and
 * keeps the controller suspended.
 */
static void fake_flr(struct nvmevf_fake_pf *pf)
{
	if (pf->flr_resumes)
		pf->suspended = false;
	nvmevf_migration_reset(pf->reset_in_suspend);
	pf->reset_in_suspend = NULL;
}

static int fake_suspend(struct pci_dev *vf)
{
	struct nvmevf_fake_pf *pf = fake_pf();
	int ret = fake_cmd(FAKE_SUSPEND);

	if (pf->reset_in_suspend && !pf->reset_after_suspend)
		fake_flr(pf);
	/*
	 * Both devices share @suspended, so the fake cannot fail a Suspend
	 * with Controller Suspended; QEMU's strict model does.
	 */
	if (!ret)
		pf->suspended = true;
	if (pf->reset_in_suspend)
		fake_flr(pf);
	return ret;
}

static int fake_resume(struct pci_dev *vf)
{
	struct nvmevf_fake_pf *pf = fake_pf();
	int ret = fake_cmd(FAKE_RESUME);

	if (pf->resetting == current)
		pf->resume_in_reset = true;
	/* Controller Not Suspended */
	if (!ret && !pf->suspended)
		ret = -EALREADY;
	if (!ret)
		pf->suspended = false;
	return ret;
}

static int fake_state_size(struct pci_dev *vf, const struct nvme_lm_fmt *fmt,
			   size_t *size)
{
	struct nvmevf_fake_pf *pf = fake_pf();
	int ret = fake_cmd(FAKE_SIZE);

	if (!ret && !pf->suspended)
		ret = pf->size_err_running;
	if (!ret)
		*size = pf->len;
	return ret;
}

/* Nothing says what a read past the end returns: the fake fails it */
static int fake_get_state(struct pci_dev *vf, const struct nvme_lm_fmt *fmt,
			  size_t offset, void *buf, size_t len)
{
	struct kunit *test = kunit_get_current_test();
	struct nvmevf_fake_pf *pf = fake_pf();
	int ret = fake_cmd(FAKE_GET);

	if (ret)
		return ret;
	KUNIT_EXPECT_TRUE(test, pf->suspended);
	KUNIT_EXPECT_EQ(test, fmt->csvi, 1);
	KUNIT_EXPECT_EQ(test, fmt->csuuidi, 1);
	KUNIT_EXPECT_LE(test, offset + len, pf->len);
	if (offset + len > pf->len)
		return -EINVAL;
	memcpy(buf, pf->state + offset, len);
	return 0;
}

static int fake_set_state(struct pci_dev *vf, const struct nvme_lm_fmt *fmt,
			  const void *buf, size_t len)
{
	struct kunit *test = kunit_get_current_test();
	struct nvmevf_fake_pf *pf = fake_pf();
	int ret = fake_cmd(FAKE_SET);

	if (ret)
		return ret;
	KUNIT_EXPECT_TRUE(test, pf->suspended);
	/* A reset of the VF before the load, which the FSM defers */
	if (pf->reset_in_set) {
		nvmevf_migration_reset(pf->reset_in_set);
		pf->reset_in_set = NULL;
	}
	pf->loaded = kunit_kmalloc(test, len, GFP_KERNEL);
	if (!pf->loaded)
		return -ENOMEM;
	memcpy(pf->loaded, buf, len);
	pf->loaded_len = len;
	pf->loaded_fmt = *fmt;
	return 0;
}

static const struct nvmevf_pf_ops fake_pf_ops = {
	.suspend = fake_suspend,
	.resume = fake_resume,
	.state_size = fake_state_size,
	.get_state = fake_get_state,
	.set_state = fake_set_state,
};

static void fake_device_close(void *data)
{
	struct nvmevf_pci_core_device *nvdev = data;

	nvmevf_migration_close(nvdev);
	nvmevf_migration_release(nvdev);
}

/* A migratable device, as probe and open_device leave it, on the fake PF */
static struct nvmevf_pci_core_device *fake_device(struct kunit *test,
						  const char *name)
{
	struct nvme_lm_fmt fmt = { .csvi = 1, .csuuidi = 1 };
	struct nvmevf_fake_pf *pf = test->priv;
	struct nvmevf_pci_core_device *nvdev;
	struct device *dev;

	dev = kunit_device_register(test, name);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	nvdev = kunit_kzalloc(test, sizeof(*nvdev), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, nvdev);
	nvdev->core_device.vdev.dev = dev;
	nvmevf_migration_init(nvdev, &pf->info, &fmt);
	nvdev->pf = &fake_pf_ops;
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fake_device_close,
							nvdev), 0);
	return nvdev;
}

static struct file *set_mig_state(struct nvmevf_pci_core_device *nvdev,
				  enum vfio_device_mig_state state)
{
	struct vfio_device *vdev = &nvdev->core_device.vdev;

	return vdev->mig_ops->migration_set_state(vdev, state);
}

static enum vfio_device_mig_state get_mig_state(struct nvmevf_pci_core_device *nvdev)
{
	struct vfio_device *vdev = &nvdev->core_device.vdev;
	enum vfio_device_mig_state state = VFIO_DEVICE_STATE_ERROR;

	KUNIT_EXPECT_EQ(kunit_get_current_test(),
			vdev->mig_ops->migration_get_state(vdev, &state), 0);
	return state;
}

static void put_file(struct file *f)
{
	if (!IS_ERR_OR_NULL(f))
		fput(f);
}

/* Read a saving fd in reads of @chunk bytes until it ends or fails */
static ssize_t read_fd(struct kunit *test, struct file *f, u8 *out,
		       size_t max, size_t chunk)
{
	struct nvmevf_fake_pf *pf = test->priv;
	size_t total = 0;
	ssize_t n;

	for (;;) {
		n = f->f_op->read(f, pf->ubuf, min(chunk, max - total), NULL);
		if (n < 0)
			return total ?: n;
		if (!n)
			return total;
		KUNIT_EXPECT_EQ(test, copy_from_user(out + total, pf->ubuf, n),
				0);
		total += n;
	}
}

/* Write @len bytes to a resuming fd in writes of @chunk bytes */
static ssize_t write_fd(struct kunit *test, struct file *f, const u8 *in,
			size_t len, size_t chunk)
{
	struct nvmevf_fake_pf *pf = test->priv;
	size_t total = 0;
	ssize_t n;

	while (total < len) {
		n = min(chunk, len - total);
		KUNIT_EXPECT_EQ(test, copy_to_user(pf->ubuf, in + total, n), 0);
		n = f->f_op->write(f, pf->ubuf, n, NULL);
		if (n <= 0)
			return n;
		total += n;
	}
	return total;
}

static int precopy_info(struct kunit *test, struct file *f,
			struct vfio_precopy_info *info)
{
	struct nvmevf_fake_pf *pf = test->priv;
	void __user *uinfo = pf->ubuf + UINFO;
	long ret;

	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	KUNIT_EXPECT_EQ(test, copy_to_user(uinfo, info, sizeof(*info)), 0);
	ret = f->f_op->unlocked_ioctl(f, VFIO_MIG_GET_PRECOPY_INFO,
				      (unsigned long)uinfo);
	if (!ret)
		KUNIT_EXPECT_EQ(test, copy_from_user(info, uinfo, sizeof(*info)),
				0);
	return ret;
}

static u8 *expected_stream(struct kunit *test, size_t *len)
{
	struct nvme_lm_fmt fmt = { .csvi = 1, .csuuidi = 1 };
	struct nvmevf_fake_pf *pf = test->priv;

	return nvmevf_test_stream(test, &pf->info, &fmt, pf->state, pf->len,
				  len);
}

/* Bring a fresh device to @state, with a complete stream when RESUMING */
static struct file *reach(struct kunit *test,
			  struct nvmevf_pci_core_device *nvdev,
			  enum vfio_device_mig_state state)
{
	struct file *f = set_mig_state(nvdev, state);
	size_t len;
	u8 *s;

	KUNIT_ASSERT_FALSE(test, IS_ERR(f));
	KUNIT_ASSERT_EQ(test, get_mig_state(nvdev), state);
	if (state == VFIO_DEVICE_STATE_RESUMING) {
		s = expected_stream(test, &len);
		KUNIT_ASSERT_EQ(test, write_fd(test, f, s, len, 64), len);
	}
	return f;
}

static int nvmevf_fsm_test_init(struct kunit *test)
{
	struct nvmevf_fake_pf *pf;
	unsigned long addr;

	pf = kunit_kzalloc(test, sizeof(*pf), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pf);
	nvmevf_test_info(&pf->info, false);
	pf->state = nvmevf_test_state(test, 3, 2, 64, &pf->len);

	addr = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_NE(test, addr, 0);
	KUNIT_ASSERT_LT(test, addr, (unsigned long)TASK_SIZE);
	pf->ubuf = (char __user *)addr;
	test->priv = pf;
	fake_current = pf;
	return 0;
}

static void nvmevf_fsm_save_resume(struct kunit *test)
{
	struct nvmevf_pci_core_device *src = fake_device(test, "nvmevf-src");
	struct nvmevf_pci_core_device *dst = fake_device(test, "nvmevf-dst");
	struct nvmevf_fake_pf *pf = test->priv;
	struct vfio_device *vdev = &src->core_device.vdev;
	unsigned long size = 0;
	struct file *f, *g;
	size_t len;
	u8 *s, *buf;
	ssize_t n;

	s = expected_stream(test, &len);
	buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);

	KUNIT_EXPECT_EQ(test, vdev->mig_ops->migration_get_data_size(vdev, &size),
			0);
	KUNIT_EXPECT_EQ(test, size, len);

	f = set_mig_state(src, VFIO_DEVICE_STATE_STOP_COPY);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, f);
	KUNIT_EXPECT_EQ(test, get_mig_state(src), VFIO_DEVICE_STATE_STOP_COPY);
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_SUSPEND], 1);
	/* The header, then exactly the rest */
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_GET], 2);

	n = read_fd(test, f, buf, PAGE_SIZE, 100);
	KUNIT_ASSERT_EQ(test, n, len);
	KUNIT_EXPECT_MEMEQ(test, buf, s, len);
	/* The permanent end of a STOP_COPY stream */
	KUNIT_EXPECT_EQ(test, f->f_op->read(f, pf->ubuf, 10, NULL), 0);
	KUNIT_EXPECT_EQ(test, precopy_info(test, f, &(struct vfio_precopy_info){}),
			-EINVAL);

	KUNIT_EXPECT_NULL(test, set_mig_state(src, VFIO_DEVICE_STATE_STOP));
	KUNIT_EXPECT_EQ(test, f->f_op->read(f, pf->ubuf, 10, NULL), -ENODEV);
	put_file(f);

	g = set_mig_state(dst, VFIO_DEVICE_STATE_RESUMING);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, g);
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_SUSPEND], 2);
	KUNIT_EXPECT_EQ(test, write_fd(test, g, buf, n, 7), n);
	KUNIT_EXPECT_NULL(test, set_mig_state(dst, VFIO_DEVICE_STATE_STOP));
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_SET], 1);
	KUNIT_ASSERT_EQ(test, pf->loaded_len, pf->len);
	KUNIT_EXPECT_MEMEQ(test, pf->loaded, pf->state, pf->len);
	KUNIT_EXPECT_EQ(test, pf->loaded_fmt.csvi, 1);
	KUNIT_EXPECT_EQ(test, pf->loaded_fmt.csuuidi, 1);
	KUNIT_EXPECT_EQ(test, write_fd(test, g, buf, 1, 1), -ENODEV);
	put_file(g);

	KUNIT_EXPECT_NULL(test, set_mig_state(dst, VFIO_DEVICE_STATE_RUNNING));
	KUNIT_EXPECT_EQ(test, get_mig_state(dst), VFIO_DEVICE_STATE_RUNNING);
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_RESUME], 1);
	KUNIT_EXPECT_FALSE(test, pf->suspended);
}

/*
 * Read the initial bytes of PRE_COPY data fd @f into @buf in two reads,
 * which VFIO_MIG_GET_PRECOPY_INFO must count down to 0
 */
static void read_initial_bytes(struct kunit *test, struct file *f, u8 *buf)
{
	struct nvmevf_fake_pf *pf = test->priv;
	size_t compat = sizeof(struct nvmevf_compat_rec);
	struct vfio_precopy_info info;

	KUNIT_ASSERT_EQ(test, precopy_info(test, f, &info), 0);
	KUNIT_EXPECT_EQ(test, info.initial_bytes, compat);
	KUNIT_EXPECT_EQ(test, info.dirty_bytes, 0);

	KUNIT_ASSERT_EQ(test, read_fd(test, f, buf, 10, 10), 10);
	KUNIT_ASSERT_EQ(test, precopy_info(test, f, &info), 0);
	KUNIT_EXPECT_EQ(test, info.initial_bytes, compat - 10);
	KUNIT_ASSERT_EQ(test, read_fd(test, f, buf + 10, PAGE_SIZE - 10, 1000),
			compat - 10);
	KUNIT_EXPECT_EQ(test, f->f_op->read(f, pf->ubuf, 10, NULL), -ENOMSG);
	KUNIT_ASSERT_EQ(test, precopy_info(test, f, &info), 0);
	KUNIT_EXPECT_EQ(test, info.initial_bytes, 0);
}

static void nvmevf_fsm_precopy(struct kunit *test)
{
	struct nvmevf_pci_core_device *src = fake_device(test, "nvmevf-src");
	struct vfio_device *vdev = &src->core_device.vdev;
	struct nvmevf_fake_pf *pf = test->priv;
	size_t compat = sizeof(struct nvmevf_compat_rec);
	unsigned long size = 0;
	struct vfio_precopy_info info;
	struct nvmevf_stream_parser p;
	size_t len;
	struct file *f;
	u8 *s, *buf;

	s = expected_stream(test, &len);
	buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	/* A running controller that refuses to size its state */
	pf->size_err_running = -EBUSY;
	KUNIT_EXPECT_EQ(test, vdev->mig_ops->migration_get_data_size(vdev, &size),
			0);
	KUNIT_EXPECT_EQ(test, size,
			nvmevf_stream_size(sizeof(struct nvme_ctrl_state_hdr)));

	f = set_mig_state(src, VFIO_DEVICE_STATE_PRE_COPY);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, f);
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_SUSPEND], 0);
	read_initial_bytes(test, f, buf);
	/* The size is unknown while the controller runs */
	KUNIT_EXPECT_EQ(test, get_unaligned_le64(buf + sizeof(struct nvmevf_rec_hdr) + 8),
			0);

	KUNIT_EXPECT_NULL(test, set_mig_state(src, VFIO_DEVICE_STATE_PRE_COPY_P2P));
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_SUSPEND], 1);
	KUNIT_EXPECT_EQ(test, precopy_info(test, f, &info), 0);
	KUNIT_EXPECT_EQ(test, f->f_op->read(f, pf->ubuf, 10, NULL), -ENOMSG);

	/* STOP_COPY keeps the data fd and appends the state */
	KUNIT_EXPECT_NULL(test, set_mig_state(src, VFIO_DEVICE_STATE_STOP_COPY));
	KUNIT_EXPECT_EQ(test, precopy_info(test, f, &info), -EINVAL);
	KUNIT_ASSERT_EQ(test, read_fd(test, f, buf + compat, PAGE_SIZE - compat,
				      33), len - compat);
	KUNIT_EXPECT_MEMEQ(test, buf + compat, s + compat, len - compat);

	/* And the whole stream parses */
	nvmevf_stream_parser_init(&p, NULL, &pf->info, SZ_1M);
	KUNIT_EXPECT_EQ(test, nvmevf_test_feed(&p, buf, len, len), 0);
	KUNIT_EXPECT_EQ(test, nvmevf_stream_finish(&p), 0);
	nvmevf_stream_parser_free(&p);

	KUNIT_EXPECT_NULL(test, set_mig_state(src, VFIO_DEVICE_STATE_RUNNING));
	KUNIT_EXPECT_EQ(test, f->f_op->read(f, pf->ubuf, 10, NULL), -ENODEV);
	put_file(f);
}

static void nvmevf_fsm_precopy_cancel(struct kunit *test)
{
	struct nvmevf_pci_core_device *src = fake_device(test, "nvmevf-src");
	struct nvmevf_fake_pf *pf = test->priv;
	struct vfio_precopy_info info;
	struct file *f;
	u8 buf[8];

	f = set_mig_state(src, VFIO_DEVICE_STATE_PRE_COPY);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, f);
	/* Sized while running, this time */
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_SIZE], 1);
	KUNIT_EXPECT_NULL(test, set_mig_state(src, VFIO_DEVICE_STATE_RUNNING));
	KUNIT_EXPECT_EQ(test, precopy_info(test, f, &info), -EINVAL);
	KUNIT_EXPECT_EQ(test, read_fd(test, f, buf, sizeof(buf), 8), -ENODEV);
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_SUSPEND], 0);
	put_file(f);
}

/* A PF command fails: the arc fails and the state stays the last good one */
struct nvmevf_fail_case {
	const char *name;
	int cmd;
	enum vfio_device_mig_state from;
	enum vfio_device_mig_state to;
	enum vfio_device_mig_state stays;
};

static const struct nvmevf_fail_case nvmevf_fail_cases[] = {
	{ "suspend", FAKE_SUSPEND, VFIO_DEVICE_STATE_RUNNING,
	  VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_RUNNING },
	{ "suspend in pre_copy", FAKE_SUSPEND, VFIO_DEVICE_STATE_PRE_COPY,
	  VFIO_DEVICE_STATE_STOP_COPY, VFIO_DEVICE_STATE_PRE_COPY },
	{ "resume", FAKE_RESUME, VFIO_DEVICE_STATE_STOP,
	  VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_RUNNING_P2P },
	{ "resume in pre_copy_p2p", FAKE_RESUME,
	  VFIO_DEVICE_STATE_PRE_COPY_P2P, VFIO_DEVICE_STATE_PRE_COPY,
	  VFIO_DEVICE_STATE_PRE_COPY_P2P },
	{ "get state", FAKE_GET, VFIO_DEVICE_STATE_STOP,
	  VFIO_DEVICE_STATE_STOP_COPY, VFIO_DEVICE_STATE_STOP },
	{ "get state after pre_copy", FAKE_GET,
	  VFIO_DEVICE_STATE_PRE_COPY_P2P, VFIO_DEVICE_STATE_STOP_COPY,
	  VFIO_DEVICE_STATE_PRE_COPY_P2P },
	{ "set state", FAKE_SET, VFIO_DEVICE_STATE_RESUMING,
	  VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_RESUMING },
};

static void nvmevf_fail_desc(const struct nvmevf_fail_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(nvmevf_fail, nvmevf_fail_cases, nvmevf_fail_desc);

static void nvmevf_fsm_command_fails(struct kunit *test)
{
	const struct nvmevf_fail_case *fc = test->param_value;
	struct nvmevf_pci_core_device *nvdev = fake_device(test, "nvmevf");
	struct nvmevf_fake_pf *pf = test->priv;
	struct file *f, *g;

	f = reach(test, nvdev, fc->from);
	pf->err[fc->cmd] = -EIO;
	g = set_mig_state(nvdev, fc->to);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(g), -EIO);
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), fc->stays);

	/* The device is still usable */
	pf->err[fc->cmd] = 0;
	g = set_mig_state(nvdev, fc->to);
	KUNIT_EXPECT_FALSE(test, IS_ERR(g));
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), fc->to);
	put_file(g);
	put_file(f);
}

/* What the PF returns is checked before it is migrated */
static void nvmevf_fsm_bad_source(struct kunit *test)
{
	struct nvmevf_pci_core_device *nvdev = fake_device(test, "nvmevf");
	struct nvmevf_fake_pf *pf = test->priv;

	pf->state[2] = 0;
	KUNIT_EXPECT_EQ(test,
			PTR_ERR_OR_ZERO(set_mig_state(nvdev, VFIO_DEVICE_STATE_STOP_COPY)),
			-EIO);
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_STOP);

	pf->state[2] = NVME_CTRL_STATE_CSATTR_SUSPENDED;
	nvdev->max_state = pf->len - 4;
	KUNIT_EXPECT_EQ(test,
			PTR_ERR_OR_ZERO(set_mig_state(nvdev, VFIO_DEVICE_STATE_STOP_COPY)),
			-EFBIG);
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_STOP);
	/*
	 * The first save read the header and then the rest; the second read
	 * the header, which was too large
	 */
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_GET], 3);
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_SIZE], 0);
}

/*
 * A state larger than a page is read in two calls, as a small one: its
 * header, which sizes it, then exactly the rest. The stream carries all of
 * it.
 */
static void nvmevf_fsm_save_large(struct kunit *test)
{
	struct nvmevf_pci_core_device *nvdev = fake_device(test, "nvmevf");
	struct nvmevf_fake_pf *pf = test->priv;
	size_t len;
	struct file *f;
	u8 *s, *buf;

	pf->state = nvmevf_test_state(test, 100, 100, 64, &pf->len);
	KUNIT_ASSERT_GT(test, pf->len, PAGE_SIZE);
	s = expected_stream(test, &len);
	buf = kunit_kzalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);

	f = set_mig_state(nvdev, VFIO_DEVICE_STATE_STOP_COPY);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, f);
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_GET], 2);
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_SIZE], 0);
	KUNIT_EXPECT_EQ(test, read_fd(test, f, buf, len, PAGE_SIZE), len);
	KUNIT_EXPECT_MEMEQ(test, buf, s, len);
	put_file(f);
}

/* RESUMING -> STOP refuses bad and incomplete streams */
static void nvmevf_fsm_bad_stream(struct kunit *test)
{
	struct nvmevf_pci_core_device *a = fake_device(test, "nvmevf-a");
	struct nvmevf_pci_core_device *b = fake_device(test, "nvmevf-b");
	struct nvmevf_fake_pf *pf = test->priv;
	struct file *f, *g;
	size_t len;
	u8 *s;

	s = expected_stream(test, &len);

	f = set_mig_state(a, VFIO_DEVICE_STATE_RESUMING);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, f);
	KUNIT_EXPECT_EQ(test, write_fd(test, f, s, len - 1, 50), len - 1);
	KUNIT_EXPECT_EQ(test,
			PTR_ERR_OR_ZERO(set_mig_state(a, VFIO_DEVICE_STATE_STOP)),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, get_mig_state(a), VFIO_DEVICE_STATE_RESUMING);

	s[0] ^= 1;
	g = set_mig_state(b, VFIO_DEVICE_STATE_RESUMING);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, g);
	KUNIT_EXPECT_EQ(test, write_fd(test, g, s, len, 50), -EINVAL);
	KUNIT_EXPECT_EQ(test, write_fd(test, g, s, 1, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test,
			PTR_ERR_OR_ZERO(set_mig_state(b, VFIO_DEVICE_STATE_STOP)),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, get_mig_state(b), VFIO_DEVICE_STATE_RESUMING);
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_SET], 0);

	/* A reset is the way out */
	nvmevf_migration_reset(b);
	KUNIT_EXPECT_EQ(test, get_mig_state(b), VFIO_DEVICE_STATE_RUNNING);
	put_file(f);
	put_file(g);
}

/* The PF went away: every command fails, nothing hangs or leaks */
static void nvmevf_fsm_pf_gone(struct kunit *test)
{
	struct nvmevf_pci_core_device *nvdev = fake_device(test, "nvmevf");
	struct vfio_device *vdev = &nvdev->core_device.vdev;
	struct nvmevf_fake_pf *pf = test->priv;
	unsigned long size;
	struct file *f;
	int i;

	/* A running controller goes on running */
	for (i = 0; i < FAKE_NR; i++)
		pf->err[i] = -ENODEV;
	KUNIT_EXPECT_EQ(test,
			PTR_ERR_OR_ZERO(set_mig_state(nvdev, VFIO_DEVICE_STATE_STOP)),
			-ENODEV);
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_RUNNING);

	/* A suspended one cannot be resumed any more: ERROR */
	memset(pf->err, 0, sizeof(pf->err));
	f = reach(test, nvdev, VFIO_DEVICE_STATE_STOP);
	for (i = 0; i < FAKE_NR; i++)
		pf->err[i] = -ENODEV;
	KUNIT_EXPECT_EQ(test,
			PTR_ERR_OR_ZERO(set_mig_state(nvdev, VFIO_DEVICE_STATE_STOP_COPY)),
			-ENODEV);
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_ERROR);
	KUNIT_EXPECT_EQ(test, vdev->mig_ops->migration_get_data_size(vdev, &size),
			-ENODEV);
	KUNIT_EXPECT_EQ(test,
			PTR_ERR_OR_ZERO(set_mig_state(nvdev, VFIO_DEVICE_STATE_RUNNING)),
			-EINVAL);

	/* A reset that cannot resume the controller stays in ERROR */
	nvmevf_migration_reset(nvdev);
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_ERROR);
	KUNIT_EXPECT_TRUE(test, pf->suspended);

	/* So does a close, for the next open: its reset need not resume */
	nvmevf_migration_close(nvdev);
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_ERROR);
	KUNIT_EXPECT_TRUE(test, pf->suspended);

	/* The PF is back: a reset resumes the controller */
	memset(pf->err, 0, sizeof(pf->err));
	nvmevf_migration_reset(nvdev);
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_RUNNING);
	KUNIT_EXPECT_FALSE(test, pf->suspended);
	put_file(f);
}

/*
 * A cancelled command (a time-out, after which nvme-pci resets the PF) may
 * or may not have taken effect: every arc that sends one goes to ERROR.
 */
static void nvmevf_fsm_cancelled(struct kunit *test)
{
	const struct nvmevf_fail_case *fc = test->param_value;
	struct nvmevf_pci_core_device *nvdev = fake_device(test, "nvmevf");
	struct nvmevf_fake_pf *pf = test->priv;
	struct file *f, *g;

	f = reach(test, nvdev, fc->from);
	pf->err[fc->cmd] = -ECANCELED;
	g = set_mig_state(nvdev, fc->to);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(g), -ECANCELED);
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_ERROR);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(set_mig_state(nvdev, fc->to)),
			-EINVAL);

	pf->err[fc->cmd] = 0;
	nvmevf_migration_reset(nvdev);
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_RUNNING);
	KUNIT_EXPECT_FALSE(test, pf->suspended);
	put_file(f);
}

/*
 * Controller Not Suspended: a Resume that gets it has reached RUNNING; any
 * other command that gets it found the controller the FSM suspended running,
 * whose state is then unknown. So is that of a controller the PF lists
 * offline or no longer lists, or in a list that does not parse, and a
 * cancelled data size query.
 */
static void nvmevf_fsm_not_suspended(struct kunit *test)
{
	static const int errs[][2] = { { -EALREADY, -EIO },
				       { -ENOLINK, -ENOLINK },
				       { -ENOENT, -ENOENT },
				       { -EPROTO, -EPROTO } };
	struct nvmevf_pci_core_device *nvdev = fake_device(test, "nvmevf");
	struct vfio_device *vdev = &nvdev->core_device.vdev;
	struct nvmevf_fake_pf *pf = test->priv;
	unsigned long size;
	struct file *f;
	int i;

	KUNIT_EXPECT_NULL(test, reach(test, nvdev, VFIO_DEVICE_STATE_RUNNING_P2P));
	pf->suspended = false;
	KUNIT_EXPECT_NULL(test, set_mig_state(nvdev, VFIO_DEVICE_STATE_RUNNING));
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_RUNNING);
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_RESUME], 1);

	for (i = 0; i < ARRAY_SIZE(errs); i++) {
		KUNIT_EXPECT_NULL(test, reach(test, nvdev, VFIO_DEVICE_STATE_STOP));
		pf->err[FAKE_GET] = errs[i][0];
		KUNIT_EXPECT_EQ(test,
				PTR_ERR_OR_ZERO(set_mig_state(nvdev, VFIO_DEVICE_STATE_STOP_COPY)),
				errs[i][1]);
		KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_ERROR);
		pf->err[FAKE_GET] = 0;
		nvmevf_migration_reset(nvdev);
		KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_RUNNING);
	}

	f = reach(test, nvdev, VFIO_DEVICE_STATE_PRE_COPY_P2P);
	pf->err[FAKE_SIZE] = -ECANCELED;
	KUNIT_EXPECT_EQ(test, vdev->mig_ops->migration_get_data_size(vdev, &size),
			-ECANCELED);
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_ERROR);
	pf->err[FAKE_SIZE] = 0;
	nvmevf_migration_reset(nvdev);
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_RUNNING);
	KUNIT_EXPECT_FALSE(test, pf->suspended);
	put_file(f);
}

static const enum vfio_device_mig_state nvmevf_states[] = {
	VFIO_DEVICE_STATE_RUNNING,
	VFIO_DEVICE_STATE_RUNNING_P2P,
	VFIO_DEVICE_STATE_STOP,
	VFIO_DEVICE_STATE_STOP_COPY,
	VFIO_DEVICE_STATE_RESUMING,
	VFIO_DEVICE_STATE_PRE_COPY,
	VFIO_DEVICE_STATE_PRE_COPY_P2P,
};

static void nvmevf_state_desc(const enum vfio_device_mig_state *state,
			      char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "state %d", *state);
}

KUNIT_ARRAY_PARAM(nvmevf_state, nvmevf_states, nvmevf_state_desc);

/*
 * A reset in any state returns to RUNNING with the controller running,
 * whether the reset ended its suspension or not, and disables the data fds
 */
static void nvmevf_fsm_reset_one(struct kunit *test, bool flr_resumes,
				 const char *name)
{
	const enum vfio_device_mig_state *state = test->param_value;
	struct nvmevf_pci_core_device *nvdev = fake_device(test, name);
	struct nvmevf_fake_pf *pf = test->priv;
	struct vfio_precopy_info info;
	struct file *f, *g;
	u8 buf[8] = {};

	f = reach(test, nvdev, *state);
	if (flr_resumes)
		pf->suspended = false;
	nvmevf_migration_reset(nvdev);
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_RUNNING);
	KUNIT_EXPECT_FALSE(test, pf->suspended);
	if (f && (f->f_mode & FMODE_READ)) {
		KUNIT_EXPECT_EQ(test, read_fd(test, f, buf, sizeof(buf), 8),
				-ENODEV);
		KUNIT_EXPECT_EQ(test, precopy_info(test, f, &info), -EINVAL);
	} else if (f) {
		KUNIT_EXPECT_EQ(test, write_fd(test, f, buf, 1, 1), -ENODEV);
	}

	/* And migration starts over */
	g = set_mig_state(nvdev, VFIO_DEVICE_STATE_STOP_COPY);
	KUNIT_EXPECT_FALSE(test, IS_ERR_OR_NULL(g));
	put_file(g);
	put_file(f);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(set_mig_state(nvdev,
							    VFIO_DEVICE_STATE_RUNNING)),
			0);
}

static void nvmevf_fsm_reset(struct kunit *test)
{
	nvmevf_fsm_reset_one(test, false, "nvmevf-strict");
	nvmevf_fsm_reset_one(test, true, "nvmevf-lenient");
}

/*
 * The PCI core calls the reset hook with the device's memory_lock held, so
 * the Resume is not sent from there: a work item sends it, or the next
 * user of the FSM if it comes first.
 */
static void nvmevf_fsm_reset_deferred_resume(struct kunit *test)
{
	struct nvmevf_pci_core_device *nvdev = fake_device(test, "nvmevf");
	struct nvmevf_fake_pf *pf = test->priv;
	int i;

	for (i = 0; i < 2; i++) {
		KUNIT_EXPECT_NULL(test, reach(test, nvdev, VFIO_DEVICE_STATE_STOP));
		pf->resetting = current;
		nvmevf_migration_reset(nvdev);
		pf->resetting = NULL;
		KUNIT_EXPECT_FALSE(test, pf->resume_in_reset);
		if (i)
			flush_work(&nvdev->resume_work);
		else
			KUNIT_EXPECT_EQ(test, get_mig_state(nvdev),
					VFIO_DEVICE_STATE_RUNNING);
		KUNIT_EXPECT_FALSE(test, pf->suspended);
		KUNIT_EXPECT_EQ(test, pf->calls[FAKE_RESUME], i + 1);
	}
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_RUNNING);
}

/*
 * A Resume after a reset that finds the PF resetting (-EAGAIN) was not
 * sent: the device is RUNNING and the next state_mutex taker sends it.
 */
static void nvmevf_fsm_reset_pf_resetting(struct kunit *test)
{
	struct nvmevf_pci_core_device *nvdev = fake_device(test, "nvmevf");
	struct nvmevf_fake_pf *pf = test->priv;

	KUNIT_EXPECT_NULL(test, reach(test, nvdev, VFIO_DEVICE_STATE_STOP));
	pf->err[FAKE_RESUME] = -EAGAIN;
	nvmevf_migration_reset(nvdev);
	flush_work(&nvdev->resume_work);
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_RESUME], 1);
	KUNIT_EXPECT_TRUE(test, pf->suspended);

	pf->err[FAKE_RESUME] = 0;
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_RUNNING);
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_RESUME], 2);
	KUNIT_EXPECT_FALSE(test, pf->suspended);
}

/*
 * A reset of the VF that comes while RESUMING -> STOP loads the state:
 * resumed, the controller would run the queues loaded after the reset, so
 * the device is in ERROR with the controller suspended, until a reset of
 * its own resumes it.
 */
static void nvmevf_fsm_reset_in_load(struct kunit *test)
{
	struct nvmevf_pci_core_device *nvdev = fake_device(test, "nvmevf");
	struct nvmevf_fake_pf *pf = test->priv;
	struct file *f;

	f = reach(test, nvdev, VFIO_DEVICE_STATE_RESUMING);
	pf->reset_in_set = nvdev;
	KUNIT_EXPECT_NULL(test, set_mig_state(nvdev, VFIO_DEVICE_STATE_STOP));
	KUNIT_EXPECT_NULL(test, pf->reset_in_set);
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_ERROR);
	KUNIT_EXPECT_TRUE(test, pf->suspended);
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_RESUME], 0);

	nvmevf_migration_reset(nvdev);
	flush_work(&nvdev->resume_work);
	KUNIT_EXPECT_EQ(test, get_mig_state(nvdev), VFIO_DEVICE_STATE_RUNNING);
	KUNIT_EXPECT_FALSE(test, pf->suspended);
	put_file(f);
}

/*
 * A reset of the VF while the FSM suspends its controller, before or after
 * the Suspend command, and whether the reset ends a suspension or not: the
 * device ends up in RUNNING, and so does the controller.
 */
static void nvmevf_fsm_reset_in_suspend(struct kunit *test)
{
	struct nvmevf_pci_core_device *nvdev = fake_device(test, "nvmevf");
	struct nvmevf_fake_pf *pf = test->priv;
	int i;

	for (i = 0; i < 4; i++) {
		pf->reset_in_suspend = nvdev;
		pf->reset_after_suspend = i & 1;
		pf->flr_resumes = i & 2;
		KUNIT_EXPECT_NULL(test, set_mig_state(nvdev,
						      VFIO_DEVICE_STATE_RUNNING_P2P));
		KUNIT_EXPECT_EQ(test, get_mig_state(nvdev),
				VFIO_DEVICE_STATE_RUNNING);
		KUNIT_EXPECT_FALSE(test, pf->suspended);
		KUNIT_EXPECT_NULL(test, pf->reset_in_suspend);
	}
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_SUSPEND], 4);
	/* Every reset resumes, also the controller that the reset resumed */
	KUNIT_EXPECT_EQ(test, pf->calls[FAKE_RESUME], 4);
}

static struct kunit_case nvmevf_fsm_cases[] = {
	KUNIT_CASE(nvmevf_fsm_save_resume),
	KUNIT_CASE(nvmevf_fsm_precopy),
	KUNIT_CASE(nvmevf_fsm_precopy_cancel),
	KUNIT_CASE_PARAM(nvmevf_fsm_command_fails, nvmevf_fail_gen_params),
	KUNIT_CASE(nvmevf_fsm_bad_source),
	KUNIT_CASE(nvmevf_fsm_save_large),
	KUNIT_CASE(nvmevf_fsm_bad_stream),
	KUNIT_CASE(nvmevf_fsm_pf_gone),
	KUNIT_CASE_PARAM(nvmevf_fsm_cancelled, nvmevf_fail_gen_params),
	KUNIT_CASE(nvmevf_fsm_not_suspended),
	KUNIT_CASE_PARAM(nvmevf_fsm_reset, nvmevf_state_gen_params),
	KUNIT_CASE(nvmevf_fsm_reset_in_suspend),
	KUNIT_CASE(nvmevf_fsm_reset_deferred_resume),
	KUNIT_CASE(nvmevf_fsm_reset_pf_resetting),
	KUNIT_CASE(nvmevf_fsm_reset_in_load),
	{}
};

static struct kunit_suite nvmevf_fsm_suite = {
	.name = "nvme-vfio-pci-fsm",
	.init = nvmevf_fsm_test_init,
	.test_cases = nvmevf_fsm_cases,
};

kunit_test_suite(nvmevf_fsm_suite);
