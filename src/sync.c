/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "blockdev.h"
#include "bls.h"
#include "copyorder.h"
#include "espcopy.h"
#include "guard.h"
#include "ignore.h"
#include "lock.h"
#include "swapfiles.h"
#include "sync.h"
#include "util/dirent-util.h"
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

/* A kind of destination: the steps of sync_job_begin()/sync_job_end() that differ. Each
 * returns 0 to go on, a positive sync_state to end the job (with *why), or -errno. */
struct sync_kind {
        const char *name;
        /* Rules 1-3 and 11 against the mount table and what is there now. */
        int (*check)(const struct sync_context *ctx, const struct sync_job *j, char **why);
        /* Under the lock, before the copy: guard (rule 4), room and intent (rules 9, 10). */
        int (*prepare)(const struct sync_context *ctx, struct sync_job *j, char **why);
        /* The rsync runs of the copy: as shown to the user, and as run. */
        int (*operands)(const struct sync_context *ctx, struct sync_job *j,
                        struct copy_passes *shown, struct copy_passes *run);
        /* After every run succeeded: flush (rule 6), record (rule 4). */
        int (*finish)(const struct sync_context *ctx, struct sync_job *j, char **why);
};

static const struct sync_kind kind_esp, kind_tree, kind_boot;

bool sync_job_is_esp(const struct sync_job *j)
{
        return j->kind == &kind_esp;
}

bool sync_job_is_boot_tree(const struct sync_job *j)
{
        return j->kind == &kind_boot;
}

/* Copied in the order of rule 9 (an ESP, a boot tree: DESIGN.md §5c T3). */
static bool job_ordered(const struct sync_job *j)
{
        return j->kind == &kind_esp || j->kind == &kind_boot;
}

static void job_done(struct sync_job *j)
{
        free(j->item);
        free(j->boot_reason);
        free(j->note);
        free(j->source);
        free(j->dest);
        strv_free(j->excludes);
        strv_free(j->swap_excludes);
        strv_free(j->run_excludes);
        strv_free(j->protect);
        strv_free(j->swap_notes);
        swapids_map_freep(&j->swap_map);
        free(j->why);
        free(j->dry_refusal);
        free(j->refusal);
        if (j->lock_fd >= 0)
                close(j->lock_fd);
        if (j->src_fd >= 0)
                close(j->src_fd);
        if (j->out_fd >= 0)
                close(j->out_fd);
        if (j->msg_fd >= 0)
                close(j->msg_fd);
        if (j->tree_fd >= 0)
                close(j->tree_fd);
        if (j->copy_src_fd >= 0)
                close(j->copy_src_fd);
        strv_free(j->guard_excludes);
}

void sync_plan_done(struct sync_plan *p)
{
        for (size_t i = 0; i < p->n_jobs; i++)
                job_done(&p->jobs[i]);
        free(p->jobs);
        *p = (struct sync_plan){};
}

static struct sync_job *plan_add(struct sync_plan *p, const char *item,
                                 const struct sync_kind *kind, const char *source, const char *dest,
                                 char *const *excludes, char *const *swap_ids, unsigned line)
{
        struct sync_job *t, *j;

        t = reallocarray(p->jobs, p->n_jobs + 1, sizeof(*t));
        if (!t)
                return NULL;
        p->jobs = t;
        j = &p->jobs[p->n_jobs];
        *j = (struct sync_job){
                .kind = kind,
                .line = line,
                .boot_mode = -1,
                .lock_fd = -1,
                .src_fd = -1,
                .out_fd = -1,
                .msg_fd = -1,
                .tree_fd = -1,
                .copy_src_fd = -1,
        };
        j->item = strdup(item);
        j->source = source ? strdup(source) : NULL;
        j->dest = dest ? strdup(dest) : NULL;
        j->excludes = strv_copy(excludes);
        p->n_jobs++;
        if (!j->item || (source && !j->source) || (dest && !j->dest) || !j->excludes)
                return NULL;
        /* DESIGN.md §5b: swapped files are ours to write, not rsync's; the guard skips
         * them on both sides. The daemon watches j->excludes: a change of them syncs. */
        {
                _cleanup_strv_free_ char **ids = NULL;

                if (swapfiles_job_ids(swap_ids, source, &ids) < 0 ||
                    swapfiles_excludes(ids, source, excludes, &j->swap_excludes) < 0)
                        return NULL;
        }
        j->run_excludes = strv_copy(excludes);
        if (!j->run_excludes || strv_extend_strv(&j->run_excludes, j->swap_excludes) < 0)
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

/*
 * A sync-list item's exclusions, then its tree's guard records (DESIGN.md §5 rule 4): they
 * stay where they are on both sides, and the watcher takes no change of theirs for a change
 * to sync. rsync anchors patterns at the transfer's root: "/srv/etc" copies "etc", so its
 * records are "/etc/.dual-root-state"; "/srv/etc/" copies its contents, "/.dual-root-state".
 */
static int tree_record_excludes(const char *source, char *const *excludes, char ***ret)
{
        static const char *const records[] = { GUARD_STATE_FILE, GUARD_STATE_TMP };
        _cleanup_strv_free_ char **x = strv_copy(excludes);
        _cleanup_free_ char *src = path_strip_trailing_slashes(source);
        const char *base = NULL;
        size_t n = strlen(source);

        if (!x || !src)
                return -ENOMEM;
        if (n > 0 && source[n - 1] != '/' && !streq(src, "/"))
                base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
        for (size_t i = 0; i < ELEMENTSOF(records); i++) {
                _cleanup_free_ char *e = NULL;

                if (asprintf(&e, "/%s%s%s", base ? base : "", base ? "/" : "", records[i]) < 0 ||
                    strv_extend(&x, e) < 0)
                        return -ENOMEM;
        }
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

                r = esp_ignore_excludes(c->esp_excludes, &x);
                if (r < 0)
                        goto fail;
                if (!booted || !m->booted.mount) {
                        /* Rule 0: without the booted ESP there is no direction to sync in. */
                        j = plan_add(&p, "ESP", &kind_esp, NULL, NULL, x, c->swap_ids, 0);
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
                                if (!plan_add(&p, "ESP", &kind_esp, src, dst, x, c->swap_ids, 0))
                                        goto nomem;
                        }
                }
        }

        for (size_t i = 0; i < c->n_items; i++) {
                const struct sync_item *it = &c->items[i];
                char name[32];

                _cleanup_strv_free_ char **x = NULL;

                snprintf(name, sizeof(name), "sync[%zu]", i);
                r = tree_record_excludes(it->source, it->excludes, &x);
                if (r < 0)
                        goto fail;
                STRV_FOREACH(d, it->dests)
                {
                        struct sync_job *j = plan_add(&p, name, &kind_tree, it->source, *d, x,
                                                      c->swap_ids, it->line);

                        if (!j)
                                goto nomem;
                        /* DESIGN.md §5c T2: the config says, or what the tree holds. */
                        if (c->boot_trees) {
                                _cleanup_free_ char *n = path_normalize(it->source);

                                if (!n)
                                        goto nomem;
                                j->boot_mode = strv_contains(c->boot_trees, n) ? 1 : 0;
                        }
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

/*
 * DESIGN.md §5 rule 11: path with every symlink and ".." resolved, as the kernel will when it
 * is opened: realpath() of its longest existing ancestor, then the components that do not
 * exist yet (where "." and ".." are taken lexically: nothing there to follow). NULL on ENOMEM.
 */
static char *resolve_path(const char *path)
{
        _cleanup_free_ char *head = strdup(path), *out = NULL;
        _cleanup_strv_free_ char **tail = calloc(1, sizeof(char *)); /* last first */
        char buf[PATH_MAX];

        if (!head || !tail)
                return NULL;
        while (!realpath(*head ? head : "/", buf)) {
                size_t n = strlen(head);
                char *slash;

                if ((errno != ENOENT && errno != ENOTDIR) || head[0] != '/')
                        return strdup(path); /* the checks then fail on it as given */
                while (n > 1 && head[n - 1] == '/')
                        head[--n] = 0;
                slash = strrchr(head, '/');
                if (strv_extend(&tail, slash + 1) < 0)
                        return NULL;
                *slash = 0; /* "/x" -> "": realpath("/") next */
        }
        out = strdup(buf);
        for (size_t i = strv_length(tail); out && i-- > 0;) {
                const char *c = tail[i];
                char *t;

                if (!*c || streq(c, "."))
                        continue;
                if (streq(c, "..")) {
                        char *s = strrchr(out, '/');

                        s[s == out ? 1 : 0] = 0;
                        continue;
                }
                if (asprintf(&t, "%s%s%s", out, streq(out, "/") ? "" : "/", c) < 0)
                        return NULL;
                free(out);
                out = t;
        }
        return TAKE_PTR(out);
}

/* If path, or a directory between it and the filesystem it is on, is a mount point in
 * fstab with nothing mounted on it, returns that mount point (allocated), else NULL. The
 * path is resolved first (rule 11): a symlink or ".." cannot lead past the check. */
char *unmounted_fstab_target(struct libmnt_table *mounts, struct libmnt_table *fstab,
                             const char *path)
{
        _cleanup_free_ char *resolved = resolve_path(path);
        _cleanup_free_ char *p = resolved ? path_strip_trailing_slashes(resolved) : NULL;

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

                if (streq(n, ".") || streq(n, "..") || esp_ignored_root_name(n))
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

/* Rule 11 for one (source, destination) pair, on the resolved paths: -EINVAL with *why. */
static int rule11_destination(const struct esp_model *m, const char *source, const char *dest,
                              char **why)
{
        _cleanup_free_ char *d = resolve_path(dest), *sr = source ? resolve_path(source) : NULL;
        const char *rest;

        if (!d || (source && !sr))
                return -ENOMEM;
        if (streq(d, "/"))
                return errmsg(why, -EINVAL,
                              "destination '%s' is the root directory%s%s%s: a sync there "
                              "would delete the system",
                              dest, streq(dest, d) ? "" : " (it resolves to '",
                              streq(dest, d) ? "" : d, streq(dest, d) ? "" : "')");
        if (m && m->booted.mount) {
                _cleanup_free_ char *b = resolve_path(m->booted.mount);

                if (!b)
                        return -ENOMEM;
                rest = startswith(d, b);
                if (rest && (!*rest || *rest == '/'))
                        return errmsg(why, -EINVAL,
                                      "destination '%s' (resolved: '%s') is on the booted ESP "
                                      "'%s': the ESP booted from is never written",
                                      dest, d, m->booted.mount);
        }
        if (sr) {
                rest = startswith(sr, d);
                if (rest && (!*rest || *rest == '/'))
                        return errmsg(why, -EINVAL,
                                      "destination '%s' (resolved: '%s') holds the source '%s' "
                                      "(resolved: '%s'): with --delete the sync would delete "
                                      "what it copies from",
                                      dest, d, source, sr);
        }
        return 0;
}

int sync_config_validate(const struct config *c, const struct esp_model *m, char **why)
{
        const char *bad;
        int r;

        if (c->dualroot && (bad = copy_order_breaker(c->rsync_opts)))
                return errmsg(why, -EINVAL,
                              "rsync_opts holds '%s', which breaks the order an ESP is copied in "
                              "(new files under temporary names, deletions last): a cut sync "
                              "could leave an alternate ESP that does not boot",
                              bad);
        /* DESIGN.md §5c T4: a tree the config calls a boot tree, the same. */
        if (strv_length(c->boot_trees) > 0 && (bad = copy_order_breaker(c->rsync_opts)))
                return errmsg(why, -EINVAL,
                              "rsync_opts holds '%s', which breaks the order a boot tree is "
                              "copied in (boot_trees lists '%s'; new files under temporary "
                              "names, deletions last): a cut sync could leave an alternate tree "
                              "with no entry",
                              bad, c->boot_trees[0]);
        for (size_t i = 0; c->dualroot && m->boot_ok && m->device_ok && i < m->n_alternates; i++) {
                r = rule11_destination(m, m->booted.mount, m->alternates[i].mount, why);
                if (r < 0)
                        return errmsg_prefix(why, r, "alternate ESP");
        }
        for (size_t i = 0; i < c->n_items; i++) {
                const struct sync_item *it = &c->items[i];

                STRV_FOREACH(d, it->dests)
                {
                        r = rule11_destination(m->boot_ok && m->device_ok ? m : NULL, it->source,
                                               *d, why);
                        if (r < 0)
                                return errmsg_prefix(why, r, "%s:%u: sync item %zu", strna(c->path),
                                                     it->line, i);
                }
        }
        return 0;
}

/* Rules 1-3 and 11; esp: the ESP pair's own checks (booted source, mounted alternate). */
static int check_pair(const struct sync_context *ctx, const struct sync_job *j, bool esp,
                      char **why)
{
        const struct esp_model *m = ctx->model;
        _cleanup_free_ char *missing = NULL;
        struct stat sst, dst;
        dev_t alt_dev = 0;
        int r;

        if (j->refusal)
                return errmsg(why, SYNC_REFUSED, "%s", j->refusal);
        r = rule11_destination(m, j->source, j->dest, why);
        if (r < 0)
                return SYNC_REFUSED;

        /* Rule 3: the source must be the filesystem it is expected to be, and not empty. */
        if (esp) {
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
        if (esp && sst.st_dev != m->booted.devnum)
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
        if (esp) {
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
        if (esp && dst.st_dev != alt_dev)
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

static int check_esp(const struct sync_context *ctx, const struct sync_job *j, char **why)
{
        return check_pair(ctx, j, true, why);
}

static int check_tree(const struct sync_context *ctx, const struct sync_job *j, char **why)
{
        return check_pair(ctx, j, false, why);
}

int sync_job_check(const struct sync_context *ctx, const struct sync_job *j,
                   enum sync_state *ret_state, char **why)
{
        int r = j->kind->check(ctx, j, why);

        if (r < 0)
                return r;
        *ret_state = r > 0 ? (enum sync_state)r : SYNC_PENDING;
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
        if (j->msg_fd >= 0) {
                close(j->msg_fd);
                j->msg_fd = -1;
        }
        if (j->tree_fd >= 0) {
                close(j->tree_fd);
                j->tree_fd = -1;
        }
        if (j->copy_src_fd >= 0) {
                close(j->copy_src_fd);
                j->copy_src_fd = -1;
        }
        swapids_map_freep(&j->swap_map);
        j->protect = strv_free(j->protect);
        return s;
}

static int set_note(struct sync_job *j, const char *fmt, ...) _printf_(2, 3);
static int set_note(struct sync_job *j, const char *fmt, ...)
{
        va_list ap;
        int r;

        free(j->note);
        j->note = NULL;
        va_start(ap, fmt);
        r = vasprintf(&j->note, fmt, ap);
        va_end(ap);
        if (r < 0) {
                j->note = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* --- steps common to every kind -------------------------------------------------------- */

/* Rule 7: one sync per destination at a time, across processes; then the checks again
 * under the lock (its wait may have been long), with the destination now held open:
 * unmounting it fails until rsync is done. A dry run takes no lock; an ESP's is opened
 * all the same, for the guard. */
static int step_lock(const struct sync_context *ctx, struct sync_job *j, bool wait_lock, char **why)
{
        const struct config *c = ctx->config;
        struct stat locked, now;
        int r;

        if (ctx->test) {
                if (!sync_job_is_esp(j))
                        return 0;
                j->lock_fd = open(j->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (j->lock_fd < 0)
                        return errmsg(why, SYNC_FAILED, "cannot open destination '%s': %m",
                                      j->dest);
                return 0;
        }
        r = wait_lock ? lock_dir_wait(j->dest, c->lock_timeout) : lock_dir_try(j->dest);
        if (r == -ETIMEDOUT) {
                char d[64];

                return errmsg(why, SYNC_FAILED,
                              "another sync into '%s' held its lock for more than "
                              "lock_timeout (%s)",
                              j->dest, format_duration(c->lock_timeout, d, sizeof(d)));
        }
        if (r == -EWOULDBLOCK)
                return errmsg(why, SYNC_FAILED, "another sync into '%s' is running", j->dest);
        if (r < 0)
                return errmsg(why, SYNC_FAILED, "cannot lock '%s': %s", j->dest, strerror(-r));
        j->lock_fd = r;
        r = j->kind->check(ctx, j, why);
        if (r > 0)
                return r;
        if (fstat(j->lock_fd, &locked) < 0 || stat(j->dest, &now) < 0 ||
            locked.st_dev != now.st_dev || locked.st_ino != now.st_ino)
                return errmsg(why, SYNC_FAILED, "'%s' was replaced while its lock was awaited",
                              j->dest);
        return 0;
}

static int step_classify(const struct sync_context *ctx, struct sync_job *j, char **why);

/* The directory the ordered copy writes: an ESP's the locked destination, a boot tree's the
 * tree rsync writes below it (DESIGN.md §5c T3). */
static int copy_dst_fd(const struct sync_job *j)
{
        return sync_job_is_esp(j) ? j->lock_fd : j->tree_fd;
}

/* The runner's exit status when an in-process pass failed, or found the source changed
 * (rule 12); the message is in the job's msg_fd. */
#define SYNC_STATUS_COPY_FAILED 120
#define SYNC_STATUS_SOURCE_CHANGED 121

struct esp_after {
        struct espcopy_args a;
        unsigned passes;
        int msg_fd;
        bool dst_cwd; /* a boot tree: the destination is the runner's working directory */
};

/* In the runner, after rsync's pass 1 (DESIGN.md §5 rule 9): passes 2 and 3. */
static int esp_after_run(void *userdata)
{
        const struct esp_after *e = userdata;
        struct espcopy_args a = e->a;
        _cleanup_close_ int cwd = -1;
        char *why = NULL;
        int r = 0;

        if (e->dst_cwd) {
                /* a boot tree's tree, where rsync ran (DESIGN.md §5c T3) */
                cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (cwd < 0)
                        r = errmsg(&why, negative_errno(), "cannot open the destination: %m");
                a.dst_fd = cwd;
        }
        if (e->passes & COPY_PASS_FILES)
                r = r ? r : espcopy_files(&a, &why);
        if (r == 0 && (e->passes & COPY_PASS_ENTRIES))
                r = espcopy_entries(&a, &why);
        else if (r == 0 && a.flush && syncfs(a.dst_fd) < 0)
                /* pass 1's files on the disk before pass 3 deletes anything */
                r = errmsg(&why, negative_errno(), "flushing the destination failed: %m");
        if (r == 0 && (e->passes & COPY_PASS_DELETIONS))
                r = espcopy_deletions(&a, &why);
        if (r == 0)
                return 0;
        if (e->msg_fd >= 0)
                (void)!dprintf(e->msg_fd, "%s", why ? why : strerror(r < 0 ? -r : EIO));
        return r == ESPCOPY_SOURCE_CHANGED ? SYNC_STATUS_SOURCE_CHANGED : SYNC_STATUS_COPY_FAILED;
}

static int step_copy(const struct sync_context *ctx, struct sync_job *j, sync_start_cb cb,
                     void *userdata, char **why)
{
        static const char *const esp_labels[] = { "pass 1 (files)", NULL };
        static const char *const tree_labels[] = { "copy", NULL };
        struct copy_passes shown = {}, run = {};
        struct esp_after e = {};
        struct rsync_after after = { esp_after_run, &e };
        struct rsync_show show;
        _cleanup_free_ char *what = NULL;
        char *const *const *argv;
        int r;

        /* DESIGN.md §5 "Why in-process": rsync copies an ESP or a boot tree only when the
         * config asks for it (its own rsync_path or rsync_opts). */
        j->in_process = job_ordered(j) && config_rsync_is_default(ctx->config);
        r = j->in_process ? 0 : j->kind->operands(ctx, j, &shown, &run);
        if (r < 0) {
                copy_passes_done(&shown);
                copy_passes_done(&run);
                return errmsg(why, SYNC_FAILED, "cannot build rsync's command line for '%s': %s",
                              j->dest, strerror(-r));
        }
        if (cb && j->in_process)
                cb(j, NULL, userdata);
        for (size_t i = 0; cb && shown.argv && shown.argv[i]; i++)
                cb(j, shown.argv[i], userdata);
        if (job_ordered(j)) {
                /* Changes told where rsync's go: the itemized list, a dry run's output, or a
                 * verbose rsync's. */
                bool tell =
                        ctx->test || j->out_fd >= 0 || !rsync_opts_quiet(ctx->config->rsync_opts);

                e = (struct esp_after){
                        .a = {
                                /* in the runner, where a real run's descriptors are set
                                 * up as rsync gets them (a dry run's are as they are) */
                                .src_fd = ctx->test ? j->src_fd : RSYNC_SOURCE_FD,
                                .dst_fd = ctx->test          ? copy_dst_fd(j)
                                          : sync_job_is_esp(j) ? RSYNC_LOCK_FD
                                                               : -1,
                                .excludes = j->run_excludes,
                                .protect = j->protect,
                                .test = ctx->test,
                                .flush = !ctx->test,
                                .verify = j->verify,
                                .out_fd = tell ? STDOUT_FILENO : -1,
                        },
                        .passes = j->passes & (j->in_process ? COPY_PASSES_ALL
                                                             : COPY_PASS_ENTRIES |
                                                                       COPY_PASS_DELETIONS),
                        .msg_fd = -1,
                        .dst_cwd = !ctx->test && !sync_job_is_esp(j),
                };
                if (j->msg_fd >= 0)
                        close(j->msg_fd);
                j->msg_fd = memfd_create("dual-root-copy-error", MFD_CLOEXEC);
                if (j->msg_fd < 0) {
                        copy_passes_done(&shown);
                        copy_passes_done(&run);
                        return errmsg(why, SYNC_FAILED, "cannot prepare the copy: %m");
                }
                e.msg_fd = j->msg_fd;
        }
        if (asprintf(&what, "%s -> %s", j->source, j->dest) < 0) {
                copy_passes_done(&shown);
                copy_passes_done(&run);
                return -ENOMEM;
        }
        /* A dry run tells each change, labelled by its pass (the others' labels are
         * espcopy.c's); a real one may show its progress (17.6). */
        show = (struct rsync_show){
                .labels = ctx->test ? (char *const *)(job_ordered(j) ? esp_labels : tree_labels)
                                    : NULL,
                .progress = ctx->test ? RSYNC_PROGRESS_NONE : ctx->progress,
                .what = what,
        };
        {
                static char **const none[] = { NULL };

                argv = run.argv ? (char *const *const *)run.argv : (char *const *const *)none;
        }
        if (job_ordered(j) && !ctx->test)
                /* Run in the directories the checks and the lock hold (a boot tree: the
                 * tree below the locked destination, §5c T3). */
                r = rsync_spawn_passes_then(argv, e.passes ? &after : NULL, &show, j->out_fd,
                                            j->src_fd, copy_dst_fd(j), j->lock_fd, &j->child, why);
        else if (job_ordered(j))
                r = rsync_spawn_passes_then(argv, e.passes ? &after : NULL, &show, j->out_fd, -1,
                                            -1, -1, &j->child, why);
        else if (j->copy_src_fd >= 0)
                r = rsync_spawn_passes_then(argv, NULL, &show, j->out_fd, j->copy_src_fd,
                                            j->lock_fd, j->lock_fd, &j->child, why);
        else
                r = rsync_spawn_passes_then(argv, NULL, &show, j->out_fd, -1, -1,
                                            ctx->test ? -1 : j->lock_fd, &j->child, why);
        copy_passes_done(&shown);
        copy_passes_done(&run);
        return r < 0 ? SYNC_FAILED : 0;
}

/* DESIGN.md §5b: the swapped files read and rewritten under the lock before anything is
 * written, so one that cannot be swapped refuses the job with the destination untouched
 * (test mode: what would be written, in j->swap_notes). */
static int step_swap_plan(const struct sync_context *ctx, struct sync_job *j, char **why)
{
        int r;

        if (!j->swap_excludes || !*j->swap_excludes)
                return 0;
        r = swapfiles_job_prepare(ctx->config, ctx->model, ctx->mounts, j->source, j->dest,
                                  j->excludes, ctx->test, &j->swap_map, &j->swap_notes, why);
        if (r == -ENOMEM)
                return r;
        return r < 0 ? SYNC_REFUSED : 0;
}

/* The swapped copies, written after the copy and before the kind's finish flushes the
 * destination (rule 6) and records it (rule 4). flush: when nothing else will flush. */
static int step_swap_write(const struct sync_context *ctx, struct sync_job *j, bool flush,
                           char **why)
{
        int r;

        if (!j->swap_map || ctx->test)
                return 0;
        r = swapfiles_job_finish(ctx->config, j->swap_map, j->source, j->dest, j->excludes, why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return SYNC_FAILED;
        /* (cheap when nothing was written: nothing is dirty) */
        if (flush && syncfs(j->lock_fd) < 0)
                return errmsg(why, SYNC_FAILED, "flushing '%s' to disk failed: %m", j->dest);
        return 0;
}

int sync_job_begin(const struct sync_context *ctx, struct sync_job *j, bool wait_lock,
                   sync_start_cb cb, void *userdata)
{
        char *why = NULL;
        int r;

        free(j->why);
        j->why = NULL;
        free(j->note);
        j->note = NULL;
        j->swap_notes = strv_free(j->swap_notes);
        j->state = SYNC_PENDING;
        j->source_changed = false;
        free(j->dry_refusal);
        j->dry_refusal = NULL;
        j->started = now_usec(CLOCK_MONOTONIC);

        r = step_classify(ctx, j, &why);
        if (r == 0)
                r = j->kind->check(ctx, j, &why);
        if (r == 0)
                r = step_lock(ctx, j, wait_lock, &why);
        if (r == 0)
                r = step_swap_plan(ctx, j, &why);
        if (r == 0)
                r = j->kind->prepare(ctx, j, &why);
        /* In sync, no copy needed: but the guard does not see the swapped files. */
        if (r == SYNC_DONE) {
                r = step_swap_write(ctx, j, true, &why);
                if (r == 0)
                        r = SYNC_DONE;
        }
        if (r == 0)
                r = step_copy(ctx, j, cb, userdata, &why);
        if (r < 0) {
                errmsg(&why, 0, "'%s': %s", j->dest, strerror(-r));
                r = SYNC_FAILED;
        }
        if (r > 0)
                return job_finish(j, (enum sync_state)r, why);
        return 0;
}

/* What the runner wrote into fd (a memfd), or NULL. */
static char *read_msg(int fd)
{
        char buf[4096];
        ssize_t n;

        if (fd < 0)
                return NULL;
        n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
                return NULL;
        buf[n] = 0;
        return strdup(buf);
}

int sync_job_end(const struct sync_context *ctx, struct sync_job *j, int code, int status,
                 bool stopped)
{
        const struct config *c = ctx->config;
        _cleanup_free_ char *st = NULL;
        char *why = NULL;
        int r;

        if (stopped) {
                char d[64];

                errmsg(&why, 0, "%s ran longer than rsync_timeout (%s) and was stopped",
                       j->in_process ? "the copy" : "rsync",
                       format_duration(c->rsync_timeout, d, sizeof(d)));
                return job_finish(j, SYNC_FAILED, why);
        }
        if (job_ordered(j) && code == CLD_EXITED &&
            (status == SYNC_STATUS_COPY_FAILED || status == SYNC_STATUS_SOURCE_CHANGED)) {
                _cleanup_free_ char *msg = read_msg(j->msg_fd);

                if (status == SYNC_STATUS_SOURCE_CHANGED) {
                        j->source_changed = true;
                        errmsg(&why, 0,
                               "the source changed during the sync: %s; nothing more was placed "
                               "or deleted, the alternate still boots its old set (the next "
                               "sync completes it)",
                               strna(msg));
                } else
                        errmsg(&why, 0, "the copy failed%s: %s",
                               j->in_process ? "" : " after rsync", strna(msg));
                return job_finish(j, SYNC_FAILED, why);
        }
        if (code != CLD_EXITED || status != 0) {
                st = rsync_status_to_string(code, status);
                errmsg(&why, 0, "%s %s", j->in_process ? "the copy" : "rsync", strna(st));
                return job_finish(j, SYNC_FAILED, why);
        }
        if (ctx->test && j->dry_refusal)
                return job_finish(j, SYNC_REFUSED, TAKE_PTR(j->dry_refusal));
        if (ctx->test)
                return job_finish(j, SYNC_TESTED, NULL);
        r = step_swap_write(ctx, j, false, &why);
        if (r < 0) {
                errmsg(&why, 0, "'%s': %s", j->dest, strerror(-r));
                r = SYNC_FAILED;
        }
        if (r == 0)
                r = j->kind->finish(ctx, j, &why);
        if (r > 0)
                return job_finish(j, (enum sync_state)r, why);
        return job_finish(j, SYNC_DONE, NULL);
}

/* --- an ESP: the booted ESP mirrored onto an alternate ----------------------------------- */

/* True when dir_fd holds an EFI directory (FAT: any case). */
static bool has_efi_dir(int dir_fd)
{
        static const char *const names[] = { "EFI", "efi", "Efi" };
        struct stat st;

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (fstatat(dir_fd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
                        return true;
        return false;
}

/*
 * DESIGN.md §3 D3: an alternate must be an ESP. Where its partition table can be read, its
 * type must be the ESP's and its filesystem vfat: a data partition that took an ESP's mount
 * point (after a device renumbering) is never overwritten. Where it cannot (a loop device),
 * a first sync onto a destination that holds files, no EFI directory and no record of ours
 * is refused without --force.
 */
static int esp_identity(const struct sync_context *ctx, struct sync_job *j, char **why)
{
        _cleanup_free_ char *where = NULL;
        struct stat st;
        int r;

        if (asprintf(&where, "'%s'", j->dest) < 0)
                return -ENOMEM;
        r = esp_check_identity(alternate_for(ctx->model, j->dest), where,
                               "not syncing an ESP onto it", why);
        if (r == -EMEDIUMTYPE)
                return SYNC_REFUSED;
        if (r != 0)
                return r < 0 ? r : 0;
        if (ctx->force)
                return 0;
        /* Our record (even a bare intent) says we synced it before. */
        if (fstatat(j->lock_fd, GUARD_STATE_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return 0;
        if (has_efi_dir(j->lock_fd))
                return 0;
        r = dir_is_empty(j->dest);
        if (r < 0)
                return errmsg(why, SYNC_FAILED, "cannot read '%s': %s", j->dest, strerror(-r));
        if (r > 0)
                return 0;
        return errmsg(why, SYNC_REFUSED,
                      "'%s' holds files but no EFI directory and no record of an earlier sync, "
                      "and its partition type cannot be read: it may not be an ESP (a data "
                      "partition on an ESP's mount point?); not overwriting it. Check what is "
                      "mounted there, then sync with --force if it is the alternate ESP",
                      j->dest);
}

/*
 * Rules 4 and 10 for a pair, under the lock so nobody syncs into the destination meanwhile:
 * the guard's verdict on src_fd -> dst_fd sets j->verify (content compared when the guard
 * asks, and at least every SYNC_VERIFY_INTERVAL: a file changed in content only, by media
 * errors), the fingerprints it computed, and the note of a completed interrupted sync. A
 * pair already in sync (another process, a package hook's -s, synced it just now) ends
 * DONE here. Forced: whatever the destination holds is overwritten, compared by content.
 */
static int step_guard(const struct sync_context *ctx, struct sync_job *j, const char *src_name,
                      int dst_fd, const char *dst_name, char *const *excludes, bool *src_fp_known,
                      char **why)
{
        const struct esp_model *m = ctx->model;
        struct guard_verdict v = {};
        int r;

        j->dst_fp_known = false;
        j->verify = true;
        *src_fp_known = false;
        if (ctx->force)
                return 0;
        r = guard_assess(j->src_fd, src_name, m && m->boot_ok ? m->booted.partuuid : NULL, dst_fd,
                         dst_name, excludes, &v, why);
        if (r == -EEXIST && ctx->test) {
                /* A dry run shows what differs: what --force would change (the job still
                 * ends refused, as the sync would). */
                free(j->dry_refusal);
                j->dry_refusal = TAKE_PTR(*why);
                guard_verdict_done(&v);
                return 0;
        }
        if (r < 0)
                return SYNC_REFUSED;
        j->dst_fp_known = v.dst_fp_known;
        j->dst_fp = v.dst_fp;
        j->src_fp = v.src_fp;
        *src_fp_known = v.src_fp_known;
        j->verify = r == GUARD_VERIFY || r == GUARD_RESUME ||
                    time(NULL) - v.verified >= SYNC_VERIFY_INTERVAL;
        if (r == GUARD_IN_SYNC && !j->verify)
                r = set_note(j, "already in sync, nothing to copy") < 0 ? -ENOMEM
                    : ctx->test                                         ? SYNC_TESTED
                                                                        : SYNC_DONE;
        else if (r == GUARD_RESUME)
                r = set_note(j, "completed an interrupted sync from %s (started %s)",
                             strna(v.resumed_source), strna(v.resumed_since));
        else
                r = 0;
        guard_verdict_done(&v);
        return r;
}

/* Rule 9 (and §5c T3): the copy's survey sets the passes that run; the new set must fit
 * beside the old one. 0, or SYNC_FAILED with *why naming the MiB needed, free and missing. */
static int room_check(const struct sync_context *ctx, struct sync_job *j, int dst_fd,
                      char *const *excludes, const char *dst, uint64_t left_bytes, char **why)
{
        const uint64_t mib = 1024 * 1024;
        struct copy_survey survey = {};
        uint64_t need, avail;
        int r;

        r = copy_survey(j->src_fd, dst_fd, excludes, &survey, why);
        if (r < 0)
                return errmsg_prefix(why, SYNC_FAILED, "cannot tell what the copy needs");
        need = survey.need;
        avail = survey.avail + (ctx->test ? left_bytes : 0);
        /* Only the passes with work run; a content comparison runs them all. */
        j->passes = j->verify ? COPY_PASSES_ALL : survey.passes;
        if (need <= avail)
                return 0;
        return errmsg(why, SYNC_FAILED,
                      "not enough room on '%s' for the new files beside the old ones (the old "
                      "set is removed only once the new one is complete): %" PRIu64
                      " MiB needed, %" PRIu64 " MiB free, %" PRIu64
                      " MiB missing; nothing was changed, the old set still boots",
                      dst, (need + mib - 1) / mib, avail / mib, (need - avail + mib - 1) / mib);
}

static int prepare_esp(const struct sync_context *ctx, struct sync_job *j, char **why)
{
        const struct config *c = ctx->config;
        const struct esp_model *m = ctx->model;
        uint64_t left_bytes = 0;
        unsigned left_count = 0;
        bool src_fp_known = false;
        struct stat now;
        int r;

        j->src_fd = open(j->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (j->src_fd < 0)
                return errmsg(why, SYNC_FAILED, "cannot open source '%s': %m", j->source);
        if (fstat(j->src_fd, &now) < 0 || now.st_dev != m->booted.devnum)
                return errmsg(why, SYNC_REFUSED, "source '%s' is no longer the booted ESP %s",
                              j->source, m->booted.device);

        /* DESIGN.md §3 D3: the source is an ESP as much as the destination. */
        r = esp_check_source(&m->booted, j->src_fd, j->source, why);
        if (r < 0)
                return r == -ENOMEM ? r : SYNC_REFUSED;
        r = esp_identity(ctx, j, why);
        if (r != 0)
                return r;

        r = step_guard(ctx, j, j->source, j->lock_fd, j->dest, j->run_excludes, &src_fp_known, why);
        if (r != 0)
                return r;

        /* DESIGN.md §5b: the swapped entries are written after the deletions pass, so until
         * then the destination's own entries are what boots: the deletions pass (and the
         * clearing of leftovers) keeps every file they name, and the next sync removes what
         * only the old ones named. */
        j->protect = strv_free(j->protect);
        if (j->swap_excludes && *j->swap_excludes) {
                r = copy_entries_named(j->lock_fd, &j->protect, why);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return errmsg_prefix(why, SYNC_FAILED,
                                             "cannot tell which files the entries on '%s' name",
                                             j->dest);
        }

        /* Rule 10: what an interrupted copy of ours left is ours: gone before the room is
         * judged (a dry run counts it as free). */
        r = espcopy_clear_leftovers(j->src_fd, j->lock_fd, j->protect, ctx->test, &left_bytes,
                                    &left_count, why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return errmsg_prefix(why, SYNC_FAILED,
                                     "cannot remove what an interrupted sync left on '%s'",
                                     j->dest);
        if (left_count > 0 && !ctx->test)
                j->dst_fp_known = false; /* the guard's walk saw them */

        /* Rule 9: the new set is complete before the old one goes, so both must fit. */
        r = room_check(ctx, j, j->lock_fd, j->run_excludes, j->dest, left_bytes, why);
        if (r != 0)
                return r;

        /* A quiet rsync may itemize its changes into a memfd: none means the destination
         * is as the guard just saw it, and recording needs no second walk of it (the
         * common sync that copies nothing). */
        if (!ctx->test && j->dst_fp_known && rsync_opts_quiet(c->rsync_opts)) {
                j->out_fd = memfd_create("dual-root-rsync-changes", MFD_CLOEXEC);
                if (j->out_fd < 0)
                        j->dst_fp_known = false; /* then walk again after */
        }

        /* Rule 10: said on the destination before rsync writes there. */
        if (!ctx->test) {
                if (!src_fp_known) {
                        /* not computed by the guard (forced, resumed, first sync) */
                        r = guard_fingerprint(j->src_fd, j->run_excludes, &j->src_fp, why);
                        if (r < 0)
                                return errmsg_prefix(why, SYNC_FAILED, "source '%s'", j->source);
                }
                r = guard_intent(j->lock_fd, m->booted.partuuid, j->src_fp, why);
                if (r < 0)
                        return errmsg_prefix(why, SYNC_FAILED, "'%s'", j->dest);
        }
        return 0;
}

static int operands_esp(const struct sync_context *ctx, struct sync_job *j,
                        struct copy_passes *shown, struct copy_passes *run)
{
        struct copy_args a = {
                .rsync_path = ctx->config->rsync_path,
                .opts = ctx->config->rsync_opts,
                .excludes = j->run_excludes,
                .test = ctx->test,
                .verify = j->verify,
                .itemize = j->out_fd >= 0,
                .source = j->source,
                .dest = j->dest,
                /* rsync copies the files (pass 1); the entries and the deletions are
                 * ours, in the runner after it (esp_after_run()) */
                .progress = ctx->progress != RSYNC_PROGRESS_NONE && !ctx->test,
        };
        int r;

        r = copy_order_passes(&a, shown);
        if (r < 0)
                return r;
        /* Shown with the paths, run in the directories the checks and the lock hold (the
         * ESP item's source always ends in '/': contents, as "./"). A dry run has no lock
         * to hold the destination: it names the paths. */
        if (!ctx->test) {
                a.source = RSYNC_SOURCE_FD_PATH;
                a.dest = ".";
        }
        return copy_order_passes(&a, run);
}

/* Rules 6 and 12, then the guard's record (rule 4): what an ESP's and a boot tree's jobs end
 * with. flush_fd: a descriptor on the destination's filesystem, record_fd: the tree the record
 * is written at. */
static int finish_flushed(struct sync_job *j, int flush_fd, int record_fd, char *const *excludes,
                          const char *src_id, char **why)
{
        struct stat changes;
        uint64_t src_now;
        int r;

        /* Rule 6: on the disk before it is reported as synced (FAT has no journal). */
        if (syncfs(flush_fd) < 0)
                return errmsg(why, SYNC_FAILED,
                              "the copy finished but flushing '%s' to disk failed: %m", j->dest);
        /* Rule 12: a source that changed while it was copied is not called synced: the
         * alternate holds a mix of what it held then (each entry with its files), the
         * intent stays, and the sync runs again. */
        r = guard_fingerprint(j->src_fd, excludes, &src_now, why);
        if (r < 0)
                return errmsg_prefix(why, SYNC_FAILED, "source '%s'", j->source);
        if (src_now != j->src_fp) {
                j->source_changed = true;
                return errmsg(why, SYNC_FAILED,
                              "the source changed during the sync (written to while it was "
                              "copied); the alternate boots, but is not recorded as synced (the "
                              "next sync completes it)");
        }
        /* Then the guard's record, which so never describes data still in memory: a crash
         * in between leaves the intent, and the next sync completes and compares. */
        if (j->out_fd >= 0 && j->dst_fp_known && fstat(j->out_fd, &changes) == 0 &&
            changes.st_size == 0)
                r = guard_record_fp(j->src_fd, record_fd, j->dst_fp, excludes, src_id, j->verify,
                                    why);
        else
                r = guard_record_verified(j->src_fd, record_fd, excludes, src_id, j->verify, why);
        if (r < 0)
                return errmsg_prefix(why, SYNC_FAILED,
                                     "the copy finished, but the rollback-guard state cannot be "
                                     "recorded");
        return 0;
}

static int finish_esp(const struct sync_context *ctx, struct sync_job *j, char **why)
{
        return finish_flushed(j, j->lock_fd, j->lock_fd, j->run_excludes,
                              ctx->model->booted.partuuid, why);
}

static const struct sync_kind kind_esp = {
        .name = "ESP",
        .check = check_esp,
        .prepare = prepare_esp,
        .operands = operands_esp,
        .finish = finish_esp,
};

/* --- a sync-list tree (approach 2) -------------------------------------------------------- */

/*
 * The tree a sync-list pair's rsync writes, as rsync names it: for a source "/srv/etc" (no
 * trailing slash) the destination's "etc", and the transfer's paths start with "etc/"
 * (*ret_base "etc"); for "/srv/etc/" the destination itself (*ret_base NULL).
 */
static int tree_of(const struct sync_job *j, char **ret_src, char **ret_dst, char **ret_base)
{
        _cleanup_free_ char *src = path_strip_trailing_slashes(j->source), *dst = NULL;
        _cleanup_free_ char *base = NULL;
        size_t n = strlen(j->source);

        if (!src)
                return -ENOMEM;
        if (n > 0 && j->source[n - 1] != '/' && !streq(src, "/")) {
                const char *slash = strrchr(src, '/');

                _cleanup_free_ char *d = path_strip_trailing_slashes(j->dest);

                base = strdup(slash ? slash + 1 : src);
                if (!d || !base || asprintf(&dst, "%s/%s", streq(d, "/") ? "" : d, base) < 0)
                        return -ENOMEM;
        } else {
                dst = strdup(j->dest);
                if (!dst)
                        return -ENOMEM;
        }
        *ret_src = TAKE_PTR(src);
        *ret_dst = TAKE_PTR(dst);
        *ret_base = TAKE_PTR(base);
        return 0;
}

/* The item's exclusions (anchored at the transfer's root) seen from inside the tree: with a
 * base, "/BASE/x" becomes "/x" and any other anchored pattern cannot match. */
static int tree_excludes(char *const *excludes, const char *base, char ***ret)
{
        _cleanup_strv_free_ char **x = calloc(1, sizeof(char *));

        if (!x)
                return -ENOMEM;
        STRV_FOREACH(e, excludes)
        {
                const char *rest;

                if (!base || (*e)[0] != '/') {
                        if (strv_extend(&x, *e) < 0)
                                return -ENOMEM;
                        continue;
                }
                rest = startswith(*e + 1, base);
                if (!rest || (*rest != '/' && *rest))
                        continue; /* outside the tree */
                if (!*rest || streq(rest, "/"))
                        return -EDOM; /* the whole tree excluded: nothing to guard */
                if (strv_extend(&x, rest) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(x);
        return 0;
}

/* 1 when the tree at fd holds directories alone on its own filesystem (lost+found and other
 * filesystems' mount points aside): nothing there can be a torn copy, so like a missing tree
 * it needs no guard, intent or content comparison (DESIGN.md §12b A7); 0 otherwise or when it
 * cannot be read (the guard then judges it). */
static int tree_holds_no_file(int fd, unsigned depth)
{
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        struct stat top;
        int dfd;

        if (depth > 32 || fstat(fd, &top) < 0 || (dfd = dup(fd)) < 0)
                return 0;
        d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return 0;
        }
        while ((errno = 0, de = readdir(d))) {
                struct stat st;
                int sub, r;

                if (streq(de->d_name, ".") || streq(de->d_name, "..") ||
                    (depth == 0 && streq(de->d_name, "lost+found")))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISDIR(st.st_mode))
                        return 0;
                if (st.st_dev != top.st_dev)
                        continue; /* a mount point: another filesystem's, not this copy's */
                sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        return 0;
                r = tree_holds_no_file(sub, depth + 1);
                close(sub);
                if (r <= 0)
                        return 0;
        }
        return errno == 0 ? 1 : 0;
}

/* Rules 4 and 10 for a sync-list pair, the same as an ESP's: the record lives at the root of
 * the tree rsync writes, on both sides; the booted ESP's PARTUUID names the booted disk. */
static int prepare_tree(const struct sync_context *ctx, struct sync_job *j, char **why)
{
        const struct esp_model *m = ctx->model;
        const char *src_id = m && m->boot_ok ? m->booted.partuuid : NULL;
        _cleanup_free_ char *src = NULL, *dst = NULL, *base = NULL;
        bool src_fp_known = false;
        int r;

        j->verify = false;
        /* A daemon runs a job again and again: the last round's list goes first. */
        j->guard_excludes = strv_free(j->guard_excludes);
        r = tree_of(j, &src, &dst, &base);
        if (r < 0)
                return r;
        r = tree_excludes(j->run_excludes, base, &j->guard_excludes);
        if (r == -EDOM)
                return 0;
        if (r < 0)
                return r;
        j->src_fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (j->src_fd < 0)
                return errmsg(why, SYNC_FAILED, "cannot open source '%s': %m", src);
        j->tree_fd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (j->tree_fd >= 0 && tree_holds_no_file(j->tree_fd, 0) > 0)
                return 0; /* as a missing one: a first copy onto a new filesystem (§12b A7) */
        if (j->tree_fd < 0) {
                if (errno == ENOENT)
                        return 0; /* a first sync creates it; recorded after */
                return errmsg(why, SYNC_FAILED, "cannot open '%s': %m", dst);
        }
        r = step_guard(ctx, j, src, j->tree_fd, dst, j->guard_excludes, &src_fp_known, why);
        if (r != 0)
                return r;
        if (!src_fp_known && !ctx->test) {
                r = guard_fingerprint(j->src_fd, j->guard_excludes, &j->src_fp, why);
                if (r < 0)
                        return errmsg_prefix(why, SYNC_FAILED, "source '%s'", src);
        }
        if (!ctx->test) {
                r = guard_intent(j->tree_fd, src_id, j->src_fp, why);
                if (r < 0)
                        return errmsg_prefix(why, SYNC_FAILED, "'%s'", dst);
        }
        return 0;
}

static int operands_tree(const struct sync_context *ctx, struct sync_job *j,
                         struct copy_passes *shown, struct copy_passes *run)
{
        const struct config *c = ctx->config;
        _cleanup_strv_free_ char **opts = strv_copy(c->rsync_opts);
        _cleanup_free_ char *src = NULL, *dst = NULL, *base = NULL, *held = NULL;
        char ***p[2] = {};
        int r;

        if (!opts || (j->verify && strv_extend(&opts, "--checksum") < 0) ||
            (ctx->progress != RSYNC_PROGRESS_NONE && !ctx->test &&
             strv_extend(&opts, "--info=progress2") < 0))
                return -ENOMEM;
        /* Run in the directories held open (the destination, locked; the source, or its
         * parent when the directory itself is copied), as an ESP pair is: a mount or a
         * symlink swapped after the checks cannot redirect rsync. A dry run names paths. */
        if (!ctx->test && j->lock_fd >= 0) {
                r = tree_of(j, &src, &dst, &base);
                if (r < 0)
                        return r;
                if (base) {
                        char *slash = strrchr(src, '/');

                        slash[slash == src ? 1 : 0] = 0; /* its parent */
                }
                j->copy_src_fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (j->copy_src_fd < 0)
                        return negative_errno();
                if (asprintf(&held, "%s%s", RSYNC_SOURCE_FD_PATH, base ? base : "") < 0)
                        return -ENOMEM;
        }
        r = 0;
        for (unsigned i = 0; i < 2 && r >= 0; i++) {
                p[i] = calloc(2, sizeof(char **));
                r = p[i] ? rsync_build_argv(c->rsync_path, opts, j->run_excludes, ctx->test,
                                            i && held ? held : j->source, i && held ? "." : j->dest,
                                            &p[i][0])
                         : -ENOMEM;
        }
        shown->argv = p[0];
        run->argv = p[1];
        return r;
}

static int finish_tree(const struct sync_context *ctx, struct sync_job *j, char **why)
{
        const struct esp_model *m = ctx->model;
        _cleanup_free_ char *src = NULL, *dst = NULL, *base = NULL;
        int r;

        if (syncfs(j->lock_fd) < 0)
                return errmsg(why, SYNC_FAILED,
                              "rsync finished but flushing '%s' to disk failed: %m", j->dest);
        if (!j->guard_excludes || j->src_fd < 0)
                return 0; /* nothing guarded (the whole tree excluded) */
        if (j->tree_fd < 0) {
                r = tree_of(j, &src, &dst, &base);
                if (r < 0)
                        return r;
                j->tree_fd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (j->tree_fd < 0)
                        return errmsg(why, SYNC_FAILED, "cannot open '%s' to record it: %m", dst);
        }
        r = guard_record_verified(j->src_fd, j->tree_fd, j->guard_excludes,
                                  m && m->boot_ok ? m->booted.partuuid : NULL, j->verify, why);
        if (r < 0)
                return errmsg_prefix(why, SYNC_FAILED,
                                     "rsync finished, but the rollback-guard state cannot be "
                                     "recorded");
        return 0;
}

static const struct sync_kind kind_tree = {
        .name = "tree",
        .check = check_tree,
        .prepare = prepare_tree,
        .operands = operands_tree,
        .finish = finish_tree,
};

/* --- a boot tree: a sync-list pair a boot loader reads kernels from (DESIGN.md §5c) ------- */

#define XBOOTLDR_GPT_TYPE "bc13c2ff-59e6-4262-a352-b275fd6f7172"
#define XBOOTLDR_MBR_TYPE "0xea"

/* T1: what in the tree at dir_fd makes it a boot tree ("loader/entries"), or NULL. */
static const char *boot_tree_content(int dir_fd)
{
        static const char *const dirs[] = { "loader/entries", "EFI/Linux" };
        struct stat st;

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (fstatat(dir_fd, dirs[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
                        return dirs[i];
        return NULL;
}

/* T1: true when path's filesystem is a partition typed XBOOTLDR (the partition table read
 * through the device the mount table names; a device whose table cannot be read is judged
 * by what it holds alone). */
static bool on_xbootldr(struct libmnt_table *mounts, const char *path)
{
        _cleanup_free_ char *type = NULL;
        struct libmnt_fs *fs;
        struct stat st;
        const char *node;

        if (!mounts || stat(path, &st) < 0)
                return false;
        fs = mnt_table_find_devno(mounts, st.st_dev, MNT_ITER_BACKWARD);
        node = fs ? mnt_fs_get_srcpath(fs) : NULL;
        if (!node || node[0] != '/' || blockdev_part_type(node, &type) < 0)
                return false;
        return streq(type, XBOOTLDR_GPT_TYPE) || streq(type, XBOOTLDR_MBR_TYPE);
}

/* T1: a file of src_fd's tree that an entry on the booted ESP names (the entries there may
 * name kernels on the XBOOTLDR partition or a /boot tree), as "'PATH' (named by ENTRY)". */
static int named_by_esp_entry(const struct esp_model *m, int src_fd, char **ret)
{
        _cleanup_(bls_set_done) struct bls_set s = {};
        _cleanup_close_ int esp = -1;
        _cleanup_free_ char *why = NULL;
        int r;

        *ret = NULL;
        if (!m || !m->boot_ok || !m->booted.mount)
                return 0;
        esp = open(m->booted.mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (esp < 0 || bls_load(esp, &s, &why) < 0)
                return 0; /* nothing to learn there; the tree's own content still counts */
        for (size_t i = 0; i < s.n; i++) {
                _cleanup_strv_free_ char **files = NULL;

                if (s.entries[i].uki || s.entries[i].error)
                        continue;
                r = bls_entry_files(&s.entries[i], &files);
                if (r < 0)
                        return r;
                STRV_FOREACH(f, files)
                {
                        struct stat st;

                        if (bls_path_stat(src_fd, *f, &st) == 0 && S_ISREG(st.st_mode))
                                return asprintf(ret, "'%s' (named by the booted ESP's entry %s)",
                                                *f, s.entries[i].id) < 0
                                               ? -ENOMEM
                                               : 0;
                }
        }
        return 0;
}

/*
 * DESIGN.md §5c T1, T2: whether a sync-list pair is a boot tree this run, and why (the
 * config's boot_trees, else what the tree holds on either side and its partition type),
 * checked before each run: a tree that gains its first kernel is copied in order from then
 * on. A boot tree whose rsync_opts would break the order is refused (T4).
 */
static int step_classify(const struct sync_context *ctx, struct sync_job *j, char **why)
{
        _cleanup_free_ char *src = NULL, *dst = NULL, *base = NULL, *reason = NULL;
        _cleanup_strv_free_ char **inside = NULL;
        const char *bad;
        int r;

        if (j->kind != &kind_tree && j->kind != &kind_boot)
                return 0;
        j->kind = &kind_tree;
        free(j->boot_reason);
        j->boot_reason = NULL;
        if (j->refusal || j->boot_mode == 0)
                return 0;
        r = tree_of(j, &src, &dst, &base);
        if (r < 0)
                return r;
        r = tree_excludes(j->run_excludes, base, &inside);
        if (r == -EDOM)
                return 0; /* the whole tree excluded: nothing to order */
        if (r < 0)
                return r;
        if (j->boot_mode > 0)
                reason = strdup("boot_trees lists it");
        else {
                const char *sides[] = { src, dst };

                for (size_t i = 0; !reason && i < ELEMENTSOF(sides); i++) {
                        _cleanup_close_ int fd = open(sides[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        const char *what = fd >= 0 ? boot_tree_content(fd) : NULL;
                        _cleanup_free_ char *named = NULL;

                        if (what) {
                                if (asprintf(&reason, "'%s' holds %s", sides[i], what) < 0)
                                        return -ENOMEM;
                        } else if (on_xbootldr(ctx->mounts, sides[i])) {
                                if (asprintf(&reason, "'%s' is on an XBOOTLDR partition",
                                             sides[i]) < 0)
                                        return -ENOMEM;
                        } else if (fd >= 0 && i == 0 && !streq(src, "/")) {
                                r = named_by_esp_entry(ctx->model, fd, &named);
                                if (r < 0)
                                        return r;
                                if (named && asprintf(&reason, "'%s' holds %s", src, named) < 0)
                                        return -ENOMEM;
                        }
                }
                if (!reason)
                        return 0;
        }
        if (!reason)
                return -ENOMEM;
        if ((bad = copy_order_breaker(ctx->config->rsync_opts)))
                return errmsg(why, SYNC_REFUSED,
                              "'%s' is a boot tree (%s), and rsync_opts holds '%s', which breaks "
                              "the order a boot tree is copied in (new files under temporary "
                              "names, deletions last)",
                              src, reason, bad);
        j->kind = &kind_boot;
        j->boot_reason = TAKE_PTR(reason);
        return 0;
}

/* Rules 4, 9, 10 for a boot tree, as for an ESP (T3): the guard and the intent at the tree's
 * root (as a sync-list pair's), our leftovers cleared, then the room check. */
static int prepare_boot(const struct sync_context *ctx, struct sync_job *j, char **why)
{
        const struct config *c = ctx->config;
        const struct esp_model *m = ctx->model;
        const char *src_id = m && m->boot_ok ? m->booted.partuuid : NULL;
        _cleanup_free_ char *src = NULL, *dst = NULL, *base = NULL;
        uint64_t left_bytes = 0;
        unsigned left_count = 0;
        bool src_fp_known = false;
        int r;

        j->verify = false;
        j->guard_excludes = strv_free(j->guard_excludes);
        j->protect = strv_free(j->protect);
        r = tree_of(j, &src, &dst, &base);
        if (r < 0)
                return r;
        r = tree_excludes(j->run_excludes, base, &j->guard_excludes);
        if (r < 0)
                return r; /* (-EDOM is not a boot tree: step_classify) */
        j->src_fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (j->src_fd < 0)
                return errmsg(why, SYNC_FAILED, "cannot open source '%s': %m", src);
        j->tree_fd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (j->tree_fd < 0 && errno == ENOENT && base && !ctx->test) {
                /* A first sync of "/x/BASE": the tree made, then copied in order. */
                if (mkdirat(j->lock_fd, base, 0755) < 0 && errno != EEXIST)
                        return errmsg(why, SYNC_FAILED, "cannot create '%s': %m", dst);
                j->tree_fd =
                        openat(j->lock_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (j->tree_fd < 0) {
                if (errno == ENOENT && ctx->test) {
                        j->passes = COPY_PASS_FILES; /* the dry run shows rsync's part */
                        return 0;
                }
                return errmsg(why, SYNC_FAILED, "cannot open '%s': %m", dst);
        }
        r = step_guard(ctx, j, src, j->tree_fd, dst, j->guard_excludes, &src_fp_known, why);
        if (r != 0)
                return r;
        /* §5b: swapped entries are written after the deletions: what the tree's own entries
         * name stays until then. */
        if (j->swap_excludes && *j->swap_excludes) {
                r = copy_entries_named(j->tree_fd, &j->protect, why);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return errmsg_prefix(why, SYNC_FAILED,
                                             "cannot tell which files the entries on '%s' name",
                                             dst);
        }
        /* Rule 10: our leftovers of a cut copy go before the room is judged. */
        r = espcopy_clear_leftovers(j->src_fd, j->tree_fd, j->protect, ctx->test, &left_bytes,
                                    &left_count, why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return errmsg_prefix(why, SYNC_FAILED,
                                     "cannot remove what an interrupted sync left on '%s'", dst);
        if (left_count > 0 && !ctx->test)
                j->dst_fp_known = false;
        /* Rule 9, T3: the new set beside the old one, or nothing is touched. */
        r = room_check(ctx, j, j->tree_fd, j->guard_excludes, dst, left_bytes, why);
        if (r != 0)
                return r;
        if (!ctx->test && j->dst_fp_known && rsync_opts_quiet(c->rsync_opts)) {
                j->out_fd = memfd_create("dual-root-rsync-changes", MFD_CLOEXEC);
                if (j->out_fd < 0)
                        j->dst_fp_known = false;
        }
        if (ctx->test) {
                _cleanup_free_ char *was = TAKE_PTR(j->note);

                /* -s -t says how the tree is copied, and why (T1) */
                return set_note(j,
                                "%s%sa boot tree (%s): copied in order, files, entries, "
                                "deletions",
                                was ? was : "", was ? "; " : "", j->boot_reason);
        }
        /* Rule 10: the intent, on the tree, before anything is written. */
        if (!src_fp_known) {
                r = guard_fingerprint(j->src_fd, j->guard_excludes, &j->src_fp, why);
                if (r < 0)
                        return errmsg_prefix(why, SYNC_FAILED, "source '%s'", src);
        }
        r = guard_intent(j->tree_fd, src_id, j->src_fp, why);
        if (r < 0)
                return errmsg_prefix(why, SYNC_FAILED, "'%s'", dst);
        return 0;
}

/* Pass 1 as an ESP's (T3): shown with the trees' paths, run in the trees held open. */
static int operands_boot(const struct sync_context *ctx, struct sync_job *j,
                         struct copy_passes *shown, struct copy_passes *run)
{
        _cleanup_free_ char *src = NULL, *dst = NULL, *base = NULL, *src_c = NULL, *dst_c = NULL;
        struct copy_args a = {
                .rsync_path = ctx->config->rsync_path,
                .opts = ctx->config->rsync_opts,
                .excludes = j->guard_excludes,
                .test = ctx->test,
                .verify = j->verify,
                .itemize = j->out_fd >= 0,
                .progress = ctx->progress != RSYNC_PROGRESS_NONE && !ctx->test,
        };
        int r;

        r = tree_of(j, &src, &dst, &base);
        if (r < 0)
                return r;
        /* the tree's contents on both sides: "/x/BASE" -> "/y/" is "/x/BASE/" -> "/y/BASE/" */
        if (asprintf(&src_c, "%s%s", src, src[strlen(src) - 1] == '/' ? "" : "/") < 0 ||
            asprintf(&dst_c, "%s%s", dst, dst[strlen(dst) - 1] == '/' ? "" : "/") < 0)
                return -ENOMEM;
        a.source = src_c;
        a.dest = dst_c;
        r = copy_order_passes(&a, shown);
        if (r < 0)
                return r;
        if (!ctx->test) {
                a.source = RSYNC_SOURCE_FD_PATH;
                a.dest = ".";
        }
        return copy_order_passes(&a, run);
}

static int finish_boot(const struct sync_context *ctx, struct sync_job *j, char **why)
{
        const struct esp_model *m = ctx->model;

        return finish_flushed(j, j->tree_fd, j->tree_fd, j->guard_excludes,
                              m && m->boot_ok ? m->booted.partuuid : NULL, why);
}

static const struct sync_kind kind_boot = {
        .name = "boot tree",
        .check = check_tree,
        .prepare = prepare_boot,
        .operands = operands_boot,
        .finish = finish_boot,
};

size_t sync_plan_run(const struct sync_context *ctx, struct sync_plan *p, sync_start_cb cb,
                     sync_end_cb end, void *userdata)
{
        size_t failed = 0;

        for (size_t i = 0; i < p->n_jobs; i++) {
                struct sync_job *j = &p->jobs[i];
                int r, code = 0, status = 0, sig = 0;
                unsigned attempts = 0;
                bool interrupted = false;

        again:
                if (sync_job_begin(ctx, j, true, cb, userdata) == 0) {
                        char *why = NULL;

                        r = rsync_wait(&j->child, ctx->config->rsync_timeout, RSYNC_GRACE, &code,
                                       &status, &sig);
                        if (r == -EINTR) {
                                errmsg(&why, 0, "interrupted by %s; %s was stopped",
                                       sigabbrev_np(sig) ? sigabbrev_np(sig) : "a signal",
                                       j->in_process ? "the copy" : "rsync");
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
                /* Rule 12: a source written to during the sync is synced again, a few
                 * times (a package manager writes a kernel in well under a second). */
                if (j->state == SYNC_FAILED && j->source_changed && !interrupted &&
                    ++attempts < SYNC_SOURCE_ATTEMPTS)
                        goto again;
                if (j->state == SYNC_DONE && attempts > 0) {
                        _cleanup_free_ char *was = TAKE_PTR(j->note);

                        (void)set_note(j, "the source changed during the sync; synced again%s%s",
                                       was ? "; " : "", was ? was : "");
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
