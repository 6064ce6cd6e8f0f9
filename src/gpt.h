/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A GPT partition table read and written through util-linux's libfdisk (DESIGN.md §12): the
 * booted disk's layout, and the same layout written onto a new disk with new disk and partition
 * GUIDs. libfdisk rather than sfdisk/sgdisk exec'd: no text to parse or to build, and the dry run
 * builds the very table it would write, in memory.
 */

#include <stdbool.h>
#include <stdint.h>

#define GPT_TYPE_ESP "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"

struct gpt_part {
        size_t partno;  /* 0-based, as libfdisk counts; the device is partno + 1 */
        uint64_t start; /* sectors */
        uint64_t size;  /* sectors */
        char *type;     /* type GUID, lower case */
        char *uuid;     /* partition GUID (PARTUUID), lower case */
        char *name;     /* may be NULL */
};

struct gpt_layout {
        unsigned long sector_size; /* logical, bytes */
        uint64_t nsectors;         /* of the whole disk */
        char *disk_guid;           /* lower case */
        struct gpt_part *parts;    /* in partition-number order */
        size_t n;
};

void gpt_layout_done(struct gpt_layout *l);

/* Reads dev's GPT. -ENODATA with *why when dev has no partition table, -EMEDIUMTYPE when it has
 * another kind (e.g. MBR); other -errno when it cannot be read. */
int gpt_read(const char *dev, struct gpt_layout *ret, char **why);

/* The smallest disk, in bytes, that holds l's partitions and the backup GPT after them. */
uint64_t gpt_layout_min_bytes(const struct gpt_layout *l);

/* True when b has a's partitions: the same numbers, starts, sizes and types (GUIDs and names
 * may differ). When not, *why (if not NULL) says the first difference. */
bool gpt_layout_same(const struct gpt_layout *a, const struct gpt_layout *b, char **why);

/* The partition of l with this type (first one), or NULL. */
const struct gpt_part *gpt_layout_find_type(const struct gpt_layout *l, const char *type);
const struct gpt_part *gpt_layout_find_partno(const struct gpt_layout *l, size_t partno);

/*
 * Builds on dev a new GPT with src's partitions (numbers, starts, sizes, types, names), a new
 * random disk GUID and new random partition GUIDs, and writes it (then fsync) unless test; in
 * test mode dev is opened read-only and the table is only built, so *ret shows what would be
 * written (GUIDs included, which a real run draws anew). Refuses a disk whose logical sector
 * size differs from src's, or too small (-ENOSPC). *ret: the table as written.
 */
int gpt_write_like(const char *dev, const struct gpt_layout *src, bool test, struct gpt_layout *ret,
                   char **why);
