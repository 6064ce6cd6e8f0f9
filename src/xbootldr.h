/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The partitions of an ESP's disk as the loader sees them (DESIGN.md §11c): the disk that
 * holds a partition (sysfs), its partition table (libblkid), each partition's device node
 * (udev's by-partuuid link), filesystem and mount points, and among them the Extended Boot
 * Loader partition (XBOOTLDR, GPT type XBOOTLDR_GPT_TYPE) systemd-boot reads beside the ESP.
 * The partitions are disk.h's (disk_parts_of()); facts only: status.c judges them.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <libmount.h>

#include "disk.h"

#define XBOOTLDR_GPT_TYPE "bc13c2ff-59e6-4262-a352-b275fd6f7172"
#define SDBOOT_DRIVERS_DIR "EFI/systemd/drivers"

/* The disk's first XBOOTLDR partition, or NULL. */
const struct disk_part *disk_parts_xbootldr(const struct disk_parts *d);

/* The file name of the EFI driver systemd-boot needs to read fstype: "ext4_x64.efi" (the
 * naming of rEFInd's and efifs' drivers); NULL when FAT, which the firmware reads itself.
 * Returns 0 or -ENOMEM. */
int xbootldr_driver_name(const char *fstype, char **ret);
