/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The sync engine (DESIGN.md §5): items -> one job per (item, destination) -> a sequence of
 * named steps: check (rules 1-3, 11), lock (rule 7), prepare (guard, space, intent: rules 4,
 * 9, 10), copy (rsync, in passes for an ESP and a boot tree: rule 9, §5c), finish (flush,
 * record: rules 6, 4). What a step does depends on the destination's kind (an ESP, a boot
 * tree, a sync-list tree), a small
 * table of operations in sync.c. Shared by the one-shot -s and the daemon.
 */

#include <stdbool.h>

#include <libmount.h>

#include "config.h"
#include "esp.h"
#include "rsync.h"
#include "swapids.h"

enum sync_state {
        SYNC_PENDING,
        SYNC_DONE,    /* rsync succeeded and the destination was flushed */
        SYNC_TESTED,  /* test mode: rsync -n ran */
        SYNC_SKIPPED, /* destination missing (disk dead or removed): a warning */
        SYNC_REFUSED, /* a safety rule said no: an error */
        SYNC_FAILED,  /* rsync or the flush failed: an error */
};

/* How a kind of destination is checked, prepared, copied into and finished (sync.c). */
struct sync_kind;

struct sync_job {
        char *item; /* "ESP" (approach 1) or "sync[N]" (config item N) */
        const struct sync_kind *kind;
        char *source; /* as rsync gets it ("/efi0/") */
        char *dest;
        char **excludes;
        unsigned line;        /* config line of the item, 0 for the ESP item */
        int boot_mode;        /* a sync-list pair: the config's boot_trees says it is a boot
                               * tree (1) or not (0), or leaves it to what it holds (-1) */
        char *boot_reason;    /* why it is copied as a boot tree this run (DESIGN.md §5c T1) */
        char *refusal;        /* set when planned: this job must never run (rule 0) */
        char **swap_excludes; /* its swap_ids files' rsync patterns (swapfiles.h), maybe none */
        char **run_excludes;  /* excludes + swap_excludes: what rsync and the guard skip */

        enum sync_state state;
        char *why;         /* for SKIPPED, REFUSED, FAILED */
        char *note;        /* worth telling with a success: "completing an interrupted sync ..." */
        char **swap_notes; /* test mode: what swap_ids would do, one line each */
        char *dry_refusal; /* test mode: the guard's refusal; the dry run shows the changes */
        usec_t duration;   /* of the rsync run and flush */

        /* between sync_job_begin() and sync_job_end() */
        struct rsync_child child;
        int lock_fd;           /* the destination, locked (and syncfs'ed) */
        int src_fd;            /* the source directory, for the rollback guard */
        int out_fd;            /* rsync's itemized changes (a memfd), or -1 */
        int msg_fd;            /* an ESP pair: why the in-process passes failed (a memfd) */
        bool source_changed;   /* the source changed while it was copied (rule 12) */
        int tree_fd;           /* a sync-list pair: the tree rsync writes, its record's home */
        int copy_src_fd;       /* a sync-list pair: what rsync reads as RSYNC_SOURCE_FD */
        char **guard_excludes; /* a sync-list pair: excludes relative to that tree */
        bool dst_fp_known;     /* the guard computed the destination's fingerprint */
        uint64_t dst_fp;
        uint64_t src_fp; /* the source's, when the guard computed it (the intent's target) */
        bool verify;     /* compare content (--checksum): see GUARD_VERIFY */
        bool in_process; /* an ordered copy made by the runner alone, no rsync (§5 rule 9) */
        unsigned passes; /* an ESP pair: the copy's passes with work (COPY_PASS_*) */
        char **protect;  /* an ESP pair with swapped files: what pass 3 keeps (§5b) */
        struct swapids_map *swap_map; /* the swap_ids map of this run, when it has files */
        usec_t started;
};

/* True for a job that mirrors the booted ESP onto an alternate. */
bool sync_job_is_esp(const struct sync_job *j);
/* True for a sync-list pair copied as a boot tree in its last run (DESIGN.md §5c). */
bool sync_job_is_boot_tree(const struct sync_job *j);

/* How often an ESP pair's content is compared (--checksum) even when nothing says it must
 * be: a sync that finds the record of the last content comparison older does one. */
#define SYNC_VERIFY_INTERVAL (24 * 60 * 60)

struct sync_plan {
        struct sync_job *jobs;
        size_t n_jobs;
};

void sync_plan_done(struct sync_plan *p);

/*
 * Every (item, destination) pair: the ESP item first (dualroot = true: booted ESP mount ->
 * each alternate mount, excluding esp_excludes and the rollback guard's state file), then
 * each config item. If the booted ESP is unknown, the ESP item becomes one refused job
 * (DESIGN.md §5 rule 0) and so does every config item whose source or destination is on an ESP.
 */
int sync_plan_build(const struct config *c, const struct esp_model *m, struct libmnt_table *t,
                    struct sync_plan *ret);

struct sync_context {
        const struct config *config;
        const struct esp_model *model;
        struct libmnt_table *mounts; /* current mount table */
        struct libmnt_table *fstab;  /* /etc/fstab, or NULL if it has none */
        bool test;
        bool force;   /* override the rollback guard */
        int progress; /* RSYNC_PROGRESS_*: how a copy's progress is shown (rsync.h) */
};

/*
 * DESIGN.md §5 rule 11, before anything runs: every sync-list destination and every
 * alternate ESP, resolved (symlinks, ".."), must not be "/", the booted ESP (or inside it),
 * or the source or an ancestor of the source; rsync_opts must not break the ESP copy order
 * (rule 9: in-place writes, early deletions). -EINVAL with *why naming the path, what it
 * resolved to and the rule; the caller exits 2.
 */
int sync_config_validate(const struct config *c, const struct esp_model *m, char **why);

/* If path, or a directory between it and the filesystem it is on, is a mount point in fstab
 * with nothing mounted on it (a missing disk), that mount point (allocated), else NULL. The
 * path is resolved first (rule 11). Also used by config_check(): a path missing there is a
 * missing disk, not a config error. */
char *unmounted_fstab_target(struct libmnt_table *mounts, struct libmnt_table *fstab,
                             const char *path);

/*
 * Safety rules 1-3 for one job against the current mount table: returns 0 with *ret_state
 * SYNC_PENDING when it may run, or SYNC_SKIPPED / SYNC_REFUSED with *why; -errno when it cannot
 * be checked. (Rule 4 runs under the lock, in sync_job_begin.)
 */
int sync_job_check(const struct sync_context *ctx, const struct sync_job *j,
                   enum sync_state *ret_state, char **why);

/* Called with the exact argv just before rsync starts. */
typedef void (*sync_start_cb)(const struct sync_job *j, char *const *argv, void *userdata);

/*
 * One job in two halves, so the daemon can wait for rsync in its event loop.
 *
 * sync_job_begin: safety checks, the destination's lock (waiting up to lock_timeout, or
 * trying once when !wait_lock), the rollback guard, the room check and the intent record,
 * then rsync started (j->child: every pass of the copy, one after the other; cb is called
 * for each pass's argv). Returns 0 when rsync runs, else the job's final positive state
 * (j->state, j->why set): DONE without rsync when the destination is already in sync.
 *
 * sync_job_end: given how rsync ended (stopped: it overran rsync_timeout and was killed),
 * flushes the destination (syncfs), records the guard state, unlocks. Returns the final
 * state. Test mode takes no lock, writes nothing, and ends TESTED.
 */
int sync_job_begin(const struct sync_context *ctx, struct sync_job *j, bool wait_lock,
                   sync_start_cb cb, void *userdata);
int sync_job_end(const struct sync_context *ctx, struct sync_job *j, int code, int status,
                 bool stopped);

/* How often sync_plan_run() copies a job whose source changed while it was copied. */
#define SYNC_SOURCE_ATTEMPTS 3

/* How long a stopped rsync gets between SIGTERM and SIGKILL. */
#define RSYNC_GRACE (10 * USEC_PER_SEC)

/* Called as each job of sync_plan_run() ends, whatever its state. */
typedef void (*sync_end_cb)(const struct sync_job *j, void *userdata);

/*
 * Runs every job of the plan in order, each to completion (one-shot -s): begin (waiting for
 * the lock), wait for rsync (stopping it after rsync_timeout), end. A failing job does not
 * stop the others; a stop signal (SIGINT, SIGTERM, SIGHUP) does: rsync is stopped and the
 * jobs after it stay PENDING. Returns the number of jobs that ended REFUSED or FAILED.
 */
size_t sync_plan_run(const struct sync_context *ctx, struct sync_plan *p, sync_start_cb cb,
                     sync_end_cb end, void *userdata);

const char *sync_state_to_string(enum sync_state s);
