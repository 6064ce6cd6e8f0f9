/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Per-disk files with their identifiers swapped (DESIGN.md §5b, config key swap_ids).
 *
 * In approach 2 each disk has its own root, so the files that name filesystems (fstab, boot
 * loader entries, kernel command lines) differ between the disks only in which filesystem
 * identifiers they name: disk A's fstab mounts A's root on / and B's on /mnt/root1, B's
 * mounts B's on / and A's on /mnt/root1. Such a file is copied with every identifier of
 * the source disk replaced by its counterpart's on the alternate and vice versa.
 *
 * The map: every (source filesystem, destination filesystem) of the sync list is a pair,
 * matched kind by kind (UUID, PARTUUID, LABEL, PARTLABEL) where both have one. Every other
 * filesystem on either disk is known too, without a counterpart: naming one of those is an error,
 * since the copy would name the wrong disk. Identifiers the map does not know (a network
 * filesystem, a RAID shared by both disks) are copied as they are.
 *
 * The map and the rewrite of one text are pure (this file's first half, unit tested);
 * swapids_map_probe() reads the block devices, swapids_job_*() the files (integration
 * tested on loop devices and in the VM).
 */

#include <stdbool.h>
#include <stddef.h>

#include "util/macro.h"

enum swapids_kind {
        SWAPIDS_UUID,
        SWAPIDS_PARTUUID,
        SWAPIDS_LABEL,
        SWAPIDS_PARTLABEL,
        _SWAPIDS_KIND_MAX,
};

/* "UUID", "PARTUUID", "LABEL", "PARTLABEL" */
const char *swapids_kind_to_string(enum swapids_kind k);

/* One filesystem's (or partition's) identifiers, NULL where it has none. */
struct swapids_fs {
        char *name; /* for messages, e.g. "/dev/vda2 (on /)" */
        char *uuid;
        char *partuuid;
        char *label;
        char *partlabel; /* the GPT partition name */
};

void swapids_fs_done(struct swapids_fs *fs);

struct swapids_entry {
        enum swapids_kind kind;
        char *value;
        char *counterpart; /* NULL: on one of the disks, with no counterpart on the other */
        char *fs;          /* the filesystem it identifies, for messages */
        char *other_fs;    /* the counterpart's filesystem, NULL with no counterpart */
        char *alone;       /* with no counterpart: why not, and what would pair it (or NULL) */
        bool source;       /* on the source disk (else on the alternate) */
        bool by_place;     /* paired by partition number, not by the sync list */
};

struct swapids_map {
        struct swapids_entry *entries;
        size_t n;
};

void swapids_map_done(struct swapids_map *m);

/*
 * Adds the pair src (on the source disk) <-> dst (on the alternate): both directions, for
 * each kind both have; a kind only one has is known without a counterpart. -EINVAL with
 * *why when an identifier already has another counterpart (one filesystem paired with two:
 * more than one alternate disk, or an item whose destination lies on another filesystem
 * than its siblings').
 */
int swapids_map_add_pair(struct swapids_map *m, const struct swapids_fs *src,
                         const struct swapids_fs *dst, char **why);

/* Adds a filesystem of one of the disks that no sync item pairs: known, no counterpart
 * (identifiers already paired keep their counterpart). */
int swapids_map_add_fs(struct swapids_map *m, const struct swapids_fs *fs, bool source);

/* A partition of one of the two disks (sysfs, libblkid), for swapids_map_add_disks(). */
struct swapids_part {
        const struct swapids_fs *fs;
        unsigned number;  /* sysfs "partition": N of the disk's partition table; 0 unknown */
        const char *type; /* libblkid TYPE ("swap", "ext4"), NULL when none is recognised */
        bool paired;      /* an end of a sync-list pair (swapids_map_add_pair() has it) */
};

/*
 * Adds the partitions of the source disk (src) and of the alternate (dst) that no sync item
 * pairs (DESIGN.md §5b W1): partition N of the source pairs with partition N of the
 * alternate, "by place", when neither is paired and both have the same type (never a type
 * with another or with none). Every other unpaired partition is known without a counterpart
 * and remembers why (entry.alone: what would pair it). Errors as swapids_map_add_pair().
 */
int swapids_map_add_disks(struct swapids_map *m, const struct swapids_part *src, size_t n_src,
                          const struct swapids_part *dst, size_t n_dst, char **why);

/* The entry for value (UUID and PARTUUID compared case-insensitively, LABEL exactly), or
 * NULL when neither disk has it. */
const struct swapids_entry *swapids_map_find(const struct swapids_map *m, enum swapids_kind k,
                                             const char *value);

/* The map as text lines ("UUID 1234... <-> 5678...  (/dev/vda2 <-> /dev/vdb2)", followed by
 * "  (same partition number)" for a pair by place), one per pair, then one per identifier
 * without a counterpart. */
int swapids_map_format(const struct swapids_map *m, char ***ret);

struct swapids_change {
        unsigned line;
        char *before; /* the whole line, without its newline */
        char *after;
};

struct swapids_result {
        char *text; /* the rewritten text, NUL-terminated (size bytes before the NUL) */
        size_t size;
        struct swapids_change *changes;
        size_t n_changes;
};

void swapids_result_done(struct swapids_result *r);

/*
 * Rewrites text (size bytes, as read from the file called name) with the map. Recognised,
 * anywhere on a line (DESIGN.md §5b W8): UUID=, PARTUUID=, LABEL=, PARTLABEL= (as fstab,
 * crypttab and kernel command lines write them, optionally quoted: root="UUID=..."; not
 * when part of a longer word), /dev/disk/by-uuid/, by-partuuid/, by-label/, by-partlabel/
 * paths, rd.luks.uuid=, luks.uuid=, rd.luks.name=, luks.name=, rd.luks.options=,
 * luks.options=, rd.luks.key=, luks.key=, rd.md.uuid= and the name luks-UUID. UUIDs compare
 * by their hex digits, case-insensitively, and are written in the case and with the
 * separators the original used; labels decode fstab's \040 and udev's \x20 escapes and are
 * written back escaped alike.
 *
 * A form naming a device that cannot be paired (a disk's kernel name, /dev/disk/by-id/ and
 * other by-* links, ID=, a malformed UUID) is -EINVAL with *why "name:line: form: why",
 * except on a comment line.
 *
 * An identifier the map knows without a counterpart is an error, -ENXIO with *why naming
 * "name:line: identifier", the filesystem, the disk and what would pair it; except on a comment
 * line (first non-blank '#'), which is swapped where the map can and otherwise left as it is. A NUL
 * byte: -EBADMSG (not a text file). *ret is written only on success.
 */
int swapids_rewrite(const struct swapids_map *m, const char *name, const char *text, size_t size,
                    struct swapids_result *ret, char **why);

/*
 * Whether text names, as its root filesystem (root= on a kernel command line, the device of
 * an fstab line mounting "/"), a filesystem the map places on the source disk (source
 * true) or on the alternate: 1 with the first such line and entry, 0 when none does. For
 * --status: the alternate's copies must name its own root, never the other disk's.
 */
int swapids_find_roots(const struct swapids_map *m, const char *text, size_t size, bool source,
                       unsigned *ret_line, const struct swapids_entry **ret);
