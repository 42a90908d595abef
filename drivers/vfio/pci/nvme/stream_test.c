// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the nvme-vfio-pci migration stream: round trips, every
 * segmentation of a valid stream and every reason to reject one.
 */

#include <kunit/test.h>
#include <linux/crc32.h>
#include <linux/module.h>
#include <linux/nvme.h>
#include <linux/sizes.h>
#include <linux/unaligned.h>

#include "stream.h"
#include "test.h"

/* The vendor-specific formats of the test PFs */
static const uuid_t nvmevf_test_uuid_a =
	UUID_INIT(0x4f8a2c1e, 0x6b3d, 0x4e5f, 0x9a, 0x7b, 0x1c, 0x2d, 0x3e,
		  0x4f, 0x50, 0x61);
static const uuid_t nvmevf_test_uuid_b =
	UUID_INIT(0x0d1c2b3a, 0x4958, 0x4677, 0x86, 0x95, 0xa4, 0xb3, 0xc2,
		  0xd1, 0xe0, 0xf1);

/**
 * nvmevf_test_info() - What a test PF offers
 * @info: filled in
 * @dest: the destination PF, which lists its formats in another order
 */
void nvmevf_test_info(struct nvme_lm_info *info, bool dest)
{
	memset(info, 0, sizeof(*info));
	info->cntlid = 2;
	if (dest) {
		info->nr_versions = 2;
		info->versions[0] = 3;
		info->versions[1] = NVMEVF_CSV;
		info->nr_uuids = 2;
		info->uuids[0] = nvmevf_test_uuid_b;
		info->uuids[1] = nvmevf_test_uuid_a;
	} else {
		info->nr_versions = 1;
		info->versions[0] = NVMEVF_CSV;
		info->nr_uuids = 1;
		info->uuids[0] = nvmevf_test_uuid_a;
	}
}

/**
 * nvmevf_test_state() - Build a consistent Controller State data structure
 * @test: the test
 * @niosq: I/O submission queues in it
 * @niocq: I/O completion queues in it
 * @vendor_len: bytes of vendor-specific state, a multiple of 4
 * @len: set to its size
 *
 * Return: the structure, freed with the test.
 */
u8 *nvmevf_test_state(struct kunit *test, u16 niosq, u16 niocq,
		      size_t vendor_len, size_t *len)
{
	size_t css = sizeof(struct nvme_ctrl_state_v0) +
		     (niosq + niocq) * sizeof(struct nvme_iosq_state);
	struct nvme_ctrl_state_hdr *hdr;
	struct nvme_ctrl_state_v0 *v0;
	size_t i;
	u8 *state;

	*len = sizeof(*hdr) + css + vendor_len;
	state = kunit_kzalloc(test, *len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, state);

	hdr = (void *)state;
	hdr->csattr = NVME_CTRL_STATE_CSATTR_SUSPENDED;
	put_unaligned_le64(css / 4, hdr->nvmecss);
	put_unaligned_le64(vendor_len / 4, hdr->vss);
	v0 = (void *)(state + sizeof(*hdr));
	v0->ver = cpu_to_le16(NVMEVF_CSV);
	v0->niosq = cpu_to_le16(niosq);
	v0->niocq = cpu_to_le16(niocq);
	for (i = sizeof(*hdr) + sizeof(*v0); i < *len; i++)
		state[i] = i * 7 + 1;
	return state;
}

/**
 * nvmevf_test_stream() - Encode a whole stream as the saving side does
 * @test: the test
 * @info: what the source PF offers
 * @fmt: the formats of @state
 * @state: the Controller State data structure
 * @len: its size
 * @stream_len: set to the size of the stream
 *
 * Return: the stream, freed with the test.
 */
u8 *nvmevf_test_stream(struct kunit *test, const struct nvme_lm_info *info,
		       const struct nvme_lm_fmt *fmt, const u8 *state,
		       size_t len, size_t *stream_len)
{
	struct nvmevf_rec_tail tail;
	struct nvmevf_rec_hdr hdr;
	u8 *s;

	*stream_len = nvmevf_stream_size(len);
	s = kunit_kzalloc(test, *stream_len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);

	nvmevf_stream_put_compat((void *)s, info, fmt, len);
	nvmevf_stream_put_state(&hdr, &tail, state, len);
	memcpy(s + STATE_REC, &hdr, sizeof(hdr));
	memcpy(s + STATE, state, len);
	memcpy(s + STATE + len, &tail, sizeof(tail));
	return s;
}

/* Recompute the CRC of the record at @rec after the test changed it */
static void nvmevf_test_fix_crc(u8 *rec)
{
	size_t len = get_unaligned_le64(rec + 16) -
		     sizeof(struct nvmevf_rec_tail);

	put_unaligned_le32(~crc32c(~0, rec, len), rec + len);
}

/**
 * nvmevf_test_put_ext() - Write a record such as a later writer might add
 * @rec: where the record goes
 * @type: its type
 * @flags: its header flags
 * @len: bytes of payload
 *
 * Return: the size of the record.
 */
size_t nvmevf_test_put_ext(u8 *rec, u16 type, u32 flags, size_t len)
{
	struct nvmevf_rec_hdr *hdr = (void *)rec;
	size_t total = sizeof(*hdr) + len + sizeof(struct nvmevf_rec_tail);

	memset(hdr, 0, sizeof(*hdr));
	hdr->magic = cpu_to_le32(NVMEVF_STREAM_MAGIC);
	hdr->version = cpu_to_le16(NVMEVF_STREAM_VERSION);
	hdr->type = cpu_to_le16(type);
	hdr->flags = cpu_to_le32(flags);
	hdr->length = cpu_to_le64(total);
	memset(rec + sizeof(*hdr), 0xa5, len);
	put_unaligned_le32(NVMEVF_STREAM_END, rec + total - 4);
	nvmevf_test_fix_crc(rec);
	return total;
}

/**
 * nvmevf_test_feed() - Feed a stream to a parser as the resume fd does
 * @p: the parser
 * @s: the stream
 * @len: bytes of @s to feed
 * @seg: in writes of this many bytes
 *
 * Return: 0 or the first error of the parser.
 */
int nvmevf_test_feed(struct nvmevf_stream_parser *p, const u8 *s, size_t len,
		     size_t seg)
{
	size_t n, w, off = 0;
	void *dst;
	int ret;

	while (off < len) {
		w = min(seg, len - off);
		while (w) {
			ret = nvmevf_stream_window(p, &dst, &n);
			if (ret)
				return ret;
			n = min(n, w);
			memcpy(dst, s + off, n);
			ret = nvmevf_stream_advance(p, n);
			if (ret)
				return ret;
			off += n;
			w -= n;
		}
	}
	return 0;
}

struct nvmevf_stream_ctx {
	struct nvme_lm_info src;
	struct nvme_lm_info dst;
	struct nvme_lm_fmt fmt;
	struct nvmevf_stream_parser p;
	u8 *state;
	size_t len;
	u8 *s;
	size_t slen;
};

static int nvmevf_stream_test_init(struct kunit *test)
{
	struct nvmevf_stream_ctx *c;

	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	nvmevf_test_info(&c->src, false);
	nvmevf_test_info(&c->dst, true);
	c->fmt.csvi = 1;
	c->fmt.csuuidi = 1;
	c->state = nvmevf_test_state(test, 3, 2, 64, &c->len);
	c->s = nvmevf_test_stream(test, &c->src, &c->fmt, c->state, c->len,
				  &c->slen);
	nvmevf_stream_parser_init(&c->p, NULL, &c->dst, SZ_1M);
	test->priv = c;
	return 0;
}

static void nvmevf_stream_test_exit(struct kunit *test)
{
	struct nvmevf_stream_ctx *c = test->priv;

	nvmevf_stream_parser_free(&c->p);
}

static void nvmevf_stream_round_trip(struct kunit *test)
{
	struct nvmevf_stream_ctx *c = test->priv;

	KUNIT_ASSERT_EQ(test, nvmevf_test_feed(&c->p, c->s, c->slen, c->slen),
			0);
	KUNIT_ASSERT_EQ(test, nvmevf_stream_finish(&c->p), 0);
	KUNIT_ASSERT_EQ(test, c->p.state_len, c->len);
	KUNIT_EXPECT_MEMEQ(test, c->p.state, c->state, c->len);
	/* Mapped to the destination's own indexes */
	KUNIT_EXPECT_EQ(test, c->p.fmt.csvi, 2);
	KUNIT_EXPECT_EQ(test, c->p.fmt.csuuidi, 2);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(c->p.compat.state_size), c->len);
}

/* The same stream, written in pieces of every size from one byte up */
static void nvmevf_stream_segmentation(struct kunit *test)
{
	struct nvmevf_stream_ctx *c = test->priv;
	size_t seg;

	for (seg = 1; seg <= c->slen; seg++) {
		nvmevf_stream_parser_init(&c->p, NULL, &c->dst, SZ_1M);
		KUNIT_ASSERT_EQ_MSG(test,
				    nvmevf_test_feed(&c->p, c->s, c->slen, seg),
				    0, "writes of %zu bytes", seg);
		KUNIT_ASSERT_EQ_MSG(test, nvmevf_stream_finish(&c->p), 0,
				    "writes of %zu bytes", seg);
		KUNIT_EXPECT_MEMEQ(test, c->p.state, c->state, c->len);
		nvmevf_stream_parser_free(&c->p);
	}
}

/* Every proper prefix of the stream is truncated */
static void nvmevf_stream_truncated(struct kunit *test)
{
	struct nvmevf_stream_ctx *c = test->priv;
	size_t len;

	for (len = 0; len < c->slen; len++) {
		nvmevf_stream_parser_init(&c->p, NULL, &c->dst, SZ_1M);
		KUNIT_ASSERT_EQ(test, nvmevf_test_feed(&c->p, c->s, len, 5), 0);
		KUNIT_EXPECT_EQ_MSG(test, nvmevf_stream_finish(&c->p), -EINVAL,
				    "%zu of %zu bytes", len, c->slen);
		KUNIT_EXPECT_EQ(test, c->p.status.err, NVMEVF_ERR_TRUNCATED);
		nvmevf_stream_parser_free(&c->p);
	}
}

/* After the state, what is not a whole record is refused */
static void nvmevf_stream_trailing(struct kunit *test)
{
	struct nvmevf_stream_ctx *c = test->priv;
	const size_t extra = sizeof(struct nvmevf_rec_hdr);
	u8 *s;

	s = kunit_kzalloc(test, c->slen + extra, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	memcpy(s, c->s, c->slen);
	KUNIT_EXPECT_EQ(test, nvmevf_test_feed(&c->p, s, c->slen + 1, 3), 0);
	KUNIT_EXPECT_EQ(test, nvmevf_stream_finish(&c->p), -EINVAL);
	KUNIT_EXPECT_EQ(test, c->p.status.err, NVMEVF_ERR_TRUNCATED);
	nvmevf_stream_parser_free(&c->p);

	nvmevf_stream_parser_init(&c->p, NULL, &c->dst, SZ_1M);
	KUNIT_EXPECT_EQ(test, nvmevf_test_feed(&c->p, s, c->slen + extra, 3),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, c->p.status.err, NVMEVF_ERR_MAGIC);
	/* The verdict sticks */
	KUNIT_EXPECT_EQ(test, nvmevf_stream_finish(&c->p), -EINVAL);
	KUNIT_EXPECT_EQ(test, c->p.status.err, NVMEVF_ERR_MAGIC);
}

/* Where a test puts a record of another type */
enum nvmevf_ext_at {
	EXT_FIRST,
	EXT_AFTER_COMPAT,
	EXT_LAST,
	EXT_INSTEAD_OF_STATE,
};

/* A record a later writer might add, and what a reader must do with it */
struct nvmevf_ext_case {
	const char *name;
	enum nvmevf_ext_at at;
	u16 type;
	u32 flags;
	size_t len;
	/* A byte of the record to flip after its CRC, or -1 */
	int flip;
	/* Bytes cut off the end of the stream */
	size_t cut;
	enum nvmevf_stream_err err;
};

/* Longer than the parser's scratch buffer, so a skip takes several windows */
#define EXT_LEN	150

static const struct nvmevf_ext_case nvmevf_ext_cases[] = {
	{ "skippable after the description", EXT_AFTER_COMPAT, 0x100,
	  NVMEVF_REC_SKIPPABLE, EXT_LEN, -1 },
	{ "skippable after the state", EXT_LAST, 7, NVMEVF_REC_SKIPPABLE,
	  EXT_LEN, -1 },
	{ "empty and skippable", EXT_AFTER_COMPAT, 0, NVMEVF_REC_SKIPPABLE, 0,
	  -1 },
	{ "not skippable", EXT_AFTER_COMPAT, 0x100, 0, 16, -1, 0,
	  NVMEVF_ERR_RECORD },
	{ "before the description", EXT_FIRST, 0x100, NVMEVF_REC_SKIPPABLE, 16,
	  -1, 0, NVMEVF_ERR_RECORD },
	{ "a second description", EXT_LAST, NVMEVF_REC_COMPAT,
	  NVMEVF_REC_SKIPPABLE, sizeof(struct nvmevf_compat), -1, 0,
	  NVMEVF_ERR_RECORD },
	{ "a second state", EXT_LAST, NVMEVF_REC_STATE, NVMEVF_REC_SKIPPABLE,
	  64, -1, 0, NVMEVF_ERR_RECORD },
	{ "skipped record's checksum", EXT_AFTER_COMPAT, 0x100,
	  NVMEVF_REC_SKIPPABLE, EXT_LEN, 100, 0, NVMEVF_ERR_CRC },
	{ "skipped record's end marker", EXT_AFTER_COMPAT, 0x100,
	  NVMEVF_REC_SKIPPABLE, EXT_LEN, EXT_LEN + 30, 0, NVMEVF_ERR_END },
	{ "reserved flag", EXT_AFTER_COMPAT, 0x100,
	  NVMEVF_REC_SKIPPABLE | BIT(1), 16, -1, 0, NVMEVF_ERR_RESERVED },
	{ "ends in a skipped record", EXT_LAST, 0x100, NVMEVF_REC_SKIPPABLE,
	  EXT_LEN, -1, 9, NVMEVF_ERR_TRUNCATED },
	{ "no state record", EXT_INSTEAD_OF_STATE, 0x100, NVMEVF_REC_SKIPPABLE,
	  16, -1, 0, NVMEVF_ERR_TRUNCATED },
};

static void nvmevf_ext_desc(const struct nvmevf_ext_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(nvmevf_ext, nvmevf_ext_cases, nvmevf_ext_desc);

/* Build the test's stream with the case's record in it */
static size_t nvmevf_ext_stream(struct nvmevf_stream_ctx *c,
				const struct nvmevf_ext_case *ec, u8 *s)
{
	/* The test stream's bytes before the record, and from where after it */
	size_t head = ec->at == EXT_FIRST ? 0 :
		      ec->at == EXT_LAST ? c->slen : STATE_REC;
	size_t from = ec->at == EXT_FIRST ? 0 :
		      ec->at == EXT_AFTER_COMPAT ? STATE_REC : c->slen;
	size_t len;

	memcpy(s, c->s, head);
	len = head + nvmevf_test_put_ext(s + head, ec->type, ec->flags,
					 ec->len);
	if (ec->flip >= 0)
		s[head + ec->flip] ^= 0x08;
	memcpy(s + len, c->s + from, c->slen - from);
	return len + c->slen - from - ec->cut;
}

/* Records of other types: skipped when they may be, refused when not */
static void nvmevf_stream_ext(struct kunit *test)
{
	const struct nvmevf_ext_case *ec = test->param_value;
	struct nvmevf_stream_ctx *c = test->priv;
	size_t len, seg;
	int ret;
	u8 *s;

	s = kunit_kzalloc(test, c->slen + NVMEVF_STREAM_OVERHEAD + ec->len,
			  GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	len = nvmevf_ext_stream(c, ec, s);
	for (seg = 1; seg <= len; seg += 11) {
		nvmevf_stream_parser_init(&c->p, NULL, &c->dst, SZ_1M);
		ret = nvmevf_test_feed(&c->p, s, len, seg);
		if (!ret)
			ret = nvmevf_stream_finish(&c->p);
		KUNIT_EXPECT_EQ_MSG(test, c->p.status.err, ec->err,
				    "%s in writes of %zu bytes", ec->name, seg);
		if (ec->err) {
			KUNIT_EXPECT_EQ(test, ret, -EINVAL);
		} else {
			KUNIT_EXPECT_EQ(test, ret, 0);
			KUNIT_ASSERT_EQ(test, c->p.state_len, c->len);
			KUNIT_EXPECT_MEMEQ(test, c->p.state, c->state, c->len);
		}
		nvmevf_stream_parser_free(&c->p);
	}
}

/* A way to corrupt a valid stream, and the rejection it must cause */
struct nvmevf_reject_case {
	const char *name;
	void (*corrupt)(u8 *s, size_t len);
	enum nvmevf_stream_err err;
	size_t max_state;
};

static void corrupt_magic(u8 *s, size_t len)
{
	s[COMPAT_REC] ^= 0x20;
}

static void corrupt_state_magic(u8 *s, size_t len)
{
	s[STATE_REC + 3] ^= 0x01;
}

static void corrupt_version(u8 *s, size_t len)
{
	put_unaligned_le16(NVMEVF_STREAM_VERSION + 1, s + COMPAT_REC + 4);
}

static void corrupt_type(u8 *s, size_t len)
{
	put_unaligned_le16(NVMEVF_REC_STATE, s + COMPAT_REC + 6);
}

static void corrupt_state_type(u8 *s, size_t len)
{
	put_unaligned_le16(NVMEVF_REC_COMPAT, s + STATE_REC + 6);
}

static void corrupt_flags(u8 *s, size_t len)
{
	s[COMPAT_REC + 8] = 2;
}

static void corrupt_compat_skippable(u8 *s, size_t len)
{
	s[COMPAT_REC + 8] = NVMEVF_REC_SKIPPABLE;
}

static void corrupt_state_skippable(u8 *s, size_t len)
{
	s[STATE_REC + 8] = NVMEVF_REC_SKIPPABLE;
}

static void corrupt_hdr_rsvd(u8 *s, size_t len)
{
	s[STATE_REC + 15] = 0x80;
}

static void corrupt_compat_length(u8 *s, size_t len)
{
	put_unaligned_le64(sizeof(struct nvmevf_compat_rec) + 8,
			   s + COMPAT_REC + 16);
}

static void corrupt_state_length(u8 *s, size_t len)
{
	put_unaligned_le64(sizeof(struct nvmevf_rec_hdr) + 47 +
			   sizeof(struct nvmevf_rec_tail), s + STATE_REC + 16);
}

static void corrupt_huge_length(u8 *s, size_t len)
{
	put_unaligned_le64(U64_MAX, s + STATE_REC + 16);
}

static void corrupt_end(u8 *s, size_t len)
{
	s[STATE_REC - 1] ^= 0xff;
}

static void corrupt_state_end(u8 *s, size_t len)
{
	s[len - 4] ^= 0x10;
}

static void corrupt_compat_crc(u8 *s, size_t len)
{
	s[COMPAT + 9] ^= 0x01;
}

static void corrupt_state_crc(u8 *s, size_t len)
{
	s[STATE + 60] ^= 0x40;
}

static void corrupt_csv(u8 *s, size_t len)
{
	put_unaligned_le16(3, s + COMPAT);
	nvmevf_test_fix_crc(s + COMPAT_REC);
}

static void corrupt_uuid(u8 *s, size_t len)
{
	s[COMPAT + 16] ^= 0x01;
	nvmevf_test_fix_crc(s + COMPAT_REC);
}

static void corrupt_ioq_only(u8 *s, size_t len)
{
	s[COMPAT + 2] = 0;
	memset(s + COMPAT + 16, 0, sizeof(uuid_t));
	nvmevf_test_fix_crc(s + COMPAT_REC);
}

static void corrupt_compat_flags(u8 *s, size_t len)
{
	s[COMPAT + 2] |= 0x80;
	nvmevf_test_fix_crc(s + COMPAT_REC);
}

static void corrupt_compat_rsvd(u8 *s, size_t len)
{
	s[COMPAT + 5] = 1;
	nvmevf_test_fix_crc(s + COMPAT_REC);
}

static void corrupt_uuid_without_vendor(u8 *s, size_t len)
{
	s[COMPAT + 2] = 0;
	nvmevf_test_fix_crc(s + COMPAT_REC);
}

/* The stream as the test encodes it, for the size limits */
static void corrupt_nothing(u8 *s, size_t len)
{
}

static void corrupt_compat_size(u8 *s, size_t len)
{
	put_unaligned_le64(0, s + COMPAT + 8);
	nvmevf_test_fix_crc(s + COMPAT_REC);
}

static void corrupt_not_suspended(u8 *s, size_t len)
{
	s[STATE + 2] = 0;
	nvmevf_test_fix_crc(s + STATE_REC);
}

static void corrupt_nvmecss(u8 *s, size_t len)
{
	s[STATE + 16] += 1;
	nvmevf_test_fix_crc(s + STATE_REC);
}

static void corrupt_vss_high(u8 *s, size_t len)
{
	s[STATE + 47] = 1;
	nvmevf_test_fix_crc(s + STATE_REC);
}

static void corrupt_niosq(u8 *s, size_t len)
{
	put_unaligned_le16(4, s + STATE + 48 + 2);
	nvmevf_test_fix_crc(s + STATE_REC);
}

static void corrupt_v0_ver(u8 *s, size_t len)
{
	put_unaligned_le16(1, s + STATE + 48);
	nvmevf_test_fix_crc(s + STATE_REC);
}

static const struct nvmevf_reject_case nvmevf_reject_cases[] = {
	{ "bad magic", corrupt_magic, NVMEVF_ERR_MAGIC },
	{ "bad state record magic", corrupt_state_magic, NVMEVF_ERR_MAGIC },
	{ "unknown version", corrupt_version, NVMEVF_ERR_VERSION },
	{ "records out of order", corrupt_type, NVMEVF_ERR_RECORD },
	{ "compatibility twice", corrupt_state_type, NVMEVF_ERR_RECORD },
	{ "header flags", corrupt_flags, NVMEVF_ERR_RESERVED },
	{ "compatibility skippable", corrupt_compat_skippable, NVMEVF_ERR_RECORD },
	{ "state skippable", corrupt_state_skippable, NVMEVF_ERR_RECORD },
	{ "header reserved", corrupt_hdr_rsvd, NVMEVF_ERR_RESERVED },
	{ "compatibility length", corrupt_compat_length, NVMEVF_ERR_LENGTH },
	{ "state record too short", corrupt_state_length, NVMEVF_ERR_LENGTH },
	{ "state record length overflow", corrupt_huge_length,
	  NVMEVF_ERR_TOO_LARGE },
	{ "bad end marker", corrupt_end, NVMEVF_ERR_END },
	{ "bad state end marker", corrupt_state_end, NVMEVF_ERR_END },
	{ "compatibility checksum", corrupt_compat_crc, NVMEVF_ERR_CRC },
	{ "state checksum", corrupt_state_crc, NVMEVF_ERR_CRC },
	{ "unsupported version", corrupt_csv, NVMEVF_ERR_FORMAT },
	{ "unknown vendor format", corrupt_uuid, NVMEVF_ERR_VENDOR },
	{ "I/O queue state only", corrupt_ioq_only, NVMEVF_ERR_IOQ_ONLY },
	{ "compatibility flags", corrupt_compat_flags, NVMEVF_ERR_RESERVED },
	{ "compatibility reserved", corrupt_compat_rsvd, NVMEVF_ERR_RESERVED },
	{ "UUID without vendor state", corrupt_uuid_without_vendor,
	  NVMEVF_ERR_RESERVED },
	{ "source state too large", corrupt_nothing, NVMEVF_ERR_TOO_LARGE, 64 },
	{ "state record too large", corrupt_compat_size, NVMEVF_ERR_TOO_LARGE,
	  64 },
	{ "not suspended", corrupt_not_suspended, NVMEVF_ERR_STATE },
	{ "sizes do not add up", corrupt_nvmecss, NVMEVF_ERR_STATE },
	{ "128-bit size", corrupt_vss_high, NVMEVF_ERR_STATE },
	{ "queues overflow the section", corrupt_niosq, NVMEVF_ERR_STATE },
	{ "state version", corrupt_v0_ver, NVMEVF_ERR_STATE },
};

static void nvmevf_reject_desc(const struct nvmevf_reject_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(nvmevf_reject, nvmevf_reject_cases, nvmevf_reject_desc);

static void nvmevf_stream_reject(struct kunit *test)
{
	const struct nvmevf_reject_case *rc = test->param_value;
	struct nvmevf_stream_ctx *c = test->priv;
	size_t seg;
	int ret;

	rc->corrupt(c->s, c->slen);
	/* Found the same way whatever the segmentation */
	for (seg = 1; seg <= c->slen; seg += 13) {
		nvmevf_stream_parser_init(&c->p, NULL, &c->dst,
					  rc->max_state ?: SZ_1M);
		ret = nvmevf_test_feed(&c->p, c->s, c->slen, seg);
		if (!ret)
			ret = nvmevf_stream_finish(&c->p);
		KUNIT_EXPECT_EQ(test, ret, -EINVAL);
		KUNIT_EXPECT_EQ_MSG(test, c->p.status.err, rc->err,
				    "%s in writes of %zu bytes", rc->name, seg);
		nvmevf_stream_parser_free(&c->p);
	}
}

/* The check the source applies to what its controller returned */
static void nvmevf_stream_check(struct kunit *test)
{
	struct nvmevf_stream_ctx *c = test->priv;
	struct nvmevf_stream_status st = {};
	size_t len;
	u8 *state;

	KUNIT_EXPECT_EQ(test, nvmevf_stream_check_state(c->state, c->len,
							NVMEVF_CSV, true, &st),
			0);
	KUNIT_EXPECT_EQ(test, st.err, NVMEVF_ERR_NONE);
	/* A vendor-specific section that was not asked for */
	KUNIT_EXPECT_EQ(test, nvmevf_stream_check_state(c->state, c->len,
							NVMEVF_CSV, false, &st),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, st.err, NVMEVF_ERR_STATE);
	st.err = NVMEVF_ERR_NONE;
	KUNIT_EXPECT_EQ(test, nvmevf_stream_check_state(c->state, 47,
							NVMEVF_CSV, true, &st),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, st.err, NVMEVF_ERR_STATE);

	/* No vendor-specific section: right if and only if none was asked for */
	state = nvmevf_test_state(test, 1, 1, 0, &len);
	st.err = NVMEVF_ERR_NONE;
	KUNIT_EXPECT_EQ(test, nvmevf_stream_check_state(state, len, NVMEVF_CSV,
							false, &st), 0);
	KUNIT_EXPECT_EQ(test, nvmevf_stream_check_state(state, len, NVMEVF_CSV,
							true, &st), -EINVAL);
	KUNIT_EXPECT_EQ(test, st.err, NVMEVF_ERR_STATE);
}

static struct kunit_case nvmevf_stream_cases[] = {
	KUNIT_CASE(nvmevf_stream_round_trip),
	KUNIT_CASE(nvmevf_stream_segmentation),
	KUNIT_CASE(nvmevf_stream_truncated),
	KUNIT_CASE(nvmevf_stream_trailing),
	KUNIT_CASE_PARAM(nvmevf_stream_ext, nvmevf_ext_gen_params),
	KUNIT_CASE_PARAM(nvmevf_stream_reject, nvmevf_reject_gen_params),
	KUNIT_CASE(nvmevf_stream_check),
	{}
};

static struct kunit_suite nvmevf_stream_suite = {
	.name = "nvme-vfio-pci-stream",
	.init = nvmevf_stream_test_init,
	.exit = nvmevf_stream_test_exit,
	.test_cases = nvmevf_stream_cases,
};

kunit_test_suite(nvmevf_stream_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests of nvme-vfio-pci");
MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");
