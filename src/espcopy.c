/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "bls.h"
#include "copyorder.h"
#include "espcopy.h"
#include "ignore.h"
#include "util/errmsg.h"
#include "util/exclude.h"
#include "util/macro.h"
#include "util/strv.h"

#define MAX_DEPTH 128
/* Files under /loader/ up to this size are compared by content (they are small). */
#define COMPARE_MAX (1024 * 1024)
/* What one copy_file_range() call asks for: a cut (a test's, a stop signal) waits no longer
 * than this takes. */
#define COPY_CHUNK (4u << 20)

bool espcopy_is_leftover_name(const char *n)
{
        size_t len = strlen(n);

        if (streq(n, ".~tmp~"))
                return true;
        if (n[0] != '.' || len < 2)
                return false;
        if (len > strlen(ESPCOPY_TMP_SUFFIX) + 1 &&
            streq(n + len - strlen(ESPCOPY_TMP_SUFFIX), ESPCOPY_TMP_SUFFIX))
                return true;
        /* rsync's mkstemp template ".NAME.XXXXXX" */
        if (len < 9 || n[len - 7] != '.')
                return false;
        for (size_t i = len - 6; i < len; i++)
                if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
                      (n[i] >= '0' && n[i] <= '9')))
                        return false;
        return true;
}

static char *join(const char *rel, const char *name)
{
        char *p;

        return asprintf(&p, "%s%s%s", rel, *rel ? "/" : "", name) < 0 ? NULL : p;
}

#define FILES_LABEL "pass 1 (files)"
#define ENTRIES_LABEL "pass 2 (entries)"
#define DELETIONS_LABEL "pass 3 (deletions)"

static void tell(const struct espcopy_args *a, const char *label, const char *what, const char *rel,
                 bool dir)
{
        if (a->out_fd >= 0)
                (void)!dprintf(a->out_fd, "%s: %s %s%s\n", label, what, rel, dir ? "/" : "");
}

static DIR *opendir_dup(int fd)
{
        int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        DIR *dir;

        if (d < 0)
                return NULL;
        dir = fdopendir(d);
        if (!dir) {
                close(d);
                return NULL;
        }
        rewinddir(dir);
        return dir;
}

/* The type (S_IFDIR, S_IFREG, ...) of de, an entry of d: as readdir says it, or from fstatat()
 * where the filesystem does not say (DT_UNKNOWN). A walk of a few hundred names so costs one
 * getdents a directory, not a stat a name (DESIGN.md §15). -errno: gone meanwhile, say. */
static int entry_type(DIR *d, const struct dirent *de, mode_t *ret)
{
        struct stat st;

        switch (de->d_type) {
        case DT_DIR:
                *ret = S_IFDIR;
                return 0;
        case DT_REG:
                *ret = S_IFREG;
                return 0;
        case DT_LNK:
                *ret = S_IFLNK;
                return 0;
        default:
                break;
        }
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        *ret = st.st_mode & S_IFMT;
        return 0;
}

/* Removes name below dir_fd, a directory with everything in it. */
static int remove_tree(int dir_fd, const char *name, unsigned depth)
{
        struct stat st;
        struct dirent *de;
        DIR *d;
        int fd, r = 0;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT ? negative_errno() : 0;
        if (depth > MAX_DEPTH)
                return -ELOOP;
        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                r = negative_errno();
                close(fd);
                return r;
        }
        while (r >= 0 && (errno = 0, de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        r = remove_tree(dirfd(d), de->d_name, depth + 1);
        if (r >= 0 && errno != 0)
                r = negative_errno();
        closedir(d);
        if (r < 0)
                return r;
        return unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? negative_errno() : 0;
}

/* Allocated bytes of name below dir_fd, a directory with everything in it. */
static uint64_t tree_bytes(int dir_fd, const char *name, unsigned depth)
{
        struct stat st;
        struct dirent *de;
        uint64_t n;
        DIR *d;
        int fd;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        n = (uint64_t)st.st_blocks * 512;
        if (!S_ISDIR(st.st_mode) || depth > MAX_DEPTH)
                return n;
        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return n;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return n;
        }
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n += tree_bytes(dirfd(d), de->d_name, depth + 1);
        closedir(d);
        return n;
}

static int flush(const struct espcopy_args *a, const char *what, char **why)
{
        if (!a->flush || a->test)
                return 0;
        if (syncfs(a->dst_fd) < 0)
                return errmsg(why, negative_errno(), "flushing the destination %s failed: %m",
                              what);
        return 0;
}

/* --- rule 10: our leftovers ------------------------------------------------------------- */

static int leftovers(int sfd, int dfd, const char *rel, unsigned depth, char *const *protect,
                     bool dry, uint64_t *bytes, unsigned *count, char **why)
{
        struct dirent *de;
        DIR *d = opendir_dup(dfd);
        int r = 0;

        if (!d)
                return errmsg(why, negative_errno(), "cannot read '%s': %m", *rel ? rel : ".");
        if (depth > MAX_DEPTH) {
                closedir(d);
                return errmsg(why, -ELOOP, "'%s' is nested more than %d levels deep", rel,
                              MAX_DEPTH);
        }
        while (r >= 0 && (errno = 0, de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                struct stat sst;
                mode_t type;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (depth == 0 && esp_ignored_root_name(de->d_name))
                        continue;
                path = join(rel, de->d_name);
                if (!path) {
                        r = -ENOMEM;
                        break;
                }
                if (entry_type(d, de, &type) < 0)
                        continue; /* gone meanwhile */
                if (espcopy_is_leftover_name(de->d_name) &&
                    !(sfd >= 0 && fstatat(sfd, de->d_name, &sst, AT_SYMLINK_NOFOLLOW) == 0) &&
                    !exclude_match(protect, path, S_ISDIR(type))) {
                        *bytes += tree_bytes(dirfd(d), de->d_name, depth);
                        (*count)++;
                        if (!dry) {
                                r = remove_tree(dirfd(d), de->d_name, depth);
                                if (r < 0)
                                        r = errmsg(why, r, "cannot remove '%s': %s", path,
                                                   strerror(-r));
                        }
                        continue;
                }
                if (S_ISDIR(type)) {
                        _cleanup_close_ int dsub = -1, ssub = -1;

                        dsub = openat(dirfd(d), de->d_name,
                                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (dsub < 0 && errno == ENOENT)
                                continue; /* gone meanwhile */
                        if (dsub < 0) {
                                r = errmsg(why, negative_errno(), "cannot open '%s': %m", path);
                                break;
                        }
                        if (sfd >= 0)
                                ssub = openat(sfd, de->d_name,
                                              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        r = leftovers(ssub, dsub, path, depth + 1, protect, dry, bytes, count, why);
                }
        }
        if (r >= 0 && errno != 0)
                r = errmsg(why, negative_errno(), "cannot read '%s': %m", *rel ? rel : ".");
        closedir(d);
        return r;
}

int espcopy_clear_leftovers(int src_fd, int dst_fd, char *const *protect, bool dry,
                            uint64_t *ret_bytes, unsigned *ret_count, char **why)
{
        *ret_bytes = 0;
        *ret_count = 0;
        return leftovers(src_fd, dst_fd, "", 0, protect, dry, ret_bytes, ret_count, why);
}

/* --- pass 2: the entries ------------------------------------------------------------------ */

struct change {
        char *rel; /* below the ESP's root, e.g. "loader/entries/x.conf" */
        bool replace;
        mode_t mode; /* S_IFREG or S_IFLNK, with permissions */
        uid_t uid;
        gid_t gid;
        struct timespec times[2];
};

struct changes {
        struct change *v;
        size_t n;
};

static void changes_done(struct changes *c)
{
        for (size_t i = 0; i < c->n; i++)
                free(c->v[i].rel);
        free(c->v);
        *c = (struct changes){};
}

static int changes_add(struct changes *c, const char *rel, bool replace, const struct stat *st)
{
        struct change *t = reallocarray(c->v, c->n + 1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        c->v = t;
        t[c->n] = (struct change){
                .rel = strdup(rel),
                .replace = replace,
                .mode = st->st_mode,
                .uid = st->st_uid,
                .gid = st->st_gid,
                .times = { st->st_atim, st->st_mtim },
        };
        if (!t[c->n].rel)
                return -ENOMEM;
        c->n++;
        return 0;
}

/* 1 when the regular files sfd/name and dfd/name hold the same bytes, 0 when not, -errno. */
static int same_content(int sfd, int dfd, const char *name, off_t size)
{
        _cleanup_close_ int a = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int b = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        char x[16384], y[16384];
        off_t done = 0;

        if (a < 0 || b < 0)
                return negative_errno();
        while (done < size) {
                ssize_t n = read(a, x, sizeof(x)), m;

                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        return 0; /* shrank meanwhile */
                m = read(b, y, (size_t)n);
                if (m < 0)
                        return negative_errno();
                if (m != n || memcmp(x, y, (size_t)n) != 0)
                        return 0;
                done += n;
        }
        return 1;
}

/* What a walk plans: pass 1's files (everything but /loader/) or pass 2's (/loader/). */
struct plan {
        bool files;  /* pass 1 */
        dev_t dev;   /* the source's filesystem: pass 1 does not cross into another (-x) */
        bool verify; /* pass 1: compare content, not size and time (--checksum) */
};

/* 1 when dt (the destination's) holds what st (the source's) does, 0 when not, -errno. Pass 1
 * trusts size and time as rsync's quick check does, unless told to compare content; pass 2
 * compares the small files of /loader/ by content. */
static int plan_same(const struct plan *pl, int sfd, int dfd, const char *name,
                     const struct stat *st, const struct stat *dt)
{
        bool quick = dt->st_size == st->st_size && dt->st_mtim.tv_sec == st->st_mtim.tv_sec;

        if (dt->st_size != st->st_size)
                return 0;
        if (pl->files)
                return pl->verify ? same_content(sfd, dfd, name, st->st_size) : quick;
        if (st->st_size <= COMPARE_MAX)
                return same_content(sfd, dfd, name, st->st_size);
        return quick;
}

/* Finds what the destination needs below rel (dfd -1: the directory is not there); makes the
 * directories it lacks (test: says so) and fixes the times and modes of files equal in
 * content. */
static int plan_dir(const struct espcopy_args *a, const struct plan *pl, int sfd, int dfd,
                    const char *rel, unsigned depth, struct changes *c, char **why)
{
        const char *label = pl->files ? FILES_LABEL : ENTRIES_LABEL;
        struct dirent *de;
        DIR *d = opendir_dup(sfd);
        int r = 0;

        if (!d)
                return errmsg(why, negative_errno(), "cannot read source '%s': %m", rel);
        if (depth > MAX_DEPTH) {
                closedir(d);
                return errmsg(why, -ELOOP, "'%s' is nested more than %d levels deep", rel,
                              MAX_DEPTH);
        }
        while (r >= 0 && (errno = 0, de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                struct stat st, dt;
                bool have;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (espcopy_is_leftover_name(de->d_name))
                        continue; /* a copy of our own running on the source: not ours here */
                if (pl->files && depth == 0 &&
                    (streq(de->d_name, COPY_ENTRIES_DIR) || esp_ignored_root_name(de->d_name)))
                        continue; /* pass 2's; what each side keeps for itself */
                path = join(rel, de->d_name);
                if (!path) {
                        r = -ENOMEM;
                        break;
                }
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue; /* gone meanwhile */
                        r = errmsg(why, negative_errno(), "cannot stat source '%s': %m", path);
                        break;
                }
                if (exclude_match(a->excludes, path, S_ISDIR(st.st_mode)))
                        continue;
                have = dfd >= 0 && fstatat(dfd, de->d_name, &dt, AT_SYMLINK_NOFOLLOW) == 0;
                if (have && (dt.st_mode & S_IFMT) != (st.st_mode & S_IFMT)) {
                        /* another type there: it goes first (rsync does the same) */
                        tell(a, label, "delete", path, S_ISDIR(dt.st_mode));
                        if (!a->test) {
                                r = remove_tree(dfd, de->d_name, depth);
                                if (r < 0) {
                                        r = errmsg(why, r, "cannot remove '%s': %s", path,
                                                   strerror(-r));
                                        break;
                                }
                        }
                        have = false;
                }
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int ssub = -1, dsub = -1;

                        if (!have) {
                                tell(a, label, "create", path, true);
                                if (!a->test && mkdirat(dfd, de->d_name, st.st_mode & 07777) < 0) {
                                        r = errmsg(why, negative_errno(), "cannot create '%s': %m",
                                                   path);
                                        break;
                                }
                        }
                        if (pl->files && st.st_dev != pl->dev)
                                continue; /* a mount point: made, not entered (rsync -x) */
                        ssub = openat(dirfd(d), de->d_name,
                                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (ssub < 0) {
                                r = errmsg(why, negative_errno(), "cannot open source '%s': %m",
                                           path);
                                break;
                        }
                        if (dfd >= 0 && (have || !a->test)) {
                                dsub = openat(dfd, de->d_name,
                                              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                                if (dsub < 0) {
                                        r = errmsg(why, negative_errno(), "cannot open '%s': %m",
                                                   path);
                                        break;
                                }
                        }
                        r = plan_dir(a, pl, ssub, dsub, path, depth + 1, c, why);
                } else if (S_ISREG(st.st_mode)) {
                        int same = 0;

                        if (have) {
                                same = plan_same(pl, dirfd(d), dfd, de->d_name, &st, &dt);
                                if (same < 0) {
                                        r = errmsg(why, same, "cannot compare '%s': %s", path,
                                                   strerror(-same));
                                        break;
                                }
                        }
                        if (same && dt.st_mtim.tv_sec != st.st_mtim.tv_sec && !a->test) {
                                struct timespec ts[2] = { st.st_atim, st.st_mtim };

                                (void)utimensat(dfd, de->d_name, ts, AT_SYMLINK_NOFOLLOW);
                        }
                        /* what FAT cannot keep is not an error (as in write_tmp()) */
                        if (same && (dt.st_mode & 07777) != (st.st_mode & 07777) && !a->test)
                                (void)!fchmodat(dfd, de->d_name, st.st_mode & 07777, 0);
                        if (!same)
                                r = changes_add(c, path, have, &st);
                } else if (S_ISLNK(st.st_mode)) {
                        char x[PATH_MAX], y[PATH_MAX];
                        ssize_t n = readlinkat(dirfd(d), de->d_name, x, sizeof(x)), m = -1;

                        if (have)
                                m = readlinkat(dfd, de->d_name, y, sizeof(y));
                        if (n < 0 || (have && (m != n || memcmp(x, y, (size_t)n) != 0)) || !have)
                                r = changes_add(c, path, have, &st);
                }
                /* devices, sockets, fifos: never on an ESP, never copied (--no-specials) */
        }
        if (r >= 0 && errno != 0)
                r = errmsg(why, negative_errno(), "cannot read source '%s': %m", rel);
        closedir(d);
        return r;
}

/* dir part and ".NAME" ESPCOPY_TMP_SUFFIX of rel. */
static char *tmp_path(const char *rel)
{
        const char *slash = strrchr(rel, '/');
        char *p;

        if (asprintf(&p, "%.*s%s.%s" ESPCOPY_TMP_SUFFIX, slash ? (int)(slash - rel) : 0, rel,
                     slash ? "/" : "", slash ? slash + 1 : rel) < 0)
                return NULL;
        return p;
}

/* The extended attributes of in (ACLs, security labels) onto out, as rsync -AX keeps them; a
 * filesystem that holds none (FAT) is not an error. */
static int copy_xattrs(int in, int out, const char *tmp, char **why)
{
        _cleanup_free_ char *names = NULL, *value = NULL;
        ssize_t len = flistxattr(in, NULL, 0);
        size_t vsize = 0;

        if (len < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
                return 0;
        if (len < 0)
                return errmsg(why, negative_errno(), "cannot list the attributes of '%s': %m", tmp);
        if (len == 0)
                return 0;
        names = malloc((size_t)len);
        if (!names)
                return -ENOMEM;
        len = flistxattr(in, names, (size_t)len);
        if (len < 0) /* (ERANGE: one added meanwhile) */
                return errmsg(why, negative_errno(), "cannot list the attributes of '%s': %m", tmp);
        for (const char *n = names; n < names + len; n += strlen(n) + 1) {
                ssize_t v = fgetxattr(in, n, NULL, 0);

                if (v < 0 && errno == ENODATA)
                        continue; /* removed meanwhile */
                if (v < 0)
                        return errmsg(why, negative_errno(), "cannot read attribute %s: %m", n);
                if ((size_t)v > vsize) {
                        char *t = realloc(value, (size_t)v);

                        if (!t)
                                return -ENOMEM;
                        value = t;
                        vsize = (size_t)v;
                }
                v = fgetxattr(in, n, value, vsize);
                if (v < 0)
                        return errmsg(why, negative_errno(), "cannot read attribute %s: %m", n);
                if (fsetxattr(out, n, value, (size_t)v, 0) < 0 && errno != ENOTSUP &&
                    errno != EOPNOTSUPP)
                        return errmsg(why, negative_errno(), "cannot set attribute %s on '%s': %m",
                                      n, tmp);
        }
        return 0;
}

/* The test seam DUAL_ROOT_TEST_COPY_DELAY_MS (docs/TESTING.md): the copy goes by 64 KiB
 * pieces with a pause after each, so that the VM suite's power cut falls inside a copy on real
 * FAT. Only ever slows the copy down; 0 when unset or not a number up to 10000. */
static unsigned copy_delay_ms(void)
{
        const char *e = secure_getenv("DUAL_ROOT_TEST_COPY_DELAY_MS");
        unsigned long v;
        char *end;

        if (!e || *e < '0' || *e > '9')
                return 0;
        errno = 0;
        v = strtoul(e, &end, 10);
        return errno == 0 && *end == 0 && v <= 10000 ? (unsigned)v : 0;
}

static int write_tmp(const struct espcopy_args *a, const struct change *ch, char **why)
{
        const unsigned delay_ms = copy_delay_ms();
        _cleanup_free_ char *tmp = tmp_path(ch->rel);
        _cleanup_close_ int in = -1, out = -1;
        char buf[65536];
        int r;

        if (!tmp)
                return -ENOMEM;
        /* (a leftover of ours under that name was removed before the room check) */
        if (S_ISLNK(ch->mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(a->src_fd, ch->rel, target, sizeof(target) - 1);

                if (n < 0)
                        return errmsg(why, negative_errno(), "cannot read source '%s': %m",
                                      ch->rel);
                target[n] = 0;
                if (symlinkat(target, a->dst_fd, tmp) < 0)
                        return errmsg(why, negative_errno(), "cannot create '%s': %m", tmp);
                return 0;
        }
        /* the source's access time left as it was (rsync --open-noatime), where we may */
        in = openat(a->src_fd, ch->rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
        if (in < 0 && errno == EPERM)
                in = openat(a->src_fd, ch->rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
                return errmsg(why, negative_errno(), "cannot open source '%s': %m", ch->rel);
        out = openat(a->dst_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     ch->mode & 07777);
        if (out < 0)
                return errmsg(why, negative_errno(), "cannot create '%s': %m", tmp);
        /* The kernel copies (copy_file_range: no pipe, no buffer of ours, a reflink where the
         * filesystem has them); read and write where it cannot between these two. */
        for (bool in_kernel = delay_ms == 0;;) {
                ssize_t n = -1;

                if (in_kernel) {
                        n = copy_file_range(in, NULL, out, NULL, COPY_CHUNK, 0);
                        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                                      errno == EOPNOTSUPP || errno == EBADF)) {
                                in_kernel = false;
                                continue;
                        }
                        if (n < 0)
                                return errmsg(why, negative_errno(), "cannot copy '%s' to '%s': %m",
                                              ch->rel, tmp);
                        if (n == 0)
                                break;
                        continue;
                }
                n = read(in, buf, sizeof(buf));
                if (n < 0)
                        return errmsg(why, negative_errno(), "cannot read source '%s': %m",
                                      ch->rel);
                if (n == 0)
                        break;
                for (ssize_t done = 0; done < n;) {
                        ssize_t w = write(out, buf + done, (size_t)(n - done));

                        if (w < 0)
                                return errmsg(why, negative_errno(), "cannot write '%s': %m", tmp);
                        done += w;
                }
                if (delay_ms)
                        (void)usleep(delay_ms * 1000u);
        }
        /* FAT keeps no owner and few modes: what it cannot keep is not an error (rsync
         * -a on vfat warns the same way, and nothing boots differently). */
        if (fchown(out, ch->uid, ch->gid) < 0 && errno != EPERM && errno != EINVAL &&
            errno != EOPNOTSUPP)
                return errmsg(why, negative_errno(), "cannot set the owner of '%s': %m", tmp);
        if (fchmod(out, ch->mode & 07777) < 0 && errno != EPERM && errno != EOPNOTSUPP)
                return errmsg(why, negative_errno(), "cannot set the mode of '%s': %m", tmp);
        r = copy_xattrs(in, out, tmp, why);
        if (r < 0)
                return r;
        if (futimens(out, ch->times) < 0)
                return errmsg(why, negative_errno(), "cannot set the times of '%s': %m", tmp);
        if (close(TAKE_FD(out)) < 0)
                return errmsg(why, negative_errno(), "cannot write '%s': %m", tmp);
        return 0;
}

static bool is_loader_conf(const char *rel)
{
        return strcasecmp(rel, BLS_LOADER_CONF) == 0;
}

static bool is_entry(const char *rel)
{
        size_t n = strlen(BLS_ENTRIES_DIR);

        return strncasecmp(rel, BLS_ENTRIES_DIR "/", n + 1) == 0 && !strchr(rel + n + 1, '/') &&
               strlen(rel) > 5 && strcasecmp(rel + strlen(rel) - 5, ".conf") == 0;
}

/* DESIGN.md §5 rule 12: the entry rel may be placed when every file it names is on the
 * destination as the source holds it now. 0, ESPCOPY_SOURCE_CHANGED with *why, -errno. */
static int entry_delivered(const struct espcopy_args *a, const char *rel, char **why)
{
        _cleanup_(bls_entry_done) struct bls_entry e = {};
        _cleanup_strv_free_ char **files = NULL;
        _cleanup_close_ int fd = openat(a->src_fd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_free_ char *text = malloc(BLS_FILE_MAX + 1), *perr = NULL;
        size_t len = 0;
        int r;

        if (!text)
                return -ENOMEM;
        if (fd < 0)
                return errmsg(why, negative_errno(), "cannot open source '%s': %m", rel);
        for (;;) {
                ssize_t n = read(fd, text + len, BLS_FILE_MAX + 1 - len);

                if (n < 0)
                        return errmsg(why, negative_errno(), "cannot read source '%s': %m", rel);
                if (n == 0 || (len += (size_t)n) > BLS_FILE_MAX)
                        break;
        }
        if (len > BLS_FILE_MAX)
                return 0; /* not an entry systemd-boot reads: copied as it is */
        r = bls_entry_parse(strrchr(rel, '/') + 1, text, len, &e, &perr);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0; /* names nothing it can boot: copied as it is, status tells */
        r = bls_entry_files(&e, &files);
        if (r < 0)
                return r;
        STRV_FOREACH(f, files)
        {
                struct stat s, d;

                if (bls_path_stat(a->src_fd, *f, &s) < 0 || !S_ISREG(s.st_mode))
                        continue; /* broken on the source too: copied as it is */
                r = bls_path_stat(a->dst_fd, *f, &d);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 || !S_ISREG(d.st_mode) || d.st_size != s.st_size ||
                    d.st_mtim.tv_sec != s.st_mtim.tv_sec)
                        return errmsg(why, ESPCOPY_SOURCE_CHANGED,
                                      "the source's entry '%s' names '%s', which the destination "
                                      "does not hold as the source does now (written on the "
                                      "source while the files were copied)",
                                      rel, *f);
        }
        return 0;
}

/* What /loader/ on dfd holds that sfd (or -1: nothing) does not: removed (test: told). */
static int prune(const struct espcopy_args *a, int sfd, int dfd, const char *rel, unsigned depth,
                 bool top, char **why)
{
        struct dirent *de;
        DIR *d = opendir_dup(dfd);
        int r = 0;

        if (!d)
                return errmsg(why, negative_errno(), "cannot read '%s': %m", *rel ? rel : ".");
        if (depth > MAX_DEPTH) {
                closedir(d);
                return errmsg(why, -ELOOP, "'%s' is nested more than %d levels deep", rel,
                              MAX_DEPTH);
        }
        while (r >= 0 && (errno = 0, de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                struct stat sst;
                mode_t type;
                bool src_has;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (depth == 0 && esp_ignored_root_name(de->d_name))
                        continue;
                if (top && depth == 0 && !streq(de->d_name, COPY_ENTRIES_DIR))
                        continue;
                if (!top && depth == 0 && streq(de->d_name, COPY_ENTRIES_DIR))
                        continue; /* pass 2's */
                path = join(rel, de->d_name);
                if (!path) {
                        r = -ENOMEM;
                        break;
                }
                if (entry_type(d, de, &type) < 0)
                        continue; /* gone meanwhile */
                if (exclude_match(a->excludes, path, S_ISDIR(type)))
                        continue;
                /* Absent from the source only when it says so: a file it cannot look at is
                 * never deleted (a real file named like a leftover is the source's too). */
                src_has = false;
                if (sfd >= 0) {
                        if (fstatat(sfd, de->d_name, &sst, AT_SYMLINK_NOFOLLOW) == 0)
                                src_has = true;
                        else if (errno != ENOENT) {
                                r = errmsg(why, negative_errno(),
                                           "cannot look at the source's '%s': %m; not deleting "
                                           "it on the destination",
                                           path);
                                break;
                        }
                }
                if (!src_has && !top && exclude_match(a->protect, path, S_ISDIR(type)))
                        continue; /* DESIGN.md §5b: an entry there still names it */
                if (!src_has && !S_ISDIR(type)) {
                        tell(a, top ? ENTRIES_LABEL : DELETIONS_LABEL, "delete", path, false);
                        if (!a->test && unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
                                r = errmsg(why, negative_errno(), "cannot remove '%s': %m", path);
                        continue;
                }
                if (S_ISDIR(type) && (!src_has || S_ISDIR(sst.st_mode))) {
                        _cleanup_close_ int ssub = -1, dsub = -1;

                        dsub = openat(dirfd(d), de->d_name,
                                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (dsub < 0 && errno == ENOENT)
                                continue; /* gone meanwhile */
                        if (src_has)
                                ssub = openat(sfd, de->d_name,
                                              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (dsub < 0 || (src_has && ssub < 0)) {
                                r = errmsg(why, negative_errno(), "cannot open '%s': %m", path);
                                break;
                        }
                        /* what the source lacks goes with what is in it, but for what an
                         * exclusion keeps (the directory then stays, as with rsync) */
                        r = prune(a, ssub, dsub, path, depth + 1, top, why);
                        if (r >= 0 && !src_has) {
                                tell(a, top ? ENTRIES_LABEL : DELETIONS_LABEL, "delete", path,
                                     true);
                                if (!a->test && unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 &&
                                    errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
                                        r = errmsg(why, negative_errno(), "cannot remove '%s': %m",
                                                   path);
                        }
                }
        }
        if (r >= 0 && errno != 0)
                r = errmsg(why, negative_errno(), "cannot read '%s': %m", *rel ? rel : ".");
        closedir(d);
        return r;
}

static int place(const struct espcopy_args *a, const struct change *ch, char **why)
{
        _cleanup_free_ char *tmp = tmp_path(ch->rel);

        if (!tmp)
                return -ENOMEM;
        tell(a, ENTRIES_LABEL, ch->replace ? "replace" : "create", ch->rel, false);
        if (a->test)
                return 0;
        /* renameat2, which nothing else of ours (nor rsync) uses: a test cuts at the Nth of
         * them. Called as such: glibc's renameat2() makes a renameat for flags 0. */
        if (syscall(SYS_renameat2, a->dst_fd, tmp, a->dst_fd, ch->rel, 0) < 0)
                return errmsg(why, negative_errno(), "cannot rename '%s' to '%s': %m", tmp,
                              ch->rel);
        return 0;
}

/* --- pass 1: the files -------------------------------------------------------------------- */

static int change_cmp(const void *x, const void *y)
{
        return strcmp(((const struct change *)x)->rel, ((const struct change *)y)->rel);
}

int espcopy_files(const struct espcopy_args *a, char **why)
{
        _cleanup_(changes_done) struct changes c = {};
        struct plan pl = { .files = true, .verify = a->verify };
        bool replaces = false;
        struct stat st;
        int r;

        if (fstat(a->src_fd, &st) < 0)
                return errmsg(why, negative_errno(), "cannot stat the source: %m");
        pl.dev = st.st_dev;
        /* The new directories are made as the walk meets them (nothing reads an empty
         * directory); every new or changed file is listed. */
        r = plan_dir(a, &pl, a->src_fd, a->dst_fd, "", 0, &c, why);
        if (r < 0)
                return r;
        if (c.n > 1)
                qsort(c.v, c.n, sizeof(*c.v), change_cmp);
        /* Each whole under a temporary name no loader reads (rsync's --delay-updates). */
        for (size_t i = 0; i < c.n && !a->test; i++) {
                r = write_tmp(a, &c.v[i], why);
                if (r < 0)
                        return r;
                replaces = replaces || c.v[i].replace;
        }
        /* A file renamed over one an entry may name (a kernel replaced under its name) is on
         * the disk before the name moves to it: FAT may write the rename first (rule 9). */
        if (replaces) {
                r = flush(a, "before the files are renamed into place", why);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < c.n; i++) {
                _cleanup_free_ char *tmp = tmp_path(c.v[i].rel);

                if (!tmp)
                        return -ENOMEM;
                tell(a, FILES_LABEL, c.v[i].replace ? "replace" : "create", c.v[i].rel, false);
                /* as place() does: a test cuts at the Nth renameat2 */
                if (!a->test &&
                    syscall(SYS_renameat2, a->dst_fd, tmp, a->dst_fd, c.v[i].rel, 0) < 0)
                        return errmsg(why, negative_errno(), "cannot rename '%s' to '%s': %m", tmp,
                                      c.v[i].rel);
        }
        return 0;
}

/* --- pass 2: the entries ------------------------------------------------------------------ */

int espcopy_entries(const struct espcopy_args *a, char **why)
{
        _cleanup_(changes_done) struct changes c = {};
        _cleanup_close_ int sl = -1, dl = -1;
        const struct change *conf = NULL;
        struct stat st;
        int r;

        sl = openat(a->src_fd, COPY_ENTRIES_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sl < 0 && errno != ENOENT)
                return errmsg(why, negative_errno(),
                              "cannot open source '" COPY_ENTRIES_DIR "': %m");
        if (sl >= 0 && !exclude_match(a->excludes, COPY_ENTRIES_DIR, true)) {
                if (fstatat(a->dst_fd, COPY_ENTRIES_DIR, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                    !S_ISDIR(st.st_mode)) {
                        tell(a, ENTRIES_LABEL, "delete", COPY_ENTRIES_DIR, false);
                        if (!a->test && unlinkat(a->dst_fd, COPY_ENTRIES_DIR, 0) < 0)
                                return errmsg(why, negative_errno(),
                                              "cannot remove '" COPY_ENTRIES_DIR "': %m");
                }
                dl = openat(a->dst_fd, COPY_ENTRIES_DIR,
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (dl < 0 && errno == ENOENT) {
                        if (fstat(sl, &st) < 0)
                                return errmsg(why, negative_errno(), "cannot stat source: %m");
                        tell(a, ENTRIES_LABEL, "create", COPY_ENTRIES_DIR, true);
                        if (!a->test) {
                                if (mkdirat(a->dst_fd, COPY_ENTRIES_DIR, st.st_mode & 07777) < 0)
                                        return errmsg(why, negative_errno(),
                                                      "cannot create '" COPY_ENTRIES_DIR "': %m");
                                dl = openat(a->dst_fd, COPY_ENTRIES_DIR,
                                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        }
                }
                if (dl < 0 && !(a->test && errno == ENOENT))
                        return errmsg(why, negative_errno(),
                                      "cannot open '" COPY_ENTRIES_DIR "': %m");
                r = plan_dir(a, &(struct plan){}, sl, dl, COPY_ENTRIES_DIR, 1, &c, why);
                if (r < 0)
                        return r;
        }

        /* Rule 12: every entry to place names files already delivered, or nothing moves. */
        for (size_t i = 0; i < c.n && !a->test; i++)
                if (is_entry(c.v[i].rel)) {
                        r = entry_delivered(a, c.v[i].rel, why);
                        if (r != 0)
                                return r;
                }

        /* The new files under temporary names; then one flush puts them and pass 1's files
         * on the disk before any entry is renamed in. */
        for (size_t i = 0; i < c.n && !a->test; i++) {
                r = write_tmp(a, &c.v[i], why);
                if (r < 0)
                        return r;
        }
        r = flush(a, "before the entries are renamed into place", why);
        if (r < 0)
                return r;
        /* Rule 13: the entries, then loader.conf, whose default so always names an entry
         * that is there. */
        for (size_t i = 0; i < c.n; i++) {
                if (is_loader_conf(c.v[i].rel)) {
                        conf = &c.v[i];
                        continue;
                }
                r = place(a, &c.v[i], why);
                if (r < 0)
                        return r;
        }
        if (conf) {
                if (c.n > 1) {
                        r = flush(a, "before loader.conf is renamed into place", why);
                        if (r < 0)
                                return r;
                }
                r = place(a, conf, why);
                if (r < 0)
                        return r;
        }
        /* The old entries, once the new ones are on the disk: FAT writes directory sectors
         * in any order, so a rename not flushed could reach it after the unlink (rule 9). */
        if (c.n > 0) {
                r = flush(a, "before the old entries are removed", why);
                if (r < 0)
                        return r;
        }
        r = prune(a, sl >= 0 ? a->src_fd : -1, a->dst_fd, "", 0, true, why);
        if (r < 0)
                return r;
        return flush(a, "after the entries were placed", why);
}

/* --- pass 3: deletions -------------------------------------------------------------------- */

int espcopy_deletions(const struct espcopy_args *a, char **why)
{
        /* No flush before (what it deletes no entry there names: pass 2's flush, or an
         * earlier sync's, put the old entries' removal on the disk) nor after (the sync's
         * own, rule 6, comes next). */
        return prune(a, a->src_fd, a->dst_fd, "", 0, false, why);
}
