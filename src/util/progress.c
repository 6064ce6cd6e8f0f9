/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/macro.h"
#include "util/progress.h"

const char *progress_duration(usec_t d, char *buf, size_t size)
{
        uint64_t s = d / USEC_PER_SEC;

        if (s < 60)
                snprintf(buf, size, "%" PRIu64 "s", s);
        else if (s < 3600)
                snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
        else
                snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
        return buf;
}

/* Binary units, one decimal from KiB up: "512 B", "1.5 GiB". */
static const char *format_bytes(double b, char *buf, size_t size)
{
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
        size_t i = 0;

        if (b < 1024) {
                snprintf(buf, size, "%.0f B", b);
                return buf;
        }
        b /= 1024;
        while (b >= 1024 && i + 1 < ELEMENTSOF(units)) {
                b /= 1024;
                i++;
        }
        snprintf(buf, size, "%.1f %s", b, units[i]);
        return buf;
}

char *progress_format(enum progress_unit unit, uint64_t done, uint64_t total, usec_t elapsed)
{
        char a[32], b[32], rate[48] = "", left[48] = "", pct[16] = "";
        double secs = (double)elapsed / USEC_PER_SEC;
        char *s = NULL;
        int r;

        if (unit == PROGRESS_WAIT) {
                r = total ? asprintf(&s, "%s so far, at most %s",
                                     progress_duration(elapsed, a, sizeof(a)),
                                     progress_duration(total, b, sizeof(b)))
                          : asprintf(&s, "%s so far", progress_duration(elapsed, a, sizeof(a)));
                return r < 0 ? NULL : s;
        }
        if (unit == PROGRESS_PERMILLE)
                total = 1000;
        done = total && done > total ? total : done;
        if (total)
                snprintf(pct, sizeof(pct), "%.1f%%", 100.0 * (double)done / (double)total);
        /* The average since the start: steadier than the last interval's, which a journal
         * line a minute apart would make jump. */
        if (done > 0 && secs >= 1) {
                double per_sec = (double)done / secs;

                if (unit == PROGRESS_BYTES)
                        snprintf(rate, sizeof(rate), ", %s/s", format_bytes(per_sec, a, sizeof(a)));
                if (total > done) {
                        double l = (double)(total - done) / per_sec;

                        snprintf(left, sizeof(left), ", %s left",
                                 progress_duration(l >= 1e12 ? USEC_INFINITY - 1
                                                             : (usec_t)(l * USEC_PER_SEC),
                                                   b, sizeof(b)));
                }
        }
        switch (unit) {
        case PROGRESS_BYTES:
                r = total ? asprintf(&s, "%s of %s (%s)%s%s",
                                     format_bytes((double)done, a, sizeof(a)),
                                     format_bytes((double)total, b, sizeof(b)), pct, rate, left)
                          : asprintf(&s, "%s%s", format_bytes((double)done, a, sizeof(a)), rate);
                break;
        case PROGRESS_ITEMS:
                r = total ? asprintf(&s, "%" PRIu64 " of %" PRIu64 " (%s)%s", done, total, pct,
                                     left)
                          : asprintf(&s, "%" PRIu64, done);
                break;
        default:
                r = asprintf(&s, "%s%s", pct, left);
                break;
        }
        return r < 0 ? NULL : s;
}

int progress_begin(struct progress *p, FILE *out, enum progress_level level,
                   enum progress_unit unit, const char *what, usec_t now)
{
        *p = (struct progress){ .unit = unit, .started = now };
        if (!out || level == PROGRESS_QUIET)
                return 0;
        p->what = strdup(what);
        if (!p->what)
                return -ENOMEM;
        p->out = out;
        p->live = isatty(fileno(out)) == 1;
        p->interval = p->live                     ? PROGRESS_REDRAW_INTERVAL
                      : level == PROGRESS_VERBOSE ? PROGRESS_LINE_INTERVAL_VERBOSE
                                                  : PROGRESS_LINE_INTERVAL;
        if (!p->live) {
                fprintf(out, "%s...\n", p->what);
                p->printed = now;
        }
        fflush(out);
        return 0;
}

/* The terminal's width, for cutting a live line that would wrap (a wrapped line cannot be
 * rewritten with \r); 0 when unknown. */
static size_t terminal_width(FILE *f)
{
        struct winsize ws = {};

        return ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
}

static bool due(const struct progress *p, usec_t now)
{
        return p->out && (!p->printed || usec_sub(now, p->printed) >= p->interval);
}

void progress_show(struct progress *p, const char *line, usec_t now)
{
        size_t width, n = strlen(line);

        if (!due(p, now))
                return;
        p->printed = now;
        if (!p->live) {
                fprintf(p->out, "%s\n", line);
                fflush(p->out);
                return;
        }
        width = terminal_width(p->out);
        if (width > 1 && n > width - 1)
                n = width - 1;
        /* \r, the line, then erase what a longer previous line left (ECMA-48 EL). */
        fprintf(p->out, "\r%.*s\033[K", (int)n, line);
        fflush(p->out);
        p->on_screen = true;
}

void progress_update(struct progress *p, uint64_t done, uint64_t total, usec_t now)
{
        _cleanup_free_ char *nums = NULL, *line = NULL;

        if (!due(p, now))
                return;
        nums = progress_format(p->unit, done, total, usec_sub(now, p->started));
        if (!nums || asprintf(&line, "%s: %s", p->what, nums) < 0)
                return; /* progress is a courtesy: no memory, no line */
        progress_show(p, line, now);
}

void progress_begin_lines(struct progress *p, FILE *out, bool live, usec_t now)
{
        *p = (struct progress){
                .out = out,
                .live = live,
                .interval = live ? PROGRESS_REDRAW_INTERVAL : PROGRESS_LINE_INTERVAL,
                .started = now,
                .printed = live ? 0 : now,
        };
}

void progress_clear(struct progress *p)
{
        if (!p->out || !p->on_screen)
                return;
        fputs("\r\033[K", p->out);
        fflush(p->out);
        p->on_screen = false;
}

void progress_end(struct progress *p, const char *result, usec_t now)
{
        char d[32];

        if (p->out) {
                if (p->on_screen)
                        fputs("\r\033[K", p->out);
                fprintf(p->out, "%s: %s (in %s)\n", p->what, result,
                        progress_duration(usec_sub(now, p->started), d, sizeof(d)));
                fflush(p->out);
        }
        free(p->what);
        *p = (struct progress){};
}
