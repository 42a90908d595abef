// SPDX-License-Identifier: GPL-2.0
/*
 * blkcheck: the workload of the nested guest that stock QEMU live-migrates
 * (guest/stock-qemu.py). It writes numbered blocks to a block device over
 * and over and checks every one:
 *
 *   - each block holds its number, the pass (generation) that wrote it and
 *     a pattern derived from both;
 *   - after each write, the block is read back and compared;
 *   - before a block is overwritten in pass G, it must still hold pass G-1,
 *     so a write lost or undone across a migration is found on the next
 *     pass.
 *
 * O_DIRECT keeps the page cache out: every check reaches the device.
 * Prints "blkcheck: ..." progress lines every --every blocks and exits 1
 * on the first mismatch or I/O error, printing "blkcheck: ERROR ...".
 *
 * usage: blkcheck DEVICE NBLOCKS [EVERY]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLK	4096
#define MAGIC	0x6b636c626f66766eULL	/* "nvfoblck" */

struct blk {
	uint64_t magic;
	uint64_t block;
	uint64_t gen;
	uint64_t word[BLK / 8 - 3];
};

static void fill(struct blk *b, uint64_t block, uint64_t gen)
{
	size_t i;

	b->magic = MAGIC;
	b->block = block;
	b->gen = gen;
	for (i = 0; i < sizeof(b->word) / 8; i++)
		b->word[i] = (block << 40) ^ (gen << 20) ^ i ^ 0x5a5a5a5a5a5a5a5aULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int io(int fd, struct blk *b, uint64_t block, int write)
{
	ssize_t n = write ? pwrite(fd, b, BLK, block * BLK) :
			    pread(fd, b, BLK, block * BLK);

	if (n == BLK)
		return 0;
	printf("blkcheck: ERROR: %s of block %llu: %s\n", write ? "write" : "read",
	       (unsigned long long)block, n < 0 ? strerror(errno) : "short transfer");
	return -1;
}

int main(int argc, char **argv)
{
	struct blk *want, *got;
	uint64_t nblocks, every, gen, block, done = 0;
	double start;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: %s DEVICE NBLOCKS [EVERY]\n", argv[0]);
		return 2;
	}
	nblocks = strtoull(argv[2], NULL, 0);
	every = argc > 3 ? strtoull(argv[3], NULL, 0) : 256;
	if (!nblocks || !every)
		return 2;
	fd = open(argv[1], O_RDWR | O_DIRECT | O_SYNC);
	if (fd < 0) {
		printf("blkcheck: ERROR: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (posix_memalign((void **)&want, BLK, BLK) ||
	    posix_memalign((void **)&got, BLK, BLK))
		return 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	start = now();
	printf("blkcheck: writing and checking %llu blocks of %d bytes on %s\n",
	       (unsigned long long)nblocks, BLK, argv[1]);
	for (gen = 1;; gen++) {
		for (block = 0; block < nblocks; block++) {
			if (gen > 1) {
				if (io(fd, got, block, 0))
					return 1;
				fill(want, block, gen - 1);
				if (memcmp(want, got, BLK)) {
					printf("blkcheck: ERROR: block %llu holds block %llu of pass %llu, expected pass %llu\n",
					       (unsigned long long)block,
					       (unsigned long long)got->block,
					       (unsigned long long)got->gen,
					       (unsigned long long)gen - 1);
					return 1;
				}
			}
			fill(want, block, gen);
			if (io(fd, want, block, 1) || io(fd, got, block, 0))
				return 1;
			if (memcmp(want, got, BLK)) {
				printf("blkcheck: ERROR: block %llu read back differs after pass %llu wrote it\n",
				       (unsigned long long)block, (unsigned long long)gen);
				return 1;
			}
			if (++done % every == 0)
				printf("blkcheck: %llu blocks written and checked (pass %llu), %.1f s\n",
				       (unsigned long long)done, (unsigned long long)gen,
				       now() - start);
		}
	}
}
