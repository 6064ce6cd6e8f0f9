/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the command layer (main.c's -s and the daemon) tells the user about a sync job. Only
 * these two callers print; modules do not (machine.c reads their inputs).
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
