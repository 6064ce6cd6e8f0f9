/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The in-process part of an ESP copy (DESIGN.md §5 rules 9, 10, 12, 13): all three passes,
 * or passes 2 and 3 after rsync's one run (pass 1 with --delay-updates, where the config sets
 * rsync_path or rsync_opts), and what comes before them.
 *
 *   pass 1: espcopy_files(): every new or changed file but /loader/'s under a temporary name,
 *           then renamed into place; nothing deleted.
 *   before: espcopy_clear_leftovers(): what an interrupted copy of ours left on the
 *           destination (rsync's .~tmp~ holding directories and .NAME.XXXXXX temporary
 *           files, our own .NAME.~dr~) is removed, so the room check judges the real room.
 *   pass 2: espcopy_entries(): /loader/ mirrored by hand: every new or changed file written
 *           under a temporary name, flushed, then renamed into place, the entries first and
 *           loader.conf last (its "default" always names a present entry); an entry is
 *           placed only when every file it names is on the destination as the source holds
 *           it now (else the source changed during the sync: nothing more is placed or
 *           deleted, ESPCOPY_SOURCE_CHANGED); then the old entries are removed.
 *   pass 3: espcopy_deletions(): what the source lacks is removed from the destination, but
 *           for exclusions and what copy_args.protect keeps (DESIGN.md §5b).
 *
 * With flush set, pass 2 flushes the destination (syncfs) once its temporary files are
 * written (so rsync's files and its own are on the disk before any entry is renamed in), before
 * loader.conf goes in, and at its end (the old entries' removal on the disk before pass 3
 * deletes what only they named); pass 3 leaves its flush to the sync's own (rule 6). Each change is
 * written to out_fd (a line "create PATH", "replace PATH", "delete PATH"), and a dry run (test)
 * only writes them.
 */

#include <stdbool.h>
#include <stdint.h>

/* Our temporary names: ".NAME" ESPCOPY_TMP_SUFFIX, in the directory of NAME. */
#define ESPCOPY_TMP_SUFFIX ".~dr~"

/* espcopy_entries(): an entry on the source names a file the destination does not hold as
 * the source does now (written between pass 1 and pass 2). */
#define ESPCOPY_SOURCE_CHANGED 1

struct espcopy_args {
        int src_fd, dst_fd;
        char *const *excludes; /* what is neither copied nor deleted (rsync patterns) */
        char *const *protect;  /* pass 3 keeps these ('/'-anchored rsync patterns) */
        bool test;             /* only say what would change */
        bool flush;            /* syncfs() the destination after each phase */
        bool verify;           /* pass 1: compare content, not size and time (--checksum) */
        int out_fd;            /* where each change is told, -1: nowhere */
};

/* Pass 1 done in-process (DESIGN.md §5 rule 9, "Why in-process"): every file but /loader/'s
 * the destination lacks or holds with another size or time (another content, with verify)
 * written whole under a temporary name, then renamed into place (flushed first when one
 * replaces a file); new directories made; nothing deleted; another filesystem mounted below
 * the source not entered. Returns 0 or -errno with *why. */
int espcopy_files(const struct espcopy_args *a, char **why);

/* Pass 2. Returns 0, ESPCOPY_SOURCE_CHANGED (with *why naming the entry and the file), or
 * -errno with *why. */
int espcopy_entries(const struct espcopy_args *a, char **why);

/* Pass 3. Returns 0 or -errno with *why. */
int espcopy_deletions(const struct espcopy_args *a, char **why);

/*
 * DESIGN.md §5 rule 10: our leftovers on dst_fd (below any directory) that src_fd does not
 * hold under the same path and that no pattern of protect keeps: removed (unless dry), their
 * size (in allocated bytes) added to *ret_bytes, their number to *ret_count.
 */
int espcopy_clear_leftovers(int src_fd, int dst_fd, char *const *protect, bool dry,
                            uint64_t *ret_bytes, unsigned *ret_count, char **why);

/* True when name is one of our or rsync's temporary names (".~tmp~", ".NAME.XXXXXX",
 * ".NAME" ESPCOPY_TMP_SUFFIX). */
bool espcopy_is_leftover_name(const char *name);
