/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Block devices and the mount table (DESIGN.md §3): PARTUUID -> device node (udev's
 * /dev/disk/by-partuuid link, else a libblkid scan), device -> filesystem UUID and type
 * (libblkid probe), device -> every mount point by device number (libmount; bind mounts
 * included, since they share the device number).
 */

#include <stdbool.h>
#include <sys/types.h>

#include <blkid.h>
#include <libmount.h>

#include "util/macro.h"
#include "util/path.h" /* path_strip_trailing_slashes(), for the callers of mounts_find_target() */

#define MOUNTINFO_DEFAULT "/proc/self/mountinfo"
#define BY_PARTUUID_DIR "/dev/disk/by-partuuid"

static inline void mnt_unref_tablep(struct libmnt_table **t)
{
        mnt_unref_table(*t);
}
#define _cleanup_mnt_table_ _cleanup_(mnt_unref_tablep)

static inline void blkid_free_probep(blkid_probe *pr)
{
        if (*pr)
                blkid_free_probe(*pr);
}

/* Parses a mountinfo file (NULL = /proc/self/mountinfo). Returns 0 or -errno. */
int mounts_load(const char *path, struct libmnt_table **ret);

/* The filesystem mounted on top at exactly target (trailing slashes ignored), or NULL. */
struct libmnt_fs *mounts_find_target(struct libmnt_table *t, const char *target);

/* Every mount point whose device number is devnum, in mount order, without duplicates.
 * Returns 0 (possibly an empty vector) or -ENOMEM. */
int mounts_of_devnum(struct libmnt_table *t, dev_t devnum, char ***ret);

/*
 * PARTUUID (any case) -> device node and number. Tries BY_PARTUUID_DIR/<lower-case uuid>
 * (must be a block device), then a libblkid scan of all block devices (no cache file is
 * read or written). -ENODEV when neither finds it, with *why saying so.
 */
int blockdev_from_partuuid(const char *partuuid, char **ret_node, dev_t *ret_devnum, char **why);

/* The PARTUUID of a device: a BY_PARTUUID_DIR link pointing at it, else libblkid's
 * PART_ENTRY_UUID. -ENOENT when neither knows it. */
int blockdev_partuuid_of(const char *node, dev_t devnum, char **ret);

struct blockdev_probe {
        char *uuid;   /* filesystem UUID, NULL if none */
        char *fstype; /* "vfat", "ext4", ... NULL if unknown */
        char *label;
};

/* Probes the filesystem superblock on node with libblkid. fstype_hint (may be NULL): the
 * type the mount table says is on it, probed alone first (a full probe tries every known
 * type, ~100 reads); if it does not match, the full probe runs. Returns 0, or -errno (e.g.
 * -EACCES without privileges, -ENODATA when no filesystem is recognised). */
int blockdev_probe(const char *node, const char *fstype_hint, struct blockdev_probe *ret);
void blockdev_probe_done(struct blockdev_probe *p);

/*
 * DESIGN.md §3 D2: every partition whose GPT/MBR entry UUID is partuuid (any case), as
 * "DISK partition N", read from the partition tables of the whole disks: those listed in
 * disks (':'-separated device nodes, DUAL_ROOT_DISKS in tests), else every disk of
 * sysfs_root/block that has partitions, else none (sysfs_root NULL). More than one means a
 * cloned disk. Returns 0 (possibly an empty list) or -ENOMEM.
 */
int blockdev_partuuid_holders(const char *partuuid, const char *sysfs_root, const char *disks,
                              char ***ret);

/* The partition type of the partition node (GPT type GUID in lower case, or "0xef" for
 * MBR), read from its disk's partition table. -ENOENT when node is not a partition the
 * table can be read for (a loop device over a partition's bytes, say). */
#define ESP_GPT_TYPE "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
#define ESP_MBR_TYPE "0xef"
int blockdev_part_type(const char *node, char **ret);
