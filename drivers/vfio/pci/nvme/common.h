/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nvme-vfio-pci: the vfio-pci variant driver of NVMe functions, with live
 * migration of SR-IOV VFs whose PF supports host managed live migration.
 */
#ifndef NVME_VFIO_PCI_COMMON_H
#define NVME_VFIO_PCI_COMMON_H

#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/nvme-lm.h>
#include <linux/vfio_pci_core.h>
#include <linux/workqueue.h>

/**
 * struct nvmevf_pf_ops - the PF commands the migration issues
 * @suspend: nvme_lm_suspend()
 * @resume: nvme_lm_resume()
 * @state_size: nvme_lm_state_size()
 * @get_state: nvme_lm_get_state()
 * @set_state: nvme_lm_set_state()
 *
 * The driver always calls the nvme_lm_*() functions of nvme-pci; the
 * table exists so that the KUnit tests can put a fake PF in their place.
 */
struct nvmevf_pf_ops {
	int (*suspend)(struct pci_dev *vf);
	int (*resume)(struct pci_dev *vf);
	int (*state_size)(struct pci_dev *vf, const struct nvme_lm_fmt *fmt,
			  size_t *size);
	int (*get_state)(struct pci_dev *vf, const struct nvme_lm_fmt *fmt,
			 size_t offset, void *buf, size_t len);
	int (*set_state)(struct pci_dev *vf, const struct nvme_lm_fmt *fmt,
			 const void *buf, size_t len);
};

struct nvmevf_migf;

/**
 * struct nvmevf_pci_core_device - an NVMe function bound to nvme-vfio-pci
 * @core_device: the vfio-pci core device
 * @pf: the PF commands; the members below are used only with migration
 * @info: what the PF offers for the migration of this VF, read at probe
 * @fmt: the formats the state of this VF is saved in
 * @max_state: largest controller state saved or accepted, in bytes
 * @state_mutex: protects @mig_state, @saving_migf, @resuming_migf,
 *	@resume_pending and @load_raced
 * @reset_lock: protects @deferred_reset
 * @deferred_reset: a reset to apply when @state_mutex is unlocked
 * @mig_state: the migration state
 * @saving_migf: the data fd of the save in progress
 * @resuming_migf: the data fd of the resume in progress
 * @resume_pending: a reset left the controller to resume
 * @load_raced: a reset came before the load of a state by the holder of
 *	@state_mutex ended
 * @resume_work: sends the Resume a reset left pending
 */
struct nvmevf_pci_core_device {
	struct vfio_pci_core_device core_device;
	const struct nvmevf_pf_ops *pf;
	struct nvme_lm_info info;
	struct nvme_lm_fmt fmt;
	size_t max_state;
	/* protects the migration state and the data fds below */
	struct mutex state_mutex;
	enum vfio_device_mig_state mig_state;
	struct nvmevf_migf *saving_migf;
	struct nvmevf_migf *resuming_migf;
	bool resume_pending;
	bool load_raced;
	/* taken by the reset path, which must not wait for state_mutex */
	spinlock_t reset_lock;
	bool deferred_reset;
	struct work_struct resume_work;
};

static inline struct nvmevf_pci_core_device *
nvmevf_of(struct vfio_device *vdev)
{
	return container_of(vdev, struct nvmevf_pci_core_device,
			    core_device.vdev);
}

bool nvmevf_migration_supported(struct pci_dev *pdev,
				struct nvme_lm_info *info,
				struct nvme_lm_fmt *fmt);
void nvmevf_migration_init(struct nvmevf_pci_core_device *nvdev,
			   const struct nvme_lm_info *info,
			   const struct nvme_lm_fmt *fmt);
void nvmevf_migration_release(struct nvmevf_pci_core_device *nvdev);
void nvmevf_migration_close(struct nvmevf_pci_core_device *nvdev);
void nvmevf_migration_reset(struct nvmevf_pci_core_device *nvdev);

#endif /* NVME_VFIO_PCI_COMMON_H */
