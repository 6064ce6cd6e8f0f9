/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include "guard.h"
#include "util/errmsg.h"
#include "util/exclude.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/strv.h"

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)
#define MAX_DEPTH 128
/* The fingerprint's definition. A record of another format (written by another version)
 * cannot be compared and is treated as absent, like that of a disk never synced: after an
 * upgrade the first sync records anew instead of being refused. */
#define STATE_FORMAT 2

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
        const unsigned char *p = data;

        for (size_t i = 0; i < n; i++) {
                h ^= p[i];
                h *= FNV_PRIME;
        }
        return h;
}

/* A number into the hash, as 8 little-endian bytes: the same fingerprint on any host. */
static uint64_t fnv_u64(uint64_t h, uint64_t v)
{
        for (unsigned i = 0; i < 8; i++) {
                h ^= (v >> (8 * i)) & 0xff;
                h *= FNV_PRIME;
        }
        return h;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(int dfd, const char *rel, unsigned depth, char *const *excludes, uint64_t *h,
                char **why)
{
        _cleanup_strv_free_ char **names = calloc(1, sizeof(char *));
        DIR *d;
        struct dirent *de;
        int fd, r = 0;

        if (!names)
                return -ENOMEM;
        if (depth > MAX_DEPTH)
                return errmsg(why, -ELOOP, "'%s' is nested more than %d levels deep", rel,
                              MAX_DEPTH);
        /* A duplicate shares the offset; rewinddir() below starts from the top. */
        fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return errmsg(why, negative_errno(), "cannot read '%s': %m", *rel ? rel : ".");
        d = fdopendir(fd);
        if (!d) {
                r = negative_errno();
                close(fd);
                return errmsg(why, r, "cannot read '%s': %s", *rel ? rel : ".", strerror(-r));
        }
        rewinddir(d);
        errno = 0;
        while ((de = readdir(d))) {
                const char *n = de->d_name;

                if (streq(n, ".") || streq(n, ".."))
                        continue;
                if (depth == 0 && (streq(n, "lost+found") || streq(n, GUARD_STATE_FILE) ||
                                   streq(n, GUARD_STATE_TMP)))
                        continue;
                r = strv_extend(&names, n);
                if (r < 0)
                        break;
                errno = 0;
        }
        if (r == 0 && errno != 0)
                r = errmsg(why, negative_errno(), "cannot read '%s': %m", *rel ? rel : ".");
        if (r < 0) {
                closedir(d);
                return r;
        }
        qsort(names, strv_length(names), sizeof(char *), cmp_str);

        STRV_FOREACH(n, names)
        {
                _cleanup_free_ char *path = NULL;
                struct stat st;

                if (asprintf(&path, "%s%s%s", rel, *rel ? "/" : "", *n) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (fstatat(dirfd(d), *n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = errmsg(why, negative_errno(), "cannot stat '%s': %m", path);
                        break;
                }
                if (exclude_match(excludes, path, S_ISDIR(st.st_mode)))
                        continue;

                *h = fnv(*h, path, strlen(path) + 1);
                *h = fnv_u64(*h, (uint64_t)(st.st_mode & S_IFMT));
                *h = fnv_u64(*h, S_ISDIR(st.st_mode) ? 0 : (uint64_t)st.st_size);
                *h = fnv_u64(*h, S_ISDIR(st.st_mode) ? 0 : (uint64_t)st.st_mtim.tv_sec);

                if (S_ISDIR(st.st_mode)) {
                        int sub = openat(dirfd(d), *n,
                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                        if (sub < 0) {
                                r = errmsg(why, negative_errno(), "cannot open '%s': %m", path);
                                break;
                        }
                        r = walk(sub, path, depth + 1, excludes, h, why);
                        close(sub);
                        if (r < 0)
                                break;
                }
        }
        closedir(d);
        return r;
}

int guard_fingerprint(int dir_fd, char *const *excludes, uint64_t *ret, char **why)
{
        uint64_t h = FNV_OFFSET;
        int r;

        r = walk(dir_fd, "", 0, excludes, &h, why);
        if (r < 0)
                return r;
        *ret = h;
        return 0;
}

struct state {
        uint64_t fingerprint;
        char *synced; /* when, UTC */
        char *source; /* PARTUUID of the ESP it was synced with */
};

static void state_done(struct state *s)
{
        free(s->synced);
        free(s->source);
}

/* -ENOENT when there is no state file (never synced by us). */
static int state_read(int dir_fd, struct state *ret, char **why)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -1;
        struct state s = {};
        bool have_fp = false, have_format = false;
        unsigned long format = 0;
        char *line, *save = NULL;
        int r;

        fd = openat(dir_fd, GUARD_STATE_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return -ENOENT;
                return errmsg(why, negative_errno(), "cannot open " GUARD_STATE_FILE ": %m");
        }
        r = read_full_fd(fd, 4096, &buf, NULL);
        if (r < 0)
                return errmsg(why, r, "cannot read " GUARD_STATE_FILE ": %s", strerror(-r));
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                const char *v;
                char *end;

                if ((v = startswith(line, "format="))) {
                        format = strtoul(v, NULL, 10);
                        have_format = true;
                } else if ((v = startswith(line, "fingerprint="))) {
                        errno = 0;
                        s.fingerprint = strtoull(v, &end, 16);
                        if (errno != 0 || end == v || *end)
                                break;
                        have_fp = true;
                } else if ((v = startswith(line, "synced="))) {
                        free(s.synced);
                        s.synced = strdup(v);
                } else if ((v = startswith(line, "source="))) {
                        free(s.source);
                        s.source = strdup(v);
                }
        }
        if (!have_format) {
                /* Empty or torn (a crash while it was written): not a record we can
                 * trust, so not one we may ignore either. */
                state_done(&s);
                return errmsg(why, -EBADMSG, GUARD_STATE_FILE " has no format= line");
        }
        if (format != STATE_FORMAT) {
                state_done(&s);
                return -ENOENT;
        }
        if (!have_fp) {
                state_done(&s);
                return errmsg(why, -EBADMSG, GUARD_STATE_FILE " has no valid fingerprint= line");
        }
        *ret = s;
        return 0;
}

static int state_write(int dir_fd, uint64_t fp, const char *source, char **why)
{
        _cleanup_close_ int fd = -1;
        char when[32], buf[256];
        time_t now = time(NULL);
        struct tm tm;
        ssize_t n;
        int len;

        if (!gmtime_r(&now, &tm) || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(when, sizeof(when), "%lld", (long long)now);
        len = snprintf(buf, sizeof(buf),
                       "# dual-root: this ESP's fingerprint after its last sync (rollback guard)\n"
                       "format=%d\nfingerprint=%016" PRIx64 "\nsynced=%s\nsource=%s\n",
                       STATE_FORMAT, fp, when, source ? source : "unknown");
        if (len < 0 || (size_t)len >= sizeof(buf))
                return errmsg(why, -EINVAL, "state record too long");

        fd = openat(dir_fd, GUARD_STATE_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                    0644);
        if (fd < 0)
                return errmsg(why, negative_errno(), "cannot create " GUARD_STATE_TMP ": %m");
        n = write(fd, buf, (size_t)len);
        if (n < 0)
                return errmsg(why, negative_errno(), "cannot write " GUARD_STATE_TMP ": %m");
        if (n != len)
                return errmsg(why, -EIO,
                              "cannot write " GUARD_STATE_TMP ": %zd of %d bytes written", n, len);
        /* No fsync here (see guard_record): written after the data is flushed. */
        if (renameat(dir_fd, GUARD_STATE_TMP, dir_fd, GUARD_STATE_FILE) < 0)
                return errmsg(why, negative_errno(),
                              "cannot rename " GUARD_STATE_TMP " to " GUARD_STATE_FILE ": %m");
        return 0;
}

int guard_check(int src_fd, const char *src_name, int dst_fd, const char *dst_name,
                char *const *excludes, char **why)
{
        uint64_t fp;
        bool known;

        return guard_check_fp(src_fd, src_name, dst_fd, dst_name, excludes, &fp, &known, why);
}

int guard_check_fp(int src_fd, const char *src_name, int dst_fd, const char *dst_name,
                   char *const *excludes, uint64_t *ret_dst_fp, bool *ret_known, char **why)
{
        struct state s = {};
        uint64_t fp_dst, fp_src;
        int r;

        *ret_known = false;
        r = state_read(dst_fd, &s, why);
        if (r == -ENOENT)
                return GUARD_VERIFY; /* never synced by us: a first sync, or a new disk */
        if (r < 0)
                return errmsg_prefix(why, r, "'%s'", dst_name);

        r = guard_fingerprint(dst_fd, excludes, &fp_dst, why);
        if (r < 0) {
                state_done(&s);
                return errmsg_prefix(why, r, "'%s'", dst_name);
        }
        *ret_dst_fp = fp_dst;
        *ret_known = true;
        if (fp_dst == s.fingerprint) {
                state_done(&s);
                return GUARD_BEHIND; /* unchanged since our last sync: safe to update */
        }
        r = guard_fingerprint(src_fd, excludes, &fp_src, why);
        if (r < 0) {
                state_done(&s);
                return errmsg_prefix(why, r, "'%s'", src_name);
        }
        if (fp_src == fp_dst) {
                state_done(&s);
                return GUARD_VERIFY; /* changed, but to exactly what we would copy */
        }
        r = errmsg(why, -EEXIST,
                   "'%s' changed since the last sync recorded on it (%s, from %s): it may hold "
                   "updates the booted ESP '%s' lacks (was this machine booted from a stale "
                   "disk?); not overwriting it. Compare them, then sync with --force if '%s' is "
                   "right",
                   dst_name, strna(s.synced), strna(s.source), src_name, src_name);
        state_done(&s);
        return r;
}

/* Records fp unless the state already holds it: a sync that changed nothing writes nothing
 * (no needless writes and flushes on flash, and none on the booted ESP). */
/* True when dir_fd's record holds fp. */
static bool state_holds(int dir_fd, uint64_t fp)
{
        struct state s = {};
        bool same;

        if (state_read(dir_fd, &s, NULL) < 0)
                return false;
        same = s.fingerprint == fp;
        state_done(&s);
        return same;
}

int guard_record(int src_fd, int dst_fd, char *const *excludes, const char *src_partuuid,
                 char **why)
{
        uint64_t fp_dst;
        int r;

        r = guard_fingerprint(dst_fd, excludes, &fp_dst, why);
        if (r < 0)
                return errmsg_prefix(why, r, "destination");
        return guard_record_fp(src_fd, dst_fd, fp_dst, excludes, src_partuuid, why);
}

int guard_record_fp(int src_fd, int dst_fd, uint64_t fp_dst, char *const *excludes,
                    const char *src_partuuid, char **why)
{
        struct statfs ss, ds;
        uint64_t fp_src;
        int r = 0;

        if (!state_holds(dst_fd, fp_dst))
                r = state_write(dst_fd, fp_dst, src_partuuid, why);
        if (r < 0)
                return errmsg_prefix(why, r, "destination");

        /* The source's record is what both now hold: the destination's fingerprint. Not
         * the source's own, which may already include changes made while rsync ran: those
         * were not copied, so a later sync into the source must not pass over them. Only
         * when the two filesystems differ in type, whose timestamps may differ in
         * granularity, is the source walked for a fingerprint of its own. */
        if (fstatfs(src_fd, &ss) < 0 || fstatfs(dst_fd, &ds) < 0)
                return errmsg(why, negative_errno(), "cannot identify the filesystems: %m");
        fp_src = fp_dst;
        if (ss.f_type != ds.f_type) {
                r = guard_fingerprint(src_fd, excludes, &fp_src, why);
                if (r < 0)
                        return errmsg_prefix(why, r, "source");
        }
        /* Syncs into different alternates share the source and its record's temporary
         * file: one writer at a time (held for one small write, so waited for). */
        if (flock(src_fd, LOCK_EX) < 0)
                return errmsg(why, negative_errno(), "cannot lock the source's record: %m");
        if (!state_holds(src_fd, fp_src)) {
                r = state_write(src_fd, fp_src, src_partuuid, why);
                if (r < 0)
                        errmsg_prefix(why, r, "source");
        }
        (void)flock(src_fd, LOCK_UN);
        return r;
}
