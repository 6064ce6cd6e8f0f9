/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The choices an xfs filesystem was made with, read from its superblock (the start of sector
 * 0), so --add-disk makes the approach-2 twin's xfs alike (DESIGN.md §12b A2): block, sector,
 * inode and directory block sizes, the v5 metadata features and the options mkfs.xfs (xfsprogs
 * 6.1, Debian 12) takes for them. What records the filesystem's state rather than a choice
 * made at mkfs (needs repair, a changed UUID, the log's incompat bits, quota inodes) is set
 * apart. Parsing only, bounded, fuzzed (fuzz-xfsfeat).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The bytes read: the superblock's fields end at 264; a sector is at least 512. */
#define XFS_SUPERBLOCK_SIZE 512

struct xfs_params {
        unsigned version;        /* 4 or 5 (5: metadata checksums, crc=1) */
        uint32_t block_size;     /* bytes: 512 .. 65536 */
        uint32_t sect_size;      /* bytes: 512 .. 32768, at most the block size */
        uint32_t inode_size;     /* bytes: 256 .. 2048, at most half the block */
        uint32_t dir_block_size; /* bytes: the block size .. 65536 */
        bool ftype, ascii_ci;
        bool lazy_count, projid32bit;                      /* v4 only (v5: always) */
        bool finobt, rmapbt, reflink, bigtime, inobtcount; /* v5 only */
        bool sparse, nrext64;                              /* v5 only */
        char **state; /* what is set apart, each naming the field and why */
};

void xfs_params_done(struct xfs_params *p);

/*
 * Parses a superblock (size bytes from offset 0 of the device; at least XFS_SUPERBLOCK_SIZE).
 * Returns 0 with *ret; -EBADMSG with *why when it is no xfs superblock or a value is impossible
 * (naming the field and the value); -EOPNOTSUPP with *why for a feature bit this reader has no
 * mkfs.xfs option for, or a filesystem mkfs.xfs 6.1 cannot make (the twin could not be made
 * alike); -ENOMEM.
 */
int xfs_params_parse(const void *sb, size_t size, struct xfs_params *ret, char **why);

/* Reads the superblock of the device (or image) at path and parses it; *why names path. */
int xfs_params_read(const char *path, struct xfs_params *ret, char **why);

/*
 * The mkfs.xfs options making a filesystem alike, every choice explicit (mkfs.xfs's defaults
 * and config file change nothing): "-b" "size=B" "-s" "size=S" "-m" "crc=1,finobt=...,
 * rmapbt=...,reflink=...,bigtime=...,inobtcount=..." "-i" "size=I,sparse=...,nrext64=..." "-n"
 * "size=D,ftype=1[,version=ci]"; a v4 filesystem: "-m" "crc=0", "-i" "size=I,projid32bit=...",
 * "-l" "lazy-count=...", "-n" "size=D,ftype=...[,version=ci]".
 */
int xfs_params_mkfs_args(const struct xfs_params *p, char ***ret);
