/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NVMe controller registers and the commands the selftests' userspace NVMe
 * driver issues (NVM Express Base Specification).
 */
#ifndef SELFTESTS_VFIO_LIB_DRIVERS_NVME_HW_H
#define SELFTESTS_VFIO_LIB_DRIVERS_NVME_HW_H

#include <assert.h>

#include <linux/bits.h>
#include <linux/types.h>

#define NVME_REG_CAP		0x0000
#define NVME_REG_VS		0x0008
#define NVME_REG_CC		0x0014
#define NVME_REG_CSTS		0x001c
#define NVME_REG_AQA		0x0024
#define NVME_REG_ASQ		0x0028
#define NVME_REG_ACQ		0x0030
#define NVME_REG_DBS		0x1000

#define NVME_CC_EN		BIT(0)
#define NVME_CC_IOSQES		(6u << 16)	/* 64-byte SQ entries */
#define NVME_CC_IOCQES		(4u << 20)	/* 16-byte CQ entries */
#define NVME_CSTS_RDY		BIT(0)
#define NVME_CSTS_CFS		BIT(1)

#define NVME_ADM_DELETE_SQ	0x00
#define NVME_ADM_CREATE_SQ	0x01
#define NVME_ADM_DELETE_CQ	0x04
#define NVME_ADM_CREATE_CQ	0x05
#define NVME_ADM_IDENTIFY	0x06
#define NVME_ADM_SET_FEATURES	0x09
#define NVME_ADM_VIRT_MGMT	0x1c
#define NVME_ADM_MIG_SEND	0x41
#define NVME_ADM_MIG_RECV	0x42
#define NVME_CMD_WRITE		0x01
#define NVME_CMD_READ		0x02

#define NVME_FEAT_NUM_QUEUES	0x07
#define NVME_ID_CNS_NS		0x00
#define NVME_ID_CNS_CTRL	0x01

struct nvme_sqe {
	u8 opcode;
	u8 flags;
	u16 cid;
	u32 nsid;
	u64 rsvd2;
	u64 mptr;
	u64 prp1;
	u64 prp2;
	u32 cdw10;
	u32 cdw11;
	u32 cdw12;
	u32 cdw13;
	u32 cdw14;
	u32 cdw15;
};

struct nvme_cqe {
	u32 result;
	u32 rsvd;
	u16 sq_head;
	u16 sq_id;
	u16 cid;
	u16 status;	/* bit 0: phase tag */
};

static_assert(sizeof(struct nvme_sqe) == 64, "SQ entries are 64 bytes");
static_assert(sizeof(struct nvme_cqe) == 16, "CQ entries are 16 bytes");

#endif /* SELFTESTS_VFIO_LIB_DRIVERS_NVME_HW_H */
