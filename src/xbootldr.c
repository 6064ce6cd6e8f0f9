/* SPDX-License-Identifier: MIT */
/*
 * The XBOOTLDR partition of an ESP's disk (DESIGN.md §11c rule X1): found by partition type
 * among the partitions of the disk that holds the ESP (disk.h's disk_parts_of()), wherever it
 * is mounted.
 */
#include "bootentry.h"
#include "util/strv.h"
#include "xbootldr.h"

const struct disk_part *disk_parts_xbootldr(const struct disk_parts *d)
{
        for (size_t i = 0; i < d->n; i++)
                if (streq_ptr(d->parts[i].type, XBOOTLDR_GPT_TYPE))
                        return &d->parts[i];
        return NULL;
}

int xbootldr_driver_name(const char *fstype, char **ret)
{
        *ret = NULL;
        if (!fstype || streq(fstype, "vfat") || streq(fstype, "msdos"))
                return 0;
        return asprintf(ret, "%s_%s.efi", fstype, EFI_ARCH) < 0 ? -ENOMEM : 0;
}
