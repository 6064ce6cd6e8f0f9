/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Progress of long work (DESIGN.md §14): what is done, the rate and the time left. On a
 * terminal one line is rewritten in place; anywhere else (a pipe, the journal) a line is
 * printed when the work begins, then at most one a minute, then one when it ends. -v makes
 * that one every 10 s; -q shows nothing.
 *
 *     struct progress p;
 *     progress_begin(&p, stderr, PROGRESS_NORMAL, PROGRESS_PERMILLE, "replacing device 1", now);
 *     while (...) progress_update(&p, permille, 1000, now_usec(CLOCK_MONOTONIC));
 *     progress_end(&p, "done", now_usec(CLOCK_MONOTONIC));
 *
 * Times are passed in (CLOCK_MONOTONIC microseconds) so tests drive the throttling.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/time-util.h"

enum progress_level {
        PROGRESS_QUIET = -1, /* -q: nothing */
        PROGRESS_NORMAL = 0,
        PROGRESS_VERBOSE = 1, /* -v: a line every 10 s off a terminal */
};

enum progress_unit {
        PROGRESS_BYTES,    /* "1.5 GiB of 4.0 GiB (37%), 25.0 MiB/s, 1m40s left" */
        PROGRESS_ITEMS,    /* "3 of 10 (30%), 5s left" */
        PROGRESS_PERMILLE, /* done of 1000: "42.3%, 3m10s left" */
        PROGRESS_WAIT,     /* a wait with a limit (total, in µs): "4s so far, at most 30s" */
};

#define PROGRESS_LINE_INTERVAL (60 * USEC_PER_SEC)
#define PROGRESS_LINE_INTERVAL_VERBOSE (10 * USEC_PER_SEC)
#define PROGRESS_REDRAW_INTERVAL (200 * USEC_PER_MSEC)

struct progress {
        FILE *out;       /* NULL: silent */
        bool live;       /* out is a terminal: one line rewritten in place */
        usec_t interval; /* least time between two lines, or two redraws when live */
        enum progress_unit unit;
        char *what;
        usec_t started, printed; /* printed: when the last line was (0: never) */
        bool on_screen;          /* a live line is shown and not ended yet */
};

/* Starts: says what when not live (the live line says it with the first update). what is
 * copied. Returns 0 or -ENOMEM (then p is silent). */
int progress_begin(struct progress *p, FILE *out, enum progress_level level,
                   enum progress_unit unit, const char *what, usec_t now);

/* done of total (total 0: unknown) at now: drawn or printed if its interval has passed. */
void progress_update(struct progress *p, uint64_t done, uint64_t total, usec_t now);

/* Starts progress whose begin and end the caller tells (a sync's copy: its result is the job's
 * report): no line of its own, only progress_show()'s, live (rewritten in place) or not (at
 * most one a minute, the first a minute after now). */
void progress_begin_lines(struct progress *p, FILE *out, bool live, usec_t now);

/* A line made by the caller, at now: drawn or printed if its interval has passed. */
void progress_show(struct progress *p, const char *line, usec_t now);

/* Erases a live line (before other output, or at the end of progress_begin_lines()'s). */
void progress_clear(struct progress *p);

/* Ends: "what: result (in 3m10s)" on its own line (clearing a live one); frees p's memory. */
void progress_end(struct progress *p, const char *result, usec_t now);

/* The numbers of one line, e.g. "1.5 GiB of 4.0 GiB (37%), 25.0 MiB/s, 1m40s left"; the rate
 * and time left only once something is done. NULL on ENOMEM. */
char *progress_format(enum progress_unit unit, uint64_t done, uint64_t total, usec_t elapsed);

/* "42s", "3m10s", "2h05m"; buf of at least 16 bytes. */
const char *progress_duration(usec_t d, char *buf, size_t size);
