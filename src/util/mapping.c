/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "util/macro.h"
#include "util/mapping.h"

struct vma {
        uintptr_t start, end;
        bool candidate; /* private, read-only, of a file */
        bool anonymous; /* holds pages of its own */
        bool locked;    /* mlock'd or a device (pfn) mapping: never touched */
        uint64_t rss;   /* kB */
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
                .start = start,
                .end = end,
                /* a file (inode, absolute path: not [vdso], [heap] or an anonymous map) */
                .candidate = perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p' && inode != 0 &&
                             path_at > 0 && line[path_at] == '/',
        };
        return true;
}

/* v's range when nothing of it is its own: appended to *ranges. */
static int vma_keep(const struct vma *v, struct vma **ranges, size_t *n)
{
        struct vma *t;

        if (!v->candidate || v->anonymous || v->locked || v->rss == 0 || v->end <= v->start)
                return 0;
        t = reallocarray(*ranges, *n + 1, sizeof(**ranges));
        if (!t)
                return -ENOMEM;
        *ranges = t;
        t[(*n)++] = *v;
        return 0;
}

int mappings_release_clean(const char *smaps, uint64_t *ret_bytes)
{
        _cleanup_fclose_ FILE *f = fopen(smaps ?: "/proc/self/smaps", "re");
        _cleanup_free_ char *line = NULL;
        _cleanup_free_ struct vma *ranges = NULL;
        size_t alloc = 0, n_ranges = 0;
        struct vma v = {};
        bool have = false;
        uint64_t released = 0;
        int r;

        if (!f)
                return negative_errno();
        /* The whole file read and checked before anything is released. */
        for (;;) {
                ssize_t n;
                uint64_t kb;

                errno = 0;
                n = getline(&line, &alloc, f);
                if (n < 0) {
                        if (errno != 0)
                                return negative_errno();
                        break;
                }
                if (n > 0 && line[n - 1] == '\n')
                        line[n - 1] = 0;
                /* a field line starts with a capital: "Rss:", "Anonymous:", "VmFlags:" */
                if (line[0] >= 'A' && line[0] <= 'Z') {
                        if (!have)
                                return -EBADMSG;
                        if (sscanf(line, "Rss: %" SCNu64 " kB", &kb) == 1)
                                v.rss = kb;
                        else if (sscanf(line, "Anonymous: %" SCNu64 " kB", &kb) == 1)
                                v.anonymous = kb > 0;
                        else if (startswith(line, "VmFlags:"))
                                v.locked = strstr(line, " lo") || strstr(line, " pf") ||
                                           strstr(line, " io");
                        continue;
                }
                if (have) {
                        r = vma_keep(&v, &ranges, &n_ranges);
                        if (r < 0)
                                return r;
                }
                if (!parse_header(line, &v))
                        return -EBADMSG;
                have = true;
        }
        if (have) {
                r = vma_keep(&v, &ranges, &n_ranges);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n_ranges; i++)
                if (madvise((void *)ranges[i].start, ranges[i].end - ranges[i].start,
                            MADV_DONTNEED) == 0)
                        released += ranges[i].rss * 1024;
        if (ret_bytes)
                *ret_bytes = released;
        return 0;
}
