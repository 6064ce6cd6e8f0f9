/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The rollback guard (DESIGN.md §5 rule 4). When the machine boots from a stale disk (one that
 * missed updates while it was absent), its ESP must not overwrite the newer alternate.
 *
 * File times cannot tell which ESP is newer: rsync copies them, dpkg sets them from the
 * package, and on FAT the kernel stores ctime in the same field as mtime. So each ESP keeps
 * a record, GUARD_STATE_FILE at its root (never synced), of a fingerprint of its tree as it
 * was right after its last sync. An alternate whose tree no longer matches its record has
 * been changed by something other than us since then (it was booted and updated while the
 * booted ESP was away): overwriting it could roll it back, so the sync is refused unless
 * its content already equals the source's, or --force is given.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define GUARD_STATE_FILE ".dual-root-state"
#define GUARD_STATE_TMP ".dual-root-state.new"

/* A fingerprint of the tree under dirfd: every entry's relative path, type, size and
 * modification second (directory times excluded: they change on their own), sorted, hashed
 * (64-bit FNV-1a). Skips lost+found and the state files at the root, and names matching
 * excludes (rsync-style patterns: a leading '/' anchors at the root). */
int guard_fingerprint(int dirfd, char *const *excludes, uint64_t *ret, char **why);

/* What guard_check allows. */
enum {
        /* dst is as our last sync left it (its record matches): only behind, and rsync's
         * quick check (size and time) can be trusted. */
        GUARD_BEHIND = 0,
        /* dst has no record of ours, or changed since into exactly what src holds (names,
         * sizes, times): allowed, but its content must be compared (rsync --checksum), since
         * a copy torn by a crash before the last sync's flush has the right size and time. */
        GUARD_VERIFY = 1,
        /* dst holds our own unfinished copy: a sync from this same source was cut there
         * (DESIGN.md §5 rule 10). Allowed, its content compared. guard_assess() only. */
        GUARD_RESUME = 2,
        /* dst is as our last sync left it and src holds just that (names, sizes, times):
         * nothing to copy. guard_assess() only. */
        GUARD_IN_SYNC = 3,
};

struct guard_verdict {
        int verdict;   /* GUARD_* */
        bool recorded; /* dst has a record of a completed sync of ours */
        bool dst_fp_known, src_fp_known;
        uint64_t dst_fp, src_fp;
        time_t verified;      /* when dst's content was last compared by a sync, 0: never */
        char *resumed_since;  /* GUARD_RESUME: when the interrupted sync started (UTC) */
        char *resumed_source; /* GUARD_RESUME: its source, as recorded */
};
void guard_verdict_done(struct guard_verdict *v);

/*
 * The whole verdict on syncing src (identified by src_id, its PARTUUID, or NULL) onto dst:
 * a GUARD_* value (also in ret->verdict), or -EEXIST with *why when the sync could roll dst
 * back (another -errno with *why when the record cannot be read: also a refusal). A record
 * holding an intent from src_id is GUARD_RESUME; one from another source does not change
 * the verdict, only the refusal's message.
 */
int guard_assess(int src_fd, const char *src_name, const char *src_id, int dst_fd,
                 const char *dst_name, char *const *excludes, struct guard_verdict *ret,
                 char **why);

/*
 * DESIGN.md §5 rule 10: before the copy starts, dst's record says that a sync from src_id
 * (towards the source's fingerprint target_fp) is under way; the last completed sync's
 * fingerprint stays. Flushed (file and directory) before this returns, so it is on the disk
 * before any of rsync's writes can be. guard_record*() clears it.
 */
int guard_intent(int dst_fd, const char *src_id, uint64_t target_fp, char **why);

/* GUARD_BEHIND or GUARD_VERIFY when syncing src onto dst cannot roll dst back; -EEXIST with
 * *why when it could. Other -errno (with *why) when the state cannot be read: also a
 * refusal. dst_name/src_name are for messages. */
int guard_check(int src_fd, const char *src_name, int dst_fd, const char *dst_name,
                char *const *excludes, char **why);

/* guard_check, also telling the destination's fingerprint when it had to compute one
 * (*ret_known false otherwise). */
int guard_check_fp(int src_fd, const char *src_name, int dst_fd, const char *dst_name,
                   char *const *excludes, uint64_t *ret_dst_fp, bool *ret_known, char **why);

/*
 * After rsync succeeded and the destination was flushed: records both trees' fingerprints
 * (each replaced atomically by rename; an unchanged record is not rewritten). A record
 * never describes data that is not on the disk yet, so a crash cannot leave a torn copy
 * looking finished. No fsync of its own: the kernel writes it back within seconds, and a
 * record lost in a crash leaves an older one, which makes the next sync compare content
 * (GUARD_VERIFY) or refuse with a message asking for --force, never allow a rollback.
 */
int guard_record(int src_fd, int dst_fd, char *const *excludes, const char *src_partuuid,
                 char **why);
/* guard_record, also saying whether this sync compared content (recorded as verified=, for
 * the periodic content check). */
int guard_record_verified(int src_fd, int dst_fd, char *const *excludes, const char *src_partuuid,
                          bool verified, char **why);

/* guard_record when the destination's fingerprint is known without a walk (rsync changed
 * nothing there since guard_check_fp computed it). */
int guard_record_fp(int src_fd, int dst_fd, uint64_t dst_fp, char *const *excludes,
                    const char *src_partuuid, bool verified, char **why);
