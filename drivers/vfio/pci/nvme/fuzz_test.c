// SPDX-License-Identifier: GPL-2.0
/*
 * A deterministic fuzzer of the resume parser of nvme-vfio-pci.
 *
 * Every stream starts as a valid stream that the saving side encodes, from
 * one of a few Controller States, some followed by a skippable record of a
 * type this driver does not know, and goes through two rounds of mutations
 * drawn from a seeded PRNG (splitmix64; stream N of base B always gets the
 * same mutations for a given seed):
 *
 * 1. Field mutations keep the layout of the stream and recompute both CRCs,
 *    so that the checks behind the CRC see them: a record header field, an
 *    end marker, a field of the compatibility description or of the
 *    Controller State header, or a queue count, set to 0, to all ones, to a
 *    random value, to its value plus or minus a little, to a value that
 *    overflows a size computation, or to a value the destination may accept
 *    (a vendor format it knows, a smaller size, dwords moved between the two
 *    state sections, queue counts at the limit); and opaque bytes (the
 *    queues, the vendor state, bytes the format leaves to the controller)
 *    changed at random.
 * 2. Raw mutations keep nothing: bit flips, random bytes, truncation,
 *    extension, bytes inserted, deleted or moved, a record length set to 0,
 *    to all ones, to an overflowing value, to just the limit or just past it,
 *    a CRC changed, the records swapped or one of them duplicated.
 *
 * The oracle is a model of the format written here apart from the parser:
 * it walks the records of the final buffer, whatever the mutations did to
 * the layout, and checks each against the format and what the destination
 * accepts. A valid stream must be accepted, and yield the state it carries
 * and the destination's indexes of its formats; any other stream must be
 * rejected with -EINVAL and a reason.
 *
 * Each stream is fed in segments of random sizes, as writes to a resume fd
 * arrive, to a parser with a random size limit. After each one the test
 * checks that the parser never allocated more than the limit, and at the
 * end that every reason to reject a stream came up.
 */

#include <kunit/test.h>
#include <linux/crc32.h>
#include <linux/limits.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/nvme.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/unaligned.h>

#include "stream.h"
#include "test.h"

/* Streams fed per base stream: four bases make a million */
#define FUZZ_STREAMS	250000

static u64 fuzz_seed = 0x6e766d6566757a7a;	/* "nvmefuzz" */
module_param(fuzz_seed, ullong, 0444);
MODULE_PARM_DESC(fuzz_seed, "Seed of the resume parser fuzzer");

/* The valid streams the mutations start from */
struct fuzz_base {
	const char *name;
	u16 niosq;
	u16 niocq;
	size_t vendor_len;
	/* A skippable record after the state, with this many payload bytes */
	bool ext;
	size_t ext_len;
};

static const struct fuzz_base fuzz_bases[] = {
	{ "one I/O queue pair and vendor state", 1, 1, 64 },
	{ "3 SQs, 2 CQs, vendor state, a skippable record", 3, 2, 200, true, 40 },
	{ "no I/O queue, vendor state, an empty skippable record", 0, 0, 32,
	  true, 0 },
	{ "one I/O queue pair, I/O queue state only", 1, 1, 0 },
};

/* A type no reader knows yet */
#define FUZZ_EXT_TYPE	0x4242

/* Where a field lies: in a record header, trailer, or the state */
enum fuzz_anchor {
	AT_COMPAT_REC,
	AT_STATE_REC,
	AT_COMPAT_TAIL,
	AT_STATE_TAIL,
	AT_STATE,
	AT_EXT_REC,
	AT_EXT_TAIL,
};

struct fuzz_field {
	enum fuzz_anchor at;
	u8 off;
	u8 size;
};

/* The fields a valid stream constrains: offsets and sizes from stream.c */
static const struct fuzz_field fuzz_fields[] = {
	/* Both record headers: magic, version, type, flags, reserved, length */
	{ AT_COMPAT_REC, 0, 4 }, { AT_COMPAT_REC, 4, 2 }, { AT_COMPAT_REC, 6, 2 },
	{ AT_COMPAT_REC, 8, 4 }, { AT_COMPAT_REC, 12, 4 }, { AT_COMPAT_REC, 16, 8 },
	{ AT_STATE_REC, 0, 4 }, { AT_STATE_REC, 4, 2 }, { AT_STATE_REC, 6, 2 },
	{ AT_STATE_REC, 8, 4 }, { AT_STATE_REC, 12, 4 }, { AT_STATE_REC, 16, 8 },
	/* Both end markers */
	{ AT_COMPAT_TAIL, 4, 4 }, { AT_STATE_TAIL, 4, 4 },
	/* csv, flags, reserved, state_size, vendor_uuid */
	{ AT_COMPAT_REC, COMPAT, 2 }, { AT_COMPAT_REC, COMPAT + 2, 1 },
	{ AT_COMPAT_REC, COMPAT + 3, 5 }, { AT_COMPAT_REC, COMPAT + 8, 8 },
	{ AT_COMPAT_REC, COMPAT + 16, 16 },
	/* Controller State header: CSATTR, NVMECSS, VSS */
	{ AT_STATE, 2, 1 }, { AT_STATE, 16, 16 }, { AT_STATE, 32, 16 },
	/* NVMe-defined state version 0: VER, NIOSQ, NIOCQ */
	{ AT_STATE, 48, 2 }, { AT_STATE, 50, 2 }, { AT_STATE, 52, 2 },
	/* Last, for the bases that have it: the skippable record's framing */
	{ AT_EXT_REC, 0, 4 }, { AT_EXT_REC, 4, 2 }, { AT_EXT_REC, 6, 2 },
	{ AT_EXT_REC, 8, 4 }, { AT_EXT_REC, 12, 4 }, { AT_EXT_REC, 16, 8 },
	{ AT_EXT_TAIL, 4, 4 },
};

#define FUZZ_EXT_FIELDS	7

enum fuzz_field_mut {
	FM_FIELD,	/* a constrained field set to a chosen value */
	FM_OPAQUE,	/* bytes no check looks at */
	FM_UUID,	/* the other vendor format the destination knows */
	FM_SIZE,	/* the source's state size around the limit */
	FM_SECTIONS,	/* dwords moved between NVMECSS and VSS */
	FM_QUEUES,	/* queue counts around what NVMECSS holds */
	FM_CSATTR,	/* the attributes of the state */
	FM_COUNT
};

enum fuzz_raw_mut {
	RM_FLIP,	/* bits flipped */
	RM_BYTES,	/* bytes set at random */
	RM_TRUNCATE,
	RM_EXTEND,
	RM_INSERT,
	RM_DELETE,
	RM_LENGTH,	/* a record length set, the CRC left alone */
	RM_CRC,
	RM_SWAP,	/* the state record first */
	RM_DUP,		/* the compatibility record twice */
	RM_MOVE,	/* a run of bytes moved elsewhere */
	RM_COUNT
};

struct fuzz_ctx {
	struct nvme_lm_info src;
	struct nvme_lm_info dst;
	u64 rng;
	/* The base stream, the size of the state it carries, where its
	 * skippable record starts (@base_len without one) and whether it has one
	 */
	u8 *base;
	size_t base_len;
	size_t state_len;
	size_t ext_off;
	bool ext;
	/* The stream being mutated, @len bytes of @cap */
	u8 *buf;
	size_t len;
	size_t cap;
	u8 *tmp;
	size_t max_state;
	struct nvmevf_stream_parser p;
	/* The mutations of the current stream, for a failure message */
	char desc[64];
	size_t desc_len;

	u32 tried;
	u32 rejected;
	u32 accepted;
	u32 accepted_mutated;
	size_t largest_state;
	u32 reasons[NVMEVF_ERR_NR];
};

/* What the oracle finds in a valid stream */
struct fuzz_verdict {
	u8 csuuidi;
	size_t state_off;
	size_t state_len;
};

/* splitmix64 */
static u64 fuzz_rand(struct fuzz_ctx *c)
{
	u64 z = (c->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A number in [0, @n), 0 if @n is 0 */
static size_t fuzz_below(struct fuzz_ctx *c, size_t n)
{
	return n ? fuzz_rand(c) % n : 0;
}

static void fuzz_note(struct fuzz_ctx *c, char kind, int which)
{
	c->desc_len += scnprintf(c->desc + c->desc_len,
				 sizeof(c->desc) - c->desc_len, " %c%d", kind,
				 which);
}

static void fuzz_fill(struct fuzz_ctx *c, u8 *p, size_t n)
{
	while (n--)
		*p++ = fuzz_rand(c);
}

/* Little-endian integers of up to 8 bytes */
static u64 fuzz_get(const u8 *p, unsigned int n)
{
	u64 v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static void fuzz_put(u8 *p, unsigned int n, u64 v)
{
	unsigned int i;

	for (i = 0; i < n; i++, v >>= 8)
		p[i] = v;
}

static size_t fuzz_field_off(const struct fuzz_ctx *c,
			     const struct fuzz_field *f)
{
	switch (f->at) {
	case AT_COMPAT_REC:
		return COMPAT_REC + f->off;
	case AT_STATE_REC:
		return STATE_REC + f->off;
	case AT_COMPAT_TAIL:
		return STATE_REC - sizeof(struct nvmevf_rec_tail) + f->off;
	case AT_STATE_TAIL:
		return c->ext_off - sizeof(struct nvmevf_rec_tail) + f->off;
	case AT_EXT_REC:
		return c->ext_off + f->off;
	case AT_EXT_TAIL:
		return c->base_len - sizeof(struct nvmevf_rec_tail) + f->off;
	default:
		return STATE + f->off;
	}
}

/* A value for a field of @n bytes that is likely to break something */
static void fuzz_field_value(struct fuzz_ctx *c, u8 *p, unsigned int n)
{
	static const u64 overflows[] = {
		BIT_ULL(63), U64_MAX, U64_MAX / 4 + 1, U64_MAX - 23,
		(u64)U32_MAX + 1, SZ_16M, INT_MAX,
	};
	unsigned int w = min(n, 8U);

	switch (fuzz_below(c, 6)) {
	case 0:
		memset(p, 0, n);
		break;
	case 1:
		memset(p, 0xff, n);
		break;
	case 2:
		fuzz_fill(c, p, n);
		break;
	case 3:
		fuzz_put(p, w, fuzz_get(p, w) + fuzz_below(c, 9) - 4);
		break;
	case 4:
		p[fuzz_below(c, n)] ^= BIT(fuzz_below(c, 8));
		break;
	default:
		fuzz_put(p, w, overflows[fuzz_below(c, ARRAY_SIZE(overflows))]);
		if (n > 8 && fuzz_below(c, 2))
			fuzz_put(p + 8, n - 8, 1);
		break;
	}
}

static void fuzz_set_crc(u8 *rec, size_t len)
{
	size_t n = len - sizeof(struct nvmevf_rec_tail);

	put_unaligned_le32(~crc32c(~0, rec, n), rec + n);
}

/* The queues, the vendor state, or the header's free bytes */
static void fuzz_mutate_opaque(struct fuzz_ctx *c)
{
	const size_t fixed = sizeof(struct nvme_ctrl_state_hdr) +
			     sizeof(struct nvme_ctrl_state_v0);
	size_t off = fixed, n;

	if (off == c->state_len || fuzz_below(c, 4) == 0)
		off = fuzz_below(c, 2) ?
		      offsetof(struct nvme_ctrl_state_hdr, ver) :
		      sizeof(struct nvme_ctrl_state_hdr) +
		      offsetof(struct nvme_ctrl_state_v0, rsvd6);
	n = min(c->state_len - off, 1 + fuzz_below(c, 8));
	if (off >= fixed)
		off += fuzz_below(c, c->state_len - off - n + 1);
	fuzz_fill(c, c->buf + STATE + off, n);
}

/* Move a few dwords between the NVMe and the vendor specific sections */
static void fuzz_mutate_sections(struct fuzz_ctx *c,
				 struct nvme_ctrl_state_hdr *h)
{
	size_t css = get_unaligned_le64(h->nvmecss);
	size_t vss = get_unaligned_le64(h->vss);
	size_t n = 1 + fuzz_below(c, 4);

	if (fuzz_below(c, 2) && css >= n) {
		css -= n;
		vss += n;
	} else if (vss >= n) {
		css += n;
		vss -= n;
	}
	put_unaligned_le64(css, h->nvmecss);
	put_unaligned_le64(vss, h->vss);
}

/* Queue counts that fill the NVMe section, or overflow it by one */
static void fuzz_mutate_queues(struct fuzz_ctx *c,
			       struct nvme_ctrl_state_hdr *h)
{
	struct nvme_ctrl_state_v0 *v0 = (void *)(h + 1);
	size_t css = get_unaligned_le64(h->nvmecss);
	size_t limit, n, sq;

	limit = (css * 4 - min(css * 4, sizeof(*v0))) /
		sizeof(struct nvme_iosq_state);
	n = limit + 1 - fuzz_below(c, 2);
	sq = fuzz_below(c, n + 1);
	v0->niosq = cpu_to_le16(min(sq, U16_MAX));
	v0->niocq = cpu_to_le16(min(n - sq, U16_MAX));
}

/* Round 1, on c->buf: one mutation that keeps the layout of the base */
static void fuzz_mutate_field(struct fuzz_ctx *c)
{
	struct nvme_ctrl_state_hdr *h = (void *)(c->buf + STATE);
	struct nvmevf_compat *cp = (void *)(c->buf + COMPAT);
	size_t nr_fields = ARRAY_SIZE(fuzz_fields) -
			   (c->ext ? 0 : FUZZ_EXT_FIELDS);
	const struct fuzz_field *f;
	int m = fuzz_below(c, FM_COUNT);

	fuzz_note(c, 'F', m);
	switch (m) {
	case FM_FIELD:
		f = &fuzz_fields[fuzz_below(c, nr_fields)];
		fuzz_field_value(c, c->buf + fuzz_field_off(c, f), f->size);
		break;
	case FM_OPAQUE:
		fuzz_mutate_opaque(c);
		break;
	case FM_UUID:
		uuid_copy(&cp->vendor_uuid,
			  &c->dst.uuids[fuzz_below(c, c->dst.nr_uuids)]);
		break;
	case FM_SIZE:
		put_unaligned_le64(c->max_state + 1 - fuzz_below(c, 3) *
				   fuzz_below(c, c->max_state + 1),
				   &cp->state_size);
		break;
	case FM_SECTIONS:
		fuzz_mutate_sections(c, h);
		break;
	case FM_QUEUES:
		fuzz_mutate_queues(c, h);
		break;
	default:
		h->csattr = fuzz_rand(c);
		break;
	}
}

/* Room to grow c->buf by @n bytes */
static bool fuzz_room(const struct fuzz_ctx *c, size_t n)
{
	return c->cap - c->len >= n;
}

static void fuzz_insert(struct fuzz_ctx *c, size_t at, const u8 *src,
			size_t n)
{
	memmove(c->buf + at + n, c->buf + at, c->len - at);
	memcpy(c->buf + at, src, n);
	c->len += n;
}

static void fuzz_delete(struct fuzz_ctx *c, size_t at, size_t n)
{
	memmove(c->buf + at, c->buf + at + n, c->len - at - n);
	c->len -= n;
}

static void fuzz_set_length(struct fuzz_ctx *c, size_t at)
{
	const u64 hdrs = sizeof(struct nvmevf_rec_hdr) +
			 sizeof(struct nvmevf_rec_tail);
	const u64 values[] = {
		0, U64_MAX, BIT_ULL(63), U64_MAX - hdrs + 1, U32_MAX,
		c->max_state + hdrs, c->max_state + hdrs + 1,
		fuzz_get(c->buf + at, 8) + fuzz_below(c, 17) - 8,
	};

	put_unaligned_le64(values[fuzz_below(c, ARRAY_SIZE(values))],
			   c->buf + at);
}

/*
 * Round 2, mutation @m of the record framing at @at: a length, a CRC, the
 * compatibility record moved or doubled, or a run of bytes moved
 */
static void fuzz_mutate_records(struct fuzz_ctx *c, int m, size_t at)
{
	const size_t rec_len = sizeof(struct nvmevf_compat_rec);
	size_t n;

	switch (m) {
	case RM_LENGTH:
		at = fuzz_below(c, 2) ? COMPAT_REC : STATE_REC;
		at += offsetof(struct nvmevf_rec_hdr, length);
		if (c->len >= at + 8)
			fuzz_set_length(c, at);
		break;
	case RM_CRC:
		at = fuzz_below(c, 2) ? rec_len : c->len;
		if (at >= sizeof(struct nvmevf_rec_tail) && at <= c->len)
			c->buf[at - 8 + fuzz_below(c, 4)] ^= 1 + fuzz_below(c, 255);
		break;
	case RM_SWAP:
		if (c->len > rec_len) {
			memcpy(c->tmp, c->buf, rec_len);
			fuzz_delete(c, 0, rec_len);
			fuzz_insert(c, c->len, c->tmp, rec_len);
		}
		break;
	case RM_DUP:
		if (c->len >= rec_len && fuzz_room(c, rec_len)) {
			memcpy(c->tmp, c->buf, rec_len);
			fuzz_insert(c, fuzz_below(c, 2) ? 0 : rec_len, c->tmp,
				    rec_len);
		}
		break;
	default:
		n = 1 + fuzz_below(c, c->len - at);
		memcpy(c->tmp, c->buf + at, n);
		fuzz_delete(c, at, n);
		fuzz_insert(c, fuzz_below(c, c->len + 1), c->tmp, n);
		break;
	}
}

/* Round 2, on c->buf: one mutation of the raw bytes */
static void fuzz_mutate_raw(struct fuzz_ctx *c)
{
	size_t at, n, i;
	int m = fuzz_below(c, RM_COUNT);
	u8 bytes[16];

	fuzz_note(c, 'R', m);
	if (!c->len)
		m = RM_EXTEND;
	at = fuzz_below(c, c->len);
	switch (m) {
	case RM_FLIP:
		for (i = fuzz_below(c, 8); i < 8; i++)
			c->buf[fuzz_below(c, c->len)] ^= BIT(fuzz_below(c, 8));
		break;
	case RM_BYTES:
		for (i = fuzz_below(c, 4); i < 4; i++)
			c->buf[fuzz_below(c, c->len)] = fuzz_rand(c);
		break;
	case RM_TRUNCATE:
		c->len = at;
		break;
	case RM_EXTEND:
		at = c->len;
		fallthrough;
	case RM_INSERT:
		n = 1 + fuzz_below(c, sizeof(bytes));
		fuzz_fill(c, bytes, n);
		if (fuzz_room(c, n))
			fuzz_insert(c, at, bytes, n);
		break;
	case RM_DELETE:
		fuzz_delete(c, at, 1 + fuzz_below(c, min(c->len - at, 16)));
		break;
	default:
		fuzz_mutate_records(c, m, at);
		break;
	}
}

/* The oracle's compatibility description: what the destination takes */
static bool fuzz_model_compat(const struct fuzz_ctx *c, const u8 *payload,
			      struct fuzz_verdict *v)
{
	const struct nvmevf_compat *cp = (const void *)payload;
	int i;

	if (get_unaligned_le16(&cp->csv) != NVMEVF_CSV ||
	    cp->flags != NVMEVF_COMPAT_VENDOR ||
	    memchr_inv(cp->rsvd3, 0, sizeof(cp->rsvd3)) ||
	    get_unaligned_le64(&cp->state_size) > c->max_state)
		return false;
	v->csuuidi = 0;
	for (i = 0; i < c->dst.nr_uuids; i++)
		if (uuid_equal(&cp->vendor_uuid, &c->dst.uuids[i]))
			v->csuuidi = i + 1;
	return v->csuuidi;
}

/* The oracle's Controller State: two sections, in dwords, that fill it */
static bool fuzz_model_state(const struct fuzz_ctx *c, const u8 *state,
			     size_t len)
{
	const struct nvme_ctrl_state_hdr *h = (const void *)state;
	const struct nvme_ctrl_state_v0 *v0 = (const void *)(h + 1);
	u64 css, vss;

	if (len > c->max_state || len < sizeof(*h) ||
	    get_unaligned_le64(h->nvmecss + 8) ||
	    get_unaligned_le64(h->vss + 8))
		return false;
	css = get_unaligned_le64(h->nvmecss);
	vss = get_unaligned_le64(h->vss);
	/* Every stream of the oracle asks for the vendor-specific state */
	if (css > len / 4 || !vss || vss > len / 4 ||
	    sizeof(*h) + 4 * (css + vss) != len)
		return false;
	css *= 4;
	if (!(h->csattr & NVME_CTRL_STATE_CSATTR_SUSPENDED) ||
	    css < sizeof(*v0) || get_unaligned_le16(&v0->ver) != NVMEVF_CSV)
		return false;
	return sizeof(*v0) + ((size_t)get_unaligned_le16(&v0->niosq) +
			      get_unaligned_le16(&v0->niocq)) *
			     sizeof(struct nvme_iosq_state) <= css;
}

/* The oracle's record framing: magic, version, reserved bits, length, CRC */
static size_t fuzz_model_record(const u8 *r, size_t left)
{
	const size_t framing = sizeof(struct nvmevf_rec_hdr) +
			       sizeof(struct nvmevf_rec_tail);
	u64 len;

	if (left < framing)
		return 0;
	len = get_unaligned_le64(r + 16);
	if (len < framing || len > left ||
	    get_unaligned_le32(r) != NVMEVF_STREAM_MAGIC ||
	    get_unaligned_le16(r + 4) != NVMEVF_STREAM_VERSION ||
	    (get_unaligned_le32(r + 8) & ~NVMEVF_REC_SKIPPABLE) ||
	    get_unaligned_le32(r + 12) ||
	    get_unaligned_le32(r + len - 4) != NVMEVF_STREAM_END ||
	    get_unaligned_le32(r + len - 8) != ~crc32c(~0, r, len - 8))
		return 0;
	return len;
}

/*
 * The oracle: whether the destination must accept the @len bytes at @s, and
 * if so what it must find in them. The compatibility record first, the
 * state record once, any other record skippable.
 */
static bool fuzz_model(const struct fuzz_ctx *c, const u8 *s, size_t len,
		       struct fuzz_verdict *v)
{
	const size_t hdr = sizeof(struct nvmevf_rec_hdr);
	size_t off, rlen, pay;
	bool state = false, skippable;
	u16 type;

	for (off = 0; off < len; off += rlen) {
		rlen = fuzz_model_record(s + off, len - off);
		if (!rlen)
			return false;
		type = get_unaligned_le16(s + off + 6);
		skippable = get_unaligned_le32(s + off + 8) &
			    NVMEVF_REC_SKIPPABLE;
		pay = rlen - hdr - sizeof(struct nvmevf_rec_tail);
		/* The records every stream has cannot be skipped */
		if (skippable && (type == NVMEVF_REC_COMPAT ||
				  type == NVMEVF_REC_STATE))
			return false;
		if (!off) {
			if (type != NVMEVF_REC_COMPAT ||
			    pay != sizeof(struct nvmevf_compat) ||
			    !fuzz_model_compat(c, s + off + hdr, v))
				return false;
		} else if (type == NVMEVF_REC_STATE) {
			if (state || !fuzz_model_state(c, s + off + hdr, pay))
				return false;
			state = true;
			v->state_off = off + hdr;
			v->state_len = pay;
		} else if (type == NVMEVF_REC_COMPAT || !skippable) {
			return false;
		}
	}
	return state;
}

/* Feed c->buf in segments of random sizes, as writes to the fd come */
static int fuzz_feed(struct fuzz_ctx *c)
{
	size_t off = 0, seg, n;
	void *dst;
	int ret;

	while (off < c->len) {
		switch (fuzz_below(c, 4)) {
		case 0:
			seg = c->len - off;
			break;
		case 1:
			seg = 1 + fuzz_below(c, 16);
			break;
		default:
			seg = 1 + fuzz_below(c, c->len - off);
			break;
		}
		seg = min(seg, c->len - off);
		while (seg) {
			ret = nvmevf_stream_window(&c->p, &dst, &n);
			if (ret)
				return ret;
			n = min(n, seg);
			memcpy(dst, c->buf + off, n);
			ret = nvmevf_stream_advance(&c->p, n);
			if (ret)
				return ret;
			off += n;
			seg -= n;
		}
	}
	return nvmevf_stream_finish(&c->p);
}

/* Make stream @i of the base in c->buf, and the limit it is parsed with */
static void fuzz_make(struct fuzz_ctx *c, u64 seed, u32 i)
{
	int n;

	c->rng = seed + i;
	c->desc_len = 0;
	c->desc[0] = 0;
	switch (fuzz_below(c, 4)) {
	case 0:
		c->max_state = SZ_64K;
		break;
	case 1:
		c->max_state = c->state_len;
		break;
	case 2:
		c->max_state = c->state_len - 4 * fuzz_below(c, 2);
		break;
	default:
		c->max_state = c->state_len + fuzz_below(c, SZ_4K);
		break;
	}

	memcpy(c->buf, c->base, c->base_len);
	c->len = c->base_len;
	for (n = fuzz_below(c, 4); n > 1; n--)
		fuzz_mutate_field(c);
	fuzz_set_crc(c->buf + COMPAT_REC, sizeof(struct nvmevf_compat_rec));
	fuzz_set_crc(c->buf + STATE_REC, c->ext_off - STATE_REC);
	if (c->ext)
		fuzz_set_crc(c->buf + c->ext_off, c->base_len - c->ext_off);
	for (n = fuzz_below(c, 4); n > 0; n--)
		fuzz_mutate_raw(c);
}

/*
 * Judge what the parser made of stream @i, which fuzz_feed() ended with
 * @ret, against the oracle's verdict @v; false on a failure
 */
static bool fuzz_judge(struct kunit *test, struct fuzz_ctx *c, u32 i,
		       bool valid, const struct fuzz_verdict *v, int ret)
{
	const struct nvmevf_stream_parser *p = &c->p;

	if (p->state_len > c->max_state) {
		KUNIT_FAIL(test,
			   "stream %u (%s): a state buffer of %zu bytes, over the limit of %zu",
			   i, c->desc, p->state_len, c->max_state);
		return false;
	}
	if (valid) {
		c->accepted++;
		if (c->len != c->base_len || memcmp(c->buf, c->base, c->len))
			c->accepted_mutated++;
		if (ret || p->state_len != v->state_len ||
		    memcmp(p->state, c->buf + v->state_off, v->state_len) ||
		    p->fmt.csvi != 2 || p->fmt.csuuidi != v->csuuidi) {
			KUNIT_FAIL(test,
				   "stream %u (%s): a valid stream was not taken as it is: %d (reason %d)",
				   i, c->desc, ret, p->status.err);
			return false;
		}
	} else {
		c->rejected++;
		if (ret != -EINVAL || !p->status.err ||
		    p->status.err >= ARRAY_SIZE(c->reasons)) {
			KUNIT_FAIL(test,
				   "stream %u (%s): an invalid stream got %d, reason %d",
				   i, c->desc, ret, p->status.err);
			return false;
		}
		c->reasons[p->status.err]++;
	}
	return true;
}

/* Mutate, feed and judge stream @i of the base; false on a failure */
static bool fuzz_one(struct kunit *test, struct fuzz_ctx *c, u64 seed, u32 i)
{
	struct fuzz_verdict v;
	bool valid;
	int ret;

	fuzz_make(c, seed, i);
	valid = fuzz_model(c, c->buf, c->len, &v);
	nvmevf_stream_parser_init(&c->p, NULL, &c->dst, c->max_state);
	ret = fuzz_feed(c);
	c->tried++;
	c->largest_state = max(c->largest_state, c->p.state_len);
	if (!fuzz_judge(test, c, i, valid, &v, ret))
		return false;
	nvmevf_stream_parser_free(&c->p);
	return true;
}

/* The context, with buffers for the largest stream any base makes */
static struct fuzz_ctx *fuzz_alloc(struct kunit *test)
{
	const struct fuzz_base *b;
	size_t len, max_len = 0;
	struct fuzz_ctx *c;

	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	nvmevf_test_info(&c->src, false);
	nvmevf_test_info(&c->dst, true);
	for (b = fuzz_bases; b < fuzz_bases + ARRAY_SIZE(fuzz_bases); b++) {
		nvmevf_test_state(test, b->niosq, b->niocq, b->vendor_len, &len);
		max_len = max(max_len, nvmevf_stream_size(len) +
				       NVMEVF_STREAM_OVERHEAD + b->ext_len);
	}
	c->cap = 2 * max_len + 64;
	c->base = kunit_kzalloc(test, max_len, GFP_KERNEL);
	c->buf = kunit_kzalloc(test, c->cap, GFP_KERNEL);
	c->tmp = kunit_kzalloc(test, c->cap, GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, c->base && c->buf && c->tmp);
	return c;
}

/* Save the stream of base @b, then fuzz it; false on a failure */
static bool fuzz_run_base(struct kunit *test, struct fuzz_ctx *c,
			  const struct fuzz_base *b)
{
	struct nvme_lm_fmt fmt = { .csvi = 1, .csuuidi = b->vendor_len ? 1 : 0 };
	u8 *state, *s;
	u32 i;

	state = nvmevf_test_state(test, b->niosq, b->niocq, b->vendor_len,
				  &c->state_len);
	s = nvmevf_test_stream(test, &c->src, &fmt, state, c->state_len,
			       &c->ext_off);
	memcpy(c->base, s, c->ext_off);
	c->ext = b->ext;
	c->base_len = c->ext_off;
	if (b->ext)
		c->base_len += nvmevf_test_put_ext(c->base + c->ext_off,
						   FUZZ_EXT_TYPE,
						   NVMEVF_REC_SKIPPABLE,
						   b->ext_len);
	for (i = 0; i < FUZZ_STREAMS; i++) {
		if (!fuzz_one(test, c, fuzz_seed +
			      ((u64)(b - fuzz_bases) << 32), i)) {
			kunit_info(test, "base: %s, seed %#llx\n", b->name,
				   fuzz_seed);
			nvmevf_stream_parser_free(&c->p);
			return false;
		}
		if (!(i % 1024))
			cond_resched();
	}
	return true;
}

static void nvmevf_fuzz_parser(struct kunit *test)
{
	struct fuzz_ctx *c = fuzz_alloc(test);
	const struct fuzz_base *b;
	u32 r;
	u64 t;

	kunit_info(test, "seed %#llx (module parameter fuzz_seed), %u streams from each of %zu bases\n",
		   fuzz_seed, FUZZ_STREAMS, ARRAY_SIZE(fuzz_bases));
	t = ktime_get_ns();
	for (b = fuzz_bases; b < fuzz_bases + ARRAY_SIZE(fuzz_bases); b++) {
		if (!fuzz_run_base(test, c, b))
			return;
	}

	kunit_info(test, "%u streams in %llu ms\n", c->tried,
		   div_u64(ktime_get_ns() - t, NSEC_PER_MSEC));
	kunit_info(test, "STAT: parser fuzz streams fed: %u\n", c->tried);
	kunit_info(test, "STAT: parser fuzz streams rejected: %u\n",
		   c->rejected);
	kunit_info(test, "STAT: parser fuzz streams accepted: %u\n",
		   c->accepted);
	kunit_info(test, "STAT: parser fuzz mutated streams accepted as valid: %u\n",
		   c->accepted_mutated);
	kunit_info(test, "STAT: parser fuzz largest state buffer in bytes: %zu\n",
		   c->largest_state);
	for (r = NVMEVF_ERR_MAGIC; r < ARRAY_SIZE(c->reasons); r++) {
		kunit_info(test, "rejected for reason %u: %u\n", r,
			   c->reasons[r]);
		/* Every allocation is small enough to succeed */
		if (r != NVMEVF_ERR_NOMEM)
			KUNIT_EXPECT_GT_MSG(test, c->reasons[r], 0,
					    "no stream was rejected for reason %u",
					    r);
	}
	KUNIT_EXPECT_GT(test, c->accepted_mutated, 0);
}

static struct kunit_case nvmevf_fuzz_cases[] = {
	KUNIT_CASE_SLOW(nvmevf_fuzz_parser),
	{}
};

static struct kunit_suite nvmevf_fuzz_suite = {
	.name = "nvme-vfio-pci-fuzz",
	.test_cases = nvmevf_fuzz_cases,
};

kunit_test_suite(nvmevf_fuzz_suite);
