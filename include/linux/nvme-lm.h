/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NVMe Host Managed Live Migration (TP4159, NVMe Base 2.1): the interface
 * that nvme-pci, as the driver of a controlling function (the PF), offers
 * to the vfio-pci variant driver of its controlled functions (the VFs).
 *
 * Every function takes the VF's &pci_dev and addresses the VF's secondary
 * controller through the PF's admin queue. The PF's private structures stay
 * inside nvme-pci, and no generic passthrough is offered: a VF's owner can
 * only reach its own controller, with these operations.
 *
 * Errors common to all functions: -ENODEV if the VF's PF is not driven by
 * nvme-pci or is going away, -EAGAIN at once while the PF resets rather
 * than waiting for it, -EOPNOTSUPP if the PF does not support host managed
 * live migration, -ENOLINK if the PF's Secondary Controller List, read
 * again after the PF reset or its VFs changed, shows the VF's secondary
 * controller offline, without resources or state. A command that fails
 * with an NVMe status is logged on the VF with that status, and returns
 * -EINVAL for an invalid field or controller ID, -EBUSY if the controller
 * is suspended (Controller Suspended), -EALREADY if it is not (Controller
 * Not Suspended: for a Resume, the controller runs already), -ENOSPC if it
 * lacks resources, -EIO otherwise. A command that nvme-pci cancels or
 * cannot send, because it timed out or because the PF resets, returns
 * -ECANCELED, and -ENODEV if the PF goes away: the controller's state is
 * then unknown.
 */
#ifndef _LINUX_NVME_LM_H
#define _LINUX_NVME_LM_H

#include <linux/types.h>
#include <linux/uuid.h>

struct nvme_ctrl_state_hdr;
struct pci_dev;

/* The first formats of each kind that nvme_lm_query() reports */
#define NVME_LM_MAX_VERSIONS	16
#define NVME_LM_MAX_UUIDS	16

/**
 * struct nvme_lm_info - what a PF offers for the migration of one VF
 * @cntlid: controller ID of the VF's secondary controller
 * @nr_versions: number of entries valid in @versions
 * @nr_uuids: number of entries valid in @uuids
 * @versions: NVMe-defined controller state versions; @versions[i] is
 *	selected with CSVI = i + 1
 * @uuids: vendor-specific controller state formats; @uuids[i] is selected
 *	with CSUUIDI = i + 1
 */
struct nvme_lm_info {
	u16 cntlid;
	u8 nr_versions;
	u8 nr_uuids;
	u16 versions[NVME_LM_MAX_VERSIONS];
	uuid_t uuids[NVME_LM_MAX_UUIDS];
};

/**
 * struct nvme_lm_fmt - a controller state format selection
 * @csvi: 1-based index into &nvme_lm_info.versions, 0 for none
 * @csuuidi: 1-based index into &nvme_lm_info.uuids, 0 for none
 */
struct nvme_lm_fmt {
	u8 csvi;
	u8 csuuidi;
};

/**
 * nvme_lm_query() - Check that the PF can migrate a VF and describe how
 * @vf: the VF
 * @info: filled in on success
 *
 * Checks the PF's HMLMS bit (OACS bit 11), finds the VF's secondary
 * controller in the PF's Secondary Controller List and reads the Supported
 * Controller State Formats (Identify CNS 20h).
 *
 * Return: 0 on success; -ENODEV if @vf is not a VF of an nvme-pci PF or the
 * PF is going away; -EOPNOTSUPP if the PF does not support host managed live
 * migration; -ENOENT if the VF has no secondary controller; -ENOLINK if it
 * is offline; another negative errno on a failed command.
 */
int nvme_lm_query(struct pci_dev *vf, struct nvme_lm_info *info);

/**
 * nvme_lm_suspend() - Suspend the VF's controller (Migration Send, Suspend)
 * @vf: the VF
 *
 * Sends Suspend with STYPE 1: the controller stops processing commands.
 *
 * Return: 0 on success or a negative errno.
 */
int nvme_lm_suspend(struct pci_dev *vf);

/**
 * nvme_lm_resume() - Resume the VF's controller (Migration Send, Resume)
 * @vf: the VF
 *
 * Return: 0 on success, -EALREADY without logging it if the controller is
 * not suspended, or another negative errno.
 */
int nvme_lm_resume(struct pci_dev *vf);

/**
 * nvme_lm_state_size() - Size the VF's controller state before reading it
 * @vf: the VF
 * @fmt: the formats to size
 * @size: on success, the size in bytes of the whole Controller State data
 *	structure (header, NVMe-defined and vendor-specific sections)
 *
 * Reads only the 48-byte Controller State header.
 *
 * Return: 0 on success, -EALREADY without logging it if the controller is
 * not suspended and refuses, -EOVERFLOW if the sizes the controller
 * reports do not fit a size_t, or another negative errno.
 */
int nvme_lm_state_size(struct pci_dev *vf, const struct nvme_lm_fmt *fmt,
		       size_t *size);

/**
 * nvme_lm_state_hdr_size() - Size a Controller State data structure
 * @hdr: its header
 * @size: set to the size in bytes of the header and both sections
 *
 * Return: 0 on success, -EOVERFLOW if the size does not fit a size_t.
 */
int nvme_lm_state_hdr_size(const struct nvme_ctrl_state_hdr *hdr, size_t *size);

/**
 * nvme_lm_get_state() - Read the VF's controller state (Migration Receive)
 * @vf: the VF, whose controller must be suspended
 * @fmt: the formats to read
 * @offset: where in the Controller State data structure to start, a
 *	multiple of 4
 * @buf: destination, kmalloc()ed or vmalloc()ed
 * @len: bytes to read, a multiple of 4
 *
 * Issues as many Get Controller State commands as @len needs, each at most
 * the PF's maximum data transfer size. A read from offset 0 is taken to
 * make the controller take a new snapshot of its state, which later
 * offsets read on (a reading, not a text of the specification). Nothing
 * says what a read past the end of the structure returns, and a controller
 * may fail it: read the header first and size the structure from it with
 * nvme_lm_state_hdr_size().
 *
 * Return: 0 on success or a negative errno.
 */
int nvme_lm_get_state(struct pci_dev *vf, const struct nvme_lm_fmt *fmt,
		      size_t offset, void *buf, size_t len);

/**
 * nvme_lm_set_state() - Load controller state into the VF (Migration Send)
 * @vf: the VF, whose controller must be suspended
 * @fmt: the formats that @buf holds
 * @buf: a whole Controller State data structure, kmalloc()ed or vmalloc()ed
 * @len: its size, a multiple of 4
 *
 * Issues one Set Controller State command with SEQIND "entire" when @len
 * fits one transfer, else a first, middles and a last one.
 *
 * Return: 0 on success or a negative errno.
 */
int nvme_lm_set_state(struct pci_dev *vf, const struct nvme_lm_fmt *fmt,
		      const void *buf, size_t len);

#endif /* _LINUX_NVME_LM_H */
