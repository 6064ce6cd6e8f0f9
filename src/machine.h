/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The machine a run works on (DESIGN.md §10): the mount table, /etc/fstab and the ESP model
 * built from a config, loaded once per run by machine_load() (main.c's verbs, the daemon's
 * rebuilds); and machine_run_plan(), the one way a sync plan is run to completion, with the
 * signal discipline rsync_wait() needs.
 */

#include <stdbool.h>
#include <stddef.h>

#include <libmount.h>

#include "config.h"
#include "esp.h"
#include "sync.h"

struct machine {
        struct libmnt_table *mounts; /* the mount table */
        struct libmnt_table *fstab;  /* fstab_path(), NULL when there is none or it is unreadable */
        char *fstab_warning;         /* why it is unreadable (the caller says it), or NULL */
        struct esp_model *model;
};

enum {
        MACHINE_PROBE = 1 << 0, /* the model reads superblocks (UUIDs, types) */
        MACHINE_FSTAB = 1 << 1, /* read fstab too */
};

/* What machine_load() could not load, for the report that names it. */
enum machine_part {
        MACHINE_PART_NONE,
        MACHINE_PART_MOUNTS, /* the mount table */
        MACHINE_PART_MODEL,  /* the ESP model */
};

/*
 * Loads the machine for config c. Returns 0, or -errno with *ret_part saying what failed and
 * *why the sentence to print ("cannot read the mount table /proc/self/mountinfo: ...", "cannot
 * build the ESP model: ..."); ret is then empty.
 */
int machine_load(const struct config *c, unsigned flags, struct machine *ret,
                 enum machine_part *ret_part, char **why);
void machine_done(struct machine *m);

/*
 * Runs every job of plan p (sync_plan_run()) with the signals rsync_wait() waits for blocked
 * from before the first rsync starts (none is lost; a stop signal stops rsync instead of
 * leaving it running). They stay blocked after, unless restore_signals. Returns 0 with
 * *ret_failed the jobs that ended REFUSED or FAILED, or -errno when the signals cannot be
 * blocked (nothing ran).
 */
int machine_run_plan(const struct sync_context *ctx, struct sync_plan *p, sync_start_cb cb,
                     sync_end_cb end, void *userdata, bool restore_signals, size_t *ret_failed);
