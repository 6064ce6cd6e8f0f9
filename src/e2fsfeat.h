/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The choices an ext2/3/4 filesystem was made with, read from its superblock (the 1024 bytes
 * at offset 1024), so --add-disk makes the approach-2 twin's filesystem alike (DESIGN.md §12b
 * A2): block size, inode size, cluster size (bigalloc) and the feature names mke2fs's -O
 * takes. Features that record the filesystem's state rather than a choice at mkfs time
 * (needs_recovery, orphan_present, ...) are set apart. Parsing only, bounded, fuzzed
 * (fuzz-e2fsfeat).
 */

#include <stddef.h>
#include <stdint.h>

#define E2FS_SUPERBLOCK_OFFSET 1024
#define E2FS_SUPERBLOCK_SIZE 1024

struct e2fs_params {
        uint32_t block_size;   /* bytes: 1024 .. 65536 */
        uint32_t inode_size;   /* bytes: 128 for revision 0 */
        uint32_t cluster_size; /* bytes, with bigalloc; else 0 */
        char **features;       /* mke2fs -O names of the choices, in superblock bit order */
        char **state;          /* the features set apart: state, or not to be made again */
};

void e2fs_params_done(struct e2fs_params *p);

/*
 * Parses a superblock (size bytes from offset 1024 of the device; at least
 * E2FS_SUPERBLOCK_SIZE). Returns 0 with *ret, -EBADMSG with *why when it is no ext2/3/4
 * superblock or a value is impossible (naming the field and the value), -EOPNOTSUPP with
 * *why for a feature bit this reader has no mke2fs name for (the twin could not be made
 * alike), or -ENOMEM.
 */
int e2fs_params_parse(const void *sb, size_t size, struct e2fs_params *ret, char **why);

/* Reads the superblock of the device (or image) at path and parses it; *why names path. */
int e2fs_params_read(const char *path, struct e2fs_params *ret, char **why);

/* The mke2fs options making a filesystem alike: "-b" N "-I" N ["-C" N] "-O" "none,f1,f2...",
 * in that order ("none" first: mke2fs.conf's defaults do not add to the list). */
int e2fs_params_mkfs_args(const struct e2fs_params *p, char ***ret);
