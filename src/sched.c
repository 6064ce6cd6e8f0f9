/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <limits.h>

#include "sched.h"

void sched_event(struct sched_item *item, usec_t now)
{
        assert(item);

        /* first_dirty anchors max_wait, so only the first event of a dirty spell sets it:
         * later events of a burst must not push the upper bound away. */
        if (!item->dirty) {
                item->dirty = true;
                item->first_dirty = now;
        }
        item->last_event = now;
}

void sched_start(struct sched_item *item, usec_t now)
{
        assert(item);
        assert(!item->running);

        /* The sync about to run copies everything changed so far; only later events need
         * another one, so the item is clean from here on. */
        item->dirty = false;
        item->running = true;
        item->has_started = true;
        item->last_start = now;
}

void sched_finish(struct sched_item *item, usec_t now, bool ok)
{
        assert(item);
        assert(item->running);

        item->running = false;

        if (ok) {
                item->failures = 0;
                return;
        }

        if (item->failures < UINT_MAX)
                item->failures++;

        /* Store when it failed, not the retry time: the backoff is applied by sched_due(), so
         * this needs no params and a config reload (SIGHUP) applies to a pending retry. */
        item->failed_at = now;

        /* Whatever the failed sync was to copy is still not copied. Events during the sync
         * already re-dirtied the item: keep their earlier first_dirty so max_wait still
         * counts from them. */
        if (!item->dirty) {
                item->dirty = true;
                item->first_dirty = now;
        }
}

usec_t sched_backoff(const struct sched_params *params, unsigned failures)
{
        assert(params);

        if (failures == 0 || params->retry_min == 0)
                return 0;

        unsigned shift = failures - 1;
        usec_t wait;

        /* retry_min << shift saturates when any bit would be shifted out. */
        if (shift >= 64 || params->retry_min > (USEC_INFINITY >> shift))
                wait = USEC_INFINITY;
        else
                wait = params->retry_min << shift;

        return usec_min(wait, params->retry_max);
}

usec_t sched_due(const struct sched_item *item, const struct sched_params *params)
{
        assert(item);
        assert(params);

        if (!item->dirty || item->running)
                return USEC_INFINITY;

        usec_t t = usec_min(usec_add(item->last_event, params->settle),
                            usec_add(item->first_dirty, params->max_wait));

        /* The floor comes after the max_wait bound on purpose: sync_delay is a rate limit on
         * rsync runs and wins over max_wait (DESIGN.md §6: "no sooner than sync_delay"). */
        if (item->has_started)
                t = usec_max(t, usec_add(item->last_start, params->min_interval));

        if (item->failures > 0)
                t = usec_max(t, usec_add(item->failed_at, sched_backoff(params, item->failures)));

        return t;
}

bool sched_is_due(const struct sched_item *item, const struct sched_params *params, usec_t now)
{
        usec_t due = sched_due(item, params);

        return due != USEC_INFINITY && due <= now;
}

usec_t sched_next(const struct sched_item *items, size_t n, const struct sched_params *params)
{
        usec_t next = USEC_INFINITY;

        assert(items || n == 0);

        for (size_t i = 0; i < n; i++)
                next = usec_min(next, sched_due(&items[i], params));

        return next;
}
