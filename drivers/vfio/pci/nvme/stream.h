/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The migration stream of nvme-vfio-pci: its wire format, the encoder of the
 * saving side and the incremental parser of the resuming side. stream.c
 * describes the format.
 */
#ifndef NVME_VFIO_PCI_STREAM_H
#define NVME_VFIO_PCI_STREAM_H

#include <linux/build_bug.h>
#include <linux/nvme-lm.h>
#include <linux/types.h>
#include <linux/uuid.h>

struct device;

#define NVMEVF_STREAM_MAGIC	0x4d4c564e	/* "NVLM" */
#define NVMEVF_STREAM_END	0x444e454c	/* "LEND" */
#define NVMEVF_STREAM_VERSION	1

/* The version of NVMe-defined controller state this driver saves and loads */
#define NVMEVF_CSV		0

/* The record types this driver knows, in the order they appear in the stream */
enum nvmevf_rec_type {
	NVMEVF_REC_COMPAT = 1,
	NVMEVF_REC_STATE = 2,
};

/* A reader that does not know the record's type skips the record */
#define NVMEVF_REC_SKIPPABLE	BIT(0)

/**
 * struct nvmevf_rec_hdr - the header of a record
 * @magic: %NVMEVF_STREAM_MAGIC
 * @version: %NVMEVF_STREAM_VERSION
 * @type: an &enum nvmevf_rec_type, or a type a later writer defines
 * @flags: %NVMEVF_REC_SKIPPABLE or zero
 * @rsvd12: zero
 * @length: total length of the record in bytes: header, payload and trailer
 */
struct nvmevf_rec_hdr {
	__le32 magic;
	__le16 version;
	__le16 type;
	__le32 flags;
	__le32 rsvd12;
	__le64 length;
};

/**
 * struct nvmevf_rec_tail - the trailer of a record
 * @crc: CRC32C of the record's header and payload
 * @end: %NVMEVF_STREAM_END
 */
struct nvmevf_rec_tail {
	__le32 crc;
	__le32 end;
};

/* The state holds a vendor-specific section, in the format of @vendor_uuid */
#define NVMEVF_COMPAT_VENDOR	BIT(0)

/**
 * struct nvmevf_compat - the compatibility description of the source
 * @csv: version of the NVMe-defined controller state the source saves
 * @flags: %NVMEVF_COMPAT_VENDOR or zero
 * @rsvd3: zero
 * @state_size: size in bytes of the source's controller state when the
 *	description was written, zero if it could not be read then
 * @vendor_uuid: the vendor-specific state format, zero without
 *	%NVMEVF_COMPAT_VENDOR
 */
struct nvmevf_compat {
	__le16 csv;
	u8 flags;
	u8 rsvd3[5];
	__le64 state_size;
	uuid_t vendor_uuid;
};

/**
 * struct nvmevf_compat_rec - the compatibility record, first in the stream
 * @hdr: its header
 * @compat: its payload
 * @tail: its trailer
 */
struct nvmevf_compat_rec {
	struct nvmevf_rec_hdr hdr;
	struct nvmevf_compat compat;
	struct nvmevf_rec_tail tail;
};

static_assert(sizeof(struct nvmevf_rec_hdr) == 24);
static_assert(sizeof(struct nvmevf_rec_tail) == 8);
static_assert(sizeof(struct nvmevf_compat) == 32);
static_assert(sizeof(struct nvmevf_compat_rec) == 64);

/* Bytes a stream adds to the controller state it carries */
#define NVMEVF_STREAM_OVERHEAD	(sizeof(struct nvmevf_compat_rec) +	\
				 sizeof(struct nvmevf_rec_hdr) +	\
				 sizeof(struct nvmevf_rec_tail))

/* Why a stream or a controller state was rejected */
enum nvmevf_stream_err {
	NVMEVF_ERR_NONE,
	NVMEVF_ERR_MAGIC,
	NVMEVF_ERR_VERSION,
	NVMEVF_ERR_RECORD,
	NVMEVF_ERR_RESERVED,
	NVMEVF_ERR_LENGTH,
	NVMEVF_ERR_END,
	NVMEVF_ERR_CRC,
	NVMEVF_ERR_FORMAT,
	NVMEVF_ERR_VENDOR,
	NVMEVF_ERR_IOQ_ONLY,
	NVMEVF_ERR_TOO_LARGE,
	NVMEVF_ERR_STATE,
	NVMEVF_ERR_NOMEM,
	NVMEVF_ERR_TRUNCATED,
	NVMEVF_ERR_NR
};

/**
 * struct nvmevf_stream_status - the verdict on a stream or a state
 * @err: %NVMEVF_ERR_NONE or the first reason for rejecting it
 * @dev: the device that reason is logged on when it is found, or NULL
 * @what: what was rejected, the start of that log line
 *
 * The reason is logged rather than kept, so that a data fd holds no text.
 */
struct nvmevf_stream_status {
	enum nvmevf_stream_err err;
	struct device *dev;
	const char *what;
};

/* Where the parser is in the stream */
enum nvmevf_parse_phase {
	NVMEVF_PARSE_HDR,
	NVMEVF_PARSE_PAYLOAD,
	NVMEVF_PARSE_TAIL,
};

/**
 * struct nvmevf_stream_parser - incremental parser of the resuming side
 * @info: what the destination PF offers
 * @max_state: largest controller state accepted, in bytes
 * @state: the controller state received, from nvmevf_state_alloc()
 * @state_len: its size in bytes
 * @len: payload length of the current record
 * @have: bytes of the current part received
 * @status: the verdict, sticky once an error is found
 * @hdr: header of the current record
 * @compat: the compatibility description received
 * @tail: trailer of the current record
 * @phase: the part of the current record expected next
 * @crc: running CRC32C of the current record
 * @type: the type of the current record
 * @fmt: the destination's format indexes for @state, once @compat is checked
 * @seen: BIT() of each known record type received whole
 * @skip: where the payload of a skipped record goes
 */
struct nvmevf_stream_parser {
	const struct nvme_lm_info *info;
	size_t max_state;
	void *state;
	size_t state_len;
	u64 len;
	u64 have;
	struct nvmevf_stream_status status;

	struct nvmevf_rec_hdr hdr;
	struct nvmevf_compat compat;
	struct nvmevf_rec_tail tail;
	enum nvmevf_parse_phase phase;
	u32 crc;
	u16 type;
	struct nvme_lm_fmt fmt;
	u8 seen;
	u8 skip[64];
};

int nvmevf_stream_find_version(const struct nvme_lm_info *info, u16 ver);
size_t nvmevf_stream_size(size_t state_len);
void nvmevf_stream_put_compat(struct nvmevf_compat_rec *rec,
			      const struct nvme_lm_info *info,
			      const struct nvme_lm_fmt *fmt, u64 state_size);
void nvmevf_stream_put_state(struct nvmevf_rec_hdr *hdr,
			     struct nvmevf_rec_tail *tail,
			     const void *state, size_t len);
void *nvmevf_state_alloc(size_t len);
int nvmevf_stream_check_state(const void *state, size_t len, u16 csv,
			      bool vendor, struct nvmevf_stream_status *st);

void nvmevf_stream_parser_init(struct nvmevf_stream_parser *p,
			       struct device *dev,
			       const struct nvme_lm_info *info,
			       size_t max_state);
int nvmevf_stream_window(struct nvmevf_stream_parser *p, void **dst,
			 size_t *len);
int nvmevf_stream_advance(struct nvmevf_stream_parser *p, size_t n);
int nvmevf_stream_finish(struct nvmevf_stream_parser *p);
void nvmevf_stream_parser_free(struct nvmevf_stream_parser *p);

#endif /* NVME_VFIO_PCI_STREAM_H */
