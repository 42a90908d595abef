// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of NVMe Host Managed Live Migration: the command encoding,
 * the chunking of controller state transfers and the parsing of what the
 * PF returns, against the layouts of NVMe Base Specification 2.1.
 */

#include <kunit/test.h>
#include <linux/blk_types.h>
#include <linux/nvme.h>
#include <linux/nvme-lm.h>
#include <linux/sizes.h>
#include <linux/unaligned.h>

#include "lm.h"

#define PF_CNTLID	0x21

enum lm_cmd_kind { LM_SUSPEND, LM_RESUME, LM_SET_STATE, LM_GET_STATE };

struct lm_cmd_case {
	const char *name;
	enum lm_cmd_kind kind;
	u16 cntlid;
	struct nvme_lm_fmt fmt;
	struct nvme_lm_chunk chunk;
	u8 opcode;
	u32 cdw[6];	/* CDW10 to CDW15 */
};

static const struct lm_cmd_case lm_cmd_cases[] = {
	{
		.name = "suspend",
		.kind = LM_SUSPEND, .cntlid = 0xabcd,
		.opcode = 0x41, .cdw = { 0x00000000, 0x0001abcd },
	}, {
		.name = "resume",
		.kind = LM_RESUME, .cntlid = 0xfffe,
		.opcode = 0x41, .cdw = { 0x00000001, 0x0000fffe },
	}, {
		.name = "set state, entire",
		.kind = LM_SET_STATE, .cntlid = 3, .fmt = { 1, 0 },
		.chunk = { 0, 48, NVME_LM_SEQIND_ENTIRE },
		.opcode = 0x41,
		.cdw = { 0x00030002, 0x00010003, 0, 0, 0, 12 },
	}, {
		.name = "set state, first",
		.kind = LM_SET_STATE, .cntlid = 0x102, .fmt = { 2, 5 },
		.chunk = { 0, SZ_4K, NVME_LM_SEQIND_FIRST },
		.opcode = 0x41,
		.cdw = { 0x00010002, 0x05020102, 0, 0, 0, 1024 },
	}, {
		.name = "set state, middle",
		.kind = LM_SET_STATE, .cntlid = 0x102, .fmt = { 2, 5 },
		.chunk = { SZ_4K, SZ_4K, NVME_LM_SEQIND_MIDDLE },
		.opcode = 0x41,
		.cdw = { 0x00000002, 0x05020102, SZ_4K, 0, 0, 1024 },
	}, {
		.name = "set state, last",
		.kind = LM_SET_STATE, .cntlid = 0x102, .fmt = { 0, 1 },
		.chunk = { SZ_8K, 4, NVME_LM_SEQIND_LAST },
		.opcode = 0x41,
		.cdw = { 0x00020002, 0x01000102, SZ_8K, 0, 0, 1 },
	}, {
		.name = "set state, largest chunk",
		.kind = LM_SET_STATE, .cntlid = 9, .fmt = { 1, 0 },
		.chunk = { SZ_1M, SZ_1M, NVME_LM_SEQIND_MIDDLE },
		.opcode = 0x41,
		.cdw = { 0x00000002, 0x00010009, SZ_1M, 0, 0, SZ_256K },
	}, {
		.name = "get state, header",
		.kind = LM_GET_STATE, .cntlid = 3, .fmt = { 1, 2 },
		.chunk = { 0, 48, NVME_LM_SEQIND_ENTIRE },
		.opcode = 0x42,
		.cdw = { 0x00010000, 0x00020003, 0, 0, 0, 11 },
	}, {
		.name = "get state, one dword",
		.kind = LM_GET_STATE, .cntlid = 0x7ff, .fmt = { 0xff, 0 },
		.chunk = { 4, 4, NVME_LM_SEQIND_MIDDLE },
		.opcode = 0x42,
		.cdw = { 0x00ff0000, 0x000007ff, 4, 0, 0, 0 },
	}, {
		.name = "get state, largest chunk",
		.kind = LM_GET_STATE, .cntlid = 1, .fmt = { 3, 4 },
		.chunk = { SZ_2M, SZ_1M, NVME_LM_SEQIND_LAST },
		.opcode = 0x42,
		.cdw = { 0x00030000, 0x00040001, SZ_2M, 0, 0, SZ_256K - 1 },
	},
#if BITS_PER_LONG == 64
	{
		.name = "set state, offset past 4 GiB",
		.kind = LM_SET_STATE, .cntlid = 3, .fmt = { 1, 0 },
		.chunk = { 0x500001000, SZ_4K, NVME_LM_SEQIND_MIDDLE },
		.opcode = 0x41,
		.cdw = { 0x00000002, 0x00010003, 0x1000, 5, 0, 1024 },
	}, {
		.name = "get state, offset past 4 GiB",
		.kind = LM_GET_STATE, .cntlid = 3, .fmt = { 1, 0 },
		.chunk = { 0x500001000, SZ_4K, NVME_LM_SEQIND_MIDDLE },
		.opcode = 0x42,
		.cdw = { 0x00010000, 0x00000003, 0x1000, 5, 0, 1023 },
	},
#endif
};

KUNIT_ARRAY_PARAM_DESC(lm_cmd, lm_cmd_cases, name);

static void lm_cmd_test(struct kunit *test)
{
	const struct lm_cmd_case *p = test->param_value;
	struct nvme_command c;
	__le32 cdw[6];
	int i;

	memset(&c, 0xa5, sizeof(c));
	switch (p->kind) {
	case LM_SUSPEND:
		nvme_lm_suspend_cmd(&c, p->cntlid);
		break;
	case LM_RESUME:
		nvme_lm_resume_cmd(&c, p->cntlid);
		break;
	case LM_SET_STATE:
		nvme_lm_set_state_cmd(&c, p->cntlid, &p->fmt, &p->chunk);
		break;
	case LM_GET_STATE:
		nvme_lm_get_state_cmd(&c, p->cntlid, &p->fmt, &p->chunk);
		break;
	}

	KUNIT_EXPECT_EQ(test, c.common.opcode, p->opcode);
	KUNIT_EXPECT_EQ(test, c.common.flags, 0);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(c.common.nsid), 0);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(c.common.dptr.prp1), 0);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(c.common.dptr.prp2), 0);
	cdw[0] = c.common.cdw10;
	cdw[1] = c.common.cdw11;
	cdw[2] = c.common.cdw12;
	cdw[3] = c.common.cdw13;
	cdw[4] = c.common.cdw14;
	cdw[5] = c.common.cdw15;
	for (i = 0; i < ARRAY_SIZE(cdw); i++)
		KUNIT_EXPECT_EQ_MSG(test, le32_to_cpu(cdw[i]), p->cdw[i],
				    "CDW%d", 10 + i);
}

struct lm_plan_case {
	const char *name;
	size_t len;
	u32 chunk_size;
	unsigned int nr;
	struct nvme_lm_chunk chunks[4];
};

static const struct lm_plan_case lm_plan_cases[] = {
	{
		.name = "one dword",
		.len = 4, .chunk_size = SZ_4K, .nr = 1,
		.chunks = { { 0, 4, NVME_LM_SEQIND_ENTIRE } },
	}, {
		.name = "exactly one chunk",
		.len = SZ_4K, .chunk_size = SZ_4K, .nr = 1,
		.chunks = { { 0, SZ_4K, NVME_LM_SEQIND_ENTIRE } },
	}, {
		.name = "one chunk and a dword",
		.len = SZ_4K + 4, .chunk_size = SZ_4K, .nr = 2,
		.chunks = {
			{ 0, SZ_4K, NVME_LM_SEQIND_FIRST },
			{ SZ_4K, 4, NVME_LM_SEQIND_LAST },
		},
	}, {
		.name = "many chunks",
		.len = 3 * SZ_4K + 8, .chunk_size = SZ_4K, .nr = 4,
		.chunks = {
			{ 0, SZ_4K, NVME_LM_SEQIND_FIRST },
			{ SZ_4K, SZ_4K, NVME_LM_SEQIND_MIDDLE },
			{ SZ_8K, SZ_4K, NVME_LM_SEQIND_MIDDLE },
			{ 3 * SZ_4K, 8, NVME_LM_SEQIND_LAST },
		},
	}, {
		.name = "chunk of one dword",
		.len = 12, .chunk_size = 4, .nr = 3,
		.chunks = {
			{ 0, 4, NVME_LM_SEQIND_FIRST },
			{ 4, 4, NVME_LM_SEQIND_MIDDLE },
			{ 8, 4, NVME_LM_SEQIND_LAST },
		},
	}, {
		.name = "largest chunk",
		.len = SZ_1M, .chunk_size = SZ_1M, .nr = 1,
		.chunks = { { 0, SZ_1M, NVME_LM_SEQIND_ENTIRE } },
	}, {
		.name = "largest chunks",
		.len = SZ_2M + 4, .chunk_size = SZ_1M, .nr = 3,
		.chunks = {
			{ 0, SZ_1M, NVME_LM_SEQIND_FIRST },
			{ SZ_1M, SZ_1M, NVME_LM_SEQIND_MIDDLE },
			{ SZ_2M, 4, NVME_LM_SEQIND_LAST },
		},
	},
};

KUNIT_ARRAY_PARAM_DESC(lm_plan, lm_plan_cases, name);

static void lm_plan_test(struct kunit *test)
{
	const struct lm_plan_case *p = test->param_value;
	struct nvme_lm_chunk chunk;
	unsigned int nr = 0;
	size_t offset;

	for (offset = 0; offset < p->len; offset += chunk.len, nr++) {
		nvme_lm_plan_chunk(&chunk, p->len, offset, p->chunk_size);
		KUNIT_ASSERT_LT(test, nr, ARRAY_SIZE(p->chunks));
		KUNIT_EXPECT_EQ(test, chunk.offset, p->chunks[nr].offset);
		KUNIT_EXPECT_EQ(test, chunk.len, p->chunks[nr].len);
		KUNIT_EXPECT_EQ(test, chunk.seqind, p->chunks[nr].seqind);
		KUNIT_ASSERT_GT(test, chunk.len, 0);
	}
	KUNIT_EXPECT_EQ(test, nr, p->nr);
	KUNIT_EXPECT_EQ(test, offset, p->len);
}

/* A long transfer: every byte once, in order, first and last marked */
static void lm_plan_long_test(struct kunit *test)
{
	const size_t len = SZ_64M + 4;
	struct nvme_lm_chunk chunk;
	unsigned int nr = 0;
	size_t offset;

	for (offset = 0; offset < len; offset += chunk.len, nr++) {
		nvme_lm_plan_chunk(&chunk, len, offset, SZ_4K);
		KUNIT_ASSERT_EQ(test, chunk.offset, offset);
		KUNIT_ASSERT_EQ(test, chunk.len, offset < SZ_64M ? SZ_4K : 4);
		if (offset == 0)
			KUNIT_ASSERT_EQ(test, chunk.seqind, NVME_LM_SEQIND_FIRST);
		else if (offset == SZ_64M)
			KUNIT_ASSERT_EQ(test, chunk.seqind, NVME_LM_SEQIND_LAST);
		else
			KUNIT_ASSERT_EQ(test, chunk.seqind, NVME_LM_SEQIND_MIDDLE);
	}
	KUNIT_EXPECT_EQ(test, nr, SZ_64M / SZ_4K + 1);
	KUNIT_EXPECT_EQ(test, offset, len);
}

static void lm_chunk_size_test(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, nvme_lm_chunk_size(0), SECTOR_SIZE);
	KUNIT_EXPECT_EQ(test, nvme_lm_chunk_size(1), SECTOR_SIZE);
	KUNIT_EXPECT_EQ(test, nvme_lm_chunk_size(8), SZ_4K);
	KUNIT_EXPECT_EQ(test, nvme_lm_chunk_size(256), SZ_128K);
	KUNIT_EXPECT_EQ(test, nvme_lm_chunk_size(2048), SZ_1M);
	KUNIT_EXPECT_EQ(test, nvme_lm_chunk_size(SZ_8M >> SECTOR_SHIFT),
			SZ_1M);
	KUNIT_EXPECT_EQ(test, nvme_lm_chunk_size(U32_MAX), SZ_1M);
}

struct lm_sec_entry {
	u16 scid;
	u16 pcid;
	u16 vfn;
};

struct lm_sec_case {
	const char *name;
	u8 num;
	u16 start;
	u16 vfn;
	/* If not 0, entry i is SCID fill + i, VF number i + 1 */
	u16 fill;
	unsigned int nr;
	struct lm_sec_entry e[4];
	/* If not 0, the VF number whose entry is offline */
	u16 offline;
	int ret;
	u16 scid;
	u32 next;
};

static const struct lm_sec_case lm_sec_cases[] = {
	{
		.name = "found",
		.num = 3, .vfn = 2, .nr = 3,
		.e = { { 2, PF_CNTLID, 1 }, { 3, PF_CNTLID, 2 },
		       { 4, PF_CNTLID, 3 } },
		.ret = 0, .scid = 3,
	}, {
		.name = "found at the end of a full list",
		.num = 127, .vfn = 127, .fill = 0x100,
		.ret = 0, .scid = 0x17e,
	}, {
		.name = "VF number 0 is no VF",
		.num = 3, .vfn = 1, .nr = 3,
		.e = { { 2, PF_CNTLID, 0 }, { 3, PF_CNTLID, 0 },
		       { 4, PF_CNTLID, 1 } },
		.ret = 0, .scid = 4,
	}, {
		.name = "no entries",
		.num = 0, .vfn = 1,
		.ret = -ENOENT, .next = NVME_LM_SCID_END,
	}, {
		.name = "absent from the last part",
		.num = 2, .vfn = 5, .nr = 2,
		.e = { { 2, PF_CNTLID, 1 }, { 3, PF_CNTLID, 2 } },
		.ret = -ENOENT, .next = NVME_LM_SCID_END,
	}, {
		.name = "absent from a full part",
		.num = 127, .vfn = 200, .fill = 0x22,
		.ret = -ENOENT, .next = 0x22 + 127,
	}, {
		.name = "absent from a full part ending at FFFFh",
		.num = 127, .start = 0xff00, .vfn = 200, .fill = 0xffff - 126,
		.ret = -ENOENT, .next = NVME_LM_SCID_END,
	}, {
		.name = "found offline",
		.num = 2, .vfn = 2, .nr = 2, .offline = 2,
		.e = { { 2, PF_CNTLID, 1 }, { 3, PF_CNTLID, 2 } },
		.ret = -ENOLINK,
	}, {
		.name = "another VF offline",
		.num = 2, .vfn = 2, .nr = 2, .offline = 1,
		.e = { { 2, PF_CNTLID, 1 }, { 3, PF_CNTLID, 2 } },
		.scid = 3,
	}, {
		.name = "entries past NUM ignored",
		.num = 1, .vfn = 2, .nr = 2,
		.e = { { 2, PF_CNTLID, 1 }, { 3, PF_CNTLID, 2 } },
		.ret = -ENOENT, .next = NVME_LM_SCID_END,
	}, {
		.name = "NUM past the data structure",
		.num = 128, .vfn = 1, .fill = 0x22,
		.ret = -EPROTO,
	}, {
		.name = "NUM FFh",
		.num = 0xff, .vfn = 1, .fill = 0x22,
		.ret = -EPROTO,
	}, {
		.name = "duplicate VF number",
		.num = 2, .vfn = 1, .nr = 2,
		.e = { { 2, PF_CNTLID, 1 }, { 3, PF_CNTLID, 1 } },
		.ret = -EPROTO,
	}, {
		.name = "duplicate VF number after the match",
		.num = 3, .vfn = 2, .nr = 3,
		.e = { { 2, PF_CNTLID, 2 }, { 3, PF_CNTLID, 1 },
		       { 4, PF_CNTLID, 2 } },
		.ret = -EPROTO,
	}, {
		.name = "duplicate controller ID",
		.num = 2, .vfn = 1, .nr = 2,
		.e = { { 2, PF_CNTLID, 1 }, { 2, PF_CNTLID, 2 } },
		.ret = -EPROTO,
	}, {
		.name = "another primary controller",
		.num = 2, .vfn = 1, .nr = 2,
		.e = { { 2, PF_CNTLID, 1 }, { 3, PF_CNTLID + 1, 2 } },
		.ret = -EPROTO,
	}, {
		.name = "the PF's own controller ID",
		.num = 1, .vfn = 1, .nr = 1,
		.e = { { PF_CNTLID, PF_CNTLID, 1 } },
		.ret = -EPROTO,
	}, {
		.name = "controller ID before CNTID",
		.num = 2, .start = 0x40, .vfn = 2, .nr = 2,
		.e = { { 0x40, PF_CNTLID, 1 }, { 0x3f, PF_CNTLID, 2 } },
		.ret = -EPROTO,
	},
};

KUNIT_ARRAY_PARAM_DESC(lm_sec, lm_sec_cases, name);

static void lm_sec_test(struct kunit *test)
{
	const struct lm_sec_case *p = test->param_value;
	struct nvme_sec_ctrl_list *list;
	u16 scid = 0xdead;
	u32 next = 0xdeadbeef;
	unsigned int i;
	int ret;

	/* Exactly the size of the data structure, for KASAN to check */
	list = kunit_kzalloc(test, sizeof(*list), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, list);

	list->num = p->num;
	for (i = 0; p->fill && i < ARRAY_SIZE(list->entries); i++) {
		list->entries[i].scid = cpu_to_le16(p->fill + i);
		list->entries[i].pcid = cpu_to_le16(PF_CNTLID);
		list->entries[i].vfn = cpu_to_le16(i + 1);
		list->entries[i].scs = NVME_SEC_CTRL_SCS_ONLINE;
	}
	for (i = 0; i < p->nr; i++) {
		list->entries[i].scid = cpu_to_le16(p->e[i].scid);
		list->entries[i].pcid = cpu_to_le16(p->e[i].pcid);
		list->entries[i].vfn = cpu_to_le16(p->e[i].vfn);
		list->entries[i].scs = p->e[i].vfn == p->offline ? 0 :
				       NVME_SEC_CTRL_SCS_ONLINE;
	}

	ret = nvme_lm_find_scid(list, p->start, PF_CNTLID, p->vfn, &scid,
				&next);
	KUNIT_EXPECT_EQ(test, ret, p->ret);
	KUNIT_EXPECT_EQ(test, scid, ret ? 0xdead : p->scid);
	if (ret == -ENOENT)
		KUNIT_EXPECT_EQ(test, next, p->next);
	else
		KUNIT_EXPECT_EQ(test, next, 0xdeadbeef);
}

struct lm_fmts_case {
	const char *name;
	u8 nv;
	u8 nuuid;
	int ret;
	u8 nr_versions;
	u8 nr_uuids;
};

static const struct lm_fmts_case lm_fmts_cases[] = {
	{ "one version", 1, 0, 0, 1, 0 },
	{ "versions and UUIDs", 2, 3, 0, 2, 3 },
	{ "more formats than reported", 20, 17, 0, 16, 16 },
	{ "only UUIDs", 0, 255, 0, 0, 16 },
	{ "formats fill the data structure", 255, 224, 0, 16, 16 },
	{ "UUIDs past the data structure", 255, 225, -EPROTO },
	{ "largest counts", 255, 255, -EPROTO },
	{ "no format", 0, 0, -EOPNOTSUPP },
};

KUNIT_ARRAY_PARAM_DESC(lm_fmts, lm_fmts_cases, name);

static void lm_fmts_test(struct kunit *test)
{
	const struct lm_fmts_case *p = test->param_value;
	struct nvme_id_ctrl_state_fmts *fmts;
	struct nvme_lm_info *info;
	size_t off = 0;
	unsigned int i;
	int ret;

	fmts = kunit_kzalloc(test, sizeof(*fmts), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fmts);
	info = kunit_kzalloc(test, sizeof(*info), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, info);

	fmts->nv = p->nv;
	fmts->nuuid = p->nuuid;
	/* Version i is 100h + i, byte j of UUID i is i ^ j: as far as fits */
	for (i = 0; i < p->nv && off + 2 <= sizeof(fmts->data); i++, off += 2)
		put_unaligned_le16(0x100 + i, &fmts->data[off]);
	for (i = 0; off < sizeof(fmts->data); off++, i++)
		fmts->data[off] = (i / 16) ^ (i % 16);

	ret = nvme_lm_parse_fmts(fmts, info);
	KUNIT_ASSERT_EQ(test, ret, p->ret);
	if (ret)
		return;

	KUNIT_EXPECT_EQ(test, info->nr_versions, p->nr_versions);
	KUNIT_EXPECT_EQ(test, info->nr_uuids, p->nr_uuids);
	for (i = 0; i < info->nr_versions; i++)
		KUNIT_EXPECT_EQ(test, info->versions[i], 0x100 + i);
	for (i = 0; i < info->nr_uuids; i++) {
		KUNIT_EXPECT_EQ(test, info->uuids[i].b[0], i);
		KUNIT_EXPECT_EQ(test, info->uuids[i].b[15], i ^ 15);
	}
}

struct lm_hdr_case {
	const char *name;
	u64 nvmecss[2];	/* lower and upper 64 bits */
	u64 vss[2];
	int ret;
	size_t size;
};

static const struct lm_hdr_case lm_hdr_cases[] = {
	{ "header only", { 0, 0 }, { 0, 0 }, 0, 48 },
	{ "NVMe-defined state", { 10, 0 }, { 0, 0 }, 0, 88 },
	{ "both sections", { 10, 0 }, { 2, 0 }, 0, 96 },
	{ "vendor-specific state", { 0, 0 }, { 0x100, 0 }, 0, 48 + SZ_1K },
	{ "largest size", { (SIZE_MAX - 48) / 4, 0 }, { 0, 0 }, 0,
	  48 + (SIZE_MAX - 48) / 4 * 4 },
	{ "one dword past the largest", { (SIZE_MAX - 48) / 4, 0 }, { 1, 0 },
	  -EOVERFLOW },
	{ "NVMECSS upper half", { 1, BIT_ULL(56) }, { 0, 0 }, -EOVERFLOW },
	{ "VSS upper half", { 0, 0 }, { 1, 1 }, -EOVERFLOW },
	{ "dword count overflows", { U64_MAX, 0 }, { 1, 0 }, -EOVERFLOW },
	{ "byte count overflows", { BIT_ULL(62), 0 }, { 0, 0 }, -EOVERFLOW },
};

KUNIT_ARRAY_PARAM_DESC(lm_hdr, lm_hdr_cases, name);

static void lm_hdr_test(struct kunit *test)
{
	const struct lm_hdr_case *p = test->param_value;
	struct nvme_ctrl_state_hdr hdr = { };
	size_t size = 1;
	int ret;

	put_unaligned_le64(p->nvmecss[0], &hdr.nvmecss[0]);
	put_unaligned_le64(p->nvmecss[1], &hdr.nvmecss[8]);
	put_unaligned_le64(p->vss[0], &hdr.vss[0]);
	put_unaligned_le64(p->vss[1], &hdr.vss[8]);

	ret = nvme_lm_state_hdr_size(&hdr, &size);
	KUNIT_EXPECT_EQ(test, ret, p->ret);
	KUNIT_EXPECT_EQ(test, size, ret ? (size_t)1 : p->size);
}

static void lm_status_test(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, nvme_lm_status_to_errno(0), 0);
	/* A cancelled command: timed out, or the PF reset or went away */
	KUNIT_EXPECT_EQ(test, nvme_lm_status_to_errno(-EINTR), -ECANCELED);
	KUNIT_EXPECT_EQ(test, nvme_lm_status_to_errno(-ENODEV), -ENODEV);
	KUNIT_EXPECT_EQ(test, nvme_lm_status_to_errno(NVME_SC_INVALID_OPCODE),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, nvme_lm_status_to_errno(NVME_SC_INVALID_FIELD |
						      NVME_STATUS_DNR),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, nvme_lm_status_to_errno(NVME_SC_CTRL_ID_INVALID),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, nvme_lm_status_to_errno(NVME_SC_CTRL_SUSPENDED),
			-EBUSY);
	KUNIT_EXPECT_EQ(test,
			nvme_lm_status_to_errno(NVME_SC_CTRL_NOT_SUSPENDED |
						NVME_STATUS_DNR),
			-EALREADY);
	KUNIT_EXPECT_EQ(test,
			nvme_lm_status_to_errno(NVME_SC_NOT_ENOUGH_RESOURCES),
			-ENOSPC);
	KUNIT_EXPECT_EQ(test, nvme_lm_status_to_errno(NVME_SC_INTERNAL), -EIO);
	/* A command nvme-pci could not send to a PF that is not live */
	KUNIT_EXPECT_EQ(test, nvme_lm_status_to_errno(NVME_SC_HOST_PATH_ERROR),
			-ECANCELED);
	KUNIT_EXPECT_EQ(test, nvme_lm_status_to_errno(NVME_SC_HOST_ABORTED_CMD),
			-ECANCELED);
}

static struct kunit_case nvme_lm_test_cases[] = {
	KUNIT_CASE_PARAM(lm_cmd_test, lm_cmd_gen_params),
	KUNIT_CASE_PARAM(lm_plan_test, lm_plan_gen_params),
	KUNIT_CASE(lm_plan_long_test),
	KUNIT_CASE(lm_chunk_size_test),
	KUNIT_CASE_PARAM(lm_sec_test, lm_sec_gen_params),
	KUNIT_CASE_PARAM(lm_fmts_test, lm_fmts_gen_params),
	KUNIT_CASE_PARAM(lm_hdr_test, lm_hdr_gen_params),
	KUNIT_CASE(lm_status_test),
	{}
};

static struct kunit_suite nvme_lm_test_suite = {
	.name = "nvme-host-lm",
	.test_cases = nvme_lm_test_cases,
};

kunit_test_suite(nvme_lm_test_suite);

MODULE_DESCRIPTION("KUnit tests for NVMe host managed live migration");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");
