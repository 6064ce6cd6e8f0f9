/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * fstab lines for the ESPs, and the atomic edit that adds one (DESIGN.md §12 rule 5): the new
 * text goes to a temporary file in the same directory, is flushed (fsync), renamed over fstab,
 * and the directory is flushed; the previous fstab is kept, flushed the same way, as
 * FSTAB_BACKUP_SUFFIX beside it. A crash leaves the old file or the new one, never a torn one.
 */

#include <stdbool.h>

#define FSTAB_DEFAULT "/etc/fstab"
#define FSTAB_BACKUP_SUFFIX ".dual-root.bak"
#define FSTAB_TMP_SUFFIX ".dual-root.tmp"

/* The README's options for an ESP: a dead disk must neither stop the boot (nofail) nor hold it
 * for 90 s (the device timeout), and every ESP is mounted before the bind mount runs. */
#define FSTAB_ESP_OPTIONS                                                                          \
        "umask=0077,nofail,x-systemd.device-timeout=30s,x-systemd.before=bind-mount-efi.service"

/* $DUAL_ROOT_FSTAB when set (secure_getenv; a test seam, see docs/TESTING.md), else
 * FSTAB_DEFAULT. Every reader and writer of fstab in the tool goes through this. */
const char *fstab_path(void);

/* "PARTUUID=<partuuid> <target> vfat FSTAB_ESP_OPTIONS 0 2" (no newline). */
char *fstab_esp_line(const char *partuuid, const char *target);

/*
 * In fstab text: the target of the first active line whose source is PARTUUID=<partuuid> (any
 * case), via *ret_target (may be NULL) -> 1; 0 when there is none. -ENOMEM.
 */
int fstab_text_find_partuuid(const char *text, const char *partuuid, char **ret_target);

/* The same for a source TAG VALUE ("UUID=", "PARTUUID=", ...; both compared in any case). */
int fstab_text_find_tagged(const char *text, const char *tag, const char *value, char **ret_target);

/* True when an active line of text mounts something on target (trailing slashes ignored). */
bool fstab_text_has_target(const char *text, const char *target);

/* Called with each active line's source, target and the whole line (no newline); a non-zero
 * return stops the walk and is returned. */
typedef int (*fstab_line_func)(const char *src, const char *target, const char *line, void *u);
int fstab_text_foreach(const char *text, fstab_line_func f, void *u);

/* The same mount point, trailing slashes ignored. */
bool fstab_same_target(const char *a, const char *b);

/*
 * A replacement disk's ESP takes the missing one's place (DESIGN.md §12 rule 9): text with the
 * first active line whose source is exactly old_source and whose target is target given
 * new_source instead, everything else (the line's other fields and blanks, every other line)
 * kept byte for byte; *ret_old and *ret_new (each may be NULL) the line before and after, without
 * the newline. -ENOENT when no line matches, -ENOMEM.
 */
int fstab_text_replace_source(const char *text, const char *target, const char *old_source,
                              const char *new_source, char **ret_text, char **ret_old,
                              char **ret_new);

/* text with line appended (and the newline text lacks at its end, if any). NULL on ENOMEM. */
char *fstab_text_append(const char *text, const char *line);

/*
 * Adds line (the ESP partuuid's, for target) to the fstab at path: 0 when an active line already
 * mounts partuuid on target (nothing written), 1 when added; -EEXIST when partuuid is mounted
 * elsewhere or target holds another source there, with *why naming the line. test: only says
 * what it would do (returns 1 without writing). A missing fstab is created (mode 0644).
 */
int fstab_add_line(const char *path, const char *partuuid, const char *target, const char *line,
                   bool test, char **why);

/*
 * In the fstab at path, the line mounting old_source on target gets PARTUUID=<partuuid> as its
 * source (fstab_text_replace_source), written as fstab_write_atomic does, the old text kept as
 * the backup: 1 (*ret_old, *ret_new the two lines); 0 when an active line already mounts
 * partuuid on target (an earlier run's, nothing written); -EEXIST when partuuid is mounted
 * elsewhere, -ENOENT when the old line is gone, with *why. test: only says what it would do.
 */
int fstab_replace_source(const char *path, const char *target, const char *old_source,
                         const char *partuuid, bool test, char **ret_old, char **ret_new,
                         char **why);

/* Replaces path by text atomically, keeping the current content as path FSTAB_BACKUP_SUFFIX
 * (when there is one). path must not be a symbolic link. */
int fstab_write_atomic(const char *path, const char *text, char **why);
