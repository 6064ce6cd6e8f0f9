/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "notify.h"
#include "report.h"
#include "util/log.h"
#include "util/strv.h"

/* "1.25s" below a minute, else "1h2m3s" (format_duration): never an exponent. */
static const char *job_duration(usec_t d, char *buf, size_t size)
{
        if (d < 60 * USEC_PER_SEC) {
                snprintf(buf, size, "%.2fs", (double)d / USEC_PER_SEC);
                return buf;
        }
        return format_duration(d, buf, size);
}

static void report_progress(const struct sync_job *j, enum report_mode mode, bool quiet)
{
        const char *state = sync_state_to_string(j->state);
        char detail[64], took[32];

        job_duration(j->duration, took, sizeof(took));
        if (mode == REPORT_DAEMON && j->state == SYNC_DONE)
                snprintf(detail, sizeof(detail), " in %s", took);
        else if (mode == REPORT_DAEMON)
                snprintf(detail, sizeof(detail), " (dry run) in %s", took);
        else if (j->state == SYNC_DONE)
                snprintf(detail, sizeof(detail), " (%s)", took);
        else
                snprintf(detail, sizeof(detail), ": nothing was changed");

        /* What swap_ids would write (DESIGN.md §5b), before the line that ends the job. */
        STRV_FOREACH(n, j->swap_notes)
        {
                if (mode == REPORT_DAEMON)
                        log_info("%s", *n);
                else if (!quiet)
                        printf("%s\n", *n);
        }

        /* What is worth knowing besides ("completed an interrupted sync ..."). */
        const char *sep = !j->note ? "" : mode == REPORT_DAEMON ? ": " : "; ";
        const char *note = j->note ? j->note : "";

        if (mode == REPORT_DAEMON) {
                log_info("%s %s -> %s%s%s%s", state, j->source, j->dest, detail, sep, note);
                if (j->state == SYNC_DONE)
                        notify_sendf("STATUS=%s %s -> %s%s", state, j->source, j->dest, detail);
        } else if (!quiet)
                printf("%s %s -> %s%s%s%s\n", state, j->source, j->dest, detail, sep, note);
}

void report_job(const struct sync_job *j, enum report_mode mode, bool quiet)
{
        const char *state = sync_state_to_string(j->state);
        char after[48] = "";

        switch (j->state) {
        case SYNC_PENDING:
                return;
        case SYNC_DONE:
        case SYNC_TESTED:
                report_progress(j, mode, quiet);
                return;
        case SYNC_SKIPPED:
                log_warning("%s %s -> %s: %s", state, j->source, j->dest, strna(j->why));
                break;
        case SYNC_REFUSED:
        case SYNC_FAILED:
                /* The daemon's log has no summary line: each failure says how long it ran. */
                if (mode == REPORT_DAEMON) {
                        char took[32];

                        snprintf(after, sizeof(after), " after %s",
                                 job_duration(j->duration, took, sizeof(took)));
                }
                if (j->source)
                        log_error("%s %s -> %s%s: %s", state, j->source, j->dest, after,
                                  strna(j->why));
                else
                        log_error("%s %s: %s", state, j->item, strna(j->why));
                break;
        }
        if (mode == REPORT_DAEMON && j->source)
                notify_sendf("STATUS=%s %s -> %s: %s", state, j->source, j->dest, strna(j->why));
        else if (mode == REPORT_DAEMON)
                notify_sendf("STATUS=%s %s: %s", state, j->item, strna(j->why));
}
