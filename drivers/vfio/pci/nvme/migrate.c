// SPDX-License-Identifier: GPL-2.0
/*
 * Live migration of NVMe VFs: the VFIO migration state machine and its data
 * fds, on top of the host managed live migration commands that nvme-pci
 * issues for a VF on its PF (include/linux/nvme-lm.h).
 *
 * The controller cannot stop its peer-to-peer DMA alone, so it is
 * suspended on entering RUNNING_P2P and stays suspended in every state but
 * RUNNING and PRE_COPY. Its state cannot be tracked while it runs: the
 * PRE_COPY initial bytes are the compatibility description the destination
 * checks early, and the controller state follows in STOP_COPY.
 */

#include <kunit/visibility.h>
#include <linux/anon_inodes.h>
#include <linux/cleanup.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/nvme.h>
#include <linux/pci.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/vfio.h>

#include "common.h"
#include "stream.h"

static unsigned int max_state_size = SZ_16M;
module_param(max_state_size, uint, 0444);
MODULE_PARM_DESC(max_state_size,
		 "Largest controller state, in bytes, saved or accepted from a migration stream (default: 16 MiB)");

/**
 * struct nvmevf_save - the stream of a saving data fd
 * @compat: the compatibility record
 * @hdr: the state record header
 * @state: the controller state, NULL until the device reaches STOP_COPY
 * @state_len: its size in bytes
 * @tail: the state record trailer
 */
struct nvmevf_save {
	struct nvmevf_compat_rec compat;
	struct nvmevf_rec_hdr hdr;
	void *state;
	size_t state_len;
	struct nvmevf_rec_tail tail;
};

/**
 * struct nvmevf_migf - a migration data fd
 * @filp: its file
 * @nvdev: its device
 * @io_lock: serializes read() and write(), which hold it across
 *	copy_{to,from}_user(); taken before @lock, never by the FSM
 * @lock: protects the members below; the FSM takes it to disable the file
 * @disabled: the device left the state the file belongs to
 * @copying: read() or write() copies to or from the buffers below without
 *	@lock; a disabled file's buffers are then freed once it is done
 * @precopy: a saving file whose stream ends, for now, after its
 *	compatibility record
 * @resuming: set at creation: the file takes a stream in @parser, else it
 *	yields @save
 * @save: the stream of a saving file
 * @parser: the stream parser of a resuming file
 *
 * A file only saves or only resumes, so @save and @parser share memory:
 * with the &struct file and the dentry of the data fd, a migrating VF then
 * holds less than a page on top of its controller state.
 */
struct nvmevf_migf {
	struct file *filp;
	struct nvmevf_pci_core_device *nvdev;
	/* serializes read() and write(); taken before @lock */
	struct mutex io_lock;
	/* protects the members below */
	struct mutex lock;
	bool disabled;
	bool copying;
	bool precopy;
	bool resuming;
	union {
		struct nvmevf_save save;
		struct nvmevf_stream_parser parser;
	};
};

static const struct nvmevf_pf_ops nvmevf_pf_ops = {
	.suspend = nvme_lm_suspend,
	.resume = nvme_lm_resume,
	.state_size = nvme_lm_state_size,
	.get_state = nvme_lm_get_state,
	.set_state = nvme_lm_set_state,
};

static struct device *nvmevf_dev(struct nvmevf_pci_core_device *nvdev)
{
	return nvdev->core_device.vdev.dev;
}

static struct pci_dev *nvmevf_pdev(struct nvmevf_pci_core_device *nvdev)
{
	return nvdev->core_device.pdev;
}

static const char *nvmevf_state_name(enum vfio_device_mig_state state)
{
	static const char * const names[] = {
		[VFIO_DEVICE_STATE_ERROR] = "error",
		[VFIO_DEVICE_STATE_STOP] = "stop",
		[VFIO_DEVICE_STATE_RUNNING] = "running",
		[VFIO_DEVICE_STATE_STOP_COPY] = "stop_copy",
		[VFIO_DEVICE_STATE_RESUMING] = "resuming",
		[VFIO_DEVICE_STATE_RUNNING_P2P] = "running_p2p",
		[VFIO_DEVICE_STATE_PRE_COPY] = "pre_copy",
		[VFIO_DEVICE_STATE_PRE_COPY_P2P] = "pre_copy_p2p",
	};

	return state < ARRAY_SIZE(names) ? names[state] : "unknown";
}

/*
 * Whether the controller of a VF in @state was suspended by the FSM, or may
 * be (ERROR)
 */
static bool nvmevf_suspended(enum vfio_device_mig_state state)
{
	return state != VFIO_DEVICE_STATE_RUNNING &&
	       state != VFIO_DEVICE_STATE_PRE_COPY;
}

/*
 * Whether an arc from @state that failed with @err lost the controller's
 * state: a cancelled command (it timed out, and nvme-pci reset the PF,
 * which takes the secondary controllers offline, or the PF went away) did
 * or did not take effect; a suspended controller whose PF is gone cannot be
 * resumed, one that went offline or out of the PF's Secondary Controller
 * List (or a list that does not parse) lost its state, and one that
 * reports Controller Not Suspended was resumed behind the FSM's back.
 */
static bool nvmevf_state_lost(enum vfio_device_mig_state state, int err)
{
	switch (err) {
	case -ECANCELED:
		return true;
	case -ENODEV:
	case -ENOLINK:
	case -ENOENT:
	case -EPROTO:
	case -EALREADY:
		return nvmevf_suspended(state);
	default:
		return false;
	}
}

/* Free the buffers of a file; called with migf->lock */
static void nvmevf_free_bufs(struct nvmevf_migf *migf)
{
	if (migf->resuming) {
		nvmevf_stream_parser_free(&migf->parser);
		return;
	}
	kvfree(migf->save.state);
	migf->save.state = NULL;
	migf->save.state_len = 0;
}

static void nvmevf_disable_migf(struct nvmevf_migf *migf)
{
	guard(mutex)(&migf->lock);
	migf->disabled = true;
	migf->precopy = false;
	if (!migf->copying)
		nvmevf_free_bufs(migf);
}

static void nvmevf_put_migf(struct nvmevf_migf **migf)
{
	if (!*migf)
		return;
	nvmevf_disable_migf(*migf);
	fput((*migf)->filp);
	*migf = NULL;
}

static void nvmevf_disable_fds(struct nvmevf_pci_core_device *nvdev)
{
	nvmevf_put_migf(&nvdev->saving_migf);
	nvmevf_put_migf(&nvdev->resuming_migf);
}

static int nvmevf_release_file(struct inode *inode, struct file *filp)
{
	struct nvmevf_migf *migf = filp->private_data;

	/* The FSM disabled the file, and its buffers are freed */
	mutex_destroy(&migf->lock);
	mutex_destroy(&migf->io_lock);
	kfree(migf);
	return 0;
}

/*
 * The data fds copy between user memory and their buffers without holding
 * migf->lock, which the FSM takes to disable them: a fault in
 * copy_{to,from}_user() can take mmap_lock and then vdev->memory_lock, for a
 * buffer that is an mmap()ed BAR, while a device reset holds memory_lock and
 * disables the fds. A copy sets @copying under migf->lock first, and then
 * disabling the file leaves its buffers for the copy to free.
 */

/* End a copy: true if the file is still enabled; called with migf->lock */
static bool nvmevf_copy_end(struct nvmevf_migf *migf)
{
	migf->copying = false;
	if (!migf->disabled)
		return true;
	nvmevf_free_bufs(migf);
	return false;
}

/*
 * Where the stream continues at the file position: up to @len bytes at
 * @src, 0 at its end. Called with migf->lock.
 */
static size_t nvmevf_save_span(struct nvmevf_migf *migf, const void **src,
			       size_t len)
{
	const struct kvec segs[] = {
		{ &migf->save.compat, sizeof(migf->save.compat) },
		{ &migf->save.hdr, sizeof(migf->save.hdr) },
		{ migf->save.state, migf->save.state_len },
		{ &migf->save.tail, sizeof(migf->save.tail) },
	};
	unsigned int i, nsegs = migf->precopy ? 1 : ARRAY_SIZE(segs);
	loff_t off = migf->filp->f_pos;

	for (i = 0; i < nsegs; i++) {
		if (off < segs[i].iov_len) {
			*src = segs[i].iov_base + off;
			return min_t(size_t, len, segs[i].iov_len - off);
		}
		off -= segs[i].iov_len;
	}
	return 0;
}

static ssize_t nvmevf_save_read(struct file *filp, char __user *buf,
				size_t len, loff_t *pos)
{
	struct nvmevf_migf *migf = filp->private_data;
	const void *src;
	ssize_t done = 0;
	size_t n, left;
	int ret = 0;

	if (pos)
		return -ESPIPE;

	ACQUIRE(mutex_kill, io)(&migf->io_lock);
	ret = ACQUIRE_ERR(mutex_kill, &io);
	while (len && !ret) {
		scoped_guard(mutex, &migf->lock) {
			if (migf->disabled)
				return done ?: -ENODEV;
			n = nvmevf_save_span(migf, &src, len);
			if (!n)
				/* The temporary end of a PRE_COPY stream */
				return done ?: (migf->precopy ? -ENOMSG : 0);
			migf->copying = true;
		}

		left = copy_to_user(buf, src, n);
		n -= left;
		scoped_guard(mutex, &migf->lock) {
			if (nvmevf_copy_end(migf))
				filp->f_pos += n;
		}
		if (left)
			ret = -EFAULT;
		buf += n;
		len -= n;
		done += n;
	}
	return done ?: ret;
}

static long nvmevf_save_ioctl(struct file *filp, unsigned int cmd,
			      unsigned long arg)
{
	unsigned long minsz = offsetofend(struct vfio_precopy_info, dirty_bytes);
	struct nvmevf_migf *migf = filp->private_data;
	struct vfio_precopy_info info;

	/*
	 * Not vfio_check_precopy_ioctl(): it reads the device, which a file
	 * does not keep alive, before the file's lock tells whether the device
	 * is still there, and the lock is not held across a user copy.
	 */
	if (cmd != VFIO_MIG_GET_PRECOPY_INFO)
		return -ENOTTY;
	if (copy_from_user(&info, (void __user *)arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	/*
	 * A saving file is in precopy exactly while the device is in PRE_COPY
	 * or PRE_COPY_P2P: the FSM clears @precopy under migf->lock when it
	 * leaves them or disables the file. The state cannot be tracked, so
	 * nothing gets dirty.
	 */
	scoped_guard(mutex, &migf->lock) {
		if (!migf->precopy)
			return -EINVAL;
		if (migf->nvdev->core_device.vdev.precopy_info_v2)
			info.flags = 0;
		info.initial_bytes = sizeof(migf->save.compat) - filp->f_pos;
		info.dirty_bytes = 0;
	}

	if (copy_to_user((void __user *)arg, &info, minsz))
		return -EFAULT;
	return 0;
}

static const struct file_operations nvmevf_save_fops = {
	.owner = THIS_MODULE,
	.read = nvmevf_save_read,
	.unlocked_ioctl = nvmevf_save_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.release = nvmevf_release_file,
};

static ssize_t nvmevf_resume_write(struct file *filp, const char __user *buf,
				   size_t len, loff_t *pos)
{
	struct nvmevf_migf *migf = filp->private_data;
	struct nvmevf_stream_parser *p = &migf->parser;
	ssize_t done = 0;
	size_t n, left;
	void *dst;
	int ret;

	if (pos)
		return -ESPIPE;

	ACQUIRE(mutex_kill, io)(&migf->io_lock);
	ret = ACQUIRE_ERR(mutex_kill, &io);
	if (ret)
		return ret;
	while (len) {
		scoped_guard(mutex, &migf->lock) {
			if (migf->disabled)
				return done ?: -ENODEV;
			/* The parser logs why it rejects the stream */
			ret = nvmevf_stream_window(p, &dst, &n);
			if (ret)
				return done ?: ret;
			migf->copying = true;
		}

		/* The parser checks what it got once it is in the window */
		n = min(n, len);
		left = copy_from_user(dst, buf, n);
		n -= left;
		scoped_guard(mutex, &migf->lock) {
			if (!nvmevf_copy_end(migf))
				return done ?: -ENODEV;
			/* A rejection of these bytes fails the next write */
			ret = nvmevf_stream_advance(p, n);
			if (ret)
				return done ?: ret;
			filp->f_pos += n;
		}
		done += n;
		if (left)
			return done ?: -EFAULT;
		buf += n;
		len -= n;
	}
	return done;
}

static const struct file_operations nvmevf_resume_fops = {
	.owner = THIS_MODULE,
	.write = nvmevf_resume_write,
	.release = nvmevf_release_file,
};

static struct nvmevf_migf *nvmevf_alloc_migf(struct nvmevf_pci_core_device *nvdev,
					     bool save)
{
	struct nvmevf_migf *migf;
	struct file *filp;

	migf = kzalloc_obj(*migf, GFP_KERNEL_ACCOUNT);
	if (!migf)
		return ERR_PTR(-ENOMEM);

	filp = anon_inode_getfile("nvme_vfio_mig",
				  save ? &nvmevf_save_fops : &nvmevf_resume_fops,
				  migf, save ? O_RDONLY : O_WRONLY);
	if (IS_ERR(filp)) {
		kfree(migf);
		return ERR_CAST(filp);
	}

	stream_open(filp->f_inode, filp);
	mutex_init(&migf->io_lock);
	mutex_init(&migf->lock);
	migf->filp = filp;
	migf->nvdev = nvdev;
	migf->resuming = !save;
	return migf;
}

/* nvme-pci logs a failed command, with its NVMe status */
static int nvmevf_get_state_at(struct nvmevf_pci_core_device *nvdev,
			       size_t offset, void *buf, size_t len)
{
	return nvdev->pf->get_state(nvmevf_pdev(nvdev), &nvdev->fmt, offset,
				    buf, len);
}

/* Read the header of the state into @hdr and size the state from it */
static int nvmevf_size_state(struct nvmevf_pci_core_device *nvdev,
			     struct nvme_ctrl_state_hdr *hdr, size_t *lenp)
{
	struct device *dev = nvmevf_dev(nvdev);
	int ret;

	ret = nvmevf_get_state_at(nvdev, 0, hdr, sizeof(*hdr));
	if (ret)
		return ret;
	if (nvme_lm_state_hdr_size(hdr, lenp)) {
		dev_err_ratelimited(dev, "the controller returned a bad state: section sizes overflow\n");
		return -EIO;
	}
	if (*lenp > nvdev->max_state) {
		dev_err_ratelimited(dev, "controller state of %zu bytes exceeds max_state_size (%zu)\n",
				    *lenp, nvdev->max_state);
		return -EFBIG;
	}
	return 0;
}

/*
 * Read the state of the suspended controller, sized and checked. Nothing
 * promises what a read past the end of the state returns, so the header
 * is read alone, and then exactly the rest of the state, in MDTS chunks.
 */
static int nvmevf_read_state(struct nvmevf_pci_core_device *nvdev,
			     void **statep, size_t *lenp)
{
	struct nvmevf_stream_status st = {
		.dev = nvmevf_dev(nvdev),
		.what = "the controller returned a bad state",
	};
	struct nvme_ctrl_state_hdr *hdr;
	const size_t hlen = sizeof(*hdr);
	void *state = NULL;
	size_t len;
	int ret;

	/* DMA needs a buffer of its own, not the stack */
	hdr = kmalloc_obj(*hdr, GFP_KERNEL_ACCOUNT);
	if (!hdr)
		return -ENOMEM;
	ret = nvmevf_size_state(nvdev, hdr, &len);
	if (!ret) {
		state = nvmevf_state_alloc(len);
		if (!state)
			ret = -ENOMEM;
	}
	if (!ret && len > hlen)
		ret = nvmevf_get_state_at(nvdev, hlen, state + hlen, len - hlen);
	/* Not before: the header may share a cache line with the DMA */
	if (!ret)
		memcpy(state, hdr, hlen);
	kfree(hdr);
	if (ret)
		goto err;

	ret = nvmevf_stream_check_state(state, len, NVMEVF_CSV,
					nvdev->fmt.csuuidi, &st);
	if (ret) {
		ret = -EIO;
		goto err;
	}

	*statep = state;
	*lenp = len;
	return 0;
err:
	kvfree(state);
	return ret;
}

/* Append the controller state to a saving file's stream */
static void nvmevf_attach_state(struct nvmevf_migf *migf, void *state,
				size_t len)
{
	guard(mutex)(&migf->lock);
	migf->save.state = state;
	migf->save.state_len = len;
	nvmevf_stream_put_state(&migf->save.hdr, &migf->save.tail, state,
				len);
	migf->precopy = false;
}

/* Start a save: the stream has the compatibility record, and @state if set */
static struct file *nvmevf_start_save(struct nvmevf_pci_core_device *nvdev,
				      void *state, size_t len)
{
	struct nvmevf_migf *migf;

	migf = nvmevf_alloc_migf(nvdev, true);
	if (IS_ERR(migf)) {
		kvfree(state);
		return ERR_CAST(migf);
	}

	nvmevf_stream_put_compat(&migf->save.compat, &nvdev->info, &nvdev->fmt,
				 len);
	if (state)
		nvmevf_attach_state(migf, state, len);
	else
		migf->precopy = true;
	nvdev->saving_migf = migf;
	return get_file(migf->filp);
}

static int nvmevf_load_state(struct nvmevf_pci_core_device *nvdev)
{
	struct nvmevf_migf *migf = nvdev->resuming_migf;
	struct nvmevf_stream_parser *p = &migf->parser;
	int ret;

	guard(mutex)(&migf->lock);
	ret = nvmevf_stream_finish(p);
	if (ret)
		return ret;
	return nvdev->pf->set_state(nvmevf_pdev(nvdev), &p->fmt, p->state,
				    p->state_len);
}

/*
 * Suspend or resume the controller. A Resume that finds it running reached
 * the state the arc wants: nothing says that a reset, which the FSM sees
 * only afterwards, keeps a controller suspended.
 */
static int nvmevf_set_suspended(struct nvmevf_pci_core_device *nvdev,
				bool suspend)
{
	struct pci_dev *pdev = nvmevf_pdev(nvdev);
	int ret;

	if (suspend)
		return nvdev->pf->suspend(pdev);
	ret = nvdev->pf->resume(pdev);
	return ret == -EALREADY ? 0 : ret;
}

/* STOP -> STOP_COPY and PRE_COPY_P2P -> STOP_COPY: the state joins the stream */
static struct file *nvmevf_stop_copy(struct nvmevf_pci_core_device *nvdev,
				     enum vfio_device_mig_state cur)
{
	void *state;
	size_t len;
	int ret;

	ret = nvmevf_read_state(nvdev, &state, &len);
	if (ret)
		return ERR_PTR(ret);
	if (cur == VFIO_DEVICE_STATE_STOP)
		return nvmevf_start_save(nvdev, state, len);
	nvmevf_attach_state(nvdev->saving_migf, state, len);
	return NULL;
}

/* RUNNING -> PRE_COPY and RUNNING_P2P -> PRE_COPY_P2P */
static struct file *nvmevf_pre_copy(struct nvmevf_pci_core_device *nvdev)
{
	size_t len;
	int ret;

	/* A running controller may refuse to size its state */
	ret = nvdev->pf->state_size(nvmevf_pdev(nvdev), &nvdev->fmt, &len);
	if (ret) {
		dev_dbg(nvmevf_dev(nvdev), "controller state size unknown before the copy: %pe\n",
			ERR_PTR(ret));
		len = 0;
	}
	return nvmevf_start_save(nvdev, NULL, len);
}

/*
 * STOP -> RESUMING. STOP is reached only through RUNNING_P2P, whose arc
 * suspended the controller: the state is loaded into a quiesced controller.
 */
static struct file *nvmevf_start_resume(struct nvmevf_pci_core_device *nvdev)
{
	struct nvmevf_migf *migf;

	migf = nvmevf_alloc_migf(nvdev, false);
	if (IS_ERR(migf))
		return ERR_CAST(migf);
	nvmevf_stream_parser_init(&migf->parser, nvmevf_dev(nvdev), &nvdev->info,
				  nvdev->max_state);
	nvdev->resuming_migf = migf;
	return get_file(migf->filp);
}

/*
 * Perform one arc that vfio_mig_get_next_state() chose. The controller
 * cannot stop only its peer-to-peer DMA, so it stops all of it: it is
 * suspended on entering the P2P states, and keeps answering MMIO, config
 * space and MSI-X. The arcs that change whether it is suspended are exactly
 * RUNNING <-> RUNNING_P2P and PRE_COPY <-> PRE_COPY_P2P.
 */
static struct file *nvmevf_step(struct nvmevf_pci_core_device *nvdev,
				enum vfio_device_mig_state new)
{
	enum vfio_device_mig_state cur = nvdev->mig_state;
	int ret;

	if (nvmevf_suspended(cur) != nvmevf_suspended(new)) {
		ret = nvmevf_set_suspended(nvdev, nvmevf_suspended(new));
		return ret ? ERR_PTR(ret) : NULL;
	}
	if (new == VFIO_DEVICE_STATE_STOP_COPY)
		return nvmevf_stop_copy(nvdev, cur);
	if (new == VFIO_DEVICE_STATE_PRE_COPY ||
	    new == VFIO_DEVICE_STATE_PRE_COPY_P2P)
		return nvmevf_pre_copy(nvdev);
	if (new == VFIO_DEVICE_STATE_RESUMING)
		return nvmevf_start_resume(nvdev);
	if (cur == VFIO_DEVICE_STATE_RESUMING) {
		ret = nvmevf_load_state(nvdev);
		if (ret)
			return ERR_PTR(ret);
		/* A reset after the load deleted what it loaded; one before not */
		spin_lock(&nvdev->reset_lock);
		nvdev->load_raced = nvdev->deferred_reset;
		spin_unlock(&nvdev->reset_lock);
	}
	/*
	 * What is left: leaving the saving or resuming states, which ends
	 * their data fd, and RUNNING_P2P <-> STOP, where nothing happens.
	 */
	nvmevf_disable_fds(nvdev);
	return NULL;
}

/*
 * End any migration after a reset or on close: the data fds are disabled
 * and the device is RUNNING. Nothing says whether a function level reset
 * ends a suspension, so a controller the FSM suspended, or whose state it
 * lost, is left for nvmevf_resume_pending() to resume. Called with
 * state_mutex.
 */
static void nvmevf_end_migration(struct nvmevf_pci_core_device *nvdev)
{
	nvmevf_disable_fds(nvdev);
	if (nvmevf_suspended(nvdev->mig_state))
		nvdev->resume_pending = true;
	nvdev->mig_state = VFIO_DEVICE_STATE_RUNNING;
}

/*
 * Send the Resume that nvmevf_end_migration() left pending. A controller
 * that turns out to run already is fine, a PF that resets leaves it
 * pending; a controller that cannot be resumed leaves the device in ERROR,
 * which only a reset leaves. Called with state_mutex.
 */
static void nvmevf_resume_pending(struct nvmevf_pci_core_device *nvdev,
				  const char *when)
{
	int ret;

	if (!nvdev->resume_pending)
		return;
	nvdev->resume_pending = false;
	ret = nvdev->pf->resume(nvmevf_pdev(nvdev));
	/* A PF that resets has not seen the Resume: the next taker retries */
	if (ret == -EAGAIN)
		nvdev->resume_pending = true;
	if (!ret || ret == -EALREADY || ret == -EAGAIN)
		return;
	dev_warn_ratelimited(nvmevf_dev(nvdev), "cannot resume the controller %s: %pe\n",
			     when, ERR_PTR(ret));
	nvdev->mig_state = VFIO_DEVICE_STATE_ERROR;
}

/*
 * Lock state_mutex. Whoever takes it first after a reset sends the Resume
 * the reset left pending, before anything else sees the device.
 */
static void nvmevf_state_mutex_lock(struct nvmevf_pci_core_device *nvdev)
{
	mutex_lock(&nvdev->state_mutex);
	nvmevf_resume_pending(nvdev, "after a reset");
}

/*
 * Apply a reset that came while state_mutex was held. The reset deleted
 * the controller's I/O queues, but if the holder's load of a state ended
 * after the reset (@raced), the load put them back: resumed, the
 * controller would run them, which a reset device must not. It is left
 * suspended, in ERROR, for a reset of its own to clear. Called with
 * state_mutex.
 */
static void nvmevf_apply_deferred_reset(struct nvmevf_pci_core_device *nvdev,
					bool raced)
{
	nvmevf_end_migration(nvdev);
	if (raced) {
		dev_warn_ratelimited(nvmevf_dev(nvdev), "a reset came while a state was loaded: the device is in ERROR until it is reset again\n");
		nvdev->resume_pending = false;
		nvdev->mig_state = VFIO_DEVICE_STATE_ERROR;
	}
	nvmevf_resume_pending(nvdev, "after a reset");
}

/*
 * Unlock state_mutex, first applying a reset that nvmevf_migration_reset()
 * could not apply because the mutex was held.
 */
static void nvmevf_state_mutex_unlock(struct nvmevf_pci_core_device *nvdev)
{
	bool raced = nvdev->load_raced;

	nvdev->load_raced = false;
again:
	spin_lock(&nvdev->reset_lock);
	if (nvdev->deferred_reset) {
		nvdev->deferred_reset = false;
		spin_unlock(&nvdev->reset_lock);
		nvmevf_apply_deferred_reset(nvdev, raced);
		raced = false;
		goto again;
	}
	mutex_unlock(&nvdev->state_mutex);
	spin_unlock(&nvdev->reset_lock);
}

DEFINE_GUARD(nvmevf_state, struct nvmevf_pci_core_device *,
	     nvmevf_state_mutex_lock(_T), nvmevf_state_mutex_unlock(_T))

/*
 * Enter ERROR if a command that failed with @err lost the controller's
 * state. Returns the errno for the user: Controller Not Suspended
 * (-EALREADY) is the device's view, not an operation in progress. Called
 * with state_mutex.
 */
static int nvmevf_failed(struct nvmevf_pci_core_device *nvdev, int err)
{
	if (nvmevf_state_lost(nvdev->mig_state, err) &&
	    nvdev->mig_state != VFIO_DEVICE_STATE_ERROR) {
		dev_err_ratelimited(nvmevf_dev(nvdev), "controller state lost (%pe): the device is in ERROR until it is reset\n",
				    ERR_PTR(err));
		nvmevf_disable_fds(nvdev);
		nvdev->mig_state = VFIO_DEVICE_STATE_ERROR;
	}
	return err == -EALREADY ? -EIO : err;
}

static struct file *nvmevf_set_mig_state(struct vfio_device *vdev,
					 enum vfio_device_mig_state new_state)
{
	struct nvmevf_pci_core_device *nvdev = nvmevf_of(vdev);
	enum vfio_device_mig_state next;
	struct file *res = NULL;
	int ret;

	/*
	 * A failed arc leaves the device in the last state it reached, unless
	 * the controller's state is lost (nvmevf_state_lost()): then the data
	 * fds are disabled and the device is in ERROR, from which
	 * vfio_mig_get_next_state() allows no arc; only a reset leaves it.
	 */
	guard(nvmevf_state)(nvdev);
	while (new_state != nvdev->mig_state) {
		/* Which vfio_mig_get_next_state() would WARN about */
		if (nvdev->mig_state == VFIO_DEVICE_STATE_ERROR)
			return ERR_PTR(-EINVAL);
		ret = vfio_mig_get_next_state(vdev, nvdev->mig_state, new_state,
					      &next);
		if (ret)
			return ERR_PTR(ret);
		res = nvmevf_step(nvdev, next);
		if (IS_ERR(res)) {
			/* nvme-pci has logged a failed command's NVMe status */
			dev_err_ratelimited(nvmevf_dev(nvdev),
					    "migration state %s -> %s failed: %pe\n",
					    nvmevf_state_name(nvdev->mig_state),
					    nvmevf_state_name(next), res);
			return ERR_PTR(nvmevf_failed(nvdev, PTR_ERR(res)));
		}
		nvdev->mig_state = next;
		if (WARN_ON(res && new_state != nvdev->mig_state)) {
			fput(res);
			return ERR_PTR(-EINVAL);
		}
	}
	return res;
}

static int nvmevf_get_mig_state(struct vfio_device *vdev,
				enum vfio_device_mig_state *curr_state)
{
	struct nvmevf_pci_core_device *nvdev = nvmevf_of(vdev);

	guard(nvmevf_state)(nvdev);
	*curr_state = nvdev->mig_state;
	return 0;
}

/*
 * The size of the stream a save started now would produce. While the
 * controller runs (RUNNING, PRE_COPY) its state can grow or shrink as the
 * guest creates and deletes I/O queues, and a controller may refuse to size
 * its state before it is suspended: then the size of a stream with just the
 * Controller State header is reported, a lower bound. A real state adds a
 * few KiB at most, far less than what the guest's memory weighs in the
 * estimate, while an error would have QEMU assume a large device state.
 */
static int nvmevf_get_data_size(struct vfio_device *vdev,
				unsigned long *stop_copy_length)
{
	struct nvmevf_pci_core_device *nvdev = nvmevf_of(vdev);
	size_t len;
	int ret;

	guard(nvmevf_state)(nvdev);
	ret = nvdev->pf->state_size(nvmevf_pdev(nvdev), &nvdev->fmt, &len);
	if (ret && !nvmevf_suspended(nvdev->mig_state)) {
		dev_dbg(nvmevf_dev(nvdev), "controller state size unknown while running: %pe\n",
			ERR_PTR(ret));
		len = sizeof(struct nvme_ctrl_state_hdr);
		ret = 0;
	}
	if (ret)
		return nvmevf_failed(nvdev, ret);
	*stop_copy_length = nvmevf_stream_size(len);
	return 0;
}

static const struct vfio_migration_ops nvmevf_mig_ops = {
	.migration_set_state = nvmevf_set_mig_state,
	.migration_get_state = nvmevf_get_mig_state,
	.migration_get_data_size = nvmevf_get_data_size,
};

static const char *nvmevf_query_error(int err)
{
	switch (err) {
	case -ENODEV:
		return "the PF is not driven by nvme-pci or is going away";
	case -EOPNOTSUPP:
		return "the PF does not support host managed live migration";
	case -ENOENT:
		return "the PF lists no secondary controller for this VF";
	case -ENOLINK:
		return "the secondary controller of this VF is offline";
	default:
		return "the PF could not be queried";
	}
}

/**
 * nvmevf_migration_supported() - Check whether a function can migrate
 * @pdev: the function
 * @info: set to what its PF offers
 * @fmt: set to the formats to save its state in
 *
 * Logs one line that says whether the function can migrate, and if not why.
 *
 * Return: true if @pdev is a VF whose PF can migrate it.
 */
bool nvmevf_migration_supported(struct pci_dev *pdev,
				struct nvme_lm_info *info,
				struct nvme_lm_fmt *fmt)
{
	struct device *dev = &pdev->dev;
	int ret;

	if (!pdev->is_virtfn) {
		dev_info(dev, "live migration off: not an SR-IOV VF\n");
		return false;
	}

	ret = nvme_lm_query(pdev, info);
	if (ret) {
		dev_info(dev, "live migration off: %s (%pe)\n",
			 nvmevf_query_error(ret), ERR_PTR(ret));
		return false;
	}

	ret = nvmevf_stream_find_version(info, NVMEVF_CSV);
	if (ret < 0) {
		dev_info(dev, "live migration off: the PF offers no version %u NVMe-defined controller state\n",
			 NVMEVF_CSV);
		return false;
	}
	/*
	 * The NVMe-defined state holds only the I/O queues: the admin queue,
	 * features and events travel in the vendor-specific section, and the
	 * first vendor-specific format is the controller's own.
	 */
	if (!info->nr_uuids) {
		dev_info(dev, "live migration off: the PF offers no vendor-specific controller state format\n");
		return false;
	}
	fmt->csvi = ret + 1;
	fmt->csuuidi = 1;
	dev_info(dev, "live migration on: controller %u, vendor-specific state format %pUb\n",
		 info->cntlid, &info->uuids[0]);
	return true;
}

/* Send the Resume a reset left pending, unless someone did already */
static void nvmevf_resume_work(struct work_struct *work)
{
	struct nvmevf_pci_core_device *nvdev =
		container_of(work, struct nvmevf_pci_core_device, resume_work);

	/* Taking state_mutex sends it; unlocking applies a later reset */
	guard(nvmevf_state)(nvdev);
}

/**
 * nvmevf_migration_init() - Make a device migratable
 * @nvdev: the device, not yet registered
 * @info: what its PF offers
 * @fmt: the formats to save its state in
 */
void nvmevf_migration_init(struct nvmevf_pci_core_device *nvdev,
			   const struct nvme_lm_info *info,
			   const struct nvme_lm_fmt *fmt)
{
	struct vfio_device *vdev = &nvdev->core_device.vdev;

	nvdev->pf = &nvmevf_pf_ops;
	nvdev->info = *info;
	nvdev->fmt = *fmt;
	nvdev->max_state = min_t(size_t, max_state_size, INT_MAX);
	mutex_init(&nvdev->state_mutex);
	spin_lock_init(&nvdev->reset_lock);
	INIT_WORK(&nvdev->resume_work, nvmevf_resume_work);
	/*
	 * Closed, the device is RUNNING, or in ERROR if the close could not
	 * resume the controller: the next open keeps that state.
	 */
	nvdev->mig_state = VFIO_DEVICE_STATE_RUNNING;
	vdev->migration_flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
				VFIO_MIGRATION_PRE_COPY;
	vdev->mig_ops = &nvmevf_mig_ops;
}
EXPORT_SYMBOL_IF_KUNIT(nvmevf_migration_init);

/**
 * nvmevf_migration_release() - Undo nvmevf_migration_init()
 * @nvdev: the device
 */
void nvmevf_migration_release(struct nvmevf_pci_core_device *nvdev)
{
	cancel_work_sync(&nvdev->resume_work);
	mutex_destroy(&nvdev->state_mutex);
}
EXPORT_SYMBOL_IF_KUNIT(nvmevf_migration_release);

/**
 * nvmevf_migration_close() - End the migration of a device being closed
 * @nvdev: the device
 *
 * Disables the data fds and resumes the controller if the FSM left it
 * suspended, so that the next user of the VF finds it running. A device
 * whose controller cannot be resumed stays in ERROR, closed and when opened
 * again, until a reset resumes it: the reset of the close or of the next
 * open need not end the suspension.
 */
void nvmevf_migration_close(struct nvmevf_pci_core_device *nvdev)
{
	guard(nvmevf_state)(nvdev);
	nvmevf_end_migration(nvdev);
	nvmevf_resume_pending(nvdev, "on close");
}
EXPORT_SYMBOL_IF_KUNIT(nvmevf_migration_close);

/**
 * nvmevf_migration_reset() - Return the FSM to RUNNING after a reset
 * @nvdev: the device, whose function was just reset
 *
 * A function level reset resets the VF's controller: every data fd is
 * disabled, a controller the FSM suspended is resumed, and the device is
 * RUNNING, or in ERROR if the controller could not be resumed.
 */
void nvmevf_migration_reset(struct nvmevf_pci_core_device *nvdev)
{
	bool resume;

	/*
	 * Deferred reset, as in mlx5, virtio and xe. The PCI core calls this
	 * with vdev->memory_lock held, while a state_mutex holder may be
	 * waiting for a PF command, up to the admin timeout, or for
	 * migf->lock. Rather than stall the reset behind it, only try
	 * state_mutex: when it is busy, its holder applies the reset on
	 * unlock. For the same reason the Resume, a PF command, is sent from
	 * a work item, or by whoever takes state_mutex before it runs.
	 */
	spin_lock(&nvdev->reset_lock);
	nvdev->deferred_reset = true;
	if (!mutex_trylock(&nvdev->state_mutex)) {
		spin_unlock(&nvdev->reset_lock);
		return;
	}
	nvdev->deferred_reset = false;
	spin_unlock(&nvdev->reset_lock);
	nvmevf_end_migration(nvdev);
	resume = nvdev->resume_pending;
	/* The PCI core serializes resets: no other one can be deferred now */
	mutex_unlock(&nvdev->state_mutex);
	/* Unbound and long: the Resume may wait for the admin timeout */
	if (resume)
		queue_work(system_dfl_long_wq, &nvdev->resume_work);
}
EXPORT_SYMBOL_IF_KUNIT(nvmevf_migration_reset);
