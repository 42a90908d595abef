/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NVMe Host Managed Live Migration of SR-IOV VFs: what nvme-pci and lm.c
 * share. See include/linux/nvme-lm.h for the interface to the VF driver.
 */
#ifndef _NVME_HOST_LM_H
#define _NVME_HOST_LM_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/nvme.h>
#include <linux/nvme-lm.h>
#include <linux/xarray.h>

struct nvme_ctrl;
struct pci_dev;

/* CNTID past the last possible secondary controller ID */
#define NVME_LM_SCID_END	(U16_MAX + 1)

/**
 * struct nvme_lm_chunk - one command's share of a controller state transfer
 * @offset: byte offset into the Controller State data structure
 * @len: bytes to transfer, a multiple of 4
 * @seqind: the SEQIND of a Set Controller State carrying this chunk
 */
struct nvme_lm_chunk {
	size_t offset;
	u32 len;
	u8 seqind;
};

#ifdef CONFIG_NVME_HOST_LM

/**
 * struct nvme_lm_pf - what a PF keeps for the migration of its VFs
 * @lock: serializes the lookups and updates of @cntlids with @gen; never
 *	held across a command
 * @gen: incremented by every invalidation, so that a lookup that raced with
 *	one does not cache an ID read before it
 * @cntlids: secondary controller ID of each VF looked up so far, indexed by
 *	VF ID and stored as an xarray value
 * @entry: in the list of the PFs bound to nvme-pci, while registered
 * @pdev: the PF, while registered
 * @ctrl: its controller, while registered
 */
struct nvme_lm_pf {
	struct mutex lock;	/* protects @gen and @cntlids */
	unsigned long gen;
	struct xarray cntlids;
	struct list_head entry;
	struct pci_dev *pdev;
	struct nvme_ctrl *ctrl;
};

void nvme_lm_pf_init(struct nvme_lm_pf *lm);
void nvme_lm_pf_register(struct nvme_lm_pf *lm, struct pci_dev *pdev,
			 struct nvme_ctrl *ctrl);
void nvme_lm_pf_unregister(struct nvme_lm_pf *lm);
void nvme_lm_pf_invalidate(struct nvme_lm_pf *lm);
void nvme_lm_pf_destroy(struct nvme_lm_pf *lm);

#else /* CONFIG_NVME_HOST_LM */

struct nvme_lm_pf {
};

static inline void nvme_lm_pf_init(struct nvme_lm_pf *lm)
{
}

static inline void nvme_lm_pf_register(struct nvme_lm_pf *lm,
				       struct pci_dev *pdev,
				       struct nvme_ctrl *ctrl)
{
}

static inline void nvme_lm_pf_unregister(struct nvme_lm_pf *lm)
{
}

static inline void nvme_lm_pf_invalidate(struct nvme_lm_pf *lm)
{
}

static inline void nvme_lm_pf_destroy(struct nvme_lm_pf *lm)
{
}

#endif /* CONFIG_NVME_HOST_LM */

#if IS_ENABLED(CONFIG_KUNIT)
/* The pure helpers of lm.c, visible to its KUnit test */
void nvme_lm_suspend_cmd(struct nvme_command *c, u16 cntlid);
void nvme_lm_resume_cmd(struct nvme_command *c, u16 cntlid);
void nvme_lm_set_state_cmd(struct nvme_command *c, u16 cntlid,
			   const struct nvme_lm_fmt *fmt,
			   const struct nvme_lm_chunk *chunk);
void nvme_lm_get_state_cmd(struct nvme_command *c, u16 cntlid,
			   const struct nvme_lm_fmt *fmt,
			   const struct nvme_lm_chunk *chunk);
void nvme_lm_plan_chunk(struct nvme_lm_chunk *chunk, size_t len,
			size_t offset, u32 chunk_size);
u32 nvme_lm_chunk_size(u32 max_hw_sectors);
int nvme_lm_find_scid(const struct nvme_sec_ctrl_list *list, u16 start,
		      u16 pf_cntlid, u16 vfn, u16 *scid, u32 *next);
int nvme_lm_parse_fmts(const struct nvme_id_ctrl_state_fmts *fmts,
		       struct nvme_lm_info *info);
int nvme_lm_status_to_errno(int status);

#endif /* IS_ENABLED(CONFIG_KUNIT) */

#endif /* _NVME_HOST_LM_H */
