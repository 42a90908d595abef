// SPDX-License-Identifier: GPL-2.0
/*
 * NVMe Host Managed Live Migration (TP4159, NVMe Base 2.1) of SR-IOV VFs.
 *
 * nvme-pci drives the controlling function (the PF) and offers the vfio-pci
 * variant driver of its VFs the operations of include/linux/nvme-lm.h.
 * Control flows one way: the VF driver names a VF, and the commands go
 * through the PF's admin queue to that VF's secondary controller, whose ID
 * comes from the PF's Secondary Controller List. Nothing else of the PF is
 * reachable: there is no command passthrough.
 *
 * Lifetime: nvme-pci leaves the VFs enabled when its PF driver is removed,
 * so a VF driver can outlive the PF's &struct nvme_dev, and the PF's driver
 * data may even belong to another driver by then. The PF is therefore found
 * in a list of the PFs that nvme-pci drives, which nvme_probe() joins once
 * the controller is live and nvme_remove() leaves before it tears anything
 * down. Each operation takes a reference on the PF's controller under the
 * list's lock, which keeps the &struct nvme_dev alive while the operation
 * runs, and fails at once unless the controller is live: a command that
 * races with the removal fails, as the dying admin queue refuses it.
 */

#include <linux/bitfield.h>
#include <linux/cleanup.h>
#include <linux/export.h>
#include <linux/minmax.h>
#include <linux/overflow.h>
#include <linux/pci.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/unaligned.h>
#include <kunit/visibility.h>

#include "nvme.h"
#include "lm.h"

/* Largest data transfer of one Migration Send or Receive, whatever MDTS */
#define NVME_LM_MAX_CHUNK	SZ_1M

static void nvme_lm_init_cmd(struct nvme_command *c, u8 opcode, u8 sel,
			     u16 mos, u32 cdw11)
{
	memset(c, 0, sizeof(*c));
	c->common.opcode = opcode;
	c->common.cdw10 = cpu_to_le32(FIELD_PREP(NVME_LM_CDW10_SEL, sel) |
				      FIELD_PREP(NVME_LM_CDW10_MOS, mos));
	c->common.cdw11 = cpu_to_le32(cdw11);
}

static void nvme_lm_set_chunk(struct nvme_command *c,
			      const struct nvme_lm_chunk *chunk, u32 numd)
{
	c->common.cdw12 = cpu_to_le32(lower_32_bits(chunk->offset));
	c->common.cdw13 = cpu_to_le32(upper_32_bits(chunk->offset));
	c->common.cdw15 = cpu_to_le32(numd);
}

/**
 * nvme_lm_suspend_cmd() - Encode a Migration Send, Suspend
 * @c: the command to fill in
 * @cntlid: the secondary controller to suspend
 */
VISIBLE_IF_KUNIT void nvme_lm_suspend_cmd(struct nvme_command *c, u16 cntlid)
{
	nvme_lm_init_cmd(c, nvme_admin_migration_send,
			 NVME_LM_SEND_SEL_SUSPEND, 0,
			 FIELD_PREP(NVME_LM_CDW11_CNTLID, cntlid) |
			 FIELD_PREP(NVME_LM_SUSPEND_CDW11_STYPE,
				    NVME_LM_STYPE_SUSPEND));
}
EXPORT_SYMBOL_IF_KUNIT(nvme_lm_suspend_cmd);

/**
 * nvme_lm_resume_cmd() - Encode a Migration Send, Resume
 * @c: the command to fill in
 * @cntlid: the secondary controller to resume
 */
VISIBLE_IF_KUNIT void nvme_lm_resume_cmd(struct nvme_command *c, u16 cntlid)
{
	nvme_lm_init_cmd(c, nvme_admin_migration_send, NVME_LM_SEND_SEL_RESUME,
			 0, FIELD_PREP(NVME_LM_CDW11_CNTLID, cntlid));
}
EXPORT_SYMBOL_IF_KUNIT(nvme_lm_resume_cmd);

/**
 * nvme_lm_set_state_cmd() - Encode a Migration Send, Set Controller State
 * @c: the command to fill in
 * @cntlid: the secondary controller to load
 * @fmt: the formats the data holds
 * @chunk: the part of the Controller State data structure to send
 *
 * The NUMD of Migration Send is the number of dwords, not 0's based, as
 * the device models and host tools that implement the command read it;
 * the NUMD of Migration Receive is 0's based.
 */
VISIBLE_IF_KUNIT void nvme_lm_set_state_cmd(struct nvme_command *c,
					    u16 cntlid,
					    const struct nvme_lm_fmt *fmt,
					    const struct nvme_lm_chunk *chunk)
{
	nvme_lm_init_cmd(c, nvme_admin_migration_send,
			 NVME_LM_SEND_SEL_SET_STATE,
			 FIELD_PREP(NVME_LM_SET_MOS_SEQIND, chunk->seqind),
			 FIELD_PREP(NVME_LM_CDW11_CNTLID, cntlid) |
			 FIELD_PREP(NVME_LM_SET_CDW11_CSVI, fmt->csvi) |
			 FIELD_PREP(NVME_LM_SET_CDW11_CSUUIDI, fmt->csuuidi));
	nvme_lm_set_chunk(c, chunk, chunk->len / 4);
}
EXPORT_SYMBOL_IF_KUNIT(nvme_lm_set_state_cmd);

/**
 * nvme_lm_get_state_cmd() - Encode a Migration Receive, Get Controller State
 * @c: the command to fill in
 * @cntlid: the secondary controller to read
 * @fmt: the formats to read
 * @chunk: the part of the Controller State data structure to read
 */
VISIBLE_IF_KUNIT void nvme_lm_get_state_cmd(struct nvme_command *c,
					    u16 cntlid,
					    const struct nvme_lm_fmt *fmt,
					    const struct nvme_lm_chunk *chunk)
{
	nvme_lm_init_cmd(c, nvme_admin_migration_recv,
			 NVME_LM_RECV_SEL_GET_STATE,
			 FIELD_PREP(NVME_LM_GET_MOS_CSVI, fmt->csvi),
			 FIELD_PREP(NVME_LM_CDW11_CNTLID, cntlid) |
			 FIELD_PREP(NVME_LM_GET_CDW11_CSUUIDI, fmt->csuuidi));
	nvme_lm_set_chunk(c, chunk, chunk->len / 4 - 1);
}
EXPORT_SYMBOL_IF_KUNIT(nvme_lm_get_state_cmd);

/**
 * nvme_lm_plan_chunk() - Size the command that transfers from an offset
 * @chunk: filled in with the next chunk
 * @len: size of the whole transfer, a multiple of 4
 * @offset: where the chunk starts, a multiple of 4 below @len
 * @chunk_size: largest chunk, a non-zero multiple of 4
 */
VISIBLE_IF_KUNIT void nvme_lm_plan_chunk(struct nvme_lm_chunk *chunk,
					 size_t len, size_t offset,
					 u32 chunk_size)
{
	bool first = offset == 0;
	bool last;

	chunk->offset = offset;
	chunk->len = min_t(size_t, len - offset, chunk_size);
	last = chunk->len == len - offset;
	if (first && last)
		chunk->seqind = NVME_LM_SEQIND_ENTIRE;
	else if (first)
		chunk->seqind = NVME_LM_SEQIND_FIRST;
	else if (last)
		chunk->seqind = NVME_LM_SEQIND_LAST;
	else
		chunk->seqind = NVME_LM_SEQIND_MIDDLE;
}
EXPORT_SYMBOL_IF_KUNIT(nvme_lm_plan_chunk);

/**
 * nvme_lm_chunk_size() - Largest chunk the PF's admin queue transfers
 * @max_hw_sectors: the PF's &nvme_ctrl.max_hw_sectors, from its MDTS
 *
 * Return: the chunk size in bytes, a whole number of sectors (so a multiple
 * of 4) from one sector to %NVME_LM_MAX_CHUNK.
 */
VISIBLE_IF_KUNIT u32 nvme_lm_chunk_size(u32 max_hw_sectors)
{
	u64 max = (u64)max_hw_sectors << SECTOR_SHIFT;

	return clamp_t(u64, max, SECTOR_SIZE, NVME_LM_MAX_CHUNK);
}
EXPORT_SYMBOL_IF_KUNIT(nvme_lm_chunk_size);

/**
 * nvme_lm_find_scid() - Find a VF's controller in a Secondary Controller List
 * @list: the list that Identify CNS 15h returned for CNTID @start
 * @start: the CNTID the list was read with
 * @pf_cntlid: the controller ID of the PF
 * @vfn: the VF number to find, 1-based
 * @scid: set to the secondary controller ID of @vfn when found
 * @next: if @vfn is not found, set to the CNTID that reads the rest of the
 *	list, or to %NVME_LM_SCID_END if no further entry can follow
 *
 * Checks the whole list: the number of entries, and that every entry is a
 * secondary controller of the PF at or after @start, with a controller ID
 * and a VF number (unless 0) that no other entry has.
 *
 * Return: 0 if found online, -ENOLINK if found offline, where it has no
 * resources and no state, -ENOENT if not found, -EPROTO if the list is
 * malformed.
 */
VISIBLE_IF_KUNIT int nvme_lm_find_scid(const struct nvme_sec_ctrl_list *list,
				       u16 start, u16 pf_cntlid, u16 vfn,
				       u16 *scid, u32 *next)
{
	const struct nvme_sec_ctrl_entry *e = list->entries;
	u32 last = start;
	int found = -1;
	int i, j;

	if (list->num > ARRAY_SIZE(list->entries))
		return -EPROTO;

	for (i = 0; i < list->num; i++) {
		u16 id = le16_to_cpu(e[i].scid);
		u16 fn = le16_to_cpu(e[i].vfn);

		if (le16_to_cpu(e[i].pcid) != pf_cntlid || id == pf_cntlid ||
		    id < start)
			return -EPROTO;
		for (j = 0; j < i; j++)
			if (le16_to_cpu(e[j].scid) == id ||
			    (fn && le16_to_cpu(e[j].vfn) == fn))
				return -EPROTO;
		last = max_t(u32, last, id);
		if (fn == vfn)
			found = i;
	}

	if (found >= 0) {
		if (!(e[found].scs & NVME_SEC_CTRL_SCS_ONLINE))
			return -ENOLINK;
		*scid = le16_to_cpu(e[found].scid);
		return 0;
	}
	if (list->num < ARRAY_SIZE(list->entries))
		*next = NVME_LM_SCID_END;
	else
		*next = last + 1;
	return -ENOENT;
}
EXPORT_SYMBOL_IF_KUNIT(nvme_lm_find_scid);

/**
 * nvme_lm_parse_fmts() - Parse the Supported Controller State Formats
 * @fmts: what Identify CNS 20h returned
 * @info: its @nr_versions, @versions, @nr_uuids and @uuids are filled in
 *	with the first formats of each kind
 *
 * Return: 0 on success, -EPROTO if the counts overflow the data structure,
 * -EOPNOTSUPP if it lists no format.
 */
VISIBLE_IF_KUNIT int nvme_lm_parse_fmts(const struct nvme_id_ctrl_state_fmts *fmts,
					struct nvme_lm_info *info)
{
	size_t vlen, ulen, total;
	int i;

	if (check_mul_overflow(fmts->nv, sizeof(__le16), &vlen) ||
	    check_mul_overflow(fmts->nuuid, sizeof(uuid_t), &ulen) ||
	    check_add_overflow(vlen, ulen, &total) ||
	    total > sizeof(fmts->data))
		return -EPROTO;
	if (!fmts->nv && !fmts->nuuid)
		return -EOPNOTSUPP;

	info->nr_versions = min_t(u8, fmts->nv, NVME_LM_MAX_VERSIONS);
	for (i = 0; i < info->nr_versions; i++)
		info->versions[i] = get_unaligned_le16(&fmts->data[2 * i]);
	info->nr_uuids = min_t(u8, fmts->nuuid, NVME_LM_MAX_UUIDS);
	for (i = 0; i < info->nr_uuids; i++)
		import_uuid(&info->uuids[i],
			    &fmts->data[vlen + sizeof(uuid_t) * i]);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(nvme_lm_parse_fmts);

int nvme_lm_state_hdr_size(const struct nvme_ctrl_state_hdr *hdr, size_t *size)
{
	size_t dwords, bytes, total;

	/* NVMECSS and VSS are 128-bit counts of dwords */
	if (get_unaligned_le64(&hdr->nvmecss[8]) ||
	    get_unaligned_le64(&hdr->vss[8]))
		return -EOVERFLOW;
	if (check_add_overflow(get_unaligned_le64(&hdr->nvmecss[0]),
			       get_unaligned_le64(&hdr->vss[0]), &dwords) ||
	    check_mul_overflow(dwords, sizeof(u32), &bytes) ||
	    check_add_overflow(bytes, sizeof(*hdr), &total))
		return -EOVERFLOW;
	*size = total;
	return 0;
}
EXPORT_SYMBOL_FOR_MODULES(nvme_lm_state_hdr_size, "nvme-vfio-pci,nvme-lm-test");

/**
 * nvme_lm_status_to_errno() - Map the result of a command to an errno
 * @status: what __nvme_submit_sync_cmd() returned
 *
 * A command that nvme-pci cancelled, because it timed out or because the PF
 * reset or went away, returns -EINTR, which would tell the VF driver's
 * caller to retry after a signal that never came, and one it could not send
 * to a PF that is not live gets a host path error: both fail with
 * -ECANCELED, which tells the caller that the controller's state is unknown.
 *
 * Return: 0 or the negative errno @status holds or stands for.
 */
VISIBLE_IF_KUNIT int nvme_lm_status_to_errno(int status)
{
	if (status == -EINTR)
		return -ECANCELED;
	if (status <= 0)
		return status;

	if ((status & NVME_SCT_MASK) == NVME_SCT_PATH)
		return -ECANCELED;

	switch (status & NVME_SCT_SC_MASK) {
	case NVME_SC_INVALID_OPCODE:
		return -EOPNOTSUPP;
	case NVME_SC_INVALID_FIELD:
	case NVME_SC_CTRL_ID_INVALID:
		return -EINVAL;
	case NVME_SC_CTRL_SUSPENDED:
		return -EBUSY;
	case NVME_SC_CTRL_NOT_SUSPENDED:
		/* A Resume that finds the controller running is one of these */
		return -EALREADY;
	case NVME_SC_NOT_ENOUGH_RESOURCES:
		return -ENOSPC;
	default:
		return -EIO;
	}
}
EXPORT_SYMBOL_IF_KUNIT(nvme_lm_status_to_errno);

/* The PFs bound to nvme-pci, whose VFs can be migrated */
static LIST_HEAD(nvme_lm_pfs);
static DEFINE_MUTEX(nvme_lm_pfs_lock);	/* protects nvme_lm_pfs */

/**
 * nvme_lm_pf_init() - Set up a PF's migration state
 * @lm: the state, in the PF's &struct nvme_dev
 */
void nvme_lm_pf_init(struct nvme_lm_pf *lm)
{
	mutex_init(&lm->lock);
	xa_init(&lm->cntlids);
	INIT_LIST_HEAD(&lm->entry);
}

/**
 * nvme_lm_pf_register() - Let the VFs of a PF reach it
 * @lm: the PF's migration state
 * @pdev: the PF
 * @ctrl: its controller, live
 *
 * Called at the end of a successful probe of the PF.
 */
void nvme_lm_pf_register(struct nvme_lm_pf *lm, struct pci_dev *pdev,
			 struct nvme_ctrl *ctrl)
{
	lm->pdev = pdev;
	lm->ctrl = ctrl;
	guard(mutex)(&nvme_lm_pfs_lock);
	list_add(&lm->entry, &nvme_lm_pfs);
}

/**
 * nvme_lm_pf_unregister() - Keep the VFs of a PF from reaching it
 * @lm: the PF's migration state
 *
 * Called first thing when the PF driver is removed. The operations that
 * found the PF before hold a reference on its controller.
 */
void nvme_lm_pf_unregister(struct nvme_lm_pf *lm)
{
	guard(mutex)(&nvme_lm_pfs_lock);
	list_del_init(&lm->entry);
}

/**
 * nvme_lm_pf_invalidate() - Forget the secondary controller IDs of the VFs
 * @lm: the PF's migration state
 *
 * Called when the PF resets and when its VFs change. Takes @lm->lock only
 * for the update, so it never waits for a command.
 */
void nvme_lm_pf_invalidate(struct nvme_lm_pf *lm)
{
	mutex_lock(&lm->lock);
	lm->gen++;
	xa_destroy(&lm->cntlids);
	mutex_unlock(&lm->lock);
}

/**
 * nvme_lm_pf_destroy() - Free a PF's migration state
 * @lm: the state, no longer reachable from any VF
 */
void nvme_lm_pf_destroy(struct nvme_lm_pf *lm)
{
	xa_destroy(&lm->cntlids);
	mutex_destroy(&lm->lock);
}

/*
 * What the PF controller's state means for a command: 0 when it is live,
 * -ENODEV when it goes away, -EAGAIN while it resets.
 */
static int nvme_lm_ctrl_errno(struct nvme_ctrl *ctrl)
{
	switch (nvme_ctrl_state(ctrl)) {
	case NVME_CTRL_LIVE:
		return 0;
	case NVME_CTRL_DELETING:
	case NVME_CTRL_DELETING_NOIO:
	case NVME_CTRL_DEAD:
		return -ENODEV;
	default:
		return -EAGAIN;
	}
}

/*
 * Submit a command on the PF's admin queue for the VF and log a failure on
 * the VF, with the NVMe status when the controller returned one, unless it
 * is @quiet, a status the caller expects.
 */
static int nvme_lm_submit(struct nvme_ctrl *ctrl, struct pci_dev *vf,
			  struct nvme_command *c, void *buf, u32 len,
			  u16 quiet)
{
	u8 opcode = c->common.opcode;
	int status, ret;

	status = __nvme_submit_sync_cmd(ctrl->admin_q, c, NULL, buf, len,
					NVME_QID_ANY, 0);
	ret = nvme_lm_status_to_errno(status);
	if (status > 0 && (status & NVME_SCT_SC_MASK) != quiet)
		dev_err_ratelimited(&vf->dev, "%s (CDW10 %#x) failed: %s (status %#x)\n",
				    nvme_get_admin_opcode_str(opcode),
				    le32_to_cpu(c->common.cdw10),
				    nvme_get_error_status_str(status), status);
	else if (status < 0)
		dev_err_ratelimited(&vf->dev, "%s (CDW10 %#x) failed: %pe\n",
				    nvme_get_admin_opcode_str(opcode),
				    le32_to_cpu(c->common.cdw10), ERR_PTR(ret));
	/*
	 * nvme-pci fails a command on a PF that is going away or resetting
	 * without the controller's answer, with -EIO or a host path error;
	 * the reset takes the secondary controllers offline.
	 */
	if (ret == -EIO || ret == -ECANCELED) {
		switch (nvme_lm_ctrl_errno(ctrl)) {
		case -ENODEV:
			return -ENODEV;
		case -EAGAIN:
			return -ECANCELED;
		}
	}
	return ret;
}

/*
 * Read the PF's Secondary Controller List, one Identify of up to 127
 * entries at a time, until the entry of VF number @vfn turns up.
 */
static int nvme_lm_read_scid(struct nvme_ctrl *ctrl, struct pci_dev *vf,
			     u16 vfn, u16 *scid)
{
	struct nvme_sec_ctrl_list *list;
	struct nvme_command c = { };
	u32 start = 0;
	int ret;

	list = kzalloc_obj(*list);
	if (!list)
		return -ENOMEM;

	c.identify.opcode = nvme_admin_identify;
	c.identify.cns = NVME_ID_CNS_SCNDRY_CTRL_LIST;
	do {
		c.identify.ctrlid = cpu_to_le16(start);
		ret = nvme_lm_submit(ctrl, vf, &c, list, sizeof(*list), 0);
		if (ret)
			break;
		ret = nvme_lm_find_scid(list, start, ctrl->cntlid, vfn, scid,
					&start);
		if (ret == -EPROTO)
			dev_err(&vf->dev,
				"malformed Secondary Controller List from CNTID %#x\n",
				le16_to_cpu(c.identify.ctrlid));
	} while (ret == -ENOENT && start != NVME_LM_SCID_END);

	if (ret == -ENOLINK)
		dev_err_ratelimited(&vf->dev, "the secondary controller of VF number %u is offline\n",
				    vfn);

	if (ret == -ENOENT)
		dev_err(&vf->dev, "no secondary controller for VF number %u\n",
			vfn);
	kfree(list);
	return ret;
}

/*
 * The VF's secondary controller ID, from the PF's cache or else from its
 * Secondary Controller List. The list is read without the cache's lock held,
 * so that an invalidation never waits for a command.
 */
static int nvme_lm_cntlid(struct nvme_ctrl *ctrl, struct nvme_lm_pf *lm,
			  struct pci_dev *vf, u16 *cntlid)
{
	int vf_id = pci_iov_vf_id(vf);
	unsigned long gen;
	void *entry;
	int ret;

	if (vf_id < 0)
		return vf_id;

	mutex_lock(&lm->lock);
	entry = xa_load(&lm->cntlids, vf_id);
	gen = lm->gen;
	mutex_unlock(&lm->lock);
	if (entry) {
		*cntlid = xa_to_value(entry);
		return 0;
	}

	ret = nvme_lm_read_scid(ctrl, vf, vf_id + 1, cntlid);
	if (ret)
		return ret;

	/* A failure to cache the ID costs another lookup next time */
	mutex_lock(&lm->lock);
	if (gen == lm->gen)
		xa_store(&lm->cntlids, vf_id, xa_mk_value(*cntlid), GFP_KERNEL);
	mutex_unlock(&lm->lock);
	return 0;
}

/* The controller of the VF's PF if nvme-pci drives it, with a reference */
static struct nvme_ctrl *nvme_lm_find_pf(struct pci_dev *vf,
					 struct nvme_lm_pf **lmp)
{
	struct pci_dev *pf = pci_physfn(vf);
	struct nvme_lm_pf *lm;

	if (!vf->is_virtfn)
		return ERR_PTR(-ENODEV);

	guard(mutex)(&nvme_lm_pfs_lock);
	list_for_each_entry(lm, &nvme_lm_pfs, entry) {
		if (lm->pdev == pf) {
			nvme_get_ctrl(lm->ctrl);
			*lmp = lm;
			return lm->ctrl;
		}
	}
	return ERR_PTR(-ENODEV);
}

/*
 * The VF's live PF controller, with a reference held, and the ID of the VF's
 * secondary controller. A PF that resets fails the call with -EAGAIN rather
 * than making it wait.
 */
static struct nvme_ctrl *nvme_lm_get(struct pci_dev *vf, u16 *cntlid)
{
	struct nvme_lm_pf *lm;
	struct nvme_ctrl *ctrl;
	int ret;

	ctrl = nvme_lm_find_pf(vf, &lm);
	if (IS_ERR(ctrl))
		return ctrl;

	ret = nvme_lm_ctrl_errno(ctrl);
	if (!ret && !(ctrl->oacs & NVME_CTRL_OACS_HMLMS))
		ret = -EOPNOTSUPP;
	if (!ret)
		ret = nvme_lm_cntlid(ctrl, lm, vf, cntlid);
	if (ret) {
		nvme_put_ctrl(ctrl);
		return ERR_PTR(ret);
	}
	return ctrl;
}

/* A format selection must name an NVMe-defined or a vendor-specific format */
static bool nvme_lm_fmt_valid(const struct nvme_lm_fmt *fmt)
{
	return fmt && (fmt->csvi || fmt->csuuidi);
}

/* Check the arguments of a controller state transfer */
static bool nvme_lm_xfer_valid(const struct nvme_lm_fmt *fmt, const void *buf,
			       size_t len)
{
	return nvme_lm_fmt_valid(fmt) && buf && len && IS_ALIGNED(len, 4);
}

int nvme_lm_query(struct pci_dev *vf, struct nvme_lm_info *info)
{
	struct nvme_id_ctrl_state_fmts *fmts;
	struct nvme_command c = { };
	struct nvme_ctrl *ctrl;
	u16 cntlid;
	int ret;

	ctrl = nvme_lm_get(vf, &cntlid);
	if (IS_ERR(ctrl))
		return PTR_ERR(ctrl);

	fmts = kzalloc_obj(*fmts);
	if (!fmts) {
		ret = -ENOMEM;
		goto out_put;
	}
	c.identify.opcode = nvme_admin_identify;
	c.identify.cns = NVME_ID_CNS_CTRL_STATE_FMTS;
	ret = nvme_lm_submit(ctrl, vf, &c, fmts, sizeof(*fmts), 0);
	if (ret)
		goto out_free;

	memset(info, 0, sizeof(*info));
	ret = nvme_lm_parse_fmts(fmts, info);
	if (ret) {
		dev_err(&vf->dev,
			"unusable Supported Controller State Formats (NV %u, NUUID %u)\n",
			fmts->nv, fmts->nuuid);
		goto out_free;
	}
	info->cntlid = cntlid;
out_free:
	kfree(fmts);
out_put:
	nvme_put_ctrl(ctrl);
	return ret;
}
EXPORT_SYMBOL_FOR_MODULES(nvme_lm_query, "nvme-vfio-pci");

/* Migration Send, Suspend or Resume, of the VF's controller */
static int nvme_lm_suspend_resume(struct pci_dev *vf, bool suspend)
{
	struct nvme_command c;
	struct nvme_ctrl *ctrl;
	u16 cntlid;
	int ret;

	ctrl = nvme_lm_get(vf, &cntlid);
	if (IS_ERR(ctrl))
		return PTR_ERR(ctrl);
	if (suspend)
		nvme_lm_suspend_cmd(&c, cntlid);
	else
		nvme_lm_resume_cmd(&c, cntlid);
	/* After a reset the caller resumes a controller that may run */
	ret = nvme_lm_submit(ctrl, vf, &c, NULL, 0,
			     suspend ? 0 : NVME_SC_CTRL_NOT_SUSPENDED);
	nvme_put_ctrl(ctrl);
	return ret;
}

int nvme_lm_suspend(struct pci_dev *vf)
{
	return nvme_lm_suspend_resume(vf, true);
}
EXPORT_SYMBOL_FOR_MODULES(nvme_lm_suspend, "nvme-vfio-pci");

int nvme_lm_resume(struct pci_dev *vf)
{
	return nvme_lm_suspend_resume(vf, false);
}
EXPORT_SYMBOL_FOR_MODULES(nvme_lm_resume, "nvme-vfio-pci");

int nvme_lm_state_size(struct pci_dev *vf, const struct nvme_lm_fmt *fmt,
		       size_t *size)
{
	struct nvme_ctrl_state_hdr *hdr;
	struct nvme_lm_chunk chunk;
	struct nvme_command c;
	struct nvme_ctrl *ctrl;
	u16 cntlid;
	int ret;

	if (!nvme_lm_fmt_valid(fmt) || !size)
		return -EINVAL;

	ctrl = nvme_lm_get(vf, &cntlid);
	if (IS_ERR(ctrl))
		return PTR_ERR(ctrl);

	hdr = kzalloc_obj(*hdr);
	if (!hdr) {
		ret = -ENOMEM;
		goto out_put;
	}
	nvme_lm_plan_chunk(&chunk, sizeof(*hdr), 0, sizeof(*hdr));
	nvme_lm_get_state_cmd(&c, cntlid, fmt, &chunk);
	/* A caller may size the state of a running controller, which may refuse */
	ret = nvme_lm_submit(ctrl, vf, &c, hdr, chunk.len,
			     NVME_SC_CTRL_NOT_SUSPENDED);
	if (!ret) {
		ret = nvme_lm_state_hdr_size(hdr, size);
		if (ret)
			dev_err_ratelimited(&vf->dev, "controller state size overflows\n");
	}
	kfree(hdr);
out_put:
	nvme_put_ctrl(ctrl);
	return ret;
}
EXPORT_SYMBOL_FOR_MODULES(nvme_lm_state_size, "nvme-vfio-pci");

int nvme_lm_get_state(struct pci_dev *vf, const struct nvme_lm_fmt *fmt,
		      size_t offset, void *buf, size_t len)
{
	struct nvme_lm_chunk chunk;
	struct nvme_command c;
	struct nvme_ctrl *ctrl;
	u32 chunk_size;
	size_t pos, end;
	u16 cntlid;
	int ret;

	if (!nvme_lm_xfer_valid(fmt, buf, len) || !IS_ALIGNED(offset, 4) ||
	    check_add_overflow(offset, len, &end))
		return -EINVAL;

	ctrl = nvme_lm_get(vf, &cntlid);
	if (IS_ERR(ctrl))
		return PTR_ERR(ctrl);

	/* blk_rq_map_kern() maps kmalloc()ed and vmalloc()ed buffers alike */
	chunk_size = nvme_lm_chunk_size(ctrl->max_hw_sectors);
	for (pos = offset; pos < end; pos += chunk.len) {
		nvme_lm_plan_chunk(&chunk, end, pos, chunk_size);
		nvme_lm_get_state_cmd(&c, cntlid, fmt, &chunk);
		ret = nvme_lm_submit(ctrl, vf, &c, buf + (pos - offset),
				     chunk.len, 0);
		if (ret)
			break;
	}
	nvme_put_ctrl(ctrl);
	return ret;
}
EXPORT_SYMBOL_FOR_MODULES(nvme_lm_get_state, "nvme-vfio-pci");

int nvme_lm_set_state(struct pci_dev *vf, const struct nvme_lm_fmt *fmt,
		      const void *buf, size_t len)
{
	struct nvme_lm_chunk chunk;
	struct nvme_command c;
	struct nvme_ctrl *ctrl;
	u32 chunk_size;
	size_t offset;
	u16 cntlid;
	int ret;

	if (!nvme_lm_xfer_valid(fmt, buf, len))
		return -EINVAL;

	ctrl = nvme_lm_get(vf, &cntlid);
	if (IS_ERR(ctrl))
		return PTR_ERR(ctrl);

	chunk_size = nvme_lm_chunk_size(ctrl->max_hw_sectors);
	for (offset = 0; offset < len; offset += chunk.len) {
		nvme_lm_plan_chunk(&chunk, len, offset, chunk_size);
		nvme_lm_set_state_cmd(&c, cntlid, fmt, &chunk);
		/* A command that writes to the device only reads the buffer */
		ret = nvme_lm_submit(ctrl, vf, &c, (void *)buf + offset,
				     chunk.len, 0);
		if (ret)
			break;
	}
	nvme_put_ctrl(ctrl);
	return ret;
}
EXPORT_SYMBOL_FOR_MODULES(nvme_lm_set_state, "nvme-vfio-pci");
