/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "bls.h"
#include "copyorder.h"
#include "ignore.h"
#include "rsync.h"
#include "util/errmsg.h"
#include "util/exclude.h"
#include "util/macro.h"
#include "util/strv.h"

#define MAX_DEPTH 128

void copy_passes_done(struct copy_passes *p)
{
        for (size_t i = 0; p->argv && p->argv[i]; i++)
                strv_free(p->argv[i]);
        free(p->argv);
        p->argv = NULL;
}

const char *copy_order_breaker(char *const *opts)
{
        static const char *const bad[] = {
                "--del", /* --del, --delete-before/-during/-delay/-after/-excluded/-missing-args */
                "--inplace",     "--append",   "--remove-source-files",
                "--partial-dir", "--temp-dir", "--no-delay-updates",
        };

        STRV_FOREACH(o, opts)
        {
                if (streq(*o, "--delete") || streq(*o, "--delay-updates"))
                        continue;
                for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                        if (startswith(*o, bad[i]))
                                return *o;
                /* -T DIR (--temp-dir) as a short option */
                if ((*o)[0] == '-' && (*o)[1] != '-' && strchr(*o, 'T'))
                        return *o;
        }
        return NULL;
}

int copy_order_passes(const struct copy_args *a, struct copy_passes *ret)
{
        /* Pass 1, the files: rsync's one run. Passes 2 and 3 are espcopy.c's. */
        const char *extra[5] = {}, *filters[] = { "--exclude=/" COPY_ENTRIES_DIR "/", NULL };
        struct copy_passes p = { .argv = calloc(2, sizeof(char **)) };
        size_t n = 0;
        int r;

        if (!p.argv)
                return -ENOMEM;
        extra[n++] = "--delay-updates";
        if (a->verify)
                extra[n++] = "--checksum";
        if (a->itemize)
                extra[n++] = "--itemize-changes";
        if (a->progress)
                extra[n++] = "--info=progress2";
        r = rsync_build_argv_full(a->rsync_path, a->opts, (char *const *)extra, a->excludes,
                                  (char *const *)filters, a->test, false, a->source, a->dest,
                                  &p.argv[0]);
        if (r < 0) {
                copy_passes_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}

/* path as an anchored rsync pattern matching it alone, or NULL (with 0) when it names
 * nothing below the ESP. rsync reads '\' as an escape only in a pattern with a wildcard
 * character: so those are escaped, and '\' (a separator in entries) is read as '/'. */
static int named_pattern(const char *path, char **ret)
{
        _cleanup_free_ char *p = malloc(2 * strlen(path) + 2);
        const char *c = path;
        size_t n = 0;

        if (!p)
                return -ENOMEM;
        *ret = NULL;
        for (;;) {
                const char *seg;
                size_t len;

                while (*c == '/' || *c == '\\')
                        c++;
                if (!*c)
                        break;
                seg = c;
                while (*c && *c != '/' && *c != '\\')
                        c++;
                len = (size_t)(c - seg);
                if (len == 1 && seg[0] == '.')
                        continue;
                if (len == 2 && seg[0] == '.' && seg[1] == '.')
                        return 0; /* refused by the boot loader too (bls_path_stat) */
                p[n++] = '/';
                for (size_t i = 0; i < len; i++) {
                        if (strchr("*?[", seg[i]))
                                p[n++] = '\\';
                        p[n++] = seg[i];
                }
        }
        if (n == 0)
                return 0;
        p[n] = 0;
        *ret = TAKE_PTR(p);
        return 0;
}

int copy_entries_named(int dst_fd, char ***ret, char **why)
{
        _cleanup_(bls_set_done) struct bls_set s = {};
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        int r;

        if (!l)
                return -ENOMEM;
        r = bls_load(dst_fd, &s, why);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s.n; i++) {
                _cleanup_strv_free_ char **files = NULL;

                if (s.entries[i].uki || s.entries[i].error)
                        continue;
                r = bls_entry_files(&s.entries[i], &files);
                if (r < 0)
                        return r;
                STRV_FOREACH(f, files)
                {
                        _cleanup_free_ char *p = NULL;

                        r = named_pattern(*f, &p);
                        if (r < 0)
                                return r;
                        if (p && !strv_contains(l, p) && strv_extend(&l, p) < 0)
                                return -ENOMEM;
                }
        }
        strv_sort(l);
        *ret = TAKE_PTR(l);
        return 0;
}

static uint64_t round_up(uint64_t n, uint64_t b)
{
        return b ? (n + b - 1) / b * b : n;
}

/* The entries of dfd that sfd lacks (and that no exclusion or ignored name covers): the
 * pass that deletes them gets work. */
static int find_extras(int sfd, int dfd, const char *rel, unsigned depth, bool in_loader,
                       char *const *excludes, unsigned *passes, char **why)
{
        _cleanup_close_ int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (fd < 0)
                return errmsg(why, negative_errno(), "cannot read '%s': %m", *rel ? rel : ".");
        d = fdopendir(fd);
        if (!d)
                return errmsg(why, negative_errno(), "cannot read '%s': %m", *rel ? rel : ".");
        fd = -1;
        rewinddir(d);
        while ((errno = 0, de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (depth == 0 && esp_ignored_root_name(de->d_name))
                        continue;
                if (fstatat(sfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                        continue; /* there on both sides: the walk of src compares it */
                if (asprintf(&path, "%s%s%s", rel, *rel ? "/" : "", de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue; /* gone meanwhile */
                if (exclude_match(excludes, path, S_ISDIR(st.st_mode)))
                        continue;
                /* rsync's holding directory: only the deletions pass removes it */
                if (streq(de->d_name, ".~tmp~") || !in_loader)
                        *passes |= COPY_PASS_DELETIONS;
                else
                        *passes |= COPY_PASS_ENTRIES;
        }
        if (r >= 0 && errno != 0)
                r = errmsg(why, negative_errno(), "cannot read '%s': %m", *rel ? rel : ".");
        closedir(d);
        return r;
}

static int walk(int sfd, int dfd, const char *rel, unsigned depth, bool in_loader,
                char *const *excludes, uint64_t bsize, struct copy_survey *sv, char **why)
{
        _cleanup_close_ int fd = -1;
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (depth > MAX_DEPTH)
                return errmsg(why, -ELOOP, "'%s' is nested more than %d levels deep", rel,
                              MAX_DEPTH);
        if (dfd >= 0) {
                r = find_extras(sfd, dfd, rel, depth, in_loader, excludes, &sv->passes, why);
                if (r < 0)
                        return r;
        }
        fd = fcntl(sfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return errmsg(why, negative_errno(), "cannot read '%s': %m", *rel ? rel : ".");
        d = fdopendir(fd);
        if (!d)
                return errmsg(why, negative_errno(), "cannot read '%s': %m", *rel ? rel : ".");
        fd = -1;
        rewinddir(d);
        while (r >= 0 && (errno = 0, de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                bool have, loader = in_loader;
                struct stat st, dt;
                unsigned region;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (depth == 0 && esp_ignored_root_name(de->d_name))
                        continue;
                if (depth == 0 && streq(de->d_name, COPY_ENTRIES_DIR))
                        loader = true;
                region = loader ? COPY_PASS_ENTRIES : COPY_PASS_FILES;
                if (asprintf(&path, "%s%s%s", rel, *rel ? "/" : "", de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = errmsg(why, negative_errno(), "cannot stat '%s': %m", path);
                        break;
                }
                if (exclude_match(excludes, path, S_ISDIR(st.st_mode)))
                        continue;
                have = dfd >= 0 && fstatat(dfd, de->d_name, &dt, AT_SYMLINK_NOFOLLOW) == 0;
                if (have && (dt.st_mode & S_IFMT) != (st.st_mode & S_IFMT)) {
                        /* replaced by another type: rsync removes the old one first */
                        sv->passes |= region | COPY_PASS_DELETIONS;
                        have = false;
                }
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int ssub = -1, dsub = -1;

                        if (!have) {
                                sv->need += bsize;
                                sv->passes |= region;
                        }
                        ssub = openat(dirfd(d), de->d_name,
                                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (ssub < 0) {
                                r = errmsg(why, negative_errno(), "cannot open '%s': %m", path);
                                break;
                        }
                        if (have)
                                dsub = openat(dfd, de->d_name,
                                              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        r = walk(ssub, dsub, path, depth + 1, loader, excludes, bsize, sv, why);
                } else if (!have || dt.st_size != st.st_size ||
                           dt.st_mtim.tv_sec != st.st_mtim.tv_sec) {
                        /* a regular file needs its size; a symlink or device a block at most */
                        sv->need +=
                                S_ISREG(st.st_mode) ? round_up((uint64_t)st.st_size, bsize) : bsize;
                        sv->passes |= region;
                }
        }
        if (r >= 0 && errno != 0)
                r = errmsg(why, negative_errno(), "cannot read '%s': %m", *rel ? rel : ".");
        closedir(d);
        return r;
}

int copy_survey(int src_fd, int dst_fd, char *const *excludes, struct copy_survey *ret, char **why)
{
        struct copy_survey sv = { .passes = COPY_PASS_FILES };
        struct statfs sf;
        int r;

        if (fstatfs(dst_fd, &sf) < 0)
                return errmsg(why, negative_errno(),
                              "cannot read the destination's free space: %m");
        r = walk(src_fd, dst_fd, "", 0, false, excludes, (uint64_t)sf.f_bsize, &sv, why);
        if (r < 0)
                return r;
        /* rsync runs as root: ext4's reserved blocks are there for it too. */
        sv.avail = (uint64_t)sf.f_bfree * (uint64_t)sf.f_bsize;
        *ret = sv;
        return 0;
}

int copy_space_needed(int src_fd, int dst_fd, char *const *excludes, uint64_t *ret_need,
                      uint64_t *ret_free, char **why)
{
        struct copy_survey sv;
        int r = copy_survey(src_fd, dst_fd, excludes, &sv, why);

        if (r < 0)
                return r;
        *ret_need = sv.need;
        *ret_free = sv.avail;
        return 0;
}
