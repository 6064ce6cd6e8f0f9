/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Time values shared by the config, the scheduler and the daemon: microseconds of
 * CLOCK_MONOTONIC (or durations), with USEC_INFINITY meaning "never" / "no limit".
 *
 * Arithmetic on deadlines must saturate: a config may hold huge values and a deadline may
 * already be USEC_INFINITY, and a wrapped sum would turn "never" into "long ago".
 */

#include <stdint.h>
#include <string.h>

typedef uint64_t usec_t;

#define USEC_INFINITY UINT64_MAX
#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)

/* a + b, or USEC_INFINITY when the sum does not fit (so INFINITY + x stays INFINITY). */
static inline usec_t usec_add(usec_t a, usec_t b)
{
        return a > USEC_INFINITY - b ? USEC_INFINITY : a + b;
}

/* a - b, or 0 when b > a (time left until a deadline that may have passed). */
static inline usec_t usec_sub(usec_t a, usec_t b)
{
        return a > b ? a - b : 0;
}

static inline usec_t usec_min(usec_t a, usec_t b)
{
        return a < b ? a : b;
}

static inline usec_t usec_max(usec_t a, usec_t b)
{
        return a > b ? a : b;
}

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

/* A duration as people read it, in the config's unit (seconds): "1h0m", "1h2m3s", "59m12s",
 * "45s", "1.5s", "0.5s", "infinity"; never an exponent. Below a minute the fraction is kept;
 * above, whole seconds. Returns buf. */
static inline const char *format_duration(usec_t d, char *buf, size_t size)
{
        uint64_t s = d / USEC_PER_SEC, frac = d % USEC_PER_SEC;

        if (d == USEC_INFINITY)
                snprintf(buf, size, "infinity");
        else if (s >= 3600)
                snprintf(buf, size, "%" PRIu64 "h%" PRIu64 "m", s / 3600, s % 3600 / 60);
        else if (s >= 60)
                snprintf(buf, size, "%" PRIu64 "m%" PRIu64 "s", s / 60, s % 60);
        else if (frac == 0)
                snprintf(buf, size, "%" PRIu64 "s", s);
        else {
                int n = snprintf(buf, size, "%" PRIu64 ".%06" PRIu64, s, frac);

                /* trailing zeros of the fraction dropped */
                while (n > 0 && (size_t)n < size && buf[n - 1] == '0')
                        buf[--n] = 0;
                if (n >= 0 && (size_t)n < size)
                        snprintf(buf + n, size - (size_t)n, "s");
        }
        if (d != USEC_INFINITY && s >= 3600 && s % 60)
                snprintf(buf + strlen(buf), size - strlen(buf), "%" PRIu64 "s", s % 60);
        return buf;
}

/* The current time of clock in microseconds. clock_gettime() cannot fail for the clocks we
 * use (CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME) with a valid pointer. */
static inline usec_t now_usec(clockid_t clock)
{
        struct timespec ts;

        (void)clock_gettime(clock, &ts);
        return (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / 1000;
}
