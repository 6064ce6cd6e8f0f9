/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The partitions of an ESP's disk as the loader sees them (DESIGN.md §11c): the disk that
 * holds a partition (sysfs), its partition table (libblkid), each partition's device node
 * (udev's by-partuuid link), filesystem and mount points, and among them the Extended Boot
 * Loader partition (XBOOTLDR, GPT type XBOOTLDR_GPT_TYPE) systemd-boot reads beside the ESP.
 * The partition table is disk.h's (disk_partition_table()); facts only: status.c judges them.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <libmount.h>

#include "disk.h"

#define XBOOTLDR_GPT_TYPE "bc13c2ff-59e6-4262-a352-b275fd6f7172"
#define SDBOOT_DRIVERS_DIR "EFI/systemd/drivers"

/* The partitions of the disk that holds partition part_devnum (disk_partition_table()), each
 * with its node (udev's by-partuuid link), filesystem (probed) and mount point. Returns 0;
 * -ENOTBLK when part_devnum is no partition (a loop device standing in for one: no disk to
 * read); -errno with *why when the disk's table cannot be read (-EACCES as a user). t: the
 * mount table, for each partition's mount point (may be NULL). */
int disk_parts_of(const char *sysfs, dev_t part_devnum, struct libmnt_table *t,
                  struct disk_parts *ret, char **why);

/* The disk's first XBOOTLDR partition, or NULL. */
const struct disk_part *disk_parts_xbootldr(const struct disk_parts *d);

/* The fstab line that mounts p (PARTUUID=, UUID=, LABEL=, PARTLABEL=, its by-partuuid link or
 * its node), or NULL. */
struct libmnt_fs *disk_part_fstab_line(const struct disk_part *p, struct libmnt_table *fstab);

/* The file name of the EFI driver systemd-boot needs to read fstype: "ext4_x64.efi" (the
 * naming of rEFInd's and efifs' drivers); NULL when FAT, which the firmware reads itself.
 * Returns 0 or -ENOMEM. */
int xbootldr_driver_name(const char *fstype, char **ret);
