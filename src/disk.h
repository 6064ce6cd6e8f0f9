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

/* The kernel's sysfs, for what is of this machine whatever the seam says: device names, and the
 * devices --add-disk writes (disk-stack.c). */
#define DISK_KERNEL_SYSFS "/sys"

/* sysfs/dev/block/MAJ:MIN, a device's directory (a link), into *ret. Returns 0 or -ENOMEM. */
int disk_dev_dir(const char *sysfs, dev_t devnum, char **ret);

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

/*
 * This machine's block devices as --add-disk needs them (DESIGN.md §12): read from the
 * kernel's own /sys, never the seam, since they name the devices a run writes. Loop devices
 * stand in for disks and partitions in the integration tests (this kernel makes no partition
 * devices for loop devices): a loop device at an offset, or with a size limit, over the same
 * file or over the loop disk itself is a partition stand-in (§12 rule 3).
 */

/* The kernel name of a device number ("vdb1", "loop7"). Returns 0 or -errno. */
int disk_name_of(dev_t devnum, char **ret);

/* Whether name is a loop device's. */
bool disk_is_loop(const char *name);

/* A loop device's backing file and offset and size limit in bytes (0: none). Returns 0,
 * -ENOENT when the loop device is unbound, or -errno. */
int disk_loop_backing(const char *name, char **ret_file, uint64_t *ret_off, uint64_t *ret_size);

/* Whether the device name is a partition (sysfs has its "partition" attribute). Returns 1, 0,
 * or -errno when sysfs does not know name. */
int disk_is_partition(const char *name);

/* Whether the device name is read-only (its "ro" attribute; false when unreadable). */
bool disk_read_only(const char *name);

/* Where the device name starts and how long it is, in 512-byte sectors: a partition's start
 * and size, or a loop stand-in's offset and size limit. Returns 0, or -EBADMSG when it is
 * neither. ret_size may be NULL. */
int disk_extent(const char *name, uint64_t *ret_start, uint64_t *ret_size);

/* The whole disk a device is on (itself when it is one): of a partition its parent, of a loop
 * partition stand-in the loop disk it is over or the one whole loop device over its file.
 * Returns 0 or -errno. */
int disk_of_device(dev_t devnum, char **ret_name, dev_t *ret_devnum);

/* A partition of a disk (a kernel partition) or its loop stand-in. */
struct disk_part_dev {
        char *name; /* kernel name, "vdb1", "loop7" */
        dev_t devnum;
        uint64_t start, size; /* 512-byte sectors */
};
void disk_part_devs_free(struct disk_part_dev *p, size_t n);

/* The partitions of the whole disk disk_name: its sysfs children, or for a loop disk the loop
 * stand-ins over its file and over the loop disk itself. Returns 0 or -errno. */
int disk_part_devs(const char *disk_name, struct disk_part_dev **ret, size_t *ret_n);

/* The first device holding name (sysfs holders/: an md array, a device-mapper device), as a
 * kernel name into *ret, or NULL. Returns 0 or -ENOMEM. */
int disk_holder(const char *name, char **ret);

/*
 * §12 rule 8: what a block device is backed by, down to what no block device is under: a
 * partition by its disk, a loop device by its backing block device or, for a file, by that
 * file (the device and inode LOOP_GET_STATUS64 reports) and the block device holding it, a
 * device-mapper or md device by each of its sysfs slaves. Two devices sharing a leaf share
 * storage.
 */
struct disk_leaf {
        bool file; /* a loop device's backing file (dev, ino); else a whole disk (dev) */
        dev_t dev;
        ino_t ino;
        char *path; /* how it was reached, "loop9 -> loop3 -> /img/disk0.img" */
};
void disk_leaves_free(struct disk_leaf *l, size_t n);

/* The leaves under devnum. Returns 0, or -errno with *why. */
int disk_leaves(dev_t devnum, struct disk_leaf **ret, size_t *ret_n, char **why);

/* --- the partitions of the disk holding a partition (DESIGN.md §11c X1) -------------------- */

struct disk_part {
        unsigned partno;
        char *type;      /* GPT type GUID (lower case), or MBR "0x83" */
        char *partuuid;  /* lower case, or NULL */
        char *partlabel; /* or NULL */
        char *node;      /* "/dev/vda2" when udev links it by PARTUUID, else NULL */
        dev_t devnum;    /* with node */
        char *fstype;    /* probed on node: NULL when unknown */
        char *uuid;
        char *label;
        char *mount; /* where it is mounted (its own mount, else a bind), NULL: nowhere */
};

struct disk_parts {
        char *disk; /* kernel name of the whole disk, "vda" */
        char *node; /* "/dev/vda" */
        struct disk_part *parts;
        size_t n;
};

void disk_parts_done(struct disk_parts *d);

/* The partitions of the disk that holds partition part_devnum (the siblings of a partition),
 * the kernel's view through sysfs (e.g. $DUAL_ROOT_SYSFS) and the table read from /dev/DISK:
 * each partition's number, type, PARTUUID and name; node, devnum, filesystem and mount are the
 * caller's to fill (xbootldr.c's disk_parts_of()). Returns 0; -ENOTBLK when part_devnum is no
 * partition (a loop device standing in for one: no disk to read); -errno with *why when the
 * disk's table cannot be read (-EACCES as a user). */
int disk_partition_table(const char *sysfs, dev_t part_devnum, struct disk_parts *ret, char **why);
