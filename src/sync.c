/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "blockdev.h"
#include "guard.h"
#include "lock.h"
#include "sync.h"
#include "util/errmsg.h"
#include "util/log.h"
#include "util/strv.h"

const char *sync_state_to_string(enum sync_state s)
{
        static const char *const names[] = {
                [SYNC_PENDING] = "not run", [SYNC_DONE] = "synced",     [SYNC_TESTED] = "tested",
                [SYNC_SKIPPED] = "skipped", [SYNC_REFUSED] = "refused", [SYNC_FAILED] = "failed",
        };
        return (unsigned)s < ELEMENTSOF(names) ? names[s] : "?";
}

static void job_done(struct sync_job *j)
{
        free(j->item);
        free(j->source);
        free(j->dest);
        strv_free(j->excludes);
        free(j->why);
        free(j->refusal);
        if (j->lock_fd >= 0)
                close(j->lock_fd);
        if (j->src_fd >= 0)
                close(j->src_fd);
        if (j->out_fd >= 0)
                close(j->out_fd);
}

void sync_plan_done(struct sync_plan *p)
{
        for (size_t i = 0; i < p->n_jobs; i++)
                job_done(&p->jobs[i]);
        free(p->jobs);
        *p = (struct sync_plan){};
}

static struct sync_job *plan_add(struct sync_plan *p, const char *item, bool esp,
                                 const char *source, const char *dest, char *const *excludes,
                                 unsigned line)
{
        struct sync_job *t, *j;

        t = reallocarray(p->jobs, p->n_jobs + 1, sizeof(*t));
        if (!t)
                return NULL;
        p->jobs = t;
        j = &p->jobs[p->n_jobs];
        *j = (struct sync_job){
                .esp = esp,
                .line = line,
                .lock_fd = -1,
                .src_fd = -1,
                .out_fd = -1,
        };
        j->item = strdup(item);
        j->source = source ? strdup(source) : NULL;
        j->dest = dest ? strdup(dest) : NULL;
        j->excludes = strv_copy(excludes);
        p->n_jobs++;
        if (!j->item || (source && !j->source) || (dest && !j->dest) || !j->excludes)
                return NULL;
        return j;
}

/* The device number of the filesystem holding path, or 0 if it cannot be stat'ed. */
static dev_t devnum_of(const char *path)
{
        struct stat st;

        return stat(path, &st) < 0 ? 0 : st.st_dev;
}

/* True when path lies on a filesystem mounted on one of the model's ESP mount points. */
static bool on_an_esp(const struct esp_model *m, struct libmnt_table *t, const char *path)
{
        dev_t d = devnum_of(path);

        if (d == 0)
                return false;
        STRV_FOREACH(e, m->esp_set)
        {
                struct libmnt_fs *fs = mounts_find_target(t, *e);

                if (fs && mnt_fs_get_devno(fs) == d)
                        return true;
        }
        return m->device_ok && d == m->booted.devnum;
}

static int esp_excludes(const struct config *c, char ***ret)
{
        _cleanup_strv_free_ char **x = strv_copy(c->esp_excludes);

        if (!x)
                return -ENOMEM;
        /* The guard's record is per ESP by design, like the random seed. */
        if (strv_extend(&x, "/" GUARD_STATE_FILE) < 0 || strv_extend(&x, "/" GUARD_STATE_TMP) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(x);
        return 0;
}

int sync_plan_build(const struct config *c, const struct esp_model *m, struct libmnt_table *t,
                    struct sync_plan *ret)
{
        struct sync_plan p = {};
        bool booted = m->boot_ok && m->device_ok;
        int r = 0;

        if (c->dualroot) {
                _cleanup_strv_free_ char **x = NULL;
                _cleanup_free_ char *src = NULL;
                struct sync_job *j;

                r = esp_excludes(c, &x);
                if (r < 0)
                        goto fail;
                if (!booted || !m->booted.mount) {
                        /* Rule 0: without the booted ESP there is no direction to sync in. */
                        j = plan_add(&p, "ESP", true, NULL, NULL, x, 0);
                        if (!j)
                                goto nomem;
                        if (!booted)
                                (void)errmsg(&j->refusal, 0,
                                             "not syncing any ESP: the booted ESP is unknown (%s)",
                                             strna(m->why));
                        else
                                (void)errmsg(
                                        &j->refusal, 0,
                                        "not syncing any ESP: the booted ESP %s is not mounted "
                                        "on an ESP mount point",
                                        m->booted.device);
                        if (!j->refusal)
                                goto nomem;
                } else {
                        if (asprintf(&src, "%s/", m->booted.mount) < 0)
                                goto nomem;
                        for (size_t i = 0; i < m->n_alternates; i++) {
                                _cleanup_free_ char *dst = NULL;

                                if (asprintf(&dst, "%s/", m->alternates[i].mount) < 0)
                                        goto nomem;
                                if (!plan_add(&p, "ESP", true, src, dst, x, 0))
                                        goto nomem;
                        }
                }
        }

        for (size_t i = 0; i < c->n_items; i++) {
                const struct sync_item *it = &c->items[i];
                char name[32];

                snprintf(name, sizeof(name), "sync[%zu]", i);
                STRV_FOREACH(d, it->dests)
                {
                        struct sync_job *j =
                                plan_add(&p, name, false, it->source, *d, it->excludes, it->line);

                        if (!j)
                                goto nomem;
                        if (!booted && (on_an_esp(m, t, it->source) || on_an_esp(m, t, *d))) {
                                errmsg(&j->refusal, 0,
                                       "not syncing '%s' to '%s': it involves an ESP and the "
                                       "booted ESP is unknown (%s)",
                                       it->source, *d, strna(m->why));
                                if (!j->refusal)
                                        goto nomem;
                        }
                }
        }
        *ret = p;
        return 0;

nomem:
        r = -ENOMEM;
fail:
        sync_plan_done(&p);
        return r;
}

/* If path, or a directory between it and the filesystem it is on, is a mount point in
 * fstab with nothing mounted on it, returns that mount point (allocated), else NULL. */
static char *unmounted_fstab_target(struct libmnt_table *mounts, struct libmnt_table *fstab,
                                    const char *path)
{
        _cleanup_free_ char *p = path_strip_trailing_slashes(path);

        if (!fstab || !p)
                return NULL;
        for (;;) {
                struct libmnt_fs *fs;
                char *slash;

                if (mounts_find_target(mounts, p))
                        return NULL; /* reached what is really mounted: fine */
                fs = mounts_find_target(fstab, p);
                if (fs) {
                        const char *type = mnt_fs_get_fstype(fs);

                        if (!type || (!streq(type, "swap") && !streq(type, "none")))
                                return TAKE_PTR(p);
                }
                if (streq(p, "/"))
                        return NULL;
                slash = strrchr(p, '/');
                if (slash == p)
                        p[1] = 0;
                else
                        *slash = 0;
        }
}

/* True when dir has nothing but lost+found and our state files. */
static int dir_is_empty(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int empty = 1;

        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                const char *n = de->d_name;

                if (streq(n, ".") || streq(n, "..") || streq(n, "lost+found") ||
                    streq(n, GUARD_STATE_FILE) || streq(n, GUARD_STATE_TMP))
                        continue;
                empty = 0;
                break;
        }
        closedir(d);
        return empty;
}

static const struct esp *alternate_for(const struct esp_model *m, const char *dest)
{
        _cleanup_free_ char *d = path_strip_trailing_slashes(dest);

        for (size_t i = 0; d && i < m->n_alternates; i++)
                if (streq(m->alternates[i].mount, d))
                        return &m->alternates[i];
        return NULL;
}

int sync_job_check(const struct sync_context *ctx, const struct sync_job *j, char **why)
{
        const struct esp_model *m = ctx->model;
        _cleanup_free_ char *missing = NULL;
        struct stat sst, dst;
        dev_t alt_dev = 0;
        int r;

        if (j->refusal)
                return errmsg(why, SYNC_REFUSED, "%s", j->refusal);

        /* Rule 3: the source must be the filesystem it is expected to be, and not empty. */
        if (j->esp) {
                struct libmnt_fs *fs = mounts_find_target(ctx->mounts, m->booted.mount);

                if (!fs || mnt_fs_get_devno(fs) != m->booted.devnum)
                        return errmsg(why, SYNC_REFUSED,
                                      "source '%s' no longer holds the booted ESP %s",
                                      m->booted.mount, m->booted.device);
        }
        missing = unmounted_fstab_target(ctx->mounts, ctx->fstab, j->source);
        if (missing)
                return errmsg(why, SYNC_REFUSED,
                              "source '%s' is not mounted (/etc/fstab mounts '%s' there); with "
                              "--delete the empty directory would wipe '%s'",
                              j->source, missing, j->dest);
        if (stat(j->source, &sst) < 0)
                return errmsg(why, SYNC_REFUSED, "source '%s': %m", j->source);
        /* The mount table may be older than this moment: what is there now decides. */
        if (j->esp && sst.st_dev != m->booted.devnum)
                return errmsg(why, SYNC_REFUSED,
                              "source '%s' is no longer the booted ESP %s (device %u:%u there "
                              "now)",
                              j->source, m->booted.device, major(sst.st_dev), minor(sst.st_dev));
        if (S_ISDIR(sst.st_mode)) {
                r = dir_is_empty(j->source);
                if (r < 0)
                        return errmsg(why, SYNC_REFUSED, "cannot read source '%s': %s", j->source,
                                      strerror(-r));
                if (r > 0)
                        return errmsg(why, SYNC_REFUSED,
                                      "source '%s' is empty; with --delete it would wipe '%s'",
                                      j->source, j->dest);
        }

        /* Rule 2: a destination that should be a mounted filesystem but is not. */
        if (j->esp) {
                const struct esp *a = alternate_for(m, j->dest);
                struct libmnt_fs *fs = a ? mounts_find_target(ctx->mounts, a->mount) : NULL;
                struct libmnt_fs *root = mounts_find_target(ctx->mounts, "/");

                if (!fs)
                        return errmsg(why, SYNC_SKIPPED,
                                      "'%s' is not a mount point (alternate ESP missing?)",
                                      a ? a->mount : j->dest);
                if (root && mnt_fs_get_devno(fs) == mnt_fs_get_devno(root))
                        return errmsg(why, SYNC_REFUSED,
                                      "'%s' is on the root filesystem, not an ESP of its own",
                                      j->dest);
                alt_dev = mnt_fs_get_devno(fs);
        }
        free(missing);
        missing = unmounted_fstab_target(ctx->mounts, ctx->fstab, j->dest);
        if (missing)
                return errmsg(why, SYNC_SKIPPED,
                              "'%s' is not mounted (/etc/fstab mounts it; disk missing?)", missing);
        if (stat(j->dest, &dst) < 0) {
                if (errno == ENOENT)
                        return errmsg(why, SYNC_SKIPPED, "destination '%s' does not exist",
                                      j->dest);
                return errmsg(why, SYNC_REFUSED, "destination '%s': %m", j->dest);
        }
        if (!S_ISDIR(dst.st_mode))
                return errmsg(why, SYNC_REFUSED, "destination '%s' is not a directory", j->dest);
        if (j->esp && dst.st_dev != alt_dev)
                return errmsg(why, SYNC_SKIPPED,
                              "'%s' is no longer mounted (alternate ESP missing?)", j->dest);

        /* Rule 1: never into the booted ESP, never within one filesystem. */
        if (m->device_ok && dst.st_dev == m->booted.devnum)
                return errmsg(why, SYNC_REFUSED, "destination '%s' is the booted ESP %s", j->dest,
                              m->booted.device);
        if (dst.st_dev == sst.st_dev)
                return errmsg(why, SYNC_REFUSED,
                              "destination '%s' is on the same filesystem as source '%s' "
                              "(device %u:%u)",
                              j->dest, j->source, major(dst.st_dev), minor(dst.st_dev));
        return 0;
}

static int job_finish(struct sync_job *j, enum sync_state s, char *why)
{
        j->state = s;
        free(j->why);
        j->why = why;
        j->duration = usec_sub(now_usec(CLOCK_MONOTONIC), j->started);
        if (j->lock_fd >= 0) {
                close(j->lock_fd);
                j->lock_fd = -1;
        }
        if (j->src_fd >= 0) {
                close(j->src_fd);
                j->src_fd = -1;
        }
        if (j->out_fd >= 0) {
                close(j->out_fd);
                j->out_fd = -1;
        }
        return s;
}

int sync_job_begin(const struct sync_context *ctx, struct sync_job *j, bool wait_lock,
                   sync_start_cb cb, void *userdata)
{
        const struct config *c = ctx->config;
        _cleanup_strv_free_ char **argv = NULL;
        struct stat locked, now;
        char *why = NULL;
        int r;

        free(j->why);
        j->why = NULL;
        j->state = SYNC_PENDING;
        j->started = now_usec(CLOCK_MONOTONIC);

        r = sync_job_check(ctx, j, &why);
        if (r > 0)
                return job_finish(j, (enum sync_state)r, why);

        if (!ctx->test) {
                /* Rule 7: one sync per destination at a time, across processes. */
                r = wait_lock ? lock_dir_wait(j->dest, c->lock_timeout) : lock_dir_try(j->dest);
                if (r == -ETIMEDOUT) {
                        errmsg(&why, 0,
                               "another sync into '%s' held its lock for more than "
                               "lock_timeout (%gs)",
                               j->dest, (double)c->lock_timeout / USEC_PER_SEC);
                        return job_finish(j, SYNC_FAILED, why);
                }
                if (r == -EWOULDBLOCK) {
                        errmsg(&why, 0, "another sync into '%s' is running", j->dest);
                        return job_finish(j, SYNC_FAILED, why);
                }
                if (r < 0) {
                        errmsg(&why, 0, "cannot lock '%s': %s", j->dest, strerror(-r));
                        return job_finish(j, SYNC_FAILED, why);
                }
                j->lock_fd = r;
                /* Checked again under the lock (its wait may have been long), with the
                 * destination now held open: unmounting it fails until rsync is done. */
                r = sync_job_check(ctx, j, &why);
                if (r > 0)
                        return job_finish(j, (enum sync_state)r, why);
                if (fstat(j->lock_fd, &locked) < 0 || stat(j->dest, &now) < 0 ||
                    locked.st_dev != now.st_dev || locked.st_ino != now.st_ino) {
                        errmsg(&why, 0, "'%s' was replaced while its lock was awaited", j->dest);
                        return job_finish(j, SYNC_FAILED, why);
                }
        } else if (j->esp) {
                /* A dry run takes no lock, but asks the guard as a sync would. */
                j->lock_fd = open(j->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (j->lock_fd < 0) {
                        errmsg(&why, 0, "cannot open destination '%s': %m", j->dest);
                        return job_finish(j, SYNC_FAILED, why);
                }
        }

        /* Rule 4, under the lock so nobody syncs into the destination meanwhile. */
        if (j->esp) {
                j->src_fd = open(j->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (j->src_fd < 0) {
                        errmsg(&why, 0, "cannot open source '%s': %m", j->source);
                        return job_finish(j, SYNC_FAILED, why);
                }
                if (fstat(j->src_fd, &now) < 0 || now.st_dev != ctx->model->booted.devnum) {
                        errmsg(&why, 0, "source '%s' is no longer the booted ESP %s", j->source,
                               ctx->model->booted.device);
                        return job_finish(j, SYNC_REFUSED, why);
                }
                j->dst_fp_known = false;
                /* Forced: whatever the destination holds is overwritten, so it is compared
                 * by content too. */
                j->verify = true;
                if (!ctx->force) {
                        r = guard_check_fp(j->src_fd, j->source, j->lock_fd, j->dest, j->excludes,
                                           &j->dst_fp, &j->dst_fp_known, &why);
                        if (r < 0)
                                return job_finish(j, SYNC_REFUSED, why);
                        j->verify = r == GUARD_VERIFY;
                }
                /* A quiet rsync may itemize its changes into a memfd: none means the
                 * destination is as the guard just saw it, and recording needs no second
                 * walk of it (the common sync that copies nothing). */
                if (!ctx->test && j->dst_fp_known && rsync_opts_quiet(c->rsync_opts)) {
                        j->out_fd = memfd_create("dual-root-rsync-changes", MFD_CLOEXEC);
                        if (j->out_fd < 0)
                                j->dst_fp_known = false; /* then walk again after */
                }
        }

        if (j->out_fd >= 0 || j->verify) {
                _cleanup_strv_free_ char **opts = strv_copy(c->rsync_opts);

                if (!opts || (j->out_fd >= 0 && strv_extend(&opts, "--itemize-changes") < 0) ||
                    (j->verify && strv_extend(&opts, "--checksum") < 0))
                        r = -ENOMEM;
                else
                        r = rsync_build_argv(c->rsync_path, opts, j->excludes, ctx->test, j->source,
                                             j->dest, &argv);
        } else {
                r = rsync_build_argv(c->rsync_path, c->rsync_opts, j->excludes, ctx->test,
                                     j->source, j->dest, &argv);
        }
        if (r < 0) {
                errmsg(&why, 0, "cannot build rsync's command line: %s", strerror(-r));
                return job_finish(j, SYNC_FAILED, why);
        }
        if (cb)
                cb(j, argv, userdata);
        if (j->esp && !ctx->test) {
                /* Shown with the paths, run in the directories the checks and the lock
                 * hold (the ESP item's source always ends in '/': contents, as "./"). */
                size_t n = strv_length(argv);

                char *src = strdup(RSYNC_SOURCE_FD_PATH), *dst = strdup(".");

                if (!src || !dst || n < 2 || !streq(argv[n - 2], j->source) ||
                    !streq(argv[n - 1], j->dest) || !*j->source ||
                    j->source[strlen(j->source) - 1] != '/') {
                        free(src);
                        free(dst);
                        errmsg(&why, 0, "cannot build rsync's command line for '%s'", j->dest);
                        return job_finish(j, SYNC_FAILED, why);
                }
                free(argv[n - 2]);
                argv[n - 2] = src;
                free(argv[n - 1]);
                argv[n - 1] = dst;
                r = rsync_spawn_in(argv, j->out_fd, j->src_fd, j->lock_fd, &j->child, &why);
        } else {
                r = rsync_spawn_to(argv, j->out_fd, &j->child, &why);
        }
        if (r < 0)
                return job_finish(j, SYNC_FAILED, why);
        return 0;
}

int sync_job_end(const struct sync_context *ctx, struct sync_job *j, int code, int status,
                 bool stopped)
{
        const struct config *c = ctx->config;
        _cleanup_free_ char *st = NULL;
        char *why = NULL;
        int r;

        if (stopped) {
                errmsg(&why, 0, "rsync ran longer than rsync_timeout (%gs) and was stopped",
                       (double)c->rsync_timeout / USEC_PER_SEC);
                return job_finish(j, SYNC_FAILED, why);
        }
        if (code != CLD_EXITED || status != 0) {
                st = rsync_status_to_string(code, status);
                errmsg(&why, 0, "rsync %s", strna(st));
                return job_finish(j, SYNC_FAILED, why);
        }
        if (ctx->test)
                return job_finish(j, SYNC_TESTED, NULL);

        /* Rule 6: on the disk before it is reported as synced (FAT has no journal). */
        if (syncfs(j->lock_fd) < 0) {
                errmsg(&why, 0, "rsync finished but flushing '%s' to disk failed: %m", j->dest);
                return job_finish(j, SYNC_FAILED, why);
        }
        /* Then the guard's record, which so never describes data still in memory: a crash
         * in between leaves the old record, and the next sync compares content. */
        if (j->esp) {
                struct stat changes;

                if (j->out_fd >= 0 && j->dst_fp_known && fstat(j->out_fd, &changes) == 0 &&
                    changes.st_size == 0)
                        r = guard_record_fp(j->src_fd, j->lock_fd, j->dst_fp, j->excludes,
                                            ctx->model->booted.partuuid, &why);
                else
                        r = guard_record(j->src_fd, j->lock_fd, j->excludes,
                                         ctx->model->booted.partuuid, &why);
                if (r < 0) {
                        errmsg_prefix(&why, 0,
                                      "rsync finished, but the rollback-guard state "
                                      "cannot be recorded");
                        return job_finish(j, SYNC_FAILED, why);
                }
        }
        return job_finish(j, SYNC_DONE, NULL);
}

size_t sync_plan_run(const struct sync_context *ctx, struct sync_plan *p, sync_start_cb cb,
                     sync_end_cb end, void *userdata)
{
        size_t failed = 0;

        for (size_t i = 0; i < p->n_jobs; i++) {
                struct sync_job *j = &p->jobs[i];
                int r, code = 0, status = 0, sig = 0;
                bool interrupted = false;

                if (sync_job_begin(ctx, j, true, cb, userdata) == 0) {
                        char *why = NULL;

                        r = rsync_wait(&j->child, ctx->config->rsync_timeout, RSYNC_GRACE, &code,
                                       &status, &sig);
                        if (r == -EINTR) {
                                errmsg(&why, 0, "interrupted by %s; rsync was stopped",
                                       sigabbrev_np(sig) ? sigabbrev_np(sig) : "a signal");
                                job_finish(j, SYNC_FAILED, why);
                                interrupted = true;
                        } else if (r < 0 && r != -ETIMEDOUT) {
                                /* Not left running past its lock: stopped and reaped first. */
                                rsync_signal(&j->child, SIGKILL);
                                while (waitpid(j->child.pid, NULL, 0) < 0 && errno == EINTR)
                                        ;
                                errmsg(&why, 0, "cannot wait for rsync: %s; it was stopped",
                                       strerror(-r));
                                job_finish(j, SYNC_FAILED, why);
                        } else {
                                sync_job_end(ctx, j, code, status, r == -ETIMEDOUT);
                        }
                }
                if (j->state == SYNC_REFUSED || j->state == SYNC_FAILED)
                        failed++;
                if (end)
                        end(j, userdata);
                if (interrupted)
                        break; /* leave the rest PENDING: not run */
        }
        return failed;
}
