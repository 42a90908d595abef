// SPDX-License-Identifier: GPL-2.0
/*
 * nvme-vfio-pci: a vfio-pci variant driver for NVMe functions.
 *
 * It binds only through driver_override and drives every NVMe function
 * like vfio-pci does. An SR-IOV VF whose PF, driven by nvme-pci, supports
 * host managed live migration (TP4159, NVMe Base 2.1) also gets the VFIO
 * migration uAPI, implemented in migrate.c.
 */

#include <linux/module.h>
#include <linux/pci.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

#include "common.h"

static int nvmevf_open_device(struct vfio_device *vdev)
{
	struct vfio_pci_core_device *core_device = &nvmevf_of(vdev)->core_device;
	int ret;

	/* A closed device is RUNNING, or in ERROR (nvmevf_migration_close()) */
	ret = vfio_pci_core_enable(core_device);
	if (ret)
		return ret;
	vfio_pci_core_finish_enable(core_device);
	return 0;
}

static void nvmevf_close_device(struct vfio_device *vdev)
{
	if (vdev->mig_ops)
		nvmevf_migration_close(nvmevf_of(vdev));
	vfio_pci_core_close_device(vdev);
}

static void nvmevf_release_dev(struct vfio_device *vdev)
{
	if (vdev->mig_ops)
		nvmevf_migration_release(nvmevf_of(vdev));
	vfio_pci_core_release_dev(vdev);
}

/* A function without migration has no mig_ops and works as with vfio-pci */
static const struct vfio_device_ops nvmevf_ops = {
	.name = "nvme-vfio-pci",
	.init = vfio_pci_core_init_dev,
	.release = nvmevf_release_dev,
	.open_device = nvmevf_open_device,
	.close_device = nvmevf_close_device,
	.ioctl = vfio_pci_core_ioctl,
	.get_region_info_caps = vfio_pci_ioctl_get_region_info,
	.device_feature = vfio_pci_core_ioctl_feature,
	.read = vfio_pci_core_read,
	.write = vfio_pci_core_write,
	.mmap = vfio_pci_core_mmap,
	.request = vfio_pci_core_request,
	.match = vfio_pci_core_match,
	.match_token_uuid = vfio_pci_core_match_token_uuid,
	.bind_iommufd = vfio_iommufd_physical_bind,
	.unbind_iommufd = vfio_iommufd_physical_unbind,
	.attach_ioas = vfio_iommufd_physical_attach_ioas,
	.detach_ioas = vfio_iommufd_physical_detach_ioas,
};

static int nvmevf_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct nvmevf_pci_core_device *nvdev;
	struct nvme_lm_info info;
	struct nvme_lm_fmt fmt;
	int ret;

	nvdev = vfio_alloc_device(nvmevf_pci_core_device, core_device.vdev,
				  &pdev->dev, &nvmevf_ops);
	if (IS_ERR(nvdev))
		return PTR_ERR(nvdev);
	/* Without migration the function still works as with vfio-pci */
	if (nvmevf_migration_supported(pdev, &info, &fmt))
		nvmevf_migration_init(nvdev, &info, &fmt);

	dev_set_drvdata(&pdev->dev, &nvdev->core_device);
	ret = vfio_pci_core_register_device(&nvdev->core_device);
	if (ret) {
		vfio_put_device(&nvdev->core_device.vdev);
		return ret;
	}
	return 0;
}

static void nvmevf_remove(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *core_device = dev_get_drvdata(&pdev->dev);

	vfio_pci_core_unregister_device(core_device);
	vfio_put_device(&core_device->vdev);
}

static void nvmevf_reset_done(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *core_device = dev_get_drvdata(&pdev->dev);

	if (core_device->vdev.mig_ops)
		nvmevf_migration_reset(nvmevf_of(&core_device->vdev));
}

static const struct pci_error_handlers nvmevf_err_handlers = {
	.reset_done = nvmevf_reset_done,
	.error_detected = vfio_pci_core_aer_err_detected,
};

/* Every NVMe function, but only when driver_override names this driver */
static const struct pci_device_id nvmevf_pci_table[] = {
	{ PCI_DEVICE_CLASS(PCI_CLASS_STORAGE_EXPRESS, 0xffffff),
	  .override_only = PCI_ID_F_VFIO_DRIVER_OVERRIDE },
	{}
};
MODULE_DEVICE_TABLE(pci, nvmevf_pci_table);

static struct pci_driver nvmevf_pci_driver = {
	.name = "nvme-vfio-pci",
	.id_table = nvmevf_pci_table,
	.probe = nvmevf_probe,
	.remove = nvmevf_remove,
	.err_handler = &nvmevf_err_handlers,
	.driver_managed_dma = true,
};
module_pci_driver(nvmevf_pci_driver);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VFIO PCI driver for NVMe functions, with live migration of SR-IOV VFs");
