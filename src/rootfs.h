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

/*
 * Redundancy, one definition for --status and --add-disk (DESIGN.md §11 rule S6):
 * how many devices the block groups of these profiles can lose, the least over the profiles
 * present: raid1, raid10 and raid5 one, raid1c3 and raid6 two, raid1c4 three; single, dup and
 * raid0 none. No profile at all counts as none.
 */
unsigned rootfs_profiles_tolerance(uint64_t profiles);
/* tolerance >= 1: every block group survives the loss of one device. */
bool rootfs_profiles_redundant(uint64_t profiles);
/* The profiles among these that are not redundant (single, dup, raid0). */
uint64_t rootfs_profiles_weak(uint64_t profiles);
/* The least tolerance of the filesystem's data, metadata and system profiles. */
unsigned rootfs_btrfs_tolerance(const struct rootfs_btrfs *b);

/*
 * The filters of a "btrfs balance start" that raise only the weak block groups (single, dup,
 * raid0) and leave every redundant one as it is (DESIGN.md §12 rule 7): a soft convert to
 * raid1 alone would lower raid1c3, raid1c4 and raid10 chunks. The target is the kind's
 * strongest redundant profile present (what the filesystem was made with: raid1c3 chunks
 * written single while degraded go back to raid1c3), raid1 when it has none. E.g.
 * "-dconvert=raid1c3,soft,profiles=single" for the data and "-mconvert=...,profiles=dup"
 * for the metadata and system together (btrfs-progs applies -m's filters to the system chunks
 * too). Each of ret_data, ret_meta: NULL when that kind has no weak block group. Returns 0 or
 * -ENOMEM.
 */
int rootfs_btrfs_raise_filters(const struct rootfs_btrfs *b, char **ret_data, char **ret_meta);

/* The fsid of the btrfs fd is on ("1b2c...-..."), into ret. Returns 0, -ENOTTY when it is not
 * btrfs, or -errno. */
int rootfs_btrfs_fsid(int fd, char ret[37]);

/* The fsid (as /sys/fs/btrfs names it) of the mounted btrfs filesystem the block device name
 * ("vdb2") is a device of, into *ret, or NULL. Returns 0 or -ENOMEM. */
int rootfs_btrfs_of_device(const char *name, char **ret);

/* Whether a device replace runs on the btrfs of fd (BTRFS_IOC_DEV_REPLACE status), and how far
 * it is in per mille. Returns 0 or -errno. */
int rootfs_btrfs_replace_status(int fd, bool *ret_running, uint64_t *ret_permille);

/* A running balance's chunks relocated and expected (BTRFS_IOC_BALANCE_PROGRESS). Returns 0, or
 * -errno (-ENOTCONN: no balance runs yet). */
int rootfs_btrfs_balance_progress(int fd, uint64_t *ret_done, uint64_t *ret_expected);
