/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The choices a btrfs filesystem was made with, read from its primary superblock (4096 bytes
 * at 64 KiB), so --add-disk makes the approach-2 twin's btrfs alike (DESIGN.md §12b A2):
 * sector size, node size, checksum and the features mkfs.btrfs (btrfs-progs 6.2, Debian 12)
 * takes. What records the filesystem's use rather than a choice made at mkfs (compression
 * used, a default subvolume set, fs-verity files, a changed fsid) is set apart. Parsing only,
 * bounded, fuzzed (fuzz-btrfsfeat).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BTRFS_SUPERBLOCK_OFFSET 65536
#define BTRFS_SUPERBLOCK_SIZE 4096

struct btrfs_params {
        uint32_t sector_size; /* bytes: 4096 .. 65536 */
        uint32_t node_size;   /* bytes: the sector size .. 65536 */
        const char *csum;     /* --csum name: crc32c, xxhash, sha256, blake2 */
        char **features;      /* the -O names the filesystem has, in superblock bit order */
        bool free_space_tree; /* -R free-space-tree */
        char **state;         /* what is set apart, each naming the flag and why */
};

void btrfs_params_done(struct btrfs_params *p);

/*
 * Parses a superblock (size bytes from offset 64 KiB of the device; at least
 * BTRFS_SUPERBLOCK_SIZE). Returns 0 with *ret; -EBADMSG with *why when it is no btrfs
 * superblock or a value is impossible (naming the field and the value); -EOPNOTSUPP with *why
 * for a flag this reader has no mkfs.btrfs option for, or a feature mkfs.btrfs 6.2 cannot make
 * (the twin could not be made alike); -ENOMEM.
 */
int btrfs_params_parse(const void *sb, size_t size, struct btrfs_params *ret, char **why);

/* Reads the superblock of the device (or image) at path and parses it; *why names path. */
int btrfs_params_read(const char *path, struct btrfs_params *ret, char **why);

/*
 * The mkfs.btrfs options making a filesystem alike, every choice explicit: "-s" S "-n" N
 * "--csum" C "-O" LIST "-R" free-space-tree|^free-space-tree, where LIST names the features the
 * filesystem has and "^F" for each of mkfs.btrfs 6.2's defaults (extref, skinny-metadata,
 * no-holes) it lacks.
 */
int btrfs_params_mkfs_args(const struct btrfs_params *p, char ***ret);
