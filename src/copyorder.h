/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The order an ESP is copied in (DESIGN.md §5 rules 9, 12, 13), so that the alternate boots at
 * every instant with its old set or its new one:
 *
 *   1. files:     everything but /loader/, nothing deleted. New and changed files land
 *                 under temporary names and are renamed into place at the end: new kernels,
 *                 initrds and boot loader, each whole or not at all. In-process
 *                 (espcopy_files()), or rsync with --delay-updates where the config names its
 *                 own rsync_path or rsync_opts (copy_order_passes()).
 *   2. entries:   /loader/ only, the same way, each entry only once the files it names are
 *                 there, loader.conf last; then the old entries are removed. (espcopy.h)
 *   3. deletions: what the source lacks is removed: the files only old entries named, and
 *                 what a cut run left. A job whose loader entries are swapped (DESIGN.md §5b)
 *                 writes them only after this pass: so this pass keeps every file an entry on
 *                 the destination names (copy_entries_named()), and what only the old entries
 *                 named goes at the next sync. (espcopy.h)
 *
 * A cut (a kill, a power loss, an I/O error, ENOSPC) between or inside the passes leaves
 * temporary files that no boot loader reads, never a torn file under a name an entry uses,
 * and never an entry naming a file not yet (or no longer) there.
 */

#include <stdbool.h>
#include <stdint.h>

#define COPY_PASSES 3
#define COPY_ENTRIES_DIR "loader"

/* Which passes a copy needs (bit i: pass i), as copy_survey() finds. */
#define COPY_PASS_FILES (1u << 0)
#define COPY_PASS_ENTRIES (1u << 1)
#define COPY_PASS_DELETIONS (1u << 2)
#define COPY_PASSES_ALL (COPY_PASS_FILES | COPY_PASS_ENTRIES | COPY_PASS_DELETIONS)

struct copy_args {
        const char *rsync_path;
        char *const *opts;     /* the user's rsync_opts */
        char *const *excludes; /* the ESP's exclusions */
        bool test;             /* rsync -n -v */
        bool verify;           /* compare content (--checksum) where files are copied */
        bool itemize;          /* --itemize-changes (a quiet rsync's changes, see sync.c) */
        const char *source, *dest;
        bool progress; /* --info=progress2 */
};

/* rsync's argvs, one a pass, run in turn (rsync_spawn_passes_then()). */
struct copy_passes {
        char ***argv; /* NULL-terminated */
};
void copy_passes_done(struct copy_passes *p);

/* rsync's argv for pass 1, as a list of one. */
int copy_order_passes(const struct copy_args *a, struct copy_passes *ret);

/*
 * Every file a type #1 loader entry under dst_fd names (linux, efi, initrd, devicetree,
 * devicetree-overlay), as anchored rsync patterns that match that path only ('\' read as
 * '/', a wildcard character escaped), sorted, without duplicates: what the deletions pass
 * keeps while the destination's own entries are still the ones that boot (DESIGN.md §5b).
 * An entry that cannot be parsed names nothing; a path with a ".." component names nothing
 * below the ESP and is left out. Returns 0 or -errno with *why.
 */
int copy_entries_named(int dst_fd, char ***ret, char **why);

/* The first of opts that would break the order (writes in place, deletes early, deletes
 * excluded files, moves the source), or NULL. A plain "--delete" is fine: the passes say
 * when to delete. */
const char *copy_order_breaker(char *const *opts);

/*
 * What the copy needs beside the old set: every regular file of src (excludes and the ESP's
 * ignored names left out) that dst lacks or holds with another size or time, rounded up to
 * dst's block size, plus a block per new directory; and what dst has free. The old set is
 * deleted only after the new one is complete, so both must fit at once.
 */
int copy_space_needed(int src_fd, int dst_fd, char *const *excludes, uint64_t *ret_need,
                      uint64_t *ret_free, char **why);

/*
 * copy_space_needed(), and which passes have work, judged by names, types, sizes and
 * modification seconds (what the guard's fingerprint and rsync's quick check see): the
 * entries pass when something under /loader/ is new, changed or extra; the deletions pass
 * when something else is extra on dst (rsync's leftovers of a cut run included). The
 * files pass always runs. A sync that compares content runs them all.
 */
struct copy_survey {
        uint64_t need, avail;
        unsigned passes;
};
int copy_survey(int src_fd, int dst_fd, char *const *excludes, struct copy_survey *ret, char **why);
