/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <libgen.h>
#include <strings.h>
#include <sys/stat.h>

#include "fstab.h"
#include "util/errmsg.h"
#include "util/fileio.h"

#define FSTAB_MAX (1024 * 1024)

const char *fstab_path(void)
{
        const char *e = secure_getenv("DUAL_ROOT_FSTAB");

        return !isempty(e) ? e : FSTAB_DEFAULT;
}

char *fstab_esp_line(const char *partuuid, const char *target)
{
        char *s;

        if (asprintf(&s, "PARTUUID=%s %s vfat " FSTAB_ESP_OPTIONS " 0 2", partuuid, target) < 0)
                return NULL;
        return s;
}

/* Where the first two fields of an active line (start .. end) are, or false for a comment or a
 * blank line. */
static bool line_span(const char *l, const char *end, const char **s0, const char **s1,
                      const char **t0, const char **t1)
{
        const char *p = l;

        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        if (p >= end || *p == '#')
                return false;
        *s0 = p;
        while (p < end && *p != ' ' && *p != '\t')
                p++;
        *s1 = p;
        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        *t0 = p;
        while (p < end && *p != ' ' && *p != '\t')
                p++;
        *t1 = p;
        return true;
}

/* The first two fields of an active line (start .. end), or false for a comment/blank. */
static bool line_fields(const char *l, const char *end, char **ret_src, char **ret_target)
{
        const char *s0, *s1, *t0, *t1;

        if (!line_span(l, end, &s0, &s1, &t0, &t1))
                return false;
        *ret_src = strndup(s0, (size_t)(s1 - s0));
        *ret_target = strndup(t0, (size_t)(t1 - t0));
        return true;
}

static bool same_target(const char *a, const char *b)
{
        size_t na = strlen(a), nb = strlen(b);

        while (na > 1 && a[na - 1] == '/')
                na--;
        while (nb > 1 && b[nb - 1] == '/')
                nb--;
        return na == nb && strncmp(a, b, na) == 0;
}

int fstab_text_foreach(const char *text, fstab_line_func f, void *u)
{
        const char *l = text;

        while (l && *l) {
                const char *end = strchrnul(l, '\n');
                char *src = NULL, *target = NULL, *line = NULL;
                int r = 0;

                if (line_fields(l, end, &src, &target)) {
                        line = strndup(l, (size_t)(end - l));
                        if (!src || !target || !line)
                                r = -ENOMEM;
                        else
                                r = f(src, target, line, u);
                }
                free(src);
                free(target);
                free(line);
                if (r != 0)
                        return r;
                l = *end ? end + 1 : end;
        }
        return 0;
}

struct find_tagged {
        const char *tag; /* "PARTUUID=", "UUID=" */
        const char *value;
        char *target;
};

static int match_tagged(const char *src, const char *target, const char *line, void *u)
{
        struct find_tagged *f = u;
        size_t n = strlen(f->tag);

        (void)line;
        if (strncasecmp(src, f->tag, n) != 0 || strcasecmp(src + n, f->value) != 0)
                return 0;
        f->target = strdup(target);
        return f->target ? 1 : -ENOMEM;
}

int fstab_text_find_tagged(const char *text, const char *tag, const char *value, char **ret_target)
{
        struct find_tagged f = { .tag = tag, .value = value };
        int r = fstab_text_foreach(text, match_tagged, &f);

        if (r > 0 && ret_target)
                *ret_target = TAKE_PTR(f.target);
        free(f.target);
        return r;
}

int fstab_text_find_partuuid(const char *text, const char *partuuid, char **ret_target)
{
        return fstab_text_find_tagged(text, "PARTUUID=", partuuid, ret_target);
}

static int match_target(const char *src, const char *target, const char *line, void *u)
{
        (void)src;
        (void)line;
        return same_target(target, u) ? 1 : 0;
}

bool fstab_text_has_target(const char *text, const char *target)
{
        return fstab_text_foreach(text, match_target, (void *)target) > 0;
}

char *fstab_text_append(const char *text, const char *line)
{
        size_t n = strlen(text);
        char *s;

        if (asprintf(&s, "%s%s%s\n", text, n > 0 && text[n - 1] != '\n' ? "\n" : "", line) < 0)
                return NULL;
        return s;
}

bool fstab_same_target(const char *a, const char *b)
{
        return same_target(a, b);
}

int fstab_text_replace_source(const char *text, const char *target, const char *old_source,
                              const char *new_source, char **ret_text, char **ret_old,
                              char **ret_new)
{
        const char *l = text;

        while (l && *l) {
                const char *end = strchrnul(l, '\n'), *s0, *s1, *t0, *t1;

                if (line_span(l, end, &s0, &s1, &t0, &t1) &&
                    (size_t)(s1 - s0) == strlen(old_source) &&
                    strncmp(s0, old_source, (size_t)(s1 - s0)) == 0) {
                        _cleanup_free_ char *t = strndup(t0, (size_t)(t1 - t0));
                        _cleanup_free_ char *out = NULL, *o = NULL, *n = NULL;

                        if (!t)
                                return -ENOMEM;
                        if (same_target(t, target)) {
                                /* Everything but the source kept byte for byte. */
                                if (asprintf(&out, "%.*s%s%s", (int)(s0 - text), text, new_source,
                                             s1) < 0 ||
                                    asprintf(&o, "%.*s", (int)(end - l), l) < 0 ||
                                    asprintf(&n, "%.*s%s%.*s", (int)(s0 - l), l, new_source,
                                             (int)(end - s1), s1) < 0)
                                        return -ENOMEM;
                                if (ret_text)
                                        *ret_text = TAKE_PTR(out);
                                if (ret_old)
                                        *ret_old = TAKE_PTR(o);
                                if (ret_new)
                                        *ret_new = TAKE_PTR(n);
                                return 0;
                        }
                }
                l = *end ? end + 1 : end;
        }
        return -ENOENT;
}

static int read_fstab(const char *path, char **ret)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);

        if (fd < 0)
                return negative_errno();
        return read_full_fd(fd, FSTAB_MAX, ret, NULL);
}

/* Whether fstab already has the line for partuuid: 0 when it mounts it on target (nothing to
 * do), -EEXIST with *why when elsewhere, 1 when there is none. */
static int partuuid_line_check(const char *path, const char *text, const char *partuuid,
                               const char *target, char **why)
{
        _cleanup_free_ char *where = NULL;
        int r = fstab_text_find_partuuid(text, partuuid, &where);

        if (r < 0)
                return r;
        if (r == 0)
                return 1;
        if (same_target(where, target))
                return 0;
        return errmsg(why, -EEXIST, "%s already mounts PARTUUID=%s on %s, not %s", path, partuuid,
                      where, target);
}

int fstab_add_line(const char *path, const char *partuuid, const char *target, const char *line,
                   bool test, char **why)
{
        _cleanup_free_ char *text = NULL, *new_text = NULL;
        int r;

        r = read_fstab(path, &text);
        if (r == -ENOENT) {
                text = strdup("");
                if (!text)
                        return -ENOMEM;
        } else if (r < 0) {
                return errmsg(why, r, "cannot read %s: %s", path, strerror(-r));
        }
        r = partuuid_line_check(path, text, partuuid, target, why);
        if (r <= 0)
                return r;
        if (fstab_text_has_target(text, target))
                return errmsg(why, -EEXIST, "%s already mounts something else on %s", path, target);
        if (test)
                return 1;
        new_text = fstab_text_append(text, line);
        if (!new_text)
                return -ENOMEM;
        r = fstab_write_atomic(path, new_text, why);
        return r < 0 ? r : 1;
}

int fstab_replace_source(const char *path, const char *target, const char *old_source,
                         const char *partuuid, bool test, char **ret_old, char **ret_new,
                         char **why)
{
        _cleanup_free_ char *text = NULL, *new_text = NULL, *src = NULL;
        _cleanup_free_ char *o = NULL, *n = NULL;
        int r;

        r = read_fstab(path, &text);
        if (r < 0)
                return errmsg(why, r, "cannot read %s: %s", path, strerror(-r));
        r = partuuid_line_check(path, text, partuuid, target, why);
        if (r <= 0)
                return r;
        if (asprintf(&src, "PARTUUID=%s", partuuid) < 0)
                return -ENOMEM;
        r = fstab_text_replace_source(text, target, old_source, src, &new_text, &o, &n);
        if (r == -ENOENT)
                return errmsg(why, r, "%s no longer mounts %s on %s", path, old_source, target);
        if (r < 0)
                return r;
        if (!test) {
                r = fstab_write_atomic(path, new_text, why);
                if (r < 0)
                        return r;
        }
        if (ret_old)
                *ret_old = TAKE_PTR(o);
        if (ret_new)
                *ret_new = TAKE_PTR(n);
        return 1;
}

/* Writes data to dirfd/tmp (mode, owner as given), flushes it, renames it to dirfd/name. */
static int write_rename(int dirfd, const char *tmp, const char *name, const char *data,
                        const struct stat *st, const char *path, char **why)
{
        _cleanup_close_ int fd = -1;
        size_t n = strlen(data), done = 0;

        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && errno == EEXIST) {
                /* Left behind by an interrupted edit of ours: never renamed, so not fstab. */
                if (unlinkat(dirfd, tmp, 0) < 0)
                        return errmsg(why, negative_errno(), "cannot remove the stale %s%s: %m",
                                      path, FSTAB_TMP_SUFFIX);
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        }
        if (fd < 0)
                return errmsg(why, negative_errno(), "cannot create %s%s: %m", path,
                              FSTAB_TMP_SUFFIX);
        while (done < n) {
                ssize_t k = write(fd, data + done, n - done);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        int r = k < 0 ? negative_errno() : -EIO;

                        (void)unlinkat(dirfd, tmp, 0);
                        return errmsg(why, r, "cannot write %s%s: %s", path, FSTAB_TMP_SUFFIX,
                                      strerror(-r));
                }
                done += (size_t)k;
        }
        if (fchmod(fd, st->st_mode & 07777) < 0 || fchown(fd, st->st_uid, st->st_gid) < 0 ||
            fsync(fd) < 0) {
                int r = negative_errno();

                (void)unlinkat(dirfd, tmp, 0);
                return errmsg(why, r, "cannot flush %s%s: %s", path, FSTAB_TMP_SUFFIX,
                              strerror(-r));
        }
        if (renameat(dirfd, tmp, dirfd, name) < 0) {
                int r = negative_errno();

                (void)unlinkat(dirfd, tmp, 0);
                return errmsg(why, r, "cannot rename %s%s to %s: %s", path, FSTAB_TMP_SUFFIX, name,
                              strerror(-r));
        }
        return 0;
}

int fstab_write_atomic(const char *path, const char *text, char **why)
{
        _cleanup_free_ char *dcopy = strdup(path), *bcopy = strdup(path), *old = NULL;
        _cleanup_free_ char *tmp = NULL, *bak = NULL;
        _cleanup_close_ int dirfd = -1, fd = -1;
        /* A new fstab: 0644, owned by whoever creates it (root, when it matters). */
        struct stat st = { .st_mode = 0644, .st_uid = geteuid(), .st_gid = getegid() };
        const char *dir, *base;
        int r;

        if (!dcopy || !bcopy)
                return -ENOMEM;
        dir = dirname(dcopy);
        base = basename(bcopy);
        if (asprintf(&tmp, "%s" FSTAB_TMP_SUFFIX, base) < 0 ||
            asprintf(&bak, "%s" FSTAB_BACKUP_SUFFIX, base) < 0)
                return -ENOMEM;
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return errmsg(why, negative_errno(), "cannot open the directory %s: %m", dir);

        fd = openat(dirfd, base, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0 && errno == ELOOP)
                return errmsg(why, -ELOOP, "%s is a symbolic link: edit its target instead", path);
        if (fd < 0 && errno != ENOENT)
                return errmsg(why, negative_errno(), "cannot open %s: %m", path);
        if (fd >= 0) {
                if (fstat(fd, &st) < 0)
                        return errmsg(why, negative_errno(), "cannot stat %s: %m", path);
                if (!S_ISREG(st.st_mode))
                        return errmsg(why, -EINVAL, "%s is not a regular file", path);
                r = read_full_fd(fd, FSTAB_MAX, &old, NULL);
                if (r < 0)
                        return errmsg(why, r, "cannot read %s: %s", path, strerror(-r));
                /* The backup first: once fstab changes, the old text is already safe. */
                r = write_rename(dirfd, tmp, bak, old, &st, path, why);
                if (r < 0)
                        return errmsg_prefix(why, r, "cannot keep a backup of %s", path);
        }
        r = write_rename(dirfd, tmp, base, text, &st, path, why);
        if (r < 0)
                return r;
        /* The renames are durable only once the directory is. */
        if (fsync(dirfd) < 0)
                return errmsg(why, negative_errno(), "cannot flush the directory %s: %m", dir);
        return 0;
}
