/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the command layer (main.c's -s and the daemon) tells the user about a sync job, and
 * the inputs both read the same way. Only these two callers print; modules do not.
 */

#include <stdbool.h>

#include <libmount.h>

#include "sync.h"

enum report_mode {
        REPORT_ONE_SHOT, /* -s: progress on stdout (a summary follows), problems on stderr */
        REPORT_DAEMON,   /* -d: everything in the log, and the latest as sd_notify STATUS= */
};

/*
 * Tells how job j ended: SYNC_DONE and SYNC_TESTED as progress (not with quiet in
 * REPORT_ONE_SHOT mode), SYNC_SKIPPED as a warning, SYNC_REFUSED and SYNC_FAILED as errors
 * naming the job and the cause. SYNC_PENDING says nothing.
 */
void report_job(const struct sync_job *j, enum report_mode mode, bool quiet);

/*
 * fstab (fstab_path()) for the mount checks of sync and --status: NULL when there is none, or (with
 * a warning) when it cannot be read; the checks then use the mount table only.
 */
struct libmnt_table *report_load_fstab(void);
