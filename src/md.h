/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Linux md (software RAID) arrays as the kernel shows them in sysfs (DESIGN.md §11 rule S10):
 * /sys/block/mdX/md/{level,layout,raid_disks,degraded,array_state,sync_action,sync_completed,
 * sync_speed,uuid} and, per member, md/dev-NAME/{state,slot,block}, where "block" links to the
 * member's block device (and so to its disk). Read through one sysfs root, disk_sysfs_root():
 * $DUAL_ROOT_SYSFS or /sys. Not mdadm's text output, nor /proc/mdstat.
 *
 * Also the initrd's view: whether mdadm.conf has an ARRAY line for the array's UUID, and the
 * devices= it restricts assembly to.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "disk.h"

struct md_member {
        char *name;      /* kernel name of the member's block device, "vda3" */
        char *disk;      /* its whole disk's kernel name ("vda"; the device itself when it is not a
                            partition); NULL when the link cannot be read */
        char *state;     /* md's state words, "in_sync", "spare", "faulty", ... as read */
        unsigned partno; /* its partition number (sysfs "partition"), 0 when no partition */
        int slot;        /* its role in the array, -1 for none (a spare not in use) */
        bool in_sync;    /* "in_sync" among the state words and not "faulty" */
        bool faulty;
};

struct md_array {
        char *name;        /* "md0" */
        char *level;       /* "raid1", "raid10", "raid5", ... */
        char *array_state; /* "clean", "active", "inactive", "read-auto", ... */
        char *sync_action; /* "idle", "resync", "recover", "reshape", "check", "repair",
                              "frozen"; NULL for levels that have none (raid0, linear) */
        char *uuid;        /* 32 lower-case hex digits, or NULL when the kernel shows none */
        unsigned raid_disks;
        unsigned degraded; /* md/degraded: slots without an in-sync member */
        uint32_t layout;   /* md/layout (raid10: near copies in bits 0-7, far in 8-15) */
        bool sync_running; /* sync_completed gives numbers */
        uint64_t sync_done, sync_total; /* sectors */
        uint64_t sync_speed;            /* KiB/s, 0 when unknown */
        struct md_member *members;
        size_t n_members;
};

/* disk_sysfs_root(), under the name adddisk.c still uses (DESIGN.md §10: its sysfs readers are
 * the next to move to disk.c). */
static inline const char *md_sysfs_root(void)
{
        return disk_sysfs_root();
}

/* Reads array name ("md0") under sysfs/block. -ENOENT when it is no md array; -errno with *why
 * naming the attribute otherwise. */
int md_array_read(const char *sysfs, const char *name, struct md_array *ret, char **why);
void md_array_done(struct md_array *a);

/* The md arrays a block device is, or is built on (through sysfs/dev/block/MAJ:MIN, a
 * partition's parent and "slaves/": LUKS or LVM on md), depth first; *ret NULL-terminated,
 * possibly empty. Returns 0, or -errno when the device's sysfs directory cannot be read. */
int md_arrays_under(const char *sysfs, dev_t dev, char ***ret);

/* Whether two UUIDs name the same array, in any of the forms mdadm, blkid and sysfs print
 * (colons or dashes, any case): 32 hex digits compared. */
bool md_uuid_equal(const char *a, const char *b);

/* The member holding a slot (in sync or not), or NULL. */
const struct md_member *md_member_in_slot(const struct md_array *a, int slot);

/*
 * Whether the array still has every block with the members on the disks named in gone_disks
 * (NULL-terminated, may be NULL) lost too. A slot counts only when an in-sync member holds it:
 * raid1 needs one, raid4/5 may lack one slot, raid6 two, raid10 no whole mirror group (near
 * copies in aligned groups of slots; for far/offset layouts, conservatively, no run of copies
 * consecutive slots); raid0, linear and levels unknown to us lack none.
 */
bool md_survives(const struct md_array *a, char *const *gone_disks);

/* Every in-sync member can be lost alone and the array survives: the array is redundant. */
bool md_redundant(const struct md_array *a);

/* Seconds until the running resync/recovery/reshape ends at the current speed, -1 when not
 * known. Permille done into *ret_permille (when a sync runs). */
int64_t md_sync_seconds_left(const struct md_array *a, unsigned *ret_permille);

/*
 * mdadm.conf (mdadm.conf(5)): the ARRAY line for uuid (any separator, any case: compared as
 * 32 hex digits). Lines starting with blanks continue the previous one; '#' starts a comment.
 * Returns 1 with *ret_line its line number and *ret_devices its devices= value (or NULL), 0 when
 * no ARRAY line has that UUID, -ENOMEM.
 */
int md_conf_find(const char *text, const char *uuid, unsigned *ret_line, char **ret_devices);

/* Where mdadm and the initramfs tools read it, in that order: "/etc/mdadm/mdadm.conf"
 * (Debian, Ubuntu), "/etc/mdadm.conf" (RHEL, Arch); NULL-terminated. */
extern const char *const md_conf_paths[];
