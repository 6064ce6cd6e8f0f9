/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What a config must pass before anything uses it, beyond what its parse can see: the checks
 * that need the machine (DESIGN.md §7 C7). One function for every caller, so --check-config,
 * -s, -d's start and its SIGHUP reload refuse the same configs with the same message.
 */

#include <libmount.h>

#include "config.h"
#include "esp.h"

struct config_check_context {
        const struct esp_model *model; /* the booted ESP may be unknown */
        struct libmnt_table *mounts;   /* the mount table */
        struct libmnt_table *fstab;    /* /etc/fstab; NULL when it has none */
};

/*
 * In this order: rsync_opts that break the ESP copy order and rule 11 destinations (both
 * sync_config_validate()); rsync_path an executable regular file (when something is ever
 * synced: dualroot or a sync list); every esp_mounts entry an existing directory; every sync
 * item's source existing and each destination an existing directory. A path missing because
 * a disk is (under a mount point of fstab with nothing mounted) is no error: the job skips
 * or refuses it (DESIGN.md §5 rules 2, 3). Returns 0, or -errno with *why naming the file (and
 * line), the key or item, the path and what was expected; the caller exits 2.
 */
int config_check(const struct config *c, const struct config_check_context *cx, char **why);

/*
 * --check-config with swap_ids (DESIGN.md §5b): for each job that swaps identifiers, what -t
 * would change, appended to *lines ("ITEM SOURCE -> DEST:" then a line a note, indented), or
 * why its files cannot be swapped, appended to *errors ("ITEM SOURCE -> DEST: WHY"), as is a
 * plan that cannot be made. Returns 0 (a config error when *errors grew) or -ENOMEM.
 */
int config_check_swap_ids(const struct config *c, const struct esp_model *m,
                          struct libmnt_table *mounts, char ***lines, char ***errors);
