/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include "guard.h"
#include "ignore.h"
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
                if (depth == 0 && esp_ignored_root_name(n))
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
        strv_sort(names);

        STRV_FOREACH(n, names)
        {
                _cleanup_free_ char *path = NULL;
                struct stat st;

                if (asprintf(&path, "%s%s%s", rel, *rel ? "/" : "", *n) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (fstatat(dirfd(d), *n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        /* gone since it was listed (a process's /proc/PID in a "/" item's
                         * tree, §12b): as if it had not been there */
                        if (errno == ENOENT)
                                continue;
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
        bool has_fp;          /* false only in a record that holds nothing but an intent */
        uint64_t fingerprint; /* the tree as the last completed sync left it */
        char *synced;         /* when, UTC */
        char *source;         /* PARTUUID of the ESP it was synced with */
        time_t verified;      /* when a sync last compared its content, 0: never */
        /* DESIGN.md §5 rule 10: a sync under way (or cut), from this source. */
        char *intent;
        char *intent_since;
        uint64_t intent_target; /* the source's fingerprint when it started */
};

static void state_done(struct state *s)
{
        free(s->synced);
        free(s->source);
        free(s->intent);
        free(s->intent_since);
        *s = (struct state){};
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
                } else if ((v = startswith(line, "verified="))) {
                        s.verified = (time_t)strtoll(v, NULL, 10);
                } else if ((v = startswith(line, "intent="))) {
                        free(s.intent);
                        s.intent = strdup(v);
                } else if ((v = startswith(line, "intent_since="))) {
                        free(s.intent_since);
                        s.intent_since = strdup(v);
                } else if ((v = startswith(line, "intent_target="))) {
                        s.intent_target = strtoull(v, NULL, 16);
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
        /* A first sync that was cut leaves an intent and no fingerprint yet. */
        if (!have_fp && !s.intent) {
                state_done(&s);
                return errmsg(why, -EBADMSG, GUARD_STATE_FILE " has no valid fingerprint= line");
        }
        s.has_fp = have_fp;
        *ret = s;
        return 0;
}

static void utc_now(char when[static 32])
{
        time_t now = time(NULL);
        struct tm tm;

        if (!gmtime_r(&now, &tm) || strftime(when, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(when, 32, "%lld", (long long)now);
}

/* Replaces dir_fd's record by s, atomically (rename). durable: the record is on the disk
 * (file and directory flushed) when this returns. */
static int state_write(int dir_fd, const struct state *s, bool durable, char **why)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        char fp[32] = "";
        ssize_t n;
        int len;

        if (s->has_fp)
                snprintf(fp, sizeof(fp), "fingerprint=%016" PRIx64 "\n", s->fingerprint);
        len = asprintf(&buf,
                       "# dual-root: this ESP's fingerprint after its last sync (rollback guard)\n"
                       "format=%d\n%ssynced=%s\nsource=%s\nverified=%lld\n",
                       STATE_FORMAT, fp, strna(s->synced), s->source ? s->source : "unknown",
                       (long long)s->verified);
        if (len >= 0 && s->intent) {
                char *t = NULL;

                len = asprintf(&t,
                               "%s# a sync into this ESP is under way (or was cut); the next "
                               "sync from the same source completes it\n"
                               "intent=%s\nintent_since=%s\nintent_target=%016" PRIx64 "\n",
                               buf, s->intent, strna(s->intent_since), s->intent_target);
                free(buf);
                buf = t;
        }
        if (len < 0 || len > 4000)
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
        /* A completed sync's record needs no fsync (see guard_record): written after the
         * data is flushed. An intent must be on the disk before rsync's first write is. */
        if (durable && fsync(fd) < 0)
                return errmsg(why, negative_errno(), "cannot flush " GUARD_STATE_TMP ": %m");
        if (renameat(dir_fd, GUARD_STATE_TMP, dir_fd, GUARD_STATE_FILE) < 0)
                return errmsg(why, negative_errno(),
                              "cannot rename " GUARD_STATE_TMP " to " GUARD_STATE_FILE ": %m");
        /* FAT writes a renamed file's directory entry with the file's inode, not with the
         * directory: flushing the file again, then the directory, puts the new name on the
         * disk (found by the VM's power cut). */
        if (durable && (fsync(fd) < 0 || fsync(dir_fd) < 0))
                return errmsg(why, negative_errno(),
                              "cannot flush the directory of " GUARD_STATE_FILE ": %m");
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
        struct guard_verdict v = {};
        int r;

        r = guard_assess(src_fd, src_name, NULL, dst_fd, dst_name, excludes, &v, why);
        if (r < 0)
                return r;
        *ret_known = v.dst_fp_known;
        *ret_dst_fp = v.dst_fp;
        guard_verdict_done(&v);
        return r == GUARD_IN_SYNC ? GUARD_BEHIND : r;
}

void guard_verdict_done(struct guard_verdict *v)
{
        free(v->resumed_since);
        free(v->resumed_source);
        *v = (struct guard_verdict){};
}

int guard_assess(int src_fd, const char *src_name, const char *src_id, int dst_fd,
                 const char *dst_name, char *const *excludes, struct guard_verdict *ret, char **why)
{
        struct state s = {};
        int r;

        *ret = (struct guard_verdict){};
        r = state_read(dst_fd, &s, why);
        if (r == -ENOENT)
                return ret->verdict = GUARD_VERIFY; /* never synced by us: a first sync */
        if (r < 0)
                return errmsg_prefix(why, r, "'%s'", dst_name);
        ret->verified = s.verified;
        ret->recorded = s.has_fp;

        /* DESIGN.md §5 rule 10: what a sync from this very source left half done is its
         * own copy, to be completed (and compared by content: a cut may have left any file
         * torn). */
        if (s.intent && src_id && strcasecmp(s.intent, src_id) == 0) {
                ret->resumed_since = s.intent_since ? strdup(s.intent_since) : NULL;
                ret->resumed_source = strdup(s.intent);
                state_done(&s);
                return ret->verdict = GUARD_RESUME;
        }
        if (!s.has_fp) {
                /* Only an intent, from another source: no sync into it ever completed. */
                state_done(&s);
                return ret->verdict = GUARD_VERIFY;
        }

        r = guard_fingerprint(dst_fd, excludes, &ret->dst_fp, why);
        if (r < 0) {
                state_done(&s);
                return errmsg_prefix(why, r, "'%s'", dst_name);
        }
        ret->dst_fp_known = true;
        r = guard_fingerprint(src_fd, excludes, &ret->src_fp, why);
        if (r < 0) {
                state_done(&s);
                return errmsg_prefix(why, r, "'%s'", src_name);
        }
        ret->src_fp_known = true;
        if (ret->dst_fp == s.fingerprint) {
                state_done(&s);
                /* Unchanged since our last sync: safe to update; and when the source holds
                 * just that too (another process synced it meanwhile), nothing to do. */
                return ret->verdict = ret->src_fp == ret->dst_fp ? GUARD_IN_SYNC : GUARD_BEHIND;
        }
        if (ret->src_fp == ret->dst_fp) {
                state_done(&s);
                return ret->verdict = GUARD_VERIFY; /* changed, but to exactly what we would copy */
        }
        if (s.intent)
                r = errmsg(why, -EEXIST,
                           "'%s' changed since the last sync recorded on it (%s, from %s), and "
                           "a sync into it from %s (started %s) was interrupted: it may hold "
                           "updates the booted ESP '%s' lacks (was this machine booted from a "
                           "stale disk?); not overwriting it. See what a sync would change "
                           "there with -s -t (dry run: each file created, replaced or deleted), "
                           "then sync with --force if '%s' is right",
                           dst_name, strna(s.synced), strna(s.source), s.intent,
                           strna(s.intent_since), src_name, src_name);
        else
                r = errmsg(why, -EEXIST,
                           "'%s' changed since the last sync recorded on it (%s, from %s): it "
                           "may hold updates the booted ESP '%s' lacks (was this machine "
                           "booted from a stale disk?); not overwriting it. See what a sync "
                           "would change there with -s -t (dry run: each file created, "
                           "replaced or deleted), then sync with --force if '%s' is right",
                           dst_name, strna(s.synced), strna(s.source), src_name, src_name);
        state_done(&s);
        return r;
}

int guard_intent(int dst_fd, const char *src_id, uint64_t target_fp, char **why)
{
        struct state s = {};
        char when[32];
        int r;

        r = state_read(dst_fd, &s, NULL);
        if (r < 0)
                s = (struct state){}; /* none (or unreadable, which the guard refused) */
        utc_now(when);
        free(s.intent);
        free(s.intent_since);
        s.intent = strdup(src_id ? src_id : "unknown");
        s.intent_since = strdup(when);
        s.intent_target = target_fp;
        if (!s.intent || !s.intent_since) {
                state_done(&s);
                return -ENOMEM;
        }
        r = state_write(dst_fd, &s, true, why);
        state_done(&s);
        if (r < 0)
                return errmsg_prefix(why, r, "cannot record the sync's intent");
        return 0;
}

/* Writes dir_fd's record for a completed sync of fingerprint fp, unless it already says
 * just that (a sync that changed nothing writes nothing: no needless writes and flushes on
 * flash, and none on the booted ESP). verified: the content was compared, now. */
static int state_complete(int dir_fd, uint64_t fp, const char *source, bool verified, char **why)
{
        struct state s = {};
        char when[32];
        int r;

        if (state_read(dir_fd, &s, NULL) < 0)
                s = (struct state){};
        if (s.has_fp && s.fingerprint == fp && !s.intent && !verified) {
                state_done(&s);
                return 0;
        }
        utc_now(when);
        free(s.synced);
        free(s.source);
        free(s.intent);
        free(s.intent_since);
        s.intent = s.intent_since = NULL;
        s.synced = strdup(when);
        s.source = strdup(source ? source : "unknown");
        s.has_fp = true;
        s.fingerprint = fp;
        if (verified)
                s.verified = time(NULL);
        r = !s.synced || !s.source ? -ENOMEM : state_write(dir_fd, &s, false, why);
        state_done(&s);
        return r;
}

int guard_record(int src_fd, int dst_fd, char *const *excludes, const char *src_partuuid,
                 char **why)
{
        return guard_record_verified(src_fd, dst_fd, excludes, src_partuuid, false, why);
}

int guard_record_verified(int src_fd, int dst_fd, char *const *excludes, const char *src_partuuid,
                          bool verified, char **why)
{
        uint64_t fp_dst;
        int r;

        r = guard_fingerprint(dst_fd, excludes, &fp_dst, why);
        if (r < 0)
                return errmsg_prefix(why, r, "destination");
        return guard_record_fp(src_fd, dst_fd, fp_dst, excludes, src_partuuid, verified, why);
}

int guard_record_fp(int src_fd, int dst_fd, uint64_t fp_dst, char *const *excludes,
                    const char *src_partuuid, bool verified, char **why)
{
        struct statfs ss, ds;
        uint64_t fp_src;
        int r;

        r = state_complete(dst_fd, fp_dst, src_partuuid, verified, why);
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
        r = state_complete(src_fd, fp_src, src_partuuid, false, why);
        if (r < 0)
                errmsg_prefix(why, r, "source");
        (void)flock(src_fd, LOCK_UN);
        return r;
}
