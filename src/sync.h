/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The sync engine (SPEC 5): items -> one job per (item, destination) -> safety checks ->
 * lock -> rsync -> syncfs -> result. Shared by the one-shot -s and the daemon.
 */

#include <stdbool.h>

#include <libmount.h>

#include "config.h"
#include "esp.h"
#include "rsync.h"

enum sync_state {
        SYNC_PENDING,
        SYNC_DONE,      /* rsync succeeded and the destination was flushed */
        SYNC_TESTED,    /* test mode: rsync -n ran */
        SYNC_SKIPPED,   /* destination missing (disk dead or removed): a warning */
        SYNC_REFUSED,   /* a safety rule said no: an error */
        SYNC_FAILED,    /* rsync or the flush failed: an error */
};

struct sync_job {
        char *item;             /* "ESP" (approach 1) or "sync[N]" (config item N) */
        bool esp;               /* approach-1 ESP mirroring: mount and rollback checks */
        char *source;           /* as rsync gets it ("/efi0/") */
        char *dest;
        char **excludes;
        unsigned line;          /* config line of the item, 0 for the ESP item */

        enum sync_state state;
        char *why;              /* for SKIPPED, REFUSED, FAILED */
        usec_t duration;        /* of the rsync run and flush */

        /* while running (daemon) */
        struct rsync_child child;
        int lock_fd;
        bool running;
};

struct sync_plan {
        struct sync_job *jobs;
        size_t n_jobs;
};

void sync_plan_done(struct sync_plan *p);

/*
 * Every (item, destination) pair: the ESP item first (dualroot = true: booted ESP mount ->
 * each alternate mount, excluding esp_excludes and the rollback guard's state file), then
 * each config item. If the booted ESP is unknown, the ESP item becomes one refused job
 * (SPEC 5 rule 0) and so does every config item whose source or destination is on an ESP.
 */
int sync_plan_build(const struct config *c, const struct esp_model *m, struct libmnt_table *t,
                    struct sync_plan *ret);

struct sync_context {
        const struct config *config;
        const struct esp_model *model;
        struct libmnt_table *mounts;    /* current mount table */
        struct libmnt_table *fstab;     /* /etc/fstab, or NULL if it has none */
        bool test;
        bool force;                     /* override the rollback guard */
};

/*
 * Safety rules 1-3 for one job against the current mount table: returns 0 when it may run,
 * or the positive state SYNC_SKIPPED / SYNC_REFUSED with *why. (Rule 4 runs under the lock, in sync_job_start.)
 */
int sync_job_check(const struct sync_context *ctx, const struct sync_job *j, char **why);

/* Called with the exact argv just before rsync starts. */
typedef void (*sync_start_cb)(const struct sync_job *j, char *const *argv, void *userdata);

/*
 * Runs every job of the plan in order, each to completion (one-shot -s): check, lock
 * (waiting up to lock_timeout), rollback guard, rsync (killed after rsync_timeout), syncfs,
 * state. A failing job does not stop the others. Returns the number of jobs that ended
 * REFUSED or FAILED.
 */
size_t sync_plan_run(const struct sync_context *ctx, struct sync_plan *p, sync_start_cb cb,
                     void *userdata);

const char *sync_state_to_string(enum sync_state s);
