/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "disk.h"
#include "md.h"
#include "util/dirent-util.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/strv.h"

const char *const md_conf_paths[] = { "/etc/mdadm/mdadm.conf", "/etc/mdadm.conf", NULL };

static int parse_u64(const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        if (!s || !isdigit((unsigned char)*s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno)
                return -errno;
        *ret = v;
        return (int)(end - s);
}

void md_array_done(struct md_array *a)
{
        assert(a);
        for (size_t i = 0; i < a->n_members; i++) {
                free(a->members[i].name);
                free(a->members[i].disk);
                free(a->members[i].state);
        }
        free(a->members);
        free(a->name);
        free(a->level);
        free(a->array_state);
        free(a->sync_action);
        free(a->uuid);
        *a = (struct md_array){};
}

static int read_member(const char *mddir, const char *entry, struct md_member *m, char **why)
{
        _cleanup_free_ char *dir = NULL, *slot = NULL, *link = NULL;
        _cleanup_strv_free_ char **words = NULL;
        int r;

        if (asprintf(&dir, "%s/%s", mddir, entry) < 0)
                return -ENOMEM;
        m->name = strdup(entry + strlen("dev-"));
        if (!m->name)
                return -ENOMEM;
        r = read_first_line_at(dir, "state", &m->state);
        if (r < 0)
                return errmsg(why, r, "%s/state: %s", dir, strerror(-r));
        {
                /* the words are comma-separated */
                _cleanup_free_ char *copy = strdup(m->state);

                if (!copy)
                        return -ENOMEM;
                for (char *c = copy; *c; c++)
                        if (*c == ',')
                                *c = ' ';
                r = strv_split_blank(copy, &words);
                if (r < 0)
                        return r;
        }
        m->faulty = strv_contains(words, "faulty");
        m->in_sync = strv_contains(words, "in_sync") && !m->faulty;

        m->slot = -1;
        r = read_first_line_at(dir, "slot", &slot);
        if (r < 0)
                return errmsg(why, r, "%s/slot: %s", dir, strerror(-r));
        if (!streq(slot, "none")) {
                uint64_t v;
                int k = parse_u64(slot, &v);

                if (k < 0 || slot[k] || v > INT_MAX)
                        return errmsg(why, -EINVAL, "%s/slot: \"%s\" is not a number nor \"none\"",
                                      dir, slot);
                m->slot = (int)v;
        }
        /* "block" links to the member's own sysfs directory: its name, and its disk. */
        if (asprintf(&link, "%s/block", dir) < 0)
                return -ENOMEM;
        r = disk_names_of_dir(link, NULL, &m->disk, &m->partno);
        if (r == -ENOMEM)
                return r;
        return 0;
}

static int cmp_member(const void *a, const void *b)
{
        const struct md_member *x = a, *y = b;

        if (x->slot != y->slot)
                return x->slot < 0 ? 1 : y->slot < 0 ? -1 : x->slot < y->slot ? -1 : 1;
        return strcmp(x->name, y->name);
}

/* "xxxxxxxx-xxxx-..." or "xxxxxxxx:xxxxxxxx:..." to 32 lower-case hex digits; NULL when s does
 * not have exactly 32. */
static char *uuid_digits(const char *s)
{
        char buf[33];
        size_t n = 0;

        for (; *s; s++) {
                if (*s == '-' || *s == ':' || *s == '.')
                        continue;
                if (!isxdigit((unsigned char)*s) || n >= 32)
                        return NULL;
                buf[n++] = (char)tolower((unsigned char)*s);
        }
        if (n != 32)
                return NULL;
        buf[n] = 0;
        return strdup(buf);
}

int md_array_read(const char *sysfs, const char *name, struct md_array *ret, char **why)
{
        _cleanup_(md_array_done) struct md_array a = {};
        _cleanup_free_ char *mddir = NULL, *s = NULL;
        _cleanup_closedir_ DIR *dir = NULL;
        struct dirent *de;
        uint64_t v;
        int r, k;

        assert(sysfs);
        assert(name);
        assert(ret);
        if (asprintf(&mddir, "%s/block/%s/md", sysfs, name) < 0)
                return -ENOMEM;
        dir = opendir(mddir);
        if (!dir) {
                r = -errno;
                if (r == -ENOENT || r == -ENOTDIR)
                        return errmsg(why, -ENOENT, "%s is no md array (no %s)", name, mddir);
                return errmsg(why, r, "cannot read %s: %m", mddir);
        }
        a.name = strdup(name);
        if (!a.name)
                return -ENOMEM;

        r = read_first_line_at(mddir, "level", &a.level);
        if (r < 0)
                return errmsg(why, r, "%s/level: %s", mddir, strerror(-r));
        r = read_first_line_at(mddir, "array_state", &a.array_state);
        if (r < 0)
                return errmsg(why, r, "%s/array_state: %s", mddir, strerror(-r));
        /* "N", or "N (M)" while a reshape changes the count from M */
        r = read_first_line_at(mddir, "raid_disks", &s);
        if (r < 0)
                return errmsg(why, r, "%s/raid_disks: %s", mddir, strerror(-r));
        k = parse_u64(s, &v);
        if (k < 0 || v > 4096 || (s[k] && s[k] != ' '))
                return errmsg(why, -EINVAL, "%s/raid_disks: \"%s\" is not a count of disks", mddir,
                              s);
        a.raid_disks = (unsigned)v;
        free(s);
        s = NULL;

        /* Levels without redundancy have no degraded, sync_action or sync_completed. */
        r = read_first_line_at(mddir, "degraded", &s);
        if (r >= 0) {
                k = parse_u64(s, &v);
                if (k < 0 || s[k] || v > a.raid_disks)
                        return errmsg(why, -EINVAL, "%s/degraded: \"%s\" is not a count of disks",
                                      mddir, s);
                a.degraded = (unsigned)v;
        } else if (r != -ENOENT) {
                return errmsg(why, r, "%s/degraded: %s", mddir, strerror(-r));
        }
        free(s);
        s = NULL;
        r = read_first_line_at(mddir, "layout", &s);
        if (r >= 0 && parse_u64(s, &v) > 0)
                a.layout = (uint32_t)v;
        free(s);
        s = NULL;
        r = read_first_line_at(mddir, "sync_action", &a.sync_action);
        if (r < 0 && r != -ENOENT)
                return errmsg(why, r, "%s/sync_action: %s", mddir, strerror(-r));
        /* "none", "delayed", or "DONE / TOTAL" in sectors */
        r = read_first_line_at(mddir, "sync_completed", &s);
        if (r >= 0 && isdigit((unsigned char)s[0])) {
                uint64_t done, total;

                k = parse_u64(s, &done);
                if (k < 0 || !startswith(s + k, " / ") || parse_u64(s + k + 3, &total) < 0 ||
                    total == 0 || done > total)
                        return errmsg(why, -EINVAL,
                                      "%s/sync_completed: \"%s\" is not \"DONE / TOTAL\"", mddir,
                                      s);
                a.sync_running = true;
                a.sync_done = done;
                a.sync_total = total;
        }
        free(s);
        s = NULL;
        r = read_first_line_at(mddir, "sync_speed", &s);
        if (r >= 0 && parse_u64(s, &v) > 0)
                a.sync_speed = v;
        free(s);
        s = NULL;
        /* md/uuid (kernel 5.x and later); older kernels show none: the caller says so. */
        r = read_first_line_at(mddir, "uuid", &s);
        if (r >= 0)
                a.uuid = uuid_digits(s);

        while ((errno = 0, de = readdir(dir))) {
                struct md_member *m;

                if (!startswith(de->d_name, "dev-") || !de->d_name[4])
                        continue;
                if (a.n_members >= 1024)
                        return errmsg(why, -E2BIG, "%s: more than 1024 members", mddir);
                m = reallocarray(a.members, a.n_members + 1, sizeof(*m));
                if (!m)
                        return -ENOMEM;
                a.members = m;
                m = &a.members[a.n_members++];
                *m = (struct md_member){ .slot = -1 };
                r = read_member(mddir, de->d_name, m, why);
                if (r < 0)
                        return r;
        }
        if (errno)
                return errmsg(why, -errno, "cannot read %s: %m", mddir);
        if (a.n_members > 1)
                qsort(a.members, a.n_members, sizeof(*a.members), cmp_member);
        *ret = a;
        a = (struct md_array){};
        return 0;
}

static int under_dir(const char *dir, unsigned depth, char ***ret)
{
        _cleanup_free_ char *md = NULL, *part = NULL, *slaves = NULL, *real = realpath(dir, NULL);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r;

        if (!real)
                return -errno;
        if (depth > 8)
                return 0;
        if (asprintf(&md, "%s/md", real) < 0 || asprintf(&part, "%s/partition", real) < 0 ||
            asprintf(&slaves, "%s/slaves", real) < 0)
                return -ENOMEM;
        if (access(md, F_OK) == 0) {
                const char *name = strrchr(real, '/') + 1;

                return strv_contains(*ret, name) ? 0 : strv_extend(ret, name);
        }
        if (access(part, F_OK) == 0) {
                /* a partition of an array (md0p1): its parent */
                _cleanup_free_ char *parent = NULL;

                if (asprintf(&parent, "%s/..", real) < 0)
                        return -ENOMEM;
                r = under_dir(parent, depth + 1, ret);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        d = opendir(slaves);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((errno = 0, de = readdir(d))) {
                _cleanup_free_ char *sub = NULL;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&sub, "%s/%s", slaves, de->d_name) < 0)
                        return -ENOMEM;
                r = under_dir(sub, depth + 1, ret);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        return errno ? -errno : 0;
}

int md_arrays_under(const char *sysfs, dev_t dev, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *dir = NULL;
        int r;

        assert(sysfs);
        assert(ret);
        if (asprintf(&dir, "%s/dev/block/%u:%u", sysfs, major(dev), minor(dev)) < 0)
                return -ENOMEM;
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        r = under_dir(dir, 0, &l);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

bool md_uuid_equal(const char *a, const char *b)
{
        _cleanup_free_ char *x = a ? uuid_digits(a) : NULL, *y = b ? uuid_digits(b) : NULL;

        return x && y && streq(x, y);
}

const struct md_member *md_member_in_slot(const struct md_array *a, int slot)
{
        assert(a);
        for (size_t i = 0; i < a->n_members; i++)
                if (a->members[i].slot == slot)
                        return &a->members[i];
        return NULL;
}

/* Whether an in-sync member holds the slot, its disk not gone and it not the one taken out. */
static bool slot_alive(const struct md_array *a, unsigned slot, char *const *gone,
                       const struct md_member *without)
{
        for (size_t i = 0; i < a->n_members; i++) {
                const struct md_member *m = &a->members[i];

                if (m != without && m->slot == (int)slot && m->in_sync &&
                    !(m->disk && strv_contains(gone, m->disk)))
                        return true;
        }
        return false;
}

static bool survives(const struct md_array *a, char *const *gone_disks,
                     const struct md_member *without)
{
        unsigned lost = 0, n = a->raid_disks;

        if (n == 0)
                return false;
        for (unsigned s = 0; s < n; s++)
                if (!slot_alive(a, s, gone_disks, without))
                        lost++;
        if (streq_ptr(a->level, "raid1"))
                return lost < n;
        if (streq_ptr(a->level, "raid4") || streq_ptr(a->level, "raid5"))
                return lost <= 1;
        if (streq_ptr(a->level, "raid6"))
                return lost <= 2;
        if (streq_ptr(a->level, "raid10")) {
                unsigned near = a->layout & 0xff, far = (a->layout >> 8) & 0xff;
                unsigned copies = (near ? near : 1) * (far ? far : 1);

                if (copies <= 1)
                        return lost == 0;
                if (far <= 1 && n % near == 0) {
                        /* near copies: slots k*near .. k*near+near-1 mirror each other */
                        for (unsigned g = 0; g < n; g += near) {
                                bool any = false;

                                for (unsigned s = g; s < g + near; s++)
                                        any = any || slot_alive(a, s, gone_disks, without);
                                if (!any)
                                        return false;
                        }
                        return true;
                }
                /* far/offset, or near not dividing the disks: a block's copies lie on
                 * consecutive slots (wrapping); no run of `copies` lost slots is safe. */
                for (unsigned s = 0; s < n; s++) {
                        unsigned run = 0;

                        while (run < copies && !slot_alive(a, (s + run) % n, gone_disks, without))
                                run++;
                        if (run >= copies)
                                return false;
                }
                return true;
        }
        return lost == 0;
}

bool md_survives(const struct md_array *a, char *const *gone_disks)
{
        assert(a);
        return survives(a, gone_disks, NULL);
}

bool md_redundant(const struct md_array *a)
{
        assert(a);
        if (!survives(a, NULL, NULL))
                return false;
        for (size_t i = 0; i < a->n_members; i++)
                if (a->members[i].in_sync && a->members[i].slot >= 0 &&
                    !survives(a, NULL, &a->members[i]))
                        return false;
        return true;
}

int64_t md_sync_seconds_left(const struct md_array *a, unsigned *ret_permille)
{
        assert(a);
        if (!a->sync_running)
                return -1;
        if (ret_permille)
                *ret_permille = (unsigned)(a->sync_done * 1000 / a->sync_total);
        if (a->sync_speed == 0)
                return -1;
        /* sectors of 512 bytes, speed in KiB/s */
        return (int64_t)((a->sync_total - a->sync_done) / 2 / a->sync_speed);
}

/* ---- mdadm.conf ---- */

/* The next logical line: a line and its continuation lines (starting with a blank), comments
 * cut. *pos advances; *line_no is the first physical line's number. */
static int next_logical(const char **pos, unsigned *phys, unsigned *line_no, char **ret)
{
        const char *p = *pos;
        size_t cap = 0, len = 0;
        char *buf = NULL;
        bool first = true;

        while (*p) {
                const char *eol = strchrnul(p, '\n');
                size_t n = (size_t)(eol - p);
                const char *hash = memchr(p, '#', n);
                char *nb;

                if (!first && !(*p == ' ' || *p == '\t'))
                        break;
                if (first)
                        *line_no = *phys + 1;
                first = false;
                (*phys)++;
                if (hash)
                        n = (size_t)(hash - p);
                if (len + n + 2 > cap) {
                        cap = (len + n + 2) * 2;
                        nb = realloc(buf, cap);
                        if (!nb) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = nb;
                }
                buf[len++] = ' ';
                memcpy(buf + len, p, n);
                len += n;
                buf[len] = 0;
                p = *eol ? eol + 1 : eol;
        }
        *pos = p;
        *ret = buf;
        return buf ? 1 : 0;
}

int md_conf_find(const char *text, const char *uuid, unsigned *ret_line, char **ret_devices)
{
        _cleanup_free_ char *want = uuid_digits(uuid);
        const char *pos = text;
        unsigned phys = 0, line = 0;
        int r;

        assert(text);
        assert(uuid);
        if (!want)
                return 0;
        for (;;) {
                _cleanup_free_ char *l = NULL, *got = NULL;
                _cleanup_strv_free_ char **w = NULL;
                const char *devices = NULL;

                r = next_logical(&pos, &phys, &line, &l);
                if (r <= 0)
                        return r;
                r = strv_split_blank(l, &w);
                if (r < 0)
                        return r;
                /* keywords may be shortened to three letters, any case (mdadm.conf(5)) */
                if (!w[0] || strlen(w[0]) < 3 || strncasecmp(w[0], "array", strlen(w[0])) != 0)
                        continue;
                for (size_t i = 1; w[i]; i++) {
                        const char *eq = strchr(w[i], '=');

                        if (!eq)
                                continue;
                        if ((size_t)(eq - w[i]) == 4 && strncasecmp(w[i], "uuid", 4) == 0) {
                                free(got);
                                got = uuid_digits(eq + 1);
                        } else if ((size_t)(eq - w[i]) == 7 &&
                                   strncasecmp(w[i], "devices", 7) == 0) {
                                devices = eq + 1;
                        }
                }
                if (!got || !streq(got, want))
                        continue;
                *ret_line = line;
                *ret_devices = NULL;
                if (devices) {
                        *ret_devices = strdup(devices);
                        if (!*ret_devices)
                                return -ENOMEM;
                }
                return 1;
        }
}
