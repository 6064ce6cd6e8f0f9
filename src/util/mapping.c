/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util/fileio.h"
#include "util/macro.h"
#include "util/mapping.h"

struct vma {
        struct mapping_range r;
        bool candidate; /* private, read-only, of a file */
        bool anonymous; /* holds pages of its own */
        bool locked;    /* mlock'd or a device (pfn, io) mapping: never touched */
};

/* A header line: "start-end perms offset major:minor inode [path]". */
static bool parse_header(const char *line, struct vma *ret)
{
        char perms[5] = {};
        unsigned long long inode;
        uintptr_t start, end;
        int path_at = -1;

        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s %*x %*x:%*x %llu %n", &start, &end, perms,
                   &inode, &path_at) < 4)
                return false;
        *ret = (struct vma){
                .r = { .start = start, .end = end },
                /* a file (inode, absolute path: not [vdso], [heap] or an anonymous map) */
                .candidate = perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p' && inode != 0 &&
                             path_at > 0 && line[path_at] == '/',
        };
        return true;
}

/* v's range, when nothing of it is its own: appended to *ranges. */
static int vma_keep(const struct vma *v, struct mapping_range **ranges, size_t *n)
{
        struct mapping_range *t;

        if (!v->candidate || v->anonymous || v->locked || v->r.rss_kb == 0 ||
            v->r.end <= v->r.start)
                return 0;
        t = reallocarray(*ranges, *n + 1, sizeof(**ranges));
        if (!t)
                return -ENOMEM;
        *ranges = t;
        t[(*n)++] = v->r;
        return 0;
}

int mappings_parse_clean(const char *text, struct mapping_range **ret, size_t *ret_n)
{
        _cleanup_free_ struct mapping_range *ranges = NULL;
        size_t n_ranges = 0;
        struct vma v = {};
        bool have = false;
        int r;

        for (const char *line = text; *line;) {
                const char *eol = strchrnul(line, '\n');
                _cleanup_free_ char *l = strndup(line, (size_t)(eol - line));
                uint64_t kb;

                if (!l)
                        return -ENOMEM;
                line = *eol ? eol + 1 : eol;
                /* a field line starts with a capital: "Rss:", "Anonymous:", "VmFlags:" */
                if (l[0] >= 'A' && l[0] <= 'Z') {
                        if (!have)
                                return -EBADMSG;
                        if (sscanf(l, "Rss: %" SCNu64 " kB", &kb) == 1)
                                v.r.rss_kb = kb;
                        else if (sscanf(l, "Anonymous: %" SCNu64 " kB", &kb) == 1)
                                v.anonymous = kb > 0;
                        else if (startswith(l, "VmFlags:"))
                                v.locked = strstr(l, " lo") || strstr(l, " pf") || strstr(l, " io");
                        continue;
                }
                if (have) {
                        r = vma_keep(&v, &ranges, &n_ranges);
                        if (r < 0)
                                return r;
                }
                if (!parse_header(l, &v))
                        return -EBADMSG;
                have = true;
        }
        if (have) {
                r = vma_keep(&v, &ranges, &n_ranges);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(ranges);
        *ret_n = n_ranges;
        return 0;
}

int mappings_release_clean(uint64_t *ret_bytes)
{
        _cleanup_free_ struct mapping_range *ranges = NULL;
        _cleanup_free_ char *text = NULL;
        size_t n = 0;
        uint64_t released = 0;
        int r;

        /* The whole file read and parsed before anything is released. */
        r = read_full_file("/proc/self/smaps", 64 << 20, &text, NULL);
        if (r < 0)
                return r;
        r = mappings_parse_clean(text, &ranges, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (madvise((void *)ranges[i].start, ranges[i].end - ranges[i].start,
                            MADV_DONTNEED) == 0)
                        released += ranges[i].rss_kb * 1024;
        if (ret_bytes)
                *ret_bytes = released;
        return 0;
}
