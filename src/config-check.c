/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <sys/stat.h>

#include "config-check.h"
#include "swapfiles.h"
#include "sync.h"
#include "util/errmsg.h"
#include "util/strv.h"

/* rsync_path: run as root for every sync, so a typo there is every sync failing later. */
static int check_rsync_path(const struct config *c, char **why)
{
        const char *p = c->rsync_path;
        struct stat st;

        if (!c->dualroot && c->n_items == 0)
                return 0; /* nothing is ever synced: rsync is never run */
        if (stat(p, &st) < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return errmsg(why, -ENOENT,
                                      "rsync_path '%s' does not exist, expected the path of the "
                                      "rsync program (is rsync installed?)",
                                      p);
                return errmsg(why, negative_errno(), "rsync_path '%s': cannot look: %m", p);
        }
        if (!S_ISREG(st.st_mode))
                return errmsg(why, -EINVAL,
                              "rsync_path '%s' is not a regular file, expected the path of the "
                              "rsync program",
                              p);
        /* Root runs it: any execute bit will do, whoever asks (--check-config as a user). */
        if (!(st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)))
                return errmsg(why, -EACCES,
                              "rsync_path '%s' is not executable (mode %04o), expected the path "
                              "of the rsync program",
                              p, (unsigned)(st.st_mode & 07777));
        return 0;
}

/* 0 when path is there (a directory when dir), or when it is missing because a disk is: it
 * lies under a mount point of fstab with nothing mounted (the job skips or refuses it then,
 * DESIGN.md §5 rules 2 and 3). Else -errno with "'PATH' does not exist, expected ...". */
static int check_exists(const struct config_check_context *cx, const char *what, const char *path,
                        bool dir, const char *expected, char **why)
{
        struct stat st;

        if (stat(path, &st) < 0) {
                if (errno == ENOENT && cx->mounts) {
                        _cleanup_free_ char *gone =
                                unmounted_fstab_target(cx->mounts, cx->fstab, path);

                        if (gone)
                                return 0;
                        errno = ENOENT;
                }
                if (errno == ENOENT)
                        return errmsg(why, -ENOENT, "%s '%s' does not exist, expected %s", what,
                                      path, expected);
                /* Not allowed to look (--check-config as a user below a root-only
                 * directory): not judged, rather than called broken; -s runs as root. */
                if (errno == EACCES)
                        return 0;
                if (errno == ENOTDIR) /* "file/" or "file/x" */
                        return errmsg(why, -ENOTDIR,
                                      "%s '%s' goes through something that is not a directory, "
                                      "expected %s",
                                      what, path, expected);
                return errmsg(why, negative_errno(), "%s '%s': cannot look: %m", what, path);
        }
        if (dir && !S_ISDIR(st.st_mode))
                return errmsg(why, -ENOTDIR, "%s '%s' is not a directory, expected %s", what, path,
                              expected);
        return 0;
}

int config_check(const struct config *c, const struct config_check_context *cx, char **why)
{
        const struct esp_model *m = cx->model;
        const char *file = c->path ?: "(defaults)";
        int r;

        /* DESIGN.md §5 rules 9 and 11: the copy order and impossible destinations. */
        r = sync_config_validate(c, m, why);
        if (r < 0)
                return r;
        r = check_rsync_path(c, why);
        if (r < 0)
                return errmsg_prefix(why, r, "%s", file);
        STRV_FOREACH(p, c->esp_mounts)
        {
                r = check_exists(cx, "esp_mounts entry", *p, true,
                                 "the mount point of an ESP (a directory)", why);
                if (r < 0)
                        return errmsg_prefix(why, r, "%s", file);
        }
        for (size_t i = 0; i < c->n_items; i++) {
                const struct sync_item *it = &c->items[i];

                /* A source ending in '/' copies a directory's contents: stat() of "x/" fails
                 * with ENOTDIR on a file, so it is a directory whenever it resolves. */
                r = check_exists(cx, "source", it->source, false, "an existing file or directory",
                                 why);
                STRV_FOREACH(d, it->dests)
                {
                        if (r < 0)
                                break;
                        r = check_exists(cx, "destination", *d, true, "an existing directory", why);
                }
                if (r < 0)
                        return errmsg_prefix(why, r, "%s:%u: sync item %zu", file, it->line, i);
        }
        return 0;
}

int config_check_swap_ids(const struct config *c, const struct esp_model *m,
                          struct libmnt_table *mounts, char ***lines, char ***errors)
{
        struct sync_plan plan = {};
        int r;

        assert(c);
        assert(m);
        assert(lines);
        assert(errors);
        r = sync_plan_build(c, m, mounts, &plan);
        if (r < 0)
                return strv_extendf(errors, "cannot plan the sync: %s", strerror(-r)) < 0 ? -ENOMEM
                                                                                          : 0;
        for (size_t i = 0; i < plan.n_jobs && r >= 0; i++) {
                struct sync_job *j = &plan.jobs[i];
                _cleanup_strv_free_ char **notes = NULL;
                _cleanup_free_ char *why = NULL;
                struct swapids_map *map = NULL;

                if (!j->source || !j->swap_excludes || !*j->swap_excludes)
                        continue;
                r = swapfiles_job_prepare(c, m, mounts, j->source, j->dest, j->excludes, true, &map,
                                          &notes, &why);
                if (r < 0) {
                        r = strv_extendf(errors, "%s %s -> %s: %s", j->item, j->source, j->dest,
                                         why ? why : strerror(-r));
                        continue;
                }
                swapids_map_freep(&map);
                r = strv_extendf(lines, "%s %s -> %s:", j->item, j->source, j->dest);
                for (char **n = notes; r >= 0 && n && *n; n++)
                        r = strv_extendf(lines, "  %s", *n);
        }
        sync_plan_done(&plan);
        return r < 0 ? -ENOMEM : 0;
}
