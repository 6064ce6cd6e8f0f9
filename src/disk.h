/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Disks and partitions as the kernel shows them in sysfs (DESIGN.md §10): which disk a
 * partition is on, its number, start and size, the partitions of a disk, the disks that have
 * partitions, the disk under a stacked device, a device's node name. Read through one seam,
 * disk_sysfs_root(): $DUAL_ROOT_SYSFS (a test's tree: loop devices are no partitions) or /sys.
 * The functions that take a sysfs argument read that tree (unit tests pass fixtures); the
 * callers pass disk_sysfs_root().
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The one reader of the seam: $DUAL_ROOT_SYSFS (secure_getenv), NULL when unset or empty. */
const char *disk_sysfs_seam(void);

/* Where the disks' layout is read: disk_sysfs_seam(), else "/sys". */
const char *disk_sysfs_root(void);

/* A sysfs attribute's first line, at dirfd. Returns 0 or -errno. */
int disk_read_attr(int dirfd, const char *name, char **ret);

/* A sysfs attribute dir/name holding a decimal number. Returns 0, or -errno with *why naming
 * the file (-EBADMSG when it holds no number). */
int disk_read_u64(const char *dir, const char *name, uint64_t *ret, char **why);

/* Device number -> node name "/dev/<kernel name>", from the kernel's own /sys (the names are of
 * this machine's /dev, whatever layout the seam fakes). */
int disk_node_of(dev_t devnum, char **ret);

/* Whether the kernel's /sys knows devnum as a block device (an anonymous device number of
 * btrfs, tmpfs or overlay it does not). */
bool disk_known(dev_t devnum);

/* The kernel name of the device whose sysfs directory is dir (a link is followed), and of its
 * disk: the parent directory's name when dir is a partition (it has a "partition" attribute).
 * ret_name and ret_partno may be NULL; *ret_partno is 0 when no partition. Returns 0 or -errno. */
int disk_names_of_dir(const char *dir, char **ret_name, char **ret_disk, unsigned *ret_partno);

/* A block device's whole disk, by kernel name, from sysfs/dev/block/MAJ:MIN (its parent when
 * it is a partition, else itself). Returns 0 or -errno. */
int disk_whole_name(const char *sysfs, dev_t dev, char **ret);

/* The whole disk under a device: of a partition its disk; of a device-mapper device over one
 * device (a LUKS container's plaintext), that device's disk; else devnum itself (an md array
 * over two disks has no one disk, nor has a device sysfs does not know). */
dev_t disk_holding(const char *sysfs, dev_t devnum);

/* Where a partition is: its number in the partition table, first sector and length in 512-byte
 * sectors, its disk's logical block size (512 when sysfs does not say) and kernel name ("vdb"),
 * from sysfs/dev/block/MAJ:MIN. */
struct disk_partition {
        uint32_t number;
        uint64_t start, size;
        uint64_t logical_block_size;
        char *disk;
};
/* Returns 0, -ENOTBLK when devnum is no partition, or -errno, with *why saying which. */
int disk_partition_of(const char *sysfs, dev_t devnum, struct disk_partition *ret, char **why);
void disk_partition_done(struct disk_partition *p);

/* One partition of a disk: its device number and its number in the partition table (0 when
 * sysfs does not say). */
struct disk_slot {
        dev_t devnum;
        unsigned number;
};
/* Every partition of the disk disk (sysfs: a subdirectory with a "partition" file), in sysfs
 * order; none when sysfs does not know the disk. Returns 0 or -ENOMEM. */
int disk_partitions(const char *sysfs, dev_t disk, struct disk_slot **ret, size_t *ret_n);

/* The kernel names of the disks under sysfs/block that have a partition the kernel knows: disks
 * with a partition table, not CDs, RAM disks or bare loop devices. None when sysfs/block cannot
 * be read. Returns 0 or -ENOMEM. */
int disk_list_partitioned(const char *sysfs, char ***ret);
