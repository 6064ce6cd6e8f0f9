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

#include <time.h>

/* The current time of clock in microseconds. clock_gettime() cannot fail for the clocks we
 * use (CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME) with a valid pointer. */
static inline usec_t now_usec(clockid_t clock)
{
        struct timespec ts;

        (void)clock_gettime(clock, &ts);
        return (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / 1000;
}
