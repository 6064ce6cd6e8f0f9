/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>

#include "blockdev.h"
#include "daemon.h"
#include "efivars.h"
#include "esp.h"
#include "config-check.h"
#include "machine.h"
#include "notify.h"
#include "prio.h"
#include "report.h"
#include "sched.h"
#include "sync.h"
#include "util/errmsg.h"
#include "util/log.h"
#include "util/mapping.h"
#include "util/strv.h"
#include "watch.h"

/* After SIGTERM, pending syncs get this long in all; then rsync is killed (the unit's
 * TimeoutStopSec= leaves room for it). */
#define FLUSH_LIMIT (60 * USEC_PER_SEC)
/* Retry after failures: 10 s, doubling, at most 10 min (and never sooner than sync_delay
 * after the previous start, see sched.h). */
#define RETRY_MIN (10 * USEC_PER_SEC)
#define RETRY_MAX (600 * USEC_PER_SEC)

enum { TAG_SIGNAL = 1, TAG_TIMER, TAG_MOUNTS, TAG_WATCH };

struct ditem {
        unsigned id;
        char *key;    /* name, source and destinations: what makes it the same item */
        char *name;   /* "ESP", "sync[N]" */
        char *source; /* NULL when the plan refused the item (rule 0) */
        char **excludes;
        size_t first, n;   /* its jobs in the plan */
        bool *present;     /* per job: destination there at the last mount check */
        dev_t watched_dev; /* filesystem the watch is on, 0 when not watched */
        struct sched_item s;
        bool now;       /* sync at once: start-up, SIGTERM */
        bool done_once; /* its first round has finished */
        size_t next;    /* next job of the running round */
        bool round_ok;
};

struct daemon {
        const struct daemon_args *args;
        struct config *cfg;
        struct config *new_cfg; /* valid config read on SIGHUP, applied when idle */
        struct esp_model *model;
        struct libmnt_table *mounts;
        struct libmnt_table *fstab;
        struct sync_plan plan;
        struct ditem *items;
        size_t n_items;
        unsigned next_id;
        struct watcher *watcher;
        struct sched_params params;

        int epfd, sigfd, timerfd, mountfd;

        struct ditem *cur;    /* item whose round runs */
        struct sync_job *job; /* job whose rsync runs */
        int job_stage;        /* 0 running, 1 SIGTERM sent, 2 SIGKILL sent */
        usec_t job_deadline;

        bool remodel;      /* the mount table changed: rebuild when idle */
        bool worked;       /* a round ran since the daemon last went idle */
        bool ready;        /* every item's first round has finished */
        size_t first_done; /* items whose first round had finished when STATUS= last said */
        bool terminating;
        usec_t flush_deadline;
        bool final_failed;
};

static void ditem_done(struct ditem *it)
{
        free(it->key);
        free(it->name);
        free(it->source);
        strv_free(it->excludes);
        free(it->present);
}

static struct sync_context context(const struct daemon *d, const struct ditem *it)
{
        return (struct sync_context){
                .config = d->cfg,
                .model = d->model,
                .mounts = d->mounts,
                .fstab = d->fstab,
                .test = d->args->test,
                .force = d->args->force && it && !it->done_once,
                /* a long copy says how far it is, in the journal a line a minute at most */
                .progress = RSYNC_PROGRESS_LOG,
        };
}

static void set_params(struct daemon *d)
{
        d->params = (struct sched_params){
                .settle = d->cfg->settle_time,
                .max_wait = d->cfg->max_wait,
                .min_interval = d->cfg->sync_delay,
                .retry_min = RETRY_MIN,
                .retry_max = RETRY_MAX,
        };
}

static struct ditem *item_by_id(struct daemon *d, unsigned id)
{
        for (size_t i = 0; i < d->n_items; i++)
                if (d->items[i].id == id)
                        return &d->items[i];
        return NULL;
}

/* --- the model, the plan and the items ---------------------------------------------------- */

/* What identifies an item across a reload: same key, same watches and schedule. */
static char *item_key(const struct sync_plan *p, size_t first, size_t n)
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        fprintf(f, "%s\n%s", p->jobs[first].item, strna(p->jobs[first].source));
        for (size_t i = first; i < first + n; i++)
                fprintf(f, "\n%s", strna(p->jobs[i].dest));
        /* Exclusions too: they decide what is watched, so a change is a new item. */
        STRV_FOREACH(x, p->jobs[first].excludes)
        fprintf(f, "\nexclude %s", *x);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* Builds items from a plan: consecutive jobs of one config item (or the ESP item) form one
 * item. */
static int items_from_plan(const struct sync_plan *p, struct ditem **ret, size_t *ret_n)
{
        struct ditem *items = NULL;
        size_t n = 0;

        for (size_t i = 0; i < p->n_jobs;) {
                size_t k = i + 1;
                struct ditem *t, *it;

                while (k < p->n_jobs && streq(p->jobs[k].item, p->jobs[i].item))
                        k++;
                t = reallocarray(items, n + 1, sizeof(*t));
                if (!t)
                        goto nomem;
                items = t;
                it = &items[n++];
                *it = (struct ditem){ .first = i, .n = k - i };
                it->key = item_key(p, i, k - i);
                it->name = strdup(p->jobs[i].item);
                it->source = p->jobs[i].source ? strdup(p->jobs[i].source) : NULL;
                it->excludes = strv_copy(p->jobs[i].excludes);
                it->present = calloc(k - i, sizeof(bool));
                if (!it->key || !it->name || (p->jobs[i].source && !it->source) || !it->excludes ||
                    !it->present)
                        goto nomem;
                i = k;
        }
        *ret = items;
        *ret_n = n;
        return 0;
nomem:
        for (size_t i = 0; i < n; i++)
                ditem_done(&items[i]);
        free(items);
        return -ENOMEM;
}

/* True when path is where a whole filesystem is mounted (not a bind of a directory). */
static bool is_fs_root(const struct daemon *d, const char *path)
{
        struct libmnt_fs *fs = mounts_find_target(d->mounts, path);

        return fs && streq_ptr(mnt_fs_get_root(fs), "/");
}

/* Watches every item's source where it is not watched on the filesystem now there (new
 * items, and sources unmounted and mounted again since). */
static void ensure_watches(struct daemon *d, usec_t now)
{
        for (size_t i = 0; i < d->n_items; i++) {
                struct ditem *it = &d->items[i];
                _cleanup_free_ char *why = NULL;
                struct stat st;
                usec_t t0;
                int r;

                if (!it->source)
                        continue;
                if (stat(it->source, &st) < 0) {
                        if (it->watched_dev != 0)
                                log_warning("source '%s' of %s is gone; not watching it",
                                            it->source, it->name);
                        watcher_remove(d->watcher, it->id);
                        it->watched_dev = 0;
                        continue;
                }
                if (it->watched_dev == st.st_dev && watcher_active(d->watcher, it->id)) {
                        r = watcher_refresh(d->watcher, it->id);
                        if (r < 0)
                                log_warning_errno(r,
                                                  "cannot renew the fanotify mark on %s (%s): "
                                                  "%m; its changes may go unnoticed",
                                                  it->source, it->name);
                        continue;
                }

                t0 = now_usec(CLOCK_MONOTONIC);
                r = watcher_add(d->watcher, it->id, it->source, it->excludes,
                                is_fs_root(d, it->source), &why);
                if (r < 0) {
                        log_error("cannot watch %s (%s): %s; its changes go unnoticed until "
                                  "the mount table changes or the daemon is reloaded",
                                  it->source, it->name, strna(why));
                        it->watched_dev = 0;
                        continue;
                }
                if (streq(watcher_backend(d->watcher, it->id), "fanotify"))
                        log_info("watching %s for %s: its whole filesystem, with fanotify (set "
                                 "up in %.1f ms)",
                                 it->source, it->name,
                                 (double)(now_usec(CLOCK_MONOTONIC) - t0) / USEC_PER_MSEC);
                else
                        log_info("watching %d director%s under %s for %s, with inotify (set up "
                                 "in %.1f ms)",
                                 r, r == 1 ? "y" : "ies", it->source, it->name,
                                 (double)(now_usec(CLOCK_MONOTONIC) - t0) / USEC_PER_MSEC);
                /* Watched anew after it was away: what changed meanwhile was not seen. */
                if (it->watched_dev != 0 || it->done_once)
                        sched_event(&it->s, now);
                it->watched_dev = st.st_dev;
        }
}

/* Notices destinations that disappeared or came back since the last look. */
static void check_presence(struct daemon *d, usec_t now)
{
        for (size_t i = 0; i < d->n_items; i++) {
                struct ditem *it = &d->items[i];
                struct sync_context ctx = context(d, it);

                for (size_t k = 0; k < it->n; k++) {
                        const struct sync_job *j = &d->plan.jobs[it->first + k];
                        _cleanup_free_ char *why = NULL;
                        enum sync_state state;
                        bool present;

                        if (j->refusal)
                                continue;
                        present =
                                sync_job_check(&ctx, j, &state, &why) < 0 || state != SYNC_SKIPPED;
                        if (present && !it->present[k] && it->done_once) {
                                log_info("%s is available again: syncing it", j->dest);
                                sched_event(&it->s, now);
                        } else if (!present && it->present[k] && d->ready) {
                                log_warning("%s disappeared (%s); skipping it until it returns",
                                            j->dest, strna(why));
                        }
                        it->present[k] = present;
                }
        }
}

/* Rebuilds mount table, ESP model, plan and items; items that did not change keep their
 * schedule and watches. Only while no round runs (jobs point into the plan). */
static int rebuild(struct daemon *d, usec_t now)
{
        _cleanup_mnt_table_ struct libmnt_table *mounts = NULL, *fstab = NULL;
        _cleanup_esp_model_ struct esp_model *model = NULL;
        _cleanup_(machine_done) struct machine m = {};
        _cleanup_free_ char *why = NULL;
        enum machine_part part;
        struct sync_plan plan = {};
        struct ditem *items = NULL;
        size_t n_items = 0;
        int r;

        r = machine_load(d->cfg, MACHINE_FSTAB, &m, &part, &why);
        if (r < 0)
                return log_error_errno(r, "%s", why ? why : strerror(-r));
        if (m.fstab_warning)
                log_warning("%s", m.fstab_warning);
        mounts = TAKE_PTR(m.mounts);
        fstab = TAKE_PTR(m.fstab);
        model = TAKE_PTR(m.model);
        r = sync_plan_build(d->cfg, model, mounts, &plan);
        if (r < 0)
                return log_error_errno(r, "cannot plan the syncs: %m");
        r = items_from_plan(&plan, &items, &n_items);
        if (r < 0) {
                sync_plan_done(&plan);
                return log_error_errno(r, "cannot plan the syncs: %m");
        }

        /* Carry over what did not change; forget (and unwatch) what did. */
        for (size_t i = 0; i < n_items; i++) {
                struct ditem *it = &items[i];
                struct ditem *old = NULL;

                for (size_t k = 0; k < d->n_items && !old; k++)
                        if (d->items[k].id != 0 && streq(d->items[k].key, it->key))
                                old = &d->items[k];
                if (old) {
                        it->id = old->id;
                        it->s = old->s;
                        it->now = old->now;
                        it->done_once = old->done_once;
                        it->watched_dev = old->watched_dev;
                        memcpy(it->present, old->present, it->n * sizeof(bool));
                        old->id = 0; /* taken */
                        continue;
                }
                it->id = ++d->next_id;
                it->now = !d->ready; /* at start-up: sync everything once */
                if (d->ready)
                        sched_event(&it->s, now); /* a new item: sync it after the settle time */
                for (size_t k = 0; k < it->n; k++) {
                        const struct sync_job *j = &plan.jobs[it->first + k];

                        it->present[k] = true;
                        if (j->refusal)
                                log_error("%s", j->refusal);
                }
        }
        for (size_t k = 0; k < d->n_items; k++) {
                if (d->items[k].id != 0)
                        watcher_remove(d->watcher, d->items[k].id);
                ditem_done(&d->items[k]);
        }
        free(d->items);
        d->items = items;
        d->n_items = n_items;
        sync_plan_done(&d->plan);
        d->plan = plan;
        esp_model_free(d->model);
        d->model = TAKE_PTR(model);
        mnt_unref_table(d->mounts);
        d->mounts = TAKE_PTR(mounts);
        mnt_unref_table(d->fstab);
        d->fstab = TAKE_PTR(fstab);

        ensure_watches(d, now);
        check_presence(d, now);
        return 0;
}

/* --- running syncs --------------------------------------------------------------------- */

static bool item_wants_sync(const struct daemon *d, const struct ditem *it, usec_t now)
{
        if (it->s.running)
                return false;
        return it->now || sched_is_due(&it->s, &d->params, now);
}

/* READY=1 went out when the watches were set (DESIGN.md §6 N1); this tells the end of the
 * first round of every item, in STATUS= and the log. */
static void initial_sync_progress(struct daemon *d)
{
        size_t done = 0;

        if (d->ready)
                return;
        for (size_t i = 0; i < d->n_items; i++)
                done += d->items[i].done_once;
        if (done < d->n_items) {
                if (done == d->first_done)
                        return;
                d->first_done = done;
                notify_sendf("STATUS=watching %zu item(s); first sync: %zu of %zu done", d->n_items,
                             done, d->n_items);
                return;
        }
        d->ready = true;
        notify_sendf("STATUS=watching %zu item(s); initial sync done", d->n_items);
        log_info("initial sync done; watching for changes");
}

static void finish_round(struct daemon *d, usec_t now)
{
        struct ditem *it = d->cur;

        sched_finish(&it->s, now, it->round_ok);
        if (!it->done_once) {
                it->done_once = true;
                initial_sync_progress(d);
        }
        if (!it->round_ok) {
                usec_t due = sched_due(&it->s, &d->params);

                if (d->terminating)
                        d->final_failed = true;
                else if (due != USEC_INFINITY)
                        log_warning("%s will be tried again in %.0fs", it->name,
                                    (double)usec_sub(due, now) / USEC_PER_SEC);
        }
        d->cur = NULL;
}

/* Going idle after work: hand back what the rounds' allocations (rsync argv, probes, mount
 * tables) left in the heap, and the pages of code and read-only data they touched (DESIGN.md
 * §6 N2, §15): each comes back by a minor fault when next needed. */
static void go_idle(struct daemon *d)
{
        uint64_t released = 0;
        int r;

        /* First: what reading smaps allocates is then handed back too. Not under
         * AddressSanitizer: its shadow maps make smaps slow to read and the figure
         * meaningless, and the delay lost t-daemon's SIGTERM race there. */
#if defined(__SANITIZE_ADDRESS__)
        r = 0;
#else
        r = mappings_release_clean(&released);
#endif
        malloc_trim(0);
        if (r < 0)
                log_debug("cannot release clean pages: %s", strerror(-r));
        else
                log_debug("idle: released %" PRIu64 " KiB of clean file pages", released / 1024);
        d->worked = false;
}

/* Starts what is due, one rsync at a time. */
static void pump(struct daemon *d)
{
        while (!d->job) {
                usec_t now = now_usec(CLOCK_MONOTONIC);
                struct ditem *it = d->cur;
                struct sync_context ctx;
                struct sync_job *j;
                int r;

                if (!it) {
                        if (d->terminating && now >= d->flush_deadline)
                                return;
                        if (d->remodel && !d->terminating) {
                                d->remodel = false;
                                d->worked = true;
                                (void)rebuild(d, now);
                        }
                        for (size_t i = 0; i < d->n_items; i++) {
                                struct ditem *c = &d->items[i];

                                if (!item_wants_sync(d, c, now))
                                        continue;
                                if (!it || c->now ||
                                    sched_due(&c->s, &d->params) < sched_due(&it->s, &d->params))
                                        it = c;
                        }
                        if (!it) {
                                initial_sync_progress(d);
                                if (d->worked)
                                        go_idle(d);
                                return;
                        }
                        sched_start(&it->s, now);
                        d->worked = true;
                        it->now = false;
                        it->next = 0;
                        it->round_ok = true;
                        d->cur = it;
                }
                if (d->terminating && now >= d->flush_deadline && it->next < it->n) {
                        it->round_ok = false; /* out of time: the rest is not synced */
                        it->next = it->n;
                }
                if (it->next == it->n) {
                        finish_round(d, now);
                        continue;
                }
                j = &d->plan.jobs[it->first + it->next++];
                if (j->refusal)
                        continue; /* said once when planned; a mount change may lift it */
                ctx = context(d, it);
                r = sync_job_begin(&ctx, j, false, NULL, NULL);
                if (r > 0) {
                        report_job(j, REPORT_DAEMON, false);
                        if (j->state == SYNC_REFUSED || j->state == SYNC_FAILED)
                                it->round_ok = false;
                        continue;
                }
                /* Its exit arrives as SIGCHLD on the signalfd. */
                d->job = j;
                d->job_stage = 0;
                d->job_deadline = d->cfg->rsync_timeout
                                          ? usec_add(j->child.started, d->cfg->rsync_timeout)
                                          : USEC_INFINITY;
        }
}

static void child_exited(struct daemon *d)
{
        struct sync_job *j = d->job;
        struct sync_context ctx = context(d, d->cur);
        int r, code = 0, status = 0;

        if (!j)
                return;
        r = rsync_reap(&j->child, &code, &status);
        if (r == 0)
                return; /* SIGCHLD from something else, or coalesced: not ours yet */
        if (r < 0) {
                log_error_errno(r, "cannot reap rsync (pid %d): %m", (int)j->child.pid);
                code = CLD_KILLED;
                status = SIGKILL;
        }
        sync_job_end(&ctx, j, code, status, d->job_stage > 0);
        report_job(j, REPORT_DAEMON, false);
        /* A source written to during the copy (DESIGN.md §5 rule 12) is not a failure to
         * back off from: the watcher saw the writes, and the next round syncs them. */
        if (j->state != SYNC_DONE && j->state != SYNC_TESTED && j->state != SYNC_SKIPPED &&
            !j->source_changed)
                d->cur->round_ok = false;
        d->job = NULL;
}

/* --- signals, timer, mounts ---------------------------------------------------------------- */

static void reload(struct daemon *d)
{
        _cleanup_free_ char *why = NULL;
        struct config *c = NULL;
        int r;

        notify_send("RELOADING=1");
        r = config_load(d->args->config_path, d->args->config_given, &c, &why);
        if (r >= 0) {
                _cleanup_esp_model_ struct esp_model *m = NULL;

                /* Exactly what --check-config refuses (DESIGN.md §7 C7), on the model the new
                 * config gives (its esp_mounts name the alternates rule 11 checks). */
                r = esp_model_load(c, efi_vars_dir(), esp_sysfs_root(), false, d->mounts, &m);
                if (r < 0)
                        (void)errmsg(&why, r, "cannot build the ESP model: %s", strerror(-r));
                else {
                        struct config_check_context cx = { .model = m,
                                                           .mounts = d->mounts,
                                                           .fstab = d->fstab };

                        r = config_check(c, &cx, &why);
                }
                if (r < 0)
                        c = config_free(c);
        }
        if (r < 0) {
                log_error("reload: %s; keeping the configuration in use", strna(why));
                notify_sendf("READY=1\nSTATUS=reload failed, old configuration kept: %s",
                             strna(why));
                return;
        }
        config_free(d->new_cfg);
        d->new_cfg = c;
        log_info("reloaded %s", d->args->config_path);
        notify_send("READY=1");
}

static void apply_new_config(struct daemon *d)
{
        _cleanup_free_ char *why = NULL;

        if (!d->new_cfg || d->cur)
                return;
        config_free(d->cfg);
        d->cfg = TAKE_PTR(d->new_cfg);
        set_params(d);
        if (prio_apply(d->cfg->nice, d->cfg->ionice_class, d->cfg->ionice_level, &why) < 0)
                log_warning("%s, ignoring", strna(why));
        d->remodel = true;
}

static void terminate(struct daemon *d, usec_t now, int sig)
{
        if (d->terminating) {
                log_warning("%s again: stopping now", strsignal(sig));
                if (d->job)
                        rsync_signal(&d->job->child, SIGKILL);
                d->final_failed = true;
                d->flush_deadline = now;
                return;
        }
        d->terminating = true;
        d->flush_deadline = usec_add(now, FLUSH_LIMIT);
        notify_send("STOPPING=1\nSTATUS=running pending syncs before exiting");
        for (size_t i = 0; i < d->n_items; i++)
                if (d->items[i].s.dirty && !d->items[i].s.running)
                        d->items[i].now = true;
        log_info("%s: running pending syncs, then exiting", strsignal(sig));
}

static void handle_signals(struct daemon *d)
{
        struct signalfd_siginfo si;
        ssize_t n;

        while ((n = read(d->sigfd, &si, sizeof(si))) == sizeof(si)) {
                usec_t now = now_usec(CLOCK_MONOTONIC);

                if (si.ssi_signo == SIGCHLD)
                        child_exited(d);
                else if (si.ssi_signo == SIGHUP)
                        reload(d);
                else
                        terminate(d, now, (int)si.ssi_signo);
        }
}

static void handle_timer(struct daemon *d)
{
        uint64_t expirations;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        /* Only acknowledges the expiry (EAGAIN when woken for another reason). */
        if (read(d->timerfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
                log_debug("cannot read the timerfd: %m");
        if (d->job && now >= d->job_deadline) {
                if (d->job_stage == 0) {
                        log_warning("rsync %s -> %s exceeded rsync_timeout; stopping it",
                                    d->job->source, d->job->dest);
                        rsync_signal(&d->job->child, SIGTERM);
                        d->job_stage = 1;
                        d->job_deadline = usec_add(now, RSYNC_GRACE);
                } else if (d->job_stage == 1) {
                        rsync_signal(&d->job->child, SIGKILL);
                        d->job_stage = 2;
                        d->job_deadline = USEC_INFINITY;
                }
        }
        if (d->terminating && d->job && now >= d->flush_deadline && d->job_stage < 2) {
                log_error("pending syncs did not finish within %.0fs of the stop request; "
                          "stopping rsync",
                          (double)FLUSH_LIMIT / USEC_PER_SEC);
                rsync_signal(&d->job->child, SIGKILL);
                d->job_stage = 2;
                d->final_failed = true;
        }
}

static void on_watch_event(unsigned id, void *userdata)
{
        struct daemon *d = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        if (id == WATCH_ALL_ITEMS) {
                log_warning("the kernel's event queue overflowed; treating every item as "
                            "changed");
                for (size_t i = 0; i < d->n_items; i++)
                        sched_event(&d->items[i].s, now);
                return;
        }
        struct ditem *it = item_by_id(d, id);
        if (it)
                sched_event(&it->s, now);
}

/* Arms the timer for the earliest thing that must happen, or disarms it. */
static void arm_timer(struct daemon *d)
{
        usec_t next = USEC_INFINITY, now = now_usec(CLOCK_MONOTONIC);
        struct itimerspec its = {};

        if (d->job) {
                next = d->job_deadline;
                if (d->terminating && d->job_stage < 2)
                        next = usec_min(next, d->flush_deadline);
        } else if (!d->cur) {
                for (size_t i = 0; i < d->n_items; i++) {
                        const struct ditem *it = &d->items[i];

                        next = usec_min(next, it->now ? now : sched_due(&it->s, &d->params));
                }
        }
        if (next != USEC_INFINITY) {
                next = usec_max(next, 1); /* an all-zero value would disarm */
                its.it_value.tv_sec = (time_t)(next / USEC_PER_SEC);
                its.it_value.tv_nsec = (long)(next % USEC_PER_SEC) * 1000;
        }
        if (timerfd_settime(d->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
                log_error_errno(errno, "cannot arm the timer: %m");
}

/* --- set-up and the loop -------------------------------------------------------------------- */

static int add_fd(struct daemon *d, int fd, uint32_t events, uint32_t tag)
{
        struct epoll_event ev = { .events = events, .data.u32 = tag };

        return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? negative_errno() : 0;
}

static int setup(struct daemon *d)
{
        sigset_t mask;
        int r;

        /* SIGCHLD too: rsync's exit is an event like any other. */
        rsync_wait_signals(&mask);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "cannot block signals: %m");
        d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (d->sigfd < 0)
                return log_error_errno(errno, "cannot create a signalfd: %m");
        d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (d->timerfd < 0)
                return log_error_errno(errno, "cannot create a timerfd: %m");
        d->mountfd = open(MOUNTINFO_DEFAULT, O_RDONLY | O_CLOEXEC);
        if (d->mountfd < 0)
                return log_error_errno(errno, "cannot open %s: %m", MOUNTINFO_DEFAULT);
        r = watcher_new(&d->watcher);
        if (r < 0)
                return log_error_errno(r, "cannot create an inotify instance: %m");
        d->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (d->epfd < 0)
                return log_error_errno(errno, "cannot create an epoll instance: %m");
        /* The mount table signals changes with POLLPRI (proc(5), /proc/pid/mountinfo). */
        if ((r = add_fd(d, d->sigfd, EPOLLIN, TAG_SIGNAL)) < 0 ||
            (r = add_fd(d, d->timerfd, EPOLLIN, TAG_TIMER)) < 0 ||
            (r = add_fd(d, d->mountfd, EPOLLPRI, TAG_MOUNTS)) < 0 ||
            (r = add_fd(d, watcher_fd(d->watcher), EPOLLIN, TAG_WATCH)) < 0 ||
            (watcher_fanotify_fd(d->watcher) >= 0 &&
             (r = add_fd(d, watcher_fanotify_fd(d->watcher), EPOLLIN, TAG_WATCH)) < 0))
                return log_error_errno(r, "cannot set up the event loop: %m");
        return 0;
}

static void teardown(struct daemon *d)
{
        if (d->job) {
                int code, status;

                rsync_signal(&d->job->child, SIGKILL);
                (void)rsync_wait(&d->job->child, 0, 0, &code, &status, NULL);
        }
        for (size_t i = 0; i < d->n_items; i++)
                ditem_done(&d->items[i]);
        free(d->items);
        sync_plan_done(&d->plan);
        esp_model_free(d->model);
        mnt_unref_table(d->mounts);
        mnt_unref_table(d->fstab);
        watcher_free(d->watcher);
        config_free(d->cfg);
        config_free(d->new_cfg);
        closep(&d->epfd);
        closep(&d->sigfd);
        closep(&d->timerfd);
        closep(&d->mountfd);
}

int daemon_run(struct config *cfg, const struct daemon_args *args)
{
        struct daemon d = {
                .args = args,
                .cfg = cfg,
                .epfd = -1,
                .sigfd = -1,
                .timerfd = -1,
                .mountfd = -1,
        };
        int status = 1;

        set_params(&d);
        if (setup(&d) < 0)
                goto out;
        if (rebuild(&d, now_usec(CLOCK_MONOTONIC)) < 0)
                goto out;
        if (d.n_items == 0)
                log_warning("nothing to sync: no alternate ESP and no sync list; idle until "
                            "reloaded");
        /* DESIGN.md §6 N1: ready once watching. The first syncs run after this, reported in
         * STATUS=: one of a large tree (approach 2) outlasts any start timeout, and systemd
         * would kill and restart the unit in a loop if READY=1 waited for them. */
        notify_sendf("READY=1\nSTATUS=watching %zu item(s); first sync: 0 of %zu done", d.n_items,
                     d.n_items);

        for (;;) {
                struct epoll_event evs[8];
                int n;

                apply_new_config(&d);
                pump(&d);
                if (d.terminating && !d.job && !d.cur) {
                        bool pending = false;

                        for (size_t i = 0; i < d.n_items; i++)
                                pending |= d.items[i].now;
                        if (!pending || now_usec(CLOCK_MONOTONIC) >= d.flush_deadline)
                                break;
                }
                arm_timer(&d);
                n = epoll_wait(d.epfd, evs, (int)ELEMENTSOF(evs), -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        log_error_errno(errno, "epoll_wait failed: %m");
                        goto out;
                }
                for (int i = 0; i < n; i++) {
                        switch (evs[i].data.u32) {
                        case TAG_SIGNAL:
                                handle_signals(&d);
                                break;
                        case TAG_TIMER:
                                handle_timer(&d);
                                break;
                        case TAG_MOUNTS:
                                d.remodel = true;
                                break;
                        case TAG_WATCH: {
                                int r = watcher_process(d.watcher, on_watch_event, &d);
                                _cleanup_strv_free_ char **warned =
                                        watcher_take_warnings(d.watcher);

                                if (r < 0)
                                        log_error_errno(r, "cannot read file-change events "
                                                           "(inotify or fanotify): %m");
                                STRV_FOREACH(x, warned)
                                log_warning("%s", *x);
                                break;
                        }
                        }
                }
        }
        status = d.final_failed ? 1 : 0;
        log_info("exiting");
out:
        teardown(&d);
        return status;
}
