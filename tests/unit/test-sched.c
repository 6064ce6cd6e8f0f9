/* SPDX-License-Identifier: MIT */
/*
 * The daemon's scheduling rules (DESIGN.md §6, src/sched.h), driven by a fake clock: every test
 * states the times itself, nothing sleeps. Most tests call the operations by hand; the
 * sim_* helpers run the daemon's loop shape (one timer armed with sched_next(), events, sync
 * completions) over a list of event times and record when syncs started.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>

#include "sched.h"
#include "util/macro.h"

#define SEC(x) (USEC_PER_SEC * (x))
#define MSEC(x) (USEC_PER_MSEC * (x))

/* A failing comparison prints both times in seconds, not cmocka's hex integers. */
static void format_usec(char *buf, size_t size, usec_t t)
{
        if (t == USEC_INFINITY)
                snprintf(buf, size, "infinity");
        else
                snprintf(buf, size, "%" PRIu64 ".%06" PRIu64 " s (%" PRIu64 " us)",
                         t / USEC_PER_SEC, t % USEC_PER_SEC, t);
}

static void check_usec(usec_t actual, usec_t expected, const char *expr, const char *file, int line)
{
        char a[64], e[64];

        if (actual == expected)
                return;
        format_usec(a, sizeof(a), actual);
        format_usec(e, sizeof(e), expected);
        print_error("%s is %s, expected %s\n", expr, a, e);
        _fail(file, line);
}

#define assert_usec_equal(actual, expected)                                                        \
        check_usec((actual), (expected), #actual, __FILE__, __LINE__)

/* The config defaults (DESIGN.md §7: settle_time 5 s, max_wait 120 s, sync_delay 300 s) and a
 * 10 s .. 10 min retry. */
static const struct sched_params default_params = {
        .settle = SEC(5),
        .max_wait = SEC(120),
        .min_interval = SEC(300),
        .retry_min = SEC(10),
        .retry_max = SEC(600),
};

/* --- A model of the daemon loop --------------------------------------------------------- */

#define SIM_MAX_STARTS 64

struct sim {
        struct sched_params params;
        usec_t duration;     /* how long every sync runs */
        const bool *results; /* outcome of the n-th sync; true beyond n_results */
        size_t n_results;

        struct sched_item item;
        usec_t now;       /* the fake clock */
        usec_t finish_at; /* when the running sync ends */
        usec_t starts[SIM_MAX_STARTS];
        size_t n_starts;
        unsigned wakeups; /* times the loop woke up (event, timer or child exit) */
};

/*
 * Runs the loop until nothing is pending (the loop would block forever: the timer is
 * disarmed) or the clock would pass until. events must be sorted. Each wake-up handles, at
 * one instant, a sync completion, then the events, then starts the sync if due: an event
 * at the very instant a sync starts is covered by that sync.
 */
static void sim_run(struct sim *s, const usec_t *events, size_t n_events, usec_t until)
{
        size_t i = 0;

        for (;;) {
                usec_t next_event = i < n_events ? events[i] : USEC_INFINITY;
                usec_t next_finish = s->item.running ? s->finish_at : USEC_INFINITY;
                usec_t timer = sched_next(&s->item, 1, &s->params);
                usec_t t = usec_min(usec_min(next_event, next_finish), timer);

                if (t == USEC_INFINITY || t > until)
                        return;

                /* A timer armed with a deadline in the past fires at once. */
                t = usec_max(t, s->now);
                s->now = t;
                s->wakeups++;
                assert_true(s->wakeups < 1000000);

                if (s->item.running && s->finish_at <= t) {
                        size_t k = s->n_starts - 1;
                        sched_finish(&s->item, t, k < s->n_results ? s->results[k] : true);
                }

                while (i < n_events && events[i] <= t)
                        sched_event(&s->item, events[i++]);

                if (sched_is_due(&s->item, &s->params, t)) {
                        assert_true(s->n_starts < SIM_MAX_STARTS);
                        sched_start(&s->item, t);
                        s->starts[s->n_starts++] = t;
                        s->finish_at = usec_add(t, s->duration);
                }
        }
}

/* Fills buf with events every period from first to last inclusive; returns how many. */
static size_t periodic_events(usec_t *buf, size_t size, usec_t first, usec_t period, usec_t last)
{
        size_t n = 0;

        for (usec_t t = first; t <= last; t += period) {
                assert_true(n < size);
                buf[n++] = t;
        }
        return n;
}

static void assert_starts(const struct sim *s, const usec_t *expected, size_t n)
{
        assert_int_equal(s->n_starts, n);
        for (size_t k = 0; k < n; k++)
                assert_usec_equal(s->starts[k], expected[k]);
}

static usec_t event_buf[40000];

/* --- Clean, dirty, running --------------------------------------------------------------- */

static void test_clean_item_is_never_due(void **state)
{
        (void)state;
        struct sched_item item = {};

        assert_usec_equal(sched_due(&item, &default_params), USEC_INFINITY);
        assert_false(sched_is_due(&item, &default_params, 0));
        assert_false(sched_is_due(&item, &default_params, SEC(1000000)));
        assert_false(sched_is_due(&item, &default_params, USEC_INFINITY));
}

static void test_single_event_syncs_after_settle(void **state)
{
        (void)state;
        struct sched_item item = {};
        usec_t now = SEC(10);

        sched_event(&item, now);
        assert_true(item.dirty);
        assert_usec_equal(item.first_dirty, SEC(10));
        assert_usec_equal(sched_due(&item, &default_params), SEC(15));

        /* Never synced before: no min_interval floor. */
        now = SEC(15) - 1;
        assert_false(sched_is_due(&item, &default_params, now));
        now = SEC(15);
        assert_true(sched_is_due(&item, &default_params, now));
        now = SEC(200);
        assert_true(sched_is_due(&item, &default_params, now));
}

static void test_single_event_daemon_wakes_three_times_then_idles(void **state)
{
        (void)state;
        struct sim s = { .params = default_params, .duration = SEC(2) };
        const usec_t events[] = { SEC(7) };

        sim_run(&s, events, ELEMENTSOF(events), USEC_INFINITY - 1);

        const usec_t expected[] = { SEC(12) };
        assert_starts(&s, expected, ELEMENTSOF(expected));
        /* The event, the settle timer, the rsync exit; then the timer is disarmed. */
        assert_int_equal(s.wakeups, 3);
        assert_false(s.item.dirty);
        assert_false(s.item.running);
        assert_usec_equal(sched_next(&s.item, 1, &s.params), USEC_INFINITY);
}

static void test_no_events_daemon_never_wakes(void **state)
{
        (void)state;
        struct sim s = { .params = default_params };

        sim_run(&s, NULL, 0, USEC_INFINITY - 1);

        assert_int_equal(s.wakeups, 0);
        assert_int_equal(s.n_starts, 0);
}

static void test_running_item_is_never_due(void **state)
{
        (void)state;
        struct sched_item item = {};

        sched_event(&item, 0);
        sched_start(&item, SEC(5));
        assert_true(item.running);
        assert_false(item.dirty);
        assert_usec_equal(sched_due(&item, &default_params), USEC_INFINITY);

        /* Even dirty again and long past every deadline: one rsync per item at a time. */
        sched_event(&item, SEC(6));
        assert_true(item.dirty);
        assert_usec_equal(sched_due(&item, &default_params), USEC_INFINITY);
        assert_false(sched_is_due(&item, &default_params, SEC(100000)));
        assert_usec_equal(sched_next(&item, 1, &default_params), USEC_INFINITY);
}

static void test_due_is_inclusive_at_exact_deadline(void **state)
{
        (void)state;
        struct sched_params p = { .settle = 1, .max_wait = SEC(1) };
        struct sched_item item = {};

        sched_event(&item, 1000);
        assert_false(sched_is_due(&item, &p, 1000));
        assert_true(sched_is_due(&item, &p, 1001));
}

/* --- Settle and max_wait ------------------------------------------------------------------ */

static void test_kernel_install_burst_syncs_once_settle_after_last_event(void **state)
{
        (void)state;
        const struct sched_params p = {
                .settle = SEC(1),
                .max_wait = SEC(120),
                .min_interval = SEC(300),
                .retry_min = SEC(10),
                .retry_max = SEC(600),
        };
        /* kernel, initrd, ..., loader entry: each write restarts the quiet time. */
        const usec_t events[] = { 0, MSEC(300), MSEC(800), MSEC(1500), MSEC(2000) };
        struct sched_item item = {};
        size_t i = 0;

        /* Walk the fake clock one millisecond at a time: never due before 3.0 s. */
        for (usec_t now = 0; now < MSEC(3000); now += MSEC(1)) {
                while (i < ELEMENTSOF(events) && events[i] <= now) {
                        sched_event(&item, events[i]);
                        assert_usec_equal(item.first_dirty, 0);
                        assert_usec_equal(sched_due(&item, &p), events[i] + SEC(1));
                        i++;
                }
                if (sched_is_due(&item, &p, now))
                        fail_msg("due at %" PRIu64 " us, before 3.0 s", now);
        }
        assert_true(sched_is_due(&item, &p, MSEC(3000)));
        assert_usec_equal(sched_due(&item, &p), MSEC(3000));

        /* The same burst through the loop: exactly one sync, at 3.0 s. */
        struct sim s = { .params = p, .duration = SEC(4) };
        sim_run(&s, events, ELEMENTSOF(events), USEC_INFINITY - 1);
        const usec_t expected[] = { MSEC(3000) };
        assert_starts(&s, expected, ELEMENTSOF(expected));
}

static void test_event_on_dirty_item_keeps_first_dirty(void **state)
{
        (void)state;
        struct sched_item item = {};

        sched_event(&item, SEC(1));
        sched_event(&item, SEC(2));
        sched_event(&item, SEC(3));
        assert_usec_equal(item.first_dirty, SEC(1));
        assert_usec_equal(item.last_event, SEC(3));
}

static void test_events_every_100ms_forever_sync_at_first_dirty_plus_max_wait(void **state)
{
        (void)state;
        struct sim s = {
                .params = { .settle = SEC(1), .max_wait = SEC(10), .min_interval = 0 },
                .duration = SEC(1),
        };
        size_t n = periodic_events(event_buf, ELEMENTSOF(event_buf), 0, MSEC(100), SEC(60));

        sim_run(&s, event_buf, n, USEC_INFINITY - 1);

        /* The event at a sync's start is covered by it; the next one, 100 ms later, starts
         * the next dirty spell, and max_wait counts from there. The last sync comes
         * max_wait after the spell that began at 50.5 s, as the quiet time would end
         * later (61 s). */
        const usec_t expected[] = {
                SEC(10), MSEC(20100), MSEC(30200), MSEC(40300), MSEC(50400), MSEC(60500),
        };
        assert_starts(&s, expected, ELEMENTSOF(expected));
        assert_false(s.item.dirty);
}

static void test_max_wait_shorter_than_settle_wins(void **state)
{
        (void)state;
        const struct sched_params p = { .settle = SEC(10), .max_wait = SEC(3) };
        struct sched_item item = {};

        sched_event(&item, SEC(100));
        assert_usec_equal(sched_due(&item, &p), SEC(103));
        sched_event(&item, SEC(101));
        sched_event(&item, SEC(102));
        assert_usec_equal(sched_due(&item, &p), SEC(103));
        assert_false(sched_is_due(&item, &p, SEC(103) - 1));
        assert_true(sched_is_due(&item, &p, SEC(103)));
}

static void test_zero_settle_and_interval_sync_at_the_event(void **state)
{
        (void)state;
        const struct sched_params p = { .max_wait = SEC(120) };
        struct sched_item item = {};

        sched_event(&item, SEC(4));
        assert_true(sched_is_due(&item, &p, SEC(4)));
        sched_start(&item, SEC(4));
        sched_finish(&item, SEC(5), true);
        sched_event(&item, SEC(6));
        assert_usec_equal(sched_due(&item, &p), SEC(6));
}

/* --- min_interval (sync_delay) ------------------------------------------------------------ */

static void test_min_interval_delays_sync_after_previous_start(void **state)
{
        (void)state;
        const struct sched_params p = {
                .settle = SEC(1),
                .max_wait = SEC(120),
                .min_interval = SEC(300),
        };
        struct sched_item item = {};

        sched_event(&item, 0);
        sched_start(&item, SEC(1));
        sched_finish(&item, SEC(2), true);
        assert_usec_equal(sched_due(&item, &p), USEC_INFINITY);

        sched_event(&item, SEC(100));
        assert_usec_equal(sched_due(&item, &p), SEC(301));
        assert_false(sched_is_due(&item, &p, SEC(301) - 1));
        assert_true(sched_is_due(&item, &p, SEC(301)));

        /* Once the floor is behind, settle alone decides again. */
        sched_start(&item, SEC(301));
        sched_finish(&item, SEC(302), true);
        sched_event(&item, SEC(1000));
        assert_usec_equal(sched_due(&item, &p), SEC(1001));
}

static void test_min_interval_counts_from_start_not_finish(void **state)
{
        (void)state;
        const struct sched_params p = {
                .settle = SEC(1),
                .max_wait = SEC(120),
                .min_interval = SEC(300),
        };
        struct sched_item item = {};

        sched_event(&item, 0);
        sched_start(&item, SEC(1));
        sched_finish(&item, SEC(251), true); /* a slow rsync */
        sched_event(&item, SEC(260));
        assert_usec_equal(sched_due(&item, &p), SEC(301));
}

static void test_min_interval_applies_after_start_at_time_zero(void **state)
{
        (void)state;
        const struct sched_params p = {
                .settle = SEC(1),
                .max_wait = SEC(120),
                .min_interval = SEC(300),
        };
        struct sched_item item = {};

        /* The initial sync of a clean item at monotonic time 0 still counts as a start. */
        sched_start(&item, 0);
        assert_true(item.has_started);
        sched_finish(&item, SEC(1), true);
        assert_usec_equal(sched_due(&item, &p), USEC_INFINITY);
        sched_event(&item, SEC(2));
        assert_usec_equal(sched_due(&item, &p), SEC(300));
}

static void test_min_interval_wins_over_max_wait(void **state)
{
        (void)state;
        struct sim s = { .params = default_params, .duration = SEC(3) };
        size_t n = periodic_events(event_buf, ELEMENTSOF(event_buf), 0, MSEC(100), SEC(1200));

        sim_run(&s, event_buf, n, USEC_INFINITY - 1);

        /* First sync at max_wait (never synced, no floor); then every sync_delay, later
         * than max_wait: the effective bound is max(max_wait, sync_delay). The events end at
         * 1200 s but the item is dirty since 1020.1 s, so one more sync follows. */
        const usec_t expected[] = { SEC(120), SEC(420), SEC(720), SEC(1020), SEC(1320) };
        assert_starts(&s, expected, ELEMENTSOF(expected));
        assert_false(s.item.dirty);
}

/* --- Events during a sync ----------------------------------------------------------------- */

static void test_sync_without_events_during_it_leaves_item_clean(void **state)
{
        (void)state;
        struct sched_item item = {};

        sched_event(&item, 0);
        sched_start(&item, SEC(5));
        sched_finish(&item, SEC(8), true);
        assert_false(item.dirty);
        assert_false(item.running);
        assert_usec_equal(sched_due(&item, &default_params), USEC_INFINITY);
}

static void test_event_during_sync_syncs_again_after_finish_not_before_floor(void **state)
{
        (void)state;
        const struct sched_params p = {
                .settle = SEC(1),
                .max_wait = SEC(120),
                .min_interval = SEC(30),
        };
        struct sched_item item = {};

        sched_event(&item, 0);
        sched_start(&item, SEC(1));
        sched_event(&item, SEC(2)); /* the running rsync may miss this change */
        assert_usec_equal(item.first_dirty, SEC(2));
        assert_usec_equal(sched_due(&item, &p), USEC_INFINITY);

        sched_finish(&item, SEC(5), true);
        assert_true(item.dirty);
        /* Quiet since 3 s, but no start before 1 s + 30 s. */
        assert_usec_equal(sched_due(&item, &p), SEC(31));
        assert_false(sched_is_due(&item, &p, SEC(31) - 1));
        assert_true(sched_is_due(&item, &p, SEC(31)));
}

static void test_event_during_sync_is_due_at_finish_when_floor_has_passed(void **state)
{
        (void)state;
        const struct sched_params p = {
                .settle = SEC(1),
                .max_wait = SEC(120),
                .min_interval = SEC(30),
        };
        struct sim s = { .params = p, .duration = SEC(60) };
        const usec_t events[] = { 0, SEC(10) };

        sim_run(&s, events, ELEMENTSOF(events), USEC_INFINITY - 1);

        /* Second sync the moment the first (1 s .. 61 s) exits: quiet and floor are both
         * behind by then. */
        const usec_t expected[] = { SEC(1), SEC(61) };
        assert_starts(&s, expected, ELEMENTSOF(expected));
}

/* --- Failures and backoff ----------------------------------------------------------------- */

static void test_backoff_doubles_from_retry_min_and_is_capped(void **state)
{
        (void)state;
        const struct sched_params p = { .retry_min = SEC(10), .retry_max = SEC(300) };

        assert_usec_equal(sched_backoff(&p, 0), 0);
        assert_usec_equal(sched_backoff(&p, 1), SEC(10));
        assert_usec_equal(sched_backoff(&p, 2), SEC(20));
        assert_usec_equal(sched_backoff(&p, 3), SEC(40));
        assert_usec_equal(sched_backoff(&p, 4), SEC(80));
        assert_usec_equal(sched_backoff(&p, 5), SEC(160));
        assert_usec_equal(sched_backoff(&p, 6), SEC(300));
        assert_usec_equal(sched_backoff(&p, 63), SEC(300));
        assert_usec_equal(sched_backoff(&p, 64), SEC(300));
        assert_usec_equal(sched_backoff(&p, 65), SEC(300));
        assert_usec_equal(sched_backoff(&p, UINT_MAX), SEC(300));
}

static void test_backoff_saturates_instead_of_overflowing(void **state)
{
        (void)state;
        struct sched_params p = { .retry_min = SEC(10), .retry_max = USEC_INFINITY };

        /* 10 s * 2^40 still fits; 10 s * 2^50 does not and must not wrap to a small value. */
        assert_usec_equal(sched_backoff(&p, 41), SEC(10) << 40);
        assert_usec_equal(sched_backoff(&p, 51), USEC_INFINITY);
        assert_usec_equal(sched_backoff(&p, 65), USEC_INFINITY);
        assert_usec_equal(sched_backoff(&p, UINT_MAX), USEC_INFINITY);

        p.retry_min = 1;
        assert_usec_equal(sched_backoff(&p, 64), UINT64_C(1) << 63);
        assert_usec_equal(sched_backoff(&p, 65), USEC_INFINITY);

        p.retry_min = USEC_INFINITY;
        p.retry_max = SEC(600);
        assert_usec_equal(sched_backoff(&p, 1), SEC(600));
        assert_usec_equal(sched_backoff(&p, 2), SEC(600));

        /* retry_min 0: retry at once; retry_max below retry_min: the cap wins. */
        p = (struct sched_params){ .retry_min = 0, .retry_max = SEC(600) };
        assert_usec_equal(sched_backoff(&p, 5), 0);
        p = (struct sched_params){ .retry_min = SEC(60), .retry_max = SEC(5) };
        assert_usec_equal(sched_backoff(&p, 1), SEC(5));
}

static void test_failures_retry_after_10s_20s_40s_capped(void **state)
{
        (void)state;
        static const bool all_fail[SIM_MAX_STARTS] = { false };
        struct sim s = {
                .params = { .settle = SEC(1),
                            .max_wait = SEC(120),
                            .min_interval = 0,
                            .retry_min = SEC(10),
                            .retry_max = SEC(300) },
                .results = all_fail,
                .n_results = ELEMENTSOF(all_fail),
        };
        const usec_t events[] = { 0 };

        sim_run(&s, events, ELEMENTSOF(events), SEC(1000));

        /* rsync fails at once each time: waits 10, 20, 40, 80, 160, then 300 (cap). */
        const usec_t expected[] = { SEC(1),   SEC(11),  SEC(31),  SEC(71),
                                    SEC(151), SEC(311), SEC(611), SEC(911) };
        assert_starts(&s, expected, ELEMENTSOF(expected));
        assert_int_equal(s.item.failures, 8);
        assert_true(s.item.dirty);
}

static void test_failure_makes_clean_item_dirty_from_failure_time(void **state)
{
        (void)state;
        const struct sched_params p = {
                .settle = SEC(1),
                .max_wait = SEC(120),
                .min_interval = 0,
                .retry_min = SEC(10),
                .retry_max = SEC(300),
        };
        struct sched_item item = {};

        sched_event(&item, 0);
        sched_start(&item, SEC(1));
        sched_finish(&item, SEC(5), false);
        assert_true(item.dirty);
        assert_false(item.running);
        assert_int_equal(item.failures, 1);
        assert_usec_equal(item.first_dirty, SEC(5));
        /* A failure is not an event: last_event is kept. */
        assert_usec_equal(item.last_event, 0);
        assert_usec_equal(sched_due(&item, &p), SEC(15));
}

static void test_failure_keeps_first_dirty_of_events_during_sync(void **state)
{
        (void)state;
        const struct sched_params p = {
                .settle = SEC(60),
                .max_wait = SEC(30),
                .min_interval = 0,
                .retry_min = SEC(1),
                .retry_max = SEC(300),
        };
        struct sched_item item = {};

        sched_event(&item, 0);
        sched_start(&item, SEC(1));
        sched_event(&item, SEC(2));
        sched_finish(&item, SEC(5), false);
        assert_usec_equal(item.first_dirty, SEC(2));
        /* max_wait counts from 2 s (32 s), not from the failure (35 s). */
        assert_usec_equal(sched_due(&item, &p), SEC(32));
}

static void test_retry_waits_for_min_interval_floor(void **state)
{
        (void)state;
        struct sched_item item = {};

        /* Defaults: a 10 s retry cannot beat the 300 s sync_delay after the failed start. */
        sched_event(&item, 0);
        sched_start(&item, SEC(5));
        sched_finish(&item, SEC(6), false);
        assert_usec_equal(sched_due(&item, &default_params), SEC(305));
}

static void test_event_after_failure_waits_for_quiet_and_retry(void **state)
{
        (void)state;
        const struct sched_params p = {
                .settle = SEC(1),
                .max_wait = SEC(120),
                .min_interval = 0,
                .retry_min = SEC(10),
                .retry_max = SEC(300),
        };
        struct sched_item item = {};

        sched_event(&item, 0);
        sched_start(&item, SEC(1));
        sched_finish(&item, SEC(5), false); /* retry not before 15 s */

        sched_event(&item, SEC(6));
        assert_usec_equal(item.first_dirty, SEC(5));
        assert_usec_equal(sched_due(&item, &p), SEC(15));

        sched_event(&item, MSEC(14500));
        assert_usec_equal(sched_due(&item, &p), MSEC(15500));
}

static void test_success_resets_failures(void **state)
{
        (void)state;
        const struct sched_params p = {
                .settle = SEC(1),
                .max_wait = SEC(120),
                .min_interval = 0,
                .retry_min = SEC(10),
                .retry_max = SEC(300),
        };
        struct sched_item item = {};

        sched_event(&item, 0);
        sched_start(&item, SEC(1));
        sched_finish(&item, SEC(1), false);
        sched_start(&item, SEC(11));
        sched_finish(&item, SEC(11), false);
        assert_int_equal(item.failures, 2);
        assert_usec_equal(sched_due(&item, &p), SEC(31));

        sched_start(&item, SEC(31));
        sched_finish(&item, SEC(32), true);
        assert_int_equal(item.failures, 0);
        assert_false(item.dirty);

        /* Next event: settle only, no leftover retry time. */
        sched_event(&item, SEC(40));
        assert_usec_equal(sched_due(&item, &p), SEC(41));

        /* Next failure starts the backoff from retry_min again. */
        sched_start(&item, SEC(41));
        sched_finish(&item, SEC(42), false);
        assert_int_equal(item.failures, 1);
        assert_usec_equal(sched_due(&item, &p), SEC(52));
}

static void test_failure_count_saturates(void **state)
{
        (void)state;
        struct sched_item item = { .running = true, .has_started = true, .failures = UINT_MAX };

        sched_finish(&item, SEC(1), false);
        assert_int_equal(item.failures, UINT_MAX);
        assert_usec_equal(sched_due(&item, &default_params), SEC(1) + SEC(600));
}

static void test_new_retry_params_apply_to_pending_retry(void **state)
{
        (void)state;
        struct sched_params p = {
                .settle = SEC(1),
                .max_wait = SEC(120),
                .min_interval = 0,
                .retry_min = SEC(10),
                .retry_max = SEC(300),
        };
        struct sched_item item = {};

        sched_event(&item, 0);
        sched_start(&item, SEC(1));
        sched_finish(&item, SEC(5), false);
        assert_usec_equal(sched_due(&item, &p), SEC(15));

        /* A config reload (SIGHUP) with a shorter retry takes effect at once. */
        p.retry_min = SEC(2);
        assert_usec_equal(sched_due(&item, &p), SEC(7));
}

/* --- Several items ------------------------------------------------------------------------ */

static void test_sched_next_picks_earliest_pending_item(void **state)
{
        (void)state;
        const struct sched_params p = { .settle = SEC(5), .max_wait = SEC(120) };
        struct sched_item items[4] = {};

        /* items[0] clean; items[1] due at 11 s; items[2] due at 6 s; items[3] running. */
        sched_event(&items[1], SEC(6));
        sched_event(&items[2], SEC(1));
        sched_event(&items[3], 0);
        sched_start(&items[3], 0);
        sched_event(&items[3], SEC(1));
        assert_usec_equal(sched_next(items, ELEMENTSOF(items), &p), SEC(6));

        sched_start(&items[2], SEC(6));
        assert_usec_equal(sched_next(items, ELEMENTSOF(items), &p), SEC(11));

        /* The running item, dirty since 1 s, is due the moment it exits. */
        sched_finish(&items[3], SEC(8), true);
        assert_usec_equal(sched_next(items, ELEMENTSOF(items), &p), SEC(6));
}

static void test_sched_next_is_infinity_when_idle(void **state)
{
        (void)state;
        struct sched_item items[3] = {};

        assert_usec_equal(sched_next(NULL, 0, &default_params), USEC_INFINITY);
        assert_usec_equal(sched_next(items, ELEMENTSOF(items), &default_params), USEC_INFINITY);

        /* All running, even if dirty: nothing to wake up for until a child exits. */
        for (size_t k = 0; k < ELEMENTSOF(items); k++) {
                sched_start(&items[k], SEC(1));
                sched_event(&items[k], SEC(2));
        }
        assert_usec_equal(sched_next(items, ELEMENTSOF(items), &default_params), USEC_INFINITY);
}

static void test_queue_overflow_marks_every_item_dirty(void **state)
{
        (void)state;
        const struct sched_params p = { .settle = SEC(5), .max_wait = SEC(20) };
        struct sched_item items[3] = {};

        sched_event(&items[1], 0); /* dirty since 0 */
        sched_start(&items[2], 0); /* running */

        /* Overflow at 10 s: events were lost, so every item is treated as changed. */
        for (size_t k = 0; k < ELEMENTSOF(items); k++)
                sched_event(&items[k], SEC(10));

        for (size_t k = 0; k < ELEMENTSOF(items); k++)
                assert_true(items[k].dirty);
        assert_usec_equal(items[0].first_dirty, SEC(10));
        assert_usec_equal(items[1].first_dirty, 0);
        assert_usec_equal(sched_due(&items[0], &p), SEC(15));
        assert_usec_equal(sched_due(&items[1], &p), SEC(15));
        assert_usec_equal(sched_due(&items[2], &p), USEC_INFINITY);

        sched_finish(&items[2], SEC(12), true);
        assert_usec_equal(sched_due(&items[2], &p), SEC(15));
        assert_usec_equal(sched_next(items, ELEMENTSOF(items), &p), SEC(15));
}

/* --- Saturation ---------------------------------------------------------------------------- */

static void test_usec_helpers_saturate(void **state)
{
        (void)state;

        assert_usec_equal(usec_add(1, 2), 3);
        assert_usec_equal(usec_add(USEC_INFINITY - 1, 1), USEC_INFINITY);
        assert_usec_equal(usec_add(USEC_INFINITY - 1, 2), USEC_INFINITY);
        assert_usec_equal(usec_add(USEC_INFINITY, 0), USEC_INFINITY);
        assert_usec_equal(usec_add(USEC_INFINITY, USEC_INFINITY), USEC_INFINITY);
        assert_usec_equal(usec_sub(5, 3), 2);
        assert_usec_equal(usec_sub(3, 5), 0);
        assert_usec_equal(usec_min(USEC_INFINITY, 7), 7);
        assert_usec_equal(usec_max(USEC_INFINITY, 7), USEC_INFINITY);
}

static void test_infinite_params_never_sync_and_do_not_overflow(void **state)
{
        (void)state;
        const struct sched_params p = {
                .settle = USEC_INFINITY,
                .max_wait = USEC_INFINITY,
                .min_interval = USEC_INFINITY,
                .retry_min = USEC_INFINITY,
                .retry_max = USEC_INFINITY,
        };
        struct sched_item item = {};

        sched_event(&item, SEC(1));
        assert_usec_equal(sched_due(&item, &p), USEC_INFINITY);
        assert_false(sched_is_due(&item, &p, USEC_INFINITY - 1));
        assert_false(sched_is_due(&item, &p, USEC_INFINITY));

        /* Forced (initial) sync that fails: everything stays at infinity, nothing wraps. */
        sched_start(&item, SEC(2));
        sched_finish(&item, SEC(3), false);
        assert_usec_equal(sched_due(&item, &p), USEC_INFINITY);
        assert_usec_equal(sched_next(&item, 1, &p), USEC_INFINITY);
}

static void test_huge_settle_leaves_max_wait_in_charge(void **state)
{
        (void)state;
        const struct sched_params p = { .settle = USEC_INFINITY, .max_wait = SEC(120) };
        struct sched_item item = {};

        sched_event(&item, SEC(1));
        assert_usec_equal(sched_due(&item, &p), SEC(121));
}

static void test_times_near_end_of_clock_saturate(void **state)
{
        (void)state;
        const usec_t late = USEC_INFINITY - SEC(1);
        struct sched_item item = {};

        /* Deadlines past the end of the clock become "never", not a wrapped early time. */
        sched_event(&item, late);
        assert_usec_equal(sched_due(&item, &default_params), USEC_INFINITY);
        assert_false(sched_is_due(&item, &default_params, late));

        const struct sched_params fast = { .settle = SEC(2), .max_wait = SEC(1) / 2 };
        assert_usec_equal(sched_due(&item, &fast), late + SEC(1) / 2);

        /* min_interval and retry sums saturate as well. */
        struct sched_item started = { .dirty = true, .has_started = true, .last_start = late };
        assert_usec_equal(sched_due(&started, &default_params), USEC_INFINITY);

        struct sched_item failed = { .dirty = true, .failures = 3, .failed_at = late };
        assert_usec_equal(sched_due(&failed, &default_params), USEC_INFINITY);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_clean_item_is_never_due),
                cmocka_unit_test(test_single_event_syncs_after_settle),
                cmocka_unit_test(test_single_event_daemon_wakes_three_times_then_idles),
                cmocka_unit_test(test_no_events_daemon_never_wakes),
                cmocka_unit_test(test_running_item_is_never_due),
                cmocka_unit_test(test_due_is_inclusive_at_exact_deadline),
                cmocka_unit_test(test_kernel_install_burst_syncs_once_settle_after_last_event),
                cmocka_unit_test(test_event_on_dirty_item_keeps_first_dirty),
                cmocka_unit_test(test_events_every_100ms_forever_sync_at_first_dirty_plus_max_wait),
                cmocka_unit_test(test_max_wait_shorter_than_settle_wins),
                cmocka_unit_test(test_zero_settle_and_interval_sync_at_the_event),
                cmocka_unit_test(test_min_interval_delays_sync_after_previous_start),
                cmocka_unit_test(test_min_interval_counts_from_start_not_finish),
                cmocka_unit_test(test_min_interval_applies_after_start_at_time_zero),
                cmocka_unit_test(test_min_interval_wins_over_max_wait),
                cmocka_unit_test(test_sync_without_events_during_it_leaves_item_clean),
                cmocka_unit_test(test_event_during_sync_syncs_again_after_finish_not_before_floor),
                cmocka_unit_test(test_event_during_sync_is_due_at_finish_when_floor_has_passed),
                cmocka_unit_test(test_backoff_doubles_from_retry_min_and_is_capped),
                cmocka_unit_test(test_backoff_saturates_instead_of_overflowing),
                cmocka_unit_test(test_failures_retry_after_10s_20s_40s_capped),
                cmocka_unit_test(test_failure_makes_clean_item_dirty_from_failure_time),
                cmocka_unit_test(test_failure_keeps_first_dirty_of_events_during_sync),
                cmocka_unit_test(test_retry_waits_for_min_interval_floor),
                cmocka_unit_test(test_event_after_failure_waits_for_quiet_and_retry),
                cmocka_unit_test(test_success_resets_failures),
                cmocka_unit_test(test_failure_count_saturates),
                cmocka_unit_test(test_new_retry_params_apply_to_pending_retry),
                cmocka_unit_test(test_sched_next_picks_earliest_pending_item),
                cmocka_unit_test(test_sched_next_is_infinity_when_idle),
                cmocka_unit_test(test_queue_overflow_marks_every_item_dirty),
                cmocka_unit_test(test_usec_helpers_saturate),
                cmocka_unit_test(test_infinite_params_never_sync_and_do_not_overflow),
                cmocka_unit_test(test_huge_settle_leaves_max_wait_in_charge),
                cmocka_unit_test(test_times_near_end_of_clock_saturate),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
