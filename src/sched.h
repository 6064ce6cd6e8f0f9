/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * When the sync daemon runs each item's sync (DESIGN.md §6), as a pure function of the item's
 * history: no clock reads, no I/O, no allocation. The caller passes "now" (CLOCK_MONOTONIC)
 * to every operation, so tests drive it with a fake clock and the daemon arms one timerfd
 * with sched_next() and sleeps until then: nothing wakes up while no item is pending.
 *
 * Rules, per item (all sums saturate at USEC_INFINITY, see util/time-util.h):
 *
 *   - An event (inotify/fanotify, or a queue overflow, which the daemon turns into an event
 *     on every item) makes the item dirty. The first event of a dirty spell sets first_dirty;
 *     every event sets last_event. Events while a sync runs re-dirty the item, so once that
 *     sync finishes it syncs again: the running rsync may have missed them.
 *
 *   - A dirty item that is not running is due at
 *
 *         t = min(last_event + settle, first_dirty + max_wait)
 *         t = max(t, last_start + min_interval)      if the item ever started a sync
 *         t = max(t, failed_at + backoff(failures))   if its last sync(s) failed
 *
 *     settle: the tree must be quiet that long, so a burst (a kernel install writing kernel,
 *     initrd and loader entry) is copied whole, once, not half-way. max_wait: events that
 *     never stop cannot postpone the sync forever. min_interval (config sync_delay): no sync
 *     of the item starts sooner than this after its previous sync STARTED; it is a rate limit
 *     on rsync runs and wins over max_wait, so the longest a dirty item waits from
 *     first_dirty is max(max_wait, sync_delay), or until the retry time after failures.
 *     max_wait < settle is allowed: then max_wait decides.
 *
 *   - A failed sync leaves the item dirty (first_dirty = the failure time, unless events
 *     during the sync set an earlier one) and records failed_at. The retry is not before
 *     failed_at + min(retry_min * 2^(failures - 1), retry_max), i.e. 10 s, 20 s, 40 s, ...
 *     with retry_min 10 s, and like any sync not before the min_interval floor. A failure is
 *     not an event: it does not restart the settle time (last_event is kept), while events
 *     during or after the failed sync count as usual. A success resets the failure count.
 *
 *   - A clean or running item is never due (USEC_INFINITY).
 *
 * A zero-initialised struct sched_item is a clean item that never synced. The daemon may
 * start a sync that is not due (the initial sync of everything, pending syncs at SIGTERM):
 * sched_start() does not require the item to be dirty or due.
 */

#include <stdbool.h>
#include <stddef.h>

#include "util/time-util.h"

struct sched_params {
        usec_t settle;       /* quiet time required before a dirty item syncs (settle_time) */
        usec_t max_wait;     /* longest wait for quiet, from first_dirty (max_wait) */
        usec_t min_interval; /* least time between two sync starts of an item (sync_delay) */
        usec_t retry_min;    /* wait after the first consecutive failure */
        usec_t retry_max;    /* cap of the doubling wait after further failures */
};

struct sched_item {
        bool dirty;         /* changed since the running or last sync started */
        bool running;       /* between sched_start() and sched_finish() */
        bool has_started;   /* last_start is valid (0 is a valid monotonic time) */
        usec_t first_dirty; /* when the item last went from clean to dirty */
        usec_t last_event;  /* time of the latest event */
        usec_t last_start;  /* when the latest sync started */
        unsigned failures;  /* consecutive failed syncs, saturating */
        usec_t failed_at;   /* when the latest sync failed; valid while failures > 0 */
};

/* An event on the item's tree at now: the item becomes (or stays) dirty. */
void sched_event(struct sched_item *item, usec_t now);

/* A sync of the item starts at now. The item must not be running. It becomes clean: events
 * from now on make it dirty again. */
void sched_start(struct sched_item *item, usec_t now);

/* The running sync of the item ended at now, successfully or not. The item must be running. */
void sched_finish(struct sched_item *item, usec_t now, bool ok);

/* Wait before the retry after the given number of consecutive failures: 0 for none, else
 * min(retry_min * 2^(failures - 1), retry_max), without overflow. */
usec_t sched_backoff(const struct sched_params *params, unsigned failures);

/* When the item's next sync should start (the rules above), possibly in the past; USEC_INFINITY
 * when the item is clean or running. */
usec_t sched_due(const struct sched_item *item, const struct sched_params *params);

/* Whether the item's sync should start at now: sched_due() <= now. Never true for
 * USEC_INFINITY, so an infinite settle and max_wait mean "never" even at the end of time. */
bool sched_is_due(const struct sched_item *item, const struct sched_params *params, usec_t now);

/* The earliest sched_due() of n items, USEC_INFINITY when none is pending (n may be 0): the
 * deadline to arm the daemon's timer with. Items kept inside larger structs can fold
 * usec_min() over sched_due() instead. */
usec_t sched_next(const struct sched_item *items, size_t n, const struct sched_params *params);
