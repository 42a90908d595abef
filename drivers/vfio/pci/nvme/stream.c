// SPDX-License-Identifier: GPL-2.0
/*
 * The migration stream of nvme-vfio-pci, defined here and nowhere else.
 *
 * A saving data fd yields, and a resuming data fd takes, a sequence of
 * records. Each is a header, a payload and a trailer; every field is little
 * endian:
 *
 *   header (struct nvmevf_rec_hdr, 24 bytes)
 *     0   4  magic     "NVLM", 0x4d4c564e
 *     4   2  version   1
 *     6   2  type      1: compatibility description, 2: controller state
 *     8   4  flags     bit 0: skippable; the other bits 0
 *    12   4  reserved  0
 *    16   8  length    bytes in the record: header, payload and trailer
 *   payload
 *   trailer (struct nvmevf_rec_tail, 8 bytes)
 *     0   4  crc       CRC32C (initial value ~0, inverted result) of the
 *                      header and the payload
 *     4   4  end       "LEND", 0x444e454c
 *
 * Record 1, the compatibility description (struct nvmevf_compat), is 64
 * bytes long; its 32-byte payload identifies what the source saves:
 *     0   2  csv          version of the NVMe-defined controller state (0)
 *     2   1  flags        bit 0: the state has a vendor-specific section in
 *                         the format vendor_uuid names
 *     3   5  reserved     0
 *     8   8  state_size   bytes of controller state when the record was
 *                         written, 0 if it could not be read then
 *    16  16  vendor_uuid  the vendor-specific format, zero without bit 0
 *
 * Record 2 carries the controller state: the whole Controller State data
 * structure as Migration Receive (Get Controller State) returned it on the
 * source, that is its 48-byte header, NVMECSS dwords of NVMe-defined state
 * and VSS dwords of vendor-specific state.
 *
 * Record 1 comes first and record 2 once, after it. The compatibility
 * record is what a PRE_COPY data fd offers as its initial bytes; the state
 * record follows once the device reaches STOP_COPY. That is why the stream
 * is records: when the initial bytes are read the state does not exist yet,
 * so no single header could hold the length of the whole stream.
 *
 * So that the format can grow without a new version, a record of any other
 * type may follow record 1. A reader that does not know its type checks
 * its framing and CRC and skips it if the record is skippable, and rejects
 * the stream if it is not: a writer marks a new record skippable when a
 * reader that ignores it still restores the device correctly. This driver
 * writes records 1 and 2 only. The version changes for what a version 1
 * reader would misread.
 *
 * The resuming side parses the stream incrementally, whatever the size of
 * the writes. It checks each header as soon as it is complete and each
 * payload as soon as the trailer after it is complete: magic, version,
 * record types and order, reserved fields, lengths (a state larger than the
 * limit the destination allows is refused before anything is allocated), end
 * marker, CRC, then the compatibility description against what the
 * destination PF offers and the controller state for internal consistency.
 * The first violation sticks, and its reason is logged on the device.
 */

#include <kunit/visibility.h>
#include <linux/crc32.h>
#include <linux/device.h>
#include <linux/limits.h>
#include <linux/minmax.h>
#include <linux/nvme.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/unaligned.h>
#include <linux/vmalloc.h>

#include "stream.h"

/* The queue entries of a version 0 NVMe-defined state are counted as one */
static_assert(sizeof(struct nvme_iosq_state) == sizeof(struct nvme_iocq_state));

static const char *nvmevf_rec_name(u16 type)
{
	switch (type) {
	case NVMEVF_REC_COMPAT:
		return "compatibility";
	case NVMEVF_REC_STATE:
		return "controller state";
	default:
		return "skipped";
	}
}

static int nvmevf_errno(const struct nvmevf_stream_status *st)
{
	return st->err == NVMEVF_ERR_NOMEM ? -ENOMEM : -EINVAL;
}

/* Record the first reason to reject, and log it */
static __printf(3, 4)
int nvmevf_reject(struct nvmevf_stream_status *st, enum nvmevf_stream_err err,
		  const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	if (!st->err) {
		st->err = err;
		if (st->dev) {
			va_start(args, fmt);
			vaf.fmt = fmt;
			vaf.va = &args;
			dev_err_ratelimited(st->dev, "%s: %pV\n", st->what,
					    &vaf);
			va_end(args);
		}
	}
	return nvmevf_errno(st);
}

static u32 nvmevf_crc(const struct nvmevf_rec_hdr *hdr, const void *payload,
		      size_t len)
{
	return ~crc32c(crc32c(~0, hdr, sizeof(*hdr)), payload, len);
}

static void nvmevf_put_rec(struct nvmevf_rec_hdr *hdr,
			   struct nvmevf_rec_tail *tail,
			   enum nvmevf_rec_type type, const void *payload,
			   size_t len)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->magic = cpu_to_le32(NVMEVF_STREAM_MAGIC);
	hdr->version = cpu_to_le16(NVMEVF_STREAM_VERSION);
	hdr->type = cpu_to_le16(type);
	hdr->length = cpu_to_le64((u64)len + sizeof(*hdr) + sizeof(*tail));
	tail->crc = cpu_to_le32(nvmevf_crc(hdr, payload, len));
	tail->end = cpu_to_le32(NVMEVF_STREAM_END);
}

/**
 * nvmevf_stream_size() - Size the stream that carries a controller state
 * @state_len: size of the controller state in bytes
 *
 * Return: the size of the whole stream in bytes, SIZE_MAX on overflow.
 */
size_t nvmevf_stream_size(size_t state_len)
{
	return size_add(state_len, NVMEVF_STREAM_OVERHEAD);
}
EXPORT_SYMBOL_IF_KUNIT(nvmevf_stream_size);

/**
 * nvmevf_stream_put_compat() - Write the compatibility record
 * @rec: the record to fill in
 * @info: what the source PF offers
 * @fmt: the formats the source saves, valid indexes into @info
 * @state_size: size of the controller state in bytes, 0 if unknown
 */
void nvmevf_stream_put_compat(struct nvmevf_compat_rec *rec,
			      const struct nvme_lm_info *info,
			      const struct nvme_lm_fmt *fmt, u64 state_size)
{
	struct nvmevf_compat *c = &rec->compat;

	memset(c, 0, sizeof(*c));
	c->csv = cpu_to_le16(info->versions[fmt->csvi - 1]);
	if (fmt->csuuidi) {
		c->flags = NVMEVF_COMPAT_VENDOR;
		uuid_copy(&c->vendor_uuid, &info->uuids[fmt->csuuidi - 1]);
	}
	c->state_size = cpu_to_le64(state_size);
	nvmevf_put_rec(&rec->hdr, &rec->tail, NVMEVF_REC_COMPAT, c, sizeof(*c));
}
EXPORT_SYMBOL_IF_KUNIT(nvmevf_stream_put_compat);

/**
 * nvmevf_stream_put_state() - Frame a controller state as the state record
 * @hdr: the record header to fill in
 * @tail: the record trailer to fill in
 * @state: the Controller State data structure
 * @len: its size in bytes
 *
 * The record is @hdr, @state and @tail, in that order.
 */
void nvmevf_stream_put_state(struct nvmevf_rec_hdr *hdr,
			     struct nvmevf_rec_tail *tail,
			     const void *state, size_t len)
{
	nvmevf_put_rec(hdr, tail, NVMEVF_REC_STATE, state, len);
}
EXPORT_SYMBOL_IF_KUNIT(nvmevf_stream_put_state);

/**
 * nvmevf_state_alloc() - Allocate a buffer for a controller state
 * @len: its size in bytes, not 0
 *
 * Beyond a page kmalloc() rounds a buffer up to a power of two, so a large
 * state comes from vmalloc(), which rounds it up to a page: a migrating VF
 * holds no more than its state and a page. The buffer is not zeroed: both
 * sides fill it whole before they use it.
 *
 * Return: the buffer, charged to the caller's memory cgroup and freed with
 * kvfree(), or NULL.
 */
void *nvmevf_state_alloc(size_t len)
{
	if (len <= PAGE_SIZE)
		return kmalloc(len, GFP_KERNEL_ACCOUNT);
	return __vmalloc(len, GFP_KERNEL_ACCOUNT);
}
EXPORT_SYMBOL_IF_KUNIT(nvmevf_state_alloc);

/**
 * nvmevf_stream_check_state() - Check a Controller State data structure
 * @state: the structure
 * @len: its size in bytes
 * @csv: the version its NVMe-defined section must have
 * @vendor: whether a vendor-specific section was requested
 * @st: the verdict, set and logged on failure
 *
 * Checks that the section sizes in the header add up to @len, that the
 * state was saved from a suspended controller, that it has a
 * vendor-specific section if and only if one was requested, and that the
 * version 0 NVMe-defined section holds the I/O queues it counts. Both
 * sides use it: the source on what its controller returned, the
 * destination on what the stream carried.
 *
 * Return: 0 if the state is consistent, else -EINVAL.
 */
int nvmevf_stream_check_state(const void *state, size_t len, u16 csv,
			      bool vendor, struct nvmevf_stream_status *st)
{
	const struct nvme_ctrl_state_hdr *hdr = state;
	const struct nvme_ctrl_state_v0 *v0;
	size_t css, vss, total, queues;
	u16 ver, niosq, niocq;

	if (len < sizeof(*hdr))
		return nvmevf_reject(st, NVMEVF_ERR_STATE,
				     "controller state of %zu bytes is shorter than its header",
				     len);
	if (nvme_lm_state_hdr_size(hdr, &total) || total != len)
		return nvmevf_reject(st, NVMEVF_ERR_STATE,
				     "controller state header sizes NVMECSS %16phN VSS %16phN do not match its %zu bytes",
				     hdr->nvmecss, hdr->vss, len);
	/* Both fit: they add up to @len */
	css = get_unaligned_le64(hdr->nvmecss) * 4;
	vss = len - sizeof(*hdr) - css;
	if (!(hdr->csattr & NVME_CTRL_STATE_CSATTR_SUSPENDED))
		return nvmevf_reject(st, NVMEVF_ERR_STATE,
				     "controller state was not saved from a suspended controller");
	if (vss && !vendor)
		return nvmevf_reject(st, NVMEVF_ERR_STATE,
				     "controller state has a vendor-specific section of %zu bytes that was not requested",
				     vss);
	/* Without it the state lacks the admin queue: it cannot be loaded */
	if (!vss && vendor)
		return nvmevf_reject(st, NVMEVF_ERR_STATE,
				     "controller state lacks the vendor-specific section that was requested");
	if (css < sizeof(*v0))
		return nvmevf_reject(st, NVMEVF_ERR_STATE,
				     "NVMe-defined controller state of %zu bytes is too short",
				     css);

	v0 = state + sizeof(*hdr);
	ver = le16_to_cpu(v0->ver);
	niosq = le16_to_cpu(v0->niosq);
	niocq = le16_to_cpu(v0->niocq);
	if (ver != csv)
		return nvmevf_reject(st, NVMEVF_ERR_STATE,
				     "NVMe-defined controller state has version %u, not %u",
				     ver, csv);
	queues = size_mul((size_t)niosq + niocq, sizeof(struct nvme_iosq_state));
	if (size_add(sizeof(*v0), queues) > css)
		return nvmevf_reject(st, NVMEVF_ERR_STATE,
				     "NVMe-defined controller state of %zu bytes cannot hold %u I/O submission and %u completion queues",
				     css, niosq, niocq);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(nvmevf_stream_check_state);

/**
 * nvmevf_stream_parser_init() - Prepare to parse a stream
 * @p: the parser
 * @dev: the device to log why the stream is rejected on, NULL for none
 * @info: what the destination PF offers; must outlive @p
 * @max_state: largest controller state to accept, in bytes
 */
void nvmevf_stream_parser_init(struct nvmevf_stream_parser *p,
			       struct device *dev,
			       const struct nvme_lm_info *info,
			       size_t max_state)
{
	memset(p, 0, sizeof(*p));
	p->status.dev = dev;
	p->status.what = "migration stream rejected";
	p->info = info;
	/* Bound state buffers by INT_MAX, as kvmalloc() bounds its own */
	p->max_state = min_t(size_t, max_state, INT_MAX);
	p->phase = NVMEVF_PARSE_HDR;
	p->crc = ~0;
}
EXPORT_SYMBOL_IF_KUNIT(nvmevf_stream_parser_init);

/* Whether a record of @type may come next */
static int nvmevf_parse_type(struct nvmevf_stream_parser *p, u16 type,
			     u32 flags)
{
	if (!(p->seen & BIT(NVMEVF_REC_COMPAT)) && type != NVMEVF_REC_COMPAT)
		return nvmevf_reject(&p->status, NVMEVF_ERR_RECORD,
				     "record type %u where the compatibility record belongs",
				     type);
	if (type == NVMEVF_REC_COMPAT || type == NVMEVF_REC_STATE) {
		if (p->seen & BIT(type))
			return nvmevf_reject(&p->status, NVMEVF_ERR_RECORD,
					     "a second %s record",
					     nvmevf_rec_name(type));
		/* No bit of a stream goes unchecked: a reader needs these */
		if (flags & NVMEVF_REC_SKIPPABLE)
			return nvmevf_reject(&p->status, NVMEVF_ERR_RECORD,
					     "the %s record is marked skippable",
					     nvmevf_rec_name(type));
		return 0;
	}
	if (!(flags & NVMEVF_REC_SKIPPABLE))
		return nvmevf_reject(&p->status, NVMEVF_ERR_RECORD,
				     "record type %u is unknown here and not skippable",
				     type);
	return 0;
}

/* Check the length of the current record and allocate what it needs */
static int nvmevf_parse_length(struct nvmevf_stream_parser *p)
{
	const char *name = nvmevf_rec_name(p->type);

	switch (p->type) {
	case NVMEVF_REC_COMPAT:
		if (p->len != sizeof(p->compat))
			break;
		return 0;
	case NVMEVF_REC_STATE:
		if (p->len < sizeof(struct nvme_ctrl_state_hdr))
			break;
		if (p->len > p->max_state)
			return nvmevf_reject(&p->status, NVMEVF_ERR_TOO_LARGE,
					     "controller state of %llu bytes exceeds the %zu bytes this destination accepts",
					     p->len, p->max_state);
		p->state = nvmevf_state_alloc(p->len);
		if (!p->state)
			return nvmevf_reject(&p->status, NVMEVF_ERR_NOMEM,
					     "no memory for a controller state of %llu bytes",
					     p->len);
		p->state_len = p->len;
		return 0;
	default:
		return 0;
	}
	return nvmevf_reject(&p->status, NVMEVF_ERR_LENGTH,
			     "%s record with a payload of %llu bytes", name,
			     p->len);
}

static int nvmevf_parse_hdr(struct nvmevf_stream_parser *p)
{
	const u64 framing = sizeof(p->hdr) + sizeof(p->tail);
	const struct nvmevf_rec_hdr *hdr = &p->hdr;
	u64 length = le64_to_cpu(hdr->length);
	u32 flags = le32_to_cpu(hdr->flags);
	u16 type = le16_to_cpu(hdr->type);
	int ret;

	if (le32_to_cpu(hdr->magic) != NVMEVF_STREAM_MAGIC)
		return nvmevf_reject(&p->status, NVMEVF_ERR_MAGIC,
				     "bad magic %#010x in a record header",
				     le32_to_cpu(hdr->magic));
	if (le16_to_cpu(hdr->version) != NVMEVF_STREAM_VERSION)
		return nvmevf_reject(&p->status, NVMEVF_ERR_VERSION,
				     "unknown stream version %u, this driver reads version %u",
				     le16_to_cpu(hdr->version),
				     NVMEVF_STREAM_VERSION);
	if ((flags & ~NVMEVF_REC_SKIPPABLE) || hdr->rsvd12)
		return nvmevf_reject(&p->status, NVMEVF_ERR_RESERVED,
				     "reserved bits set in the header of a record of type %u",
				     type);
	ret = nvmevf_parse_type(p, type, flags);
	if (ret)
		return ret;
	if (length < framing)
		return nvmevf_reject(&p->status, NVMEVF_ERR_LENGTH,
				     "record of %llu bytes, shorter than its header and trailer",
				     length);
	p->type = type;
	p->len = length - framing;
	ret = nvmevf_parse_length(p);
	if (ret)
		return ret;
	/* The window is never empty: a record without payload has none */
	p->phase = p->len ? NVMEVF_PARSE_PAYLOAD : NVMEVF_PARSE_TAIL;
	return 0;
}

/**
 * nvmevf_stream_find_version() - Look an NVMe-defined state version up
 * @info: what a PF offers
 * @ver: the version
 *
 * Return: the index of @ver in @info->versions, or -ENOENT.
 */
int nvmevf_stream_find_version(const struct nvme_lm_info *info, u16 ver)
{
	int i;

	for (i = 0; i < min(info->nr_versions, NVME_LM_MAX_VERSIONS); i++)
		if (info->versions[i] == ver)
			return i;
	return -ENOENT;
}
EXPORT_SYMBOL_IF_KUNIT(nvmevf_stream_find_version);

static int nvmevf_find_uuid(const struct nvme_lm_info *info,
			    const uuid_t *uuid)
{
	int i;

	for (i = 0; i < min(info->nr_uuids, NVME_LM_MAX_UUIDS); i++)
		if (uuid_equal(&info->uuids[i], uuid))
			return i;
	return -ENOENT;
}

static int nvmevf_parse_compat(struct nvmevf_stream_parser *p)
{
	const struct nvmevf_compat *c = &p->compat;
	u64 size = le64_to_cpu(c->state_size);
	u16 csv = le16_to_cpu(c->csv);
	int i;

	if ((c->flags & ~NVMEVF_COMPAT_VENDOR) ||
	    memchr_inv(c->rsvd3, 0, sizeof(c->rsvd3)) ||
	    (!(c->flags & NVMEVF_COMPAT_VENDOR) &&
	     !uuid_is_null(&c->vendor_uuid)))
		return nvmevf_reject(&p->status, NVMEVF_ERR_RESERVED,
				     "reserved bits set in the compatibility description");

	i = nvmevf_stream_find_version(p->info, csv);
	if (csv != NVMEVF_CSV || i < 0)
		return nvmevf_reject(&p->status, NVMEVF_ERR_FORMAT,
				     "NVMe-defined controller state version %u is not supported here",
				     csv);
	p->fmt.csvi = i + 1;

	if (c->flags & NVMEVF_COMPAT_VENDOR) {
		i = nvmevf_find_uuid(p->info, &c->vendor_uuid);
		if (i < 0)
			return nvmevf_reject(&p->status, NVMEVF_ERR_VENDOR,
					     "vendor-specific controller state format %pUb is not supported by this PF",
					     &c->vendor_uuid);
		p->fmt.csuuidi = i + 1;
	} else {
		/* Without it the guest would find its admin state reset */
		return nvmevf_reject(&p->status, NVMEVF_ERR_IOQ_ONLY,
				     "the source saves I/O queue state only, without a vendor-specific section");
	}

	if (size > p->max_state)
		return nvmevf_reject(&p->status, NVMEVF_ERR_TOO_LARGE,
				     "source controller state of %llu bytes exceeds the %zu bytes this destination accepts",
				     size, p->max_state);
	return 0;
}

static int nvmevf_parse_tail(struct nvmevf_stream_parser *p)
{
	const char *name = nvmevf_rec_name(p->type);
	u32 crc = ~p->crc;
	int ret = 0;

	if (le32_to_cpu(p->tail.end) != NVMEVF_STREAM_END)
		return nvmevf_reject(&p->status, NVMEVF_ERR_END,
				     "bad end marker %#010x after the %s record",
				     le32_to_cpu(p->tail.end), name);
	if (le32_to_cpu(p->tail.crc) != crc)
		return nvmevf_reject(&p->status, NVMEVF_ERR_CRC,
				     "checksum mismatch in the %s record: %#010x, computed %#010x",
				     name, le32_to_cpu(p->tail.crc), crc);

	switch (p->type) {
	case NVMEVF_REC_COMPAT:
		ret = nvmevf_parse_compat(p);
		break;
	case NVMEVF_REC_STATE:
		ret = nvmevf_stream_check_state(p->state, p->state_len,
						le16_to_cpu(p->compat.csv),
						p->compat.flags &
						NVMEVF_COMPAT_VENDOR,
						&p->status);
		break;
	default:
		/* A skipped record has nothing beyond its framing to check */
		break;
	}
	if (ret)
		return ret;
	if (p->type == NVMEVF_REC_COMPAT || p->type == NVMEVF_REC_STATE)
		p->seen |= BIT(p->type);
	p->phase = NVMEVF_PARSE_HDR;
	p->crc = ~0;
	return 0;
}

/* The buffer of the current part and its length */
static void *nvmevf_part(struct nvmevf_stream_parser *p, u64 *len)
{
	switch (p->phase) {
	case NVMEVF_PARSE_HDR:
		*len = sizeof(p->hdr);
		return &p->hdr;
	case NVMEVF_PARSE_TAIL:
		*len = sizeof(p->tail);
		return &p->tail;
	default:
		*len = p->len;
		if (p->type == NVMEVF_REC_COMPAT)
			return &p->compat;
		if (p->type == NVMEVF_REC_STATE)
			return p->state;
		return NULL;
	}
}

/**
 * nvmevf_stream_window() - Where the next bytes of the stream go
 * @p: the parser
 * @dst: set to the buffer for the next bytes
 * @len: set to how many bytes @dst takes, never 0
 *
 * The caller copies at most @len bytes of the stream to @dst, then reports
 * how many with nvmevf_stream_advance().
 *
 * A skipped payload goes to a scratch buffer, @len bytes at a time.
 *
 * Return: 0, or a negative errno once the stream is rejected.
 */
int nvmevf_stream_window(struct nvmevf_stream_parser *p, void **dst,
			 size_t *len)
{
	u8 *buf;
	u64 n;

	if (p->status.err)
		return nvmevf_errno(&p->status);

	buf = nvmevf_part(p, &n);
	n -= p->have;
	if (buf) {
		/* A part that has a buffer fits in memory */
		*dst = buf + p->have;
		*len = n;
	} else {
		*dst = p->skip;
		*len = min_t(u64, n, sizeof(p->skip));
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(nvmevf_stream_window);

/**
 * nvmevf_stream_advance() - Consume bytes copied to the window
 * @p: the parser
 * @n: how many bytes were copied to the buffer nvmevf_stream_window() gave,
 *	at most the length it gave
 *
 * Checks each part of the stream as soon as it is complete.
 *
 * Return: 0, or a negative errno if the stream is rejected.
 */
int nvmevf_stream_advance(struct nvmevf_stream_parser *p, size_t n)
{
	size_t len;
	void *dst;
	u64 part;
	int ret;

	ret = nvmevf_stream_window(p, &dst, &len);
	if (ret)
		return ret;
	if (WARN_ON_ONCE(n > len))
		return -EINVAL;

	if (p->phase != NVMEVF_PARSE_TAIL)
		p->crc = crc32c(p->crc, dst, n);
	p->have += n;
	nvmevf_part(p, &part);
	if (p->have < part)
		return 0;

	p->have = 0;
	switch (p->phase) {
	case NVMEVF_PARSE_HDR:
		return nvmevf_parse_hdr(p);
	case NVMEVF_PARSE_PAYLOAD:
		p->phase = NVMEVF_PARSE_TAIL;
		return 0;
	default:
		return nvmevf_parse_tail(p);
	}
}
EXPORT_SYMBOL_IF_KUNIT(nvmevf_stream_advance);

/**
 * nvmevf_stream_finish() - Check that the whole stream arrived
 * @p: the parser
 *
 * Return: 0 if the stream is complete and valid: @p->state then holds
 * @p->state_len bytes of controller state in the formats @p->fmt selects on
 * the destination. Else a negative errno, with the reason in @p->status,
 * and logged.
 */
int nvmevf_stream_finish(struct nvmevf_stream_parser *p)
{
	if (p->status.err)
		return nvmevf_errno(&p->status);
	if (p->phase == NVMEVF_PARSE_HDR && p->have)
		return nvmevf_reject(&p->status, NVMEVF_ERR_TRUNCATED,
				     "the stream ends inside a record header");
	if (p->phase != NVMEVF_PARSE_HDR)
		return nvmevf_reject(&p->status, NVMEVF_ERR_TRUNCATED,
				     "the stream ends inside the %s record",
				     nvmevf_rec_name(p->type));
	if (!(p->seen & BIT(NVMEVF_REC_STATE)))
		return nvmevf_reject(&p->status, NVMEVF_ERR_TRUNCATED,
				     "the stream ends before the controller state record");
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(nvmevf_stream_finish);

/**
 * nvmevf_stream_parser_free() - Free what the parser allocated
 * @p: the parser
 */
void nvmevf_stream_parser_free(struct nvmevf_stream_parser *p)
{
	kvfree(p->state);
	p->state = NULL;
	p->state_len = 0;
}
EXPORT_SYMBOL_IF_KUNIT(nvmevf_stream_parser_free);
