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

/* True when an active line of text mounts something on target (trailing slashes ignored). */
bool fstab_text_has_target(const char *text, const char *target);

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

/* Replaces path by text atomically, keeping the current content as path FSTAB_BACKUP_SUFFIX
 * (when there is one). path must not be a symbolic link. */
int fstab_write_atomic(const char *path, const char *text, char **why);
