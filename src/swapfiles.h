/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * swap_ids files in a sync job (DESIGN.md §5b): which of a job's files are swapped, the
 * identifier map read from the block devices, and the crash-safe write of the swapped
 * copies. The text rewrite itself is swapids.c.
 *
 * A job's swap files are excluded from its rsync run and from the rollback guard's
 * fingerprint (both sides alike, so the copies never look like a change), and written here
 * after rsync succeeded and before the destination is flushed: read, rewritten, compared
 * with what the destination holds (unchanged: not written, so a sync that changes nothing
 * writes nothing), written to a temporary file in the same directory, fsync'ed, renamed.
 */

#include <stdbool.h>
#include <sys/stat.h>

#include "swapids.h"

struct config;
struct esp_model;
struct libmnt_table;

/* The temporary file's name, in the destination file's directory. */
#define SWAPFILES_TMP ".dual-root-swap.tmp"

/*
 * The rsync patterns, anchored at the transfer root of a job with this source (rsync
 * notation: "/etc/" copies /etc's contents, "/etc" the directory etc), that cover the
 * swap_ids entries under it not excluded by the job's excludes: "/fstab" for a file,
 * "/loader/entries/" followed by "*" for a directory (an entry ending in '/'), and each file's
 * temporary file. An empty vector when none is under source. From the config alone: the same for
 * every run of the job.
 */
int swapfiles_excludes(char *const *swap_ids, const char *source, char *const *excludes,
                       char ***ret);

/*
 * The boot loader files under source that name filesystems (DESIGN.md §11b L5): GRUB's stub
 * and bootuuid.cfg in EFI/<distributor>/, grub.cfg in grub/, grub2/, boot/grub/,
 * boot/grub2/, rEFInd's EFI/refind/refind.conf and refind_linux.conf (at the top and in
 * boot/), as absolute paths in their stored spelling, sorted. Each disk's copy must name its
 * own disk's filesystems, so every job swaps them as if swap_ids listed them.
 */
int swapfiles_loader_files(const char *source, char ***ret);

/* The files a job with this source swaps: swap_ids and the loader files under source. */
int swapfiles_job_ids(char *const *swap_ids, const char *source, char ***ret);

/*
 * The identifier map of the sync list: for every (source, destination) of the config's
 * items, and of the ESP item when c->dualroot (the booted ESP and each alternate), the
 * filesystems both are on form a pair; the other partitions of the disks holding them are
 * known without a counterpart. Pairs whose ends cannot be reached (a destination not
 * there) or are not on a block device (NFS, tmpfs) are left out. Reads the block devices
 * (libblkid: needs root).
 */
int swapfiles_map_build(const struct config *c, const struct esp_model *m,
                        struct libmnt_table *mounts, struct swapids_map *ret, char **why);

struct swapfiles_file {
        char *src;      /* absolute path on the source */
        char *dst;      /* absolute path on the destination */
        bool remove;    /* gone from the source: the destination's copy goes too */
        bool same;      /* the destination holds exactly this already */
        bool exists;    /* the destination has the file now */
        struct stat st; /* the source's */
        struct swapids_result res;
};

struct swapfiles_plan {
        struct swapfiles_file *files;
        size_t n;
};

void swapfiles_plan_done(struct swapfiles_plan *p);

/*
 * Reads and rewrites every swap file of the job (as swapfiles_excludes() selects them)
 * and compares each with the destination. Writes nothing. Errors name the file (and for
 * the rewrite line and identifier): -ENXIO an identifier without a counterpart, -EBADMSG
 * not text, -EFBIG larger than 1 MiB, -EINVAL not a regular file (a symlink, a directory
 * where a file was named).
 */
int swapfiles_plan(char *const *swap_ids, const char *source, const char *dest,
                   char *const *excludes, const struct swapids_map *map, struct swapfiles_plan *ret,
                   char **why);

/* Carries the plan out: each differing file written crash-safely with the source's mode,
 * owner (neither on FAT) and modification time, each gone one removed. *ret_changed: how
 * many. */
int swapfiles_write(const struct swapfiles_plan *p, unsigned *ret_changed, char **why);

/* What the plan would do, one line each (-t): "write DST (N lines swapped)" followed by
 * "  LINE: -before" / "  LINE: +after" lines, "unchanged DST", "remove DST". */
int swapfiles_describe(const struct swapfiles_plan *p, char ***ret);

/*
 * A job's prepare step (before rsync, under the destination's lock): builds the map, plans
 * every swap file, and so refuses the job before anything is written when one cannot be
 * swapped. Test mode: *ret_notes says what would be done (the map, then each file and
 * each line it would change). *ret_map is kept for swapfiles_job_finish().
 */
int swapfiles_job_prepare(const struct config *c, const struct esp_model *m,
                          struct libmnt_table *mounts, const char *source, const char *dest,
                          char *const *excludes, bool test, struct swapids_map **ret_map,
                          char ***ret_notes, char **why);

/* A job's finish step (after rsync succeeded, before the flush): plans again (the source
 * may have changed while rsync ran) and writes. */
int swapfiles_job_finish(const struct config *c, const struct swapids_map *map, const char *source,
                         const char *dest, char *const *excludes, char **why);

static inline void swapids_map_freep(struct swapids_map **m)
{
        if (*m) {
                swapids_map_done(*m);
                free(*m);
                *m = NULL;
        }
}

/*
 * --status for one job: whether each swapped file's copy on the destination is what a sync
 * would write there (else a warning: not synced since the source changed, edited on the
 * alternate, missing), and whether a copy names, as its root, a filesystem of the source
 * disk (critical: booted alone, the alternate would not find its own root). Appends one
 * line per finding to *warnings or *critical, and to *ok when the copies are all as they
 * should be. Returns 0 or -ENOMEM.
 */
int swapfiles_check_dest(const struct config *c, const struct esp_model *m,
                         struct libmnt_table *mounts, const char *source, const char *dest,
                         char *const *excludes, char ***warnings, char ***critical, char ***ok);
