/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Whether the root filesystem survives the loss of a disk (DESIGN.md §11 rule S6): for a
 * btrfs root, its devices (BTRFS_IOC_FS_INFO, BTRFS_IOC_DEV_INFO: a device the kernel has no
 * path for is missing) and its block-group profiles (BTRFS_IOC_SPACE_INFO), read from the
 * kernel, not from btrfs-progs' output.
 */

#include <stdbool.h>
#include <stdint.h>

/* The block-group profile bits (BTRFS_BLOCK_GROUP_RAID1, ...); "single" has none, so it is
 * given this bit, the one the kernel uses for it in space info (BTRFS_AVAIL_ALLOC_BIT_SINGLE). */
#define ROOTFS_PROFILE_SINGLE (UINT64_C(1) << 48)

struct rootfs_btrfs_device {
        uint64_t devid;
        char uuid[37]; /* the device's btrfs UUID (UUID_SUB), lower case */
        char *path;    /* NULL when missing */
        uint64_t total_bytes;
};

struct rootfs_btrfs {
        uint64_t num_devices;
        struct rootfs_btrfs_device *devices;
        size_t n_devices;
        size_t n_missing;
        /* Block-group profiles present, per kind (several during a conversion). */
        uint64_t data_profiles, metadata_profiles, system_profiles;
};

/* fd: any file of the filesystem. -ENOTTY/-EOPNOTSUPP when it is not btrfs; -errno with *why
 * otherwise. */
int rootfs_btrfs_read(int fd, struct rootfs_btrfs *ret, char **why);
void rootfs_btrfs_done(struct rootfs_btrfs *b);

/* The profile bits' names, e.g. "raid1", "single", joined with "+" ("single+raid1" during a
 * conversion); into buf. */
const char *rootfs_profiles_to_string(uint64_t profiles, char *buf, size_t size);

/* Whether every block group of these profiles survives the loss of one device: raid1, raid1c3,
 * raid1c4, raid10, raid5, raid6; not single, dup or raid0. No profile at all counts as false. */
bool rootfs_profiles_redundant(uint64_t profiles);
