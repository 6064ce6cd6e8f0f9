/* SPDX-License-Identifier: MIT */
/* The drill record (its strict parser, format, merge, files) and the state machine (DESIGN.md
 * §13): pure but for the record files and boot_id, so the fuzzer and unit tests take it alone. */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "drill.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/strv.h"

void drill_state_done(struct drill_state *s)
{
        free(s->disks);
        *s = (struct drill_state){};
}

const char *drill_outcome_to_string(enum drill_outcome o)
{
        switch (o) {
        case DRILL_NONE:
                return "none";
        case DRILL_WAITING:
                return "waiting";
        case DRILL_UNKNOWN:
                return "unknown";
        case DRILL_PROVEN:
                return "proven";
        case DRILL_FAILED:
                return "failed";
        }
        return "?";
}

static bool is_lower_guid(const char *s, size_t n)
{
        if (n != 36)
                return false;
        for (size_t i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i] != '-')
                                return false;
                } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        }
        return true;
}

/* ---- the parser ---- */

struct line_parser {
        const char *p, *end; /* the line's fields, without its '\n' */
        unsigned line;
        char **why;
};

/* The next field (up to a single space or the line's end); -EBADMSG when there is none. */
static int next_field(struct line_parser *lp, const char *what, const char **ret, size_t *ret_n)
{
        const char *s = lp->p, *e;

        if (s >= lp->end)
                return errmsg(lp->why, -EBADMSG, "line %u: %s missing", lp->line, what);
        e = memchr(s, ' ', (size_t)(lp->end - s));
        if (!e)
                e = lp->end;
        if (e == s)
                return errmsg(lp->why, -EBADMSG, "line %u: empty field where %s was expected",
                              lp->line, what);
        *ret = s;
        *ret_n = (size_t)(e - s);
        lp->p = e < lp->end ? e + 1 : e;
        if (e < lp->end && lp->p == lp->end)
                return errmsg(lp->why, -EBADMSG, "line %u: trailing space", lp->line);
        return 0;
}

static int field_guid(struct line_parser *lp, const char *what, bool dash_ok,
                      char ret[GUID_STRING_MAX])
{
        const char *s;
        size_t n;
        int r = next_field(lp, what, &s, &n);

        if (r < 0)
                return r;
        if (dash_ok && n == 1 && s[0] == '-') {
                ret[0] = 0;
                return 0;
        }
        if (!is_lower_guid(s, n))
                return errmsg(lp->why, -EBADMSG,
                              "line %u: %s is '%.*s', expected a lower-case GUID%s", lp->line, what,
                              (int)(n > 40 ? 40 : n), s, dash_ok ? " or '-'" : "");
        memcpy(ret, s, 36);
        ret[36] = 0;
        return 0;
}

/* Seconds since the epoch, or "-" (-1) when dash_ok. */
static int field_time(struct line_parser *lp, const char *what, bool dash_ok, int64_t *ret)
{
        const char *s;
        size_t n;
        int64_t v = 0;
        int r = next_field(lp, what, &s, &n);

        if (r < 0)
                return r;
        if (dash_ok && n == 1 && s[0] == '-') {
                *ret = -1;
                return 0;
        }
        if (n > 18 || (n > 1 && s[0] == '0'))
                goto bad;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        goto bad;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return 0;
bad:
        return errmsg(lp->why, -EBADMSG,
                      "line %u: %s is '%.*s', expected seconds since the epoch (at most 18 "
                      "digits, no leading zero)%s",
                      lp->line, what, (int)(n > 40 ? 40 : n), s, dash_ok ? " or '-'" : "");
}

static int field_end(struct line_parser *lp)
{
        if (lp->p < lp->end)
                return errmsg(lp->why, -EBADMSG, "line %u: unexpected '%.*s' at the end", lp->line,
                              (int)(lp->end - lp->p > 40 ? 40 : lp->end - lp->p), lp->p);
        return 0;
}

/* A Boot#### number: 4 upper-case hex digits. */
static int field_entry(struct line_parser *lp, unsigned *ret)
{
        const char *s;
        size_t n;
        unsigned v = 0;
        int r;

        r = next_field(lp, "the Boot#### number", &s, &n);
        if (r < 0)
                return r;
        if (n != 4)
                goto bad;
        for (size_t i = 0; i < 4; i++) {
                int d = (s[i] >= '0' && s[i] <= '9')   ? s[i] - '0'
                        : (s[i] >= 'A' && s[i] <= 'F') ? s[i] - 'A' + 10
                                                       : -1;
                if (d < 0)
                        goto bad;
                v = v << 4 | (unsigned)d;
        }
        *ret = v;
        return 0;
bad:
        return errmsg(lp->why, -EBADMSG,
                      "line %u: the Boot#### number is '%.*s', expected 4 upper-case hex digits",
                      lp->line, (int)(n > 40 ? 40 : n), s);
}

static int parse_pending(struct line_parser *lp, struct drill_pending *p)
{
        int r;

        r = field_guid(lp, "the target PARTUUID", false, p->target);
        if (r < 0)
                return r;
        r = field_entry(lp, &p->entry);
        if (r < 0)
                return r;
        r = field_time(lp, "the time it was set", false, &p->since);
        if (r >= 0)
                r = field_guid(lp, "the PARTUUID it was set from", false, p->from);
        if (r >= 0)
                r = field_guid(lp, "the boot_id it was set in", false, p->boot_id);
        if (r >= 0)
                r = field_end(lp);
        p->set = r >= 0;
        return r;
}

static int parse_disk(struct line_parser *lp, struct drill_state *st)
{
        struct drill_disk d = {}, *t;
        int r;

        r = field_guid(lp, "the disk's PARTUUID", false, d.partuuid);
        if (r >= 0)
                r = field_time(lp, "the last successful drill", true, &d.proven);
        if (r >= 0)
                r = field_time(lp, "the last failed drill", true, &d.failed);
        if (r >= 0)
                r = field_guid(lp, "the PARTUUID the failed drill came up on", true, d.failed_on);
        if (r >= 0)
                r = field_end(lp);
        if (r < 0)
                return r;
        if (drill_state_disk_const(st, d.partuuid))
                return errmsg(lp->why, -EBADMSG, "line %u: a second line for disk %s", lp->line,
                              d.partuuid);
        if (st->n_disks >= DRILL_DISKS_MAX)
                return errmsg(lp->why, -EBADMSG, "line %u: more than %d disks", lp->line,
                              DRILL_DISKS_MAX);
        t = reallocarray(st->disks, st->n_disks + 1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        st->disks = t;
        st->disks[st->n_disks++] = d;
        return 0;
}

int drill_state_parse(const char *text, size_t size, struct drill_state *ret, char **why)
{
        struct drill_state st = { .nvram_refused = -1 };
        bool header = false, have_generation = false;
        unsigned line = 0;
        int r = 0;

        if (size > DRILL_STATE_MAX)
                return errmsg(why, -EBADMSG, "larger than %d bytes", DRILL_STATE_MAX);
        if (memchr(text, 0, size))
                return errmsg(why, -EBADMSG, "holds a NUL byte");
        if (size == 0)
                return errmsg(why, -EBADMSG, "empty, expected 'dual-root-drill 1'");
        if (text[size - 1] != '\n')
                return errmsg(why, -EBADMSG, "the last line does not end with a newline");

        for (const char *p = text, *end = text + size; p < end && r >= 0;) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                struct line_parser lp = { .p = p, .end = nl, .line = ++line, .why = why };
                const char *kw;
                size_t n;

                p = nl + 1;
                if (!header && lp.p < lp.end && lp.p[0] == '#')
                        continue;
                r = next_field(&lp, "a keyword", &kw, &n);
                if (r < 0)
                        break;
                if (!header) {
                        if (n != 15 || memcmp(kw, "dual-root-drill", 15) != 0 ||
                            lp.end - lp.p != 1 || lp.p[0] != '1') {
                                r = errmsg(why, -EBADMSG,
                                           "line %u: expected the header 'dual-root-drill 1'",
                                           line);
                                break;
                        }
                        header = true;
                } else if (n == 10 && memcmp(kw, "generation", 10) == 0) {
                        int64_t g;

                        if (have_generation) {
                                r = errmsg(why, -EBADMSG, "line %u: a second generation", line);
                                break;
                        }
                        r = field_time(&lp, "the generation", false, &g);
                        if (r >= 0)
                                r = field_end(&lp);
                        st.generation = (uint64_t)g;
                        have_generation = true;
                } else if (n == 7 && memcmp(kw, "pending", 7) == 0) {
                        if (st.pending.set) {
                                r = errmsg(why, -EBADMSG, "line %u: a second pending drill", line);
                                break;
                        }
                        r = parse_pending(&lp, &st.pending);
                } else if (n == 4 && memcmp(kw, "disk", 4) == 0) {
                        r = parse_disk(&lp, &st);
                } else if (n == 13 && memcmp(kw, "nvram-refused", 13) == 0) {
                        if (st.nvram_refused >= 0) {
                                r = errmsg(why, -EBADMSG, "line %u: a second nvram-refused", line);
                                break;
                        }
                        r = field_time(&lp, "the time of the refusal", false, &st.nvram_refused);
                        if (r >= 0)
                                r = field_end(&lp);
                } else if (n == 15 && memcmp(kw, "stale-boot-next", 15) == 0) {
                        if (st.stale_set) {
                                r = errmsg(why, -EBADMSG, "line %u: a second stale-boot-next",
                                           line);
                                break;
                        }
                        r = field_entry(&lp, &st.stale_entry);
                        if (r >= 0)
                                r = field_end(&lp);
                        st.stale_set = r >= 0;
                } else {
                        r = errmsg(why, -EBADMSG,
                                   "line %u: unknown keyword '%.*s', expected generation, "
                                   "pending, disk, nvram-refused or stale-boot-next",
                                   line, (int)(n > 40 ? 40 : n), kw);
                }
        }
        if (r >= 0 && !header)
                r = errmsg(why, -EBADMSG, "no header, expected 'dual-root-drill 1'");
        if (r >= 0 && !have_generation)
                r = errmsg(why, -EBADMSG, "no generation line");
        if (r < 0) {
                drill_state_done(&st);
                return r;
        }
        *ret = st;
        return 0;
}

static void put_time(FILE *f, int64_t t)
{
        if (t < 0)
                fputs(" -", f);
        else
                fprintf(f, " %" PRId64, t);
}

int drill_state_format(const struct drill_state *s, char **ret)
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return -ENOMEM;
        fputs("# dual-root-tool --prove: failover drills (DESIGN.md §13); written by the tool\n"
              "dual-root-drill 1\n",
              f);
        fprintf(f, "generation %" PRIu64 "\n", s->generation);
        if (s->pending.set)
                fprintf(f, "pending %s %04X %" PRId64 " %s %s\n", s->pending.target,
                        s->pending.entry & 0xffff, s->pending.since, s->pending.from,
                        s->pending.boot_id);
        for (size_t i = 0; i < s->n_disks; i++) {
                const struct drill_disk *d = &s->disks[i];

                fprintf(f, "disk %s", d->partuuid);
                put_time(f, d->proven);
                put_time(f, d->failed);
                fprintf(f, " %s\n", d->failed_on[0] ? d->failed_on : "-");
        }
        if (s->nvram_refused >= 0)
                fprintf(f, "nvram-refused %" PRId64 "\n", s->nvram_refused);
        if (s->stale_set)
                fprintf(f, "stale-boot-next %04X\n", s->stale_entry & 0xffff);
        if (fclose(f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

const struct drill_disk *drill_state_disk_const(const struct drill_state *s, const char *partuuid)
{
        for (size_t i = 0; i < s->n_disks; i++)
                if (strcasecmp(s->disks[i].partuuid, partuuid) == 0)
                        return &s->disks[i];
        return NULL;
}

struct drill_disk *drill_state_disk(struct drill_state *s, const char *partuuid, bool create)
{
        struct drill_disk *t;

        for (size_t i = 0; i < s->n_disks; i++)
                if (strcasecmp(s->disks[i].partuuid, partuuid) == 0)
                        return &s->disks[i];
        if (!create)
                return NULL;
        if (s->n_disks >= DRILL_DISKS_MAX || strlen(partuuid) != 36) {
                errno = E2BIG;
                return NULL;
        }
        t = reallocarray(s->disks, s->n_disks + 1, sizeof(*t));
        if (!t) {
                errno = ENOMEM;
                return NULL;
        }
        s->disks = t;
        t = &s->disks[s->n_disks++];
        *t = (struct drill_disk){ .proven = -1, .failed = -1 };
        for (size_t i = 0; i < 36; i++)
                t->partuuid[i] = (char)tolower((unsigned char)partuuid[i]);
        return t;
}

int drill_state_merge(struct drill_state *s, const struct drill_state *o)
{
        for (size_t i = 0; i < o->n_disks; i++) {
                const struct drill_disk *od = &o->disks[i];
                struct drill_disk *d = drill_state_disk(s, od->partuuid, true);

                if (!d)
                        return -errno;
                if (od->proven > d->proven)
                        d->proven = od->proven;
                if (od->failed > d->failed) {
                        d->failed = od->failed;
                        memcpy(d->failed_on, od->failed_on, sizeof(d->failed_on));
                }
        }
        if (o->generation > s->generation || (s->generation == 0 && !s->pending.set)) {
                s->generation = o->generation;
                s->pending = o->pending;
                s->nvram_refused = o->nvram_refused;
                s->stale_set = o->stale_set;
                s->stale_entry = o->stale_entry;
        }
        return 0;
}

/* ---- the files ---- */

static int load_one(const char *dir, struct drill_state *ret, char **why)
{
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        if (dfd < 0)
                return errmsg(why, negative_errno(), "cannot open %s: %m", dir);
        fd = openat(dfd, DRILL_STATE_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0 && errno == ENOENT)
                return 0;
        if (fd < 0)
                return errmsg(why, negative_errno(), "cannot open %s/%s: %m", dir,
                              DRILL_STATE_FILE);
        r = read_full_fd(fd, DRILL_STATE_MAX, &text, &size);
        if (r == -EFBIG)
                return errmsg(why, -EBADMSG, "%s/%s: larger than %d bytes", dir, DRILL_STATE_FILE,
                              DRILL_STATE_MAX);
        if (r < 0)
                return errmsg(why, r, "cannot read %s/%s: %s", dir, DRILL_STATE_FILE, strerror(-r));
        r = drill_state_parse(text, size, ret, why);
        if (r < 0)
                return errmsg_prefix(why, r, "%s/%s", dir, DRILL_STATE_FILE);
        return 1;
}

int drill_state_load(char *const *esp_dirs, struct drill_state *ret, size_t *ret_found, char **why)
{
        struct drill_state all = { .nvram_refused = -1 };
        size_t found = 0;
        int r;

        STRV_FOREACH(d, esp_dirs)
        {
                struct drill_state one = {};

                r = load_one(*d, &one, why);
                if (r > 0) {
                        found++;
                        r = drill_state_merge(&all, &one);
                }
                drill_state_done(&one);
                if (r < 0) {
                        drill_state_done(&all);
                        return r;
                }
        }
        *ret = all;
        if (ret_found)
                *ret_found = found;
        return 0;
}

static int save_one(const char *dir, const char *text, char **why)
{
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int fd = -1;
        size_t n = strlen(text);
        ssize_t k;

        if (dfd < 0)
                return errmsg(why, negative_errno(), "cannot open %s: %m", dir);
        fd = openat(dfd, DRILL_STATE_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                    0644);
        if (fd < 0)
                return errmsg(why, negative_errno(), "cannot create %s/%s: %m", dir,
                              DRILL_STATE_TMP);
        k = write(fd, text, n);
        if (k < 0 || (size_t)k != n || fsync(fd) < 0) {
                int e = k >= 0 && (size_t)k != n ? -EIO : negative_errno();

                (void)unlinkat(dfd, DRILL_STATE_TMP, 0);
                return errmsg(why, e, "cannot write %s/%s: %s", dir, DRILL_STATE_TMP, strerror(-e));
        }
        if (renameat(dfd, DRILL_STATE_TMP, dfd, DRILL_STATE_FILE) < 0) {
                int e = negative_errno();

                (void)unlinkat(dfd, DRILL_STATE_TMP, 0);
                return errmsg(why, e, "cannot rename %s/%s: %s", dir, DRILL_STATE_TMP,
                              strerror(-e));
        }
        /* FAT: the rename reaches the disk with the directory (DESIGN.md §5 rule 9's note). */
        if (fsync(dfd) < 0)
                return errmsg(why, negative_errno(), "cannot flush %s: %m", dir);
        return 0;
}

int drill_state_save(char *const *esp_dirs, struct drill_state *s, char **why)
{
        _cleanup_free_ char *text = NULL;
        int r, first = 0, n = 0;

        s->generation++;
        r = drill_state_format(s, &text);
        if (r < 0)
                return r;
        STRV_FOREACH(d, esp_dirs)
        {
                _cleanup_free_ char *w = NULL;

                r = save_one(*d, text, first ? NULL : &w);
                if (r < 0 && !first) {
                        first = r;
                        if (why) {
                                free(*why);
                                *why = TAKE_PTR(w);
                        }
                } else if (r >= 0)
                        n++;
        }
        return first < 0 ? first : n;
}

/* ---- the state machine ---- */

enum drill_outcome drill_resolve(struct drill_state *s, const struct drill_facts *f,
                                 bool *ret_delete_boot_next)
{
        struct drill_pending *p = &s->pending;
        struct drill_disk *d;

        *ret_delete_boot_next = false;
        if (s->stale_set) {
                /* Ours from a judged drill: deleted again while it is there, forgotten once
                 * it is gone or points elsewhere (the firmware used it, or someone else set
                 * it). */
                if (f->boot_next >= 0 && (unsigned)f->boot_next == s->stale_entry)
                        *ret_delete_boot_next = true;
                else
                        s->stale_set = false;
        }
        if (!p->set)
                return DRILL_NONE;
        if (f->boot_id && streq(f->boot_id, p->boot_id))
                return DRILL_WAITING;
        /* The drill's boot has happened. BootNext pointing at its entry now is ours, left over
         * (the firmware did not consume it): never left set (P3). */
        if (f->boot_next >= 0 && (unsigned)f->boot_next == p->entry)
                *ret_delete_boot_next = true;
        if (!f->booted)
                return DRILL_UNKNOWN;
        d = drill_state_disk(s, p->target, true);
        if (!d)
                return DRILL_UNKNOWN;
        if (strcasecmp(f->booted, p->target) == 0) {
                d->proven = f->now;
                *p = (struct drill_pending){};
                return DRILL_PROVEN;
        }
        d->failed = f->now;
        for (size_t i = 0; i < 36 && f->booted[i]; i++)
                d->failed_on[i] = (char)tolower((unsigned char)f->booted[i]);
        d->failed_on[36] = 0;
        *p = (struct drill_pending){};
        return DRILL_FAILED;
}

int drill_plan(struct drill_state *s, const struct drill_facts *f, const char *target,
               unsigned entry, char **why)
{
        struct drill_pending *p = &s->pending;

        if (!f->booted || !f->boot_id || !target || strlen(target) != 36 ||
            strlen(f->booted) != 36 || strlen(f->boot_id) != 36)
                return errmsg(why, -EINVAL, "the booted ESP, the boot_id or the target is unknown");
        if (strcasecmp(target, f->booted) == 0)
                return errmsg(why, -EINVAL,
                              "%s is the booted ESP: a drill starts another disk (name it)",
                              target);
        if (f->boot_next >= 0 && !(s->stale_set && (unsigned)f->boot_next == s->stale_entry)) {
                if (p->set && (unsigned)f->boot_next == p->entry && streq(p->boot_id, f->boot_id))
                        return errmsg(why, -EALREADY,
                                      "a drill of %s is already pending: BootNext is Boot%04X, "
                                      "set at %" PRId64 "; the next reboot runs it",
                                      p->target, p->entry, p->since);
                return errmsg(why, -EBUSY,
                              "BootNext is already set to Boot%04X by someone else: not "
                              "overwriting another tool's one-shot boot (reboot first, or "
                              "delete it: efibootmgr --delete-bootnext)",
                              (unsigned)f->boot_next);
        }
        *p = (struct drill_pending){ .set = true, .entry = entry & 0xffff, .since = f->now };
        for (size_t i = 0; i < 36; i++) {
                p->target[i] = (char)tolower((unsigned char)target[i]);
                p->from[i] = (char)tolower((unsigned char)f->booted[i]);
                p->boot_id[i] = (char)tolower((unsigned char)f->boot_id[i]);
        }
        return 0;
}

static void format_when(int64_t now, int64_t t, char *buf, size_t size)
{
        int64_t age = now - t;

        if (age < 0)
                snprintf(buf, size, "in the future (clock changed?)");
        else if (age < 120)
                snprintf(buf, size, "%" PRId64 " s ago", age);
        else if (age < 2 * 3600)
                snprintf(buf, size, "%" PRId64 " min ago", age / 60);
        else if (age < 2 * 86400)
                snprintf(buf, size, "%" PRId64 " h ago", age / 3600);
        else
                snprintf(buf, size, "%" PRId64 " days ago", age / 86400);
}

int drill_judge(const struct drill_disk *d, int64_t now, uint64_t max_age_sec, char **ret_text)
{
        char a[64], b[64];
        int level, k;

        if (!d || (d->proven < 0 && d->failed < 0)) {
                level = DRILL_OK;
                k = asprintf(ret_text, "never drilled: dual-root-tool --prove starts this disk "
                                       "once through BootNext to prove it boots");
        } else if (d->failed > d->proven) {
                format_when(now, d->failed, a, sizeof(a));
                if (d->proven >= 0)
                        format_when(now, d->proven, b, sizeof(b));
                level = DRILL_CRITICAL;
                k = asprintf(ret_text,
                             "the last drill (%s) FAILED: the firmware started %s%s instead of "
                             "this disk; last successful drill: %s (CRITICAL until a drill of "
                             "this disk succeeds)",
                             a, d->failed_on[0] ? "PARTUUID " : "another disk",
                             d->failed_on[0] ? d->failed_on : "", d->proven >= 0 ? b : "never");
        } else {
                format_when(now, d->proven, a, sizeof(a));
                if (max_age_sec > 0 && now - d->proven > (int64_t)max_age_sec) {
                        level = DRILL_WARNING;
                        k = asprintf(ret_text,
                                     "last successful drill %s, older than prove_max_age (%" PRIu64
                                     " days): run dual-root-tool --prove",
                                     a, max_age_sec / 86400);
                } else {
                        level = DRILL_OK;
                        k = asprintf(ret_text, "proven to boot alone by a drill %s", a);
                }
        }
        return k < 0 ? -ENOMEM : level;
}

int drill_read_boot_id(char ret[GUID_STRING_MAX])
{
        _cleanup_free_ char *text = NULL;
        size_t n;
        int r = read_full_file("/proc/sys/kernel/random/boot_id", 128, &text, &n);

        if (r < 0)
                return r;
        while (n > 0 && text[n - 1] == '\n')
                n--;
        if (n != 36)
                return -EBADMSG;
        for (size_t i = 0; i < 36; i++)
                text[i] = (char)tolower((unsigned char)text[i]);
        if (!is_lower_guid(text, 36))
                return -EBADMSG;
        memcpy(ret, text, 36);
        ret[36] = 0;
        return 0;
}
