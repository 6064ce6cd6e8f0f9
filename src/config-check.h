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
