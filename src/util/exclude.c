/* SPDX-License-Identifier: MIT */
#include <fnmatch.h>

#include "util/exclude.h"
#include "util/macro.h"
#include "util/strv.h"

/* fnmatch() of the first n bytes of pat; most patterns have no wildcard and compare as
 * strings, without copying (this runs for every entry of a tree walk). */
static bool match_n(const char *pat, size_t n, const char *s, int flags)
{
        _cleanup_free_ char *copy = NULL;

        if (strcspn(pat, "*?[\\") >= n)
                return strlen(s) == n && strncmp(pat, s, n) == 0;
        if (pat[n] == 0)
                return fnmatch(pat, s, flags) == 0;
        copy = strndup(pat, n);
        return copy && fnmatch(copy, s, flags) == 0;
}

static bool match_one(const char *pat, size_t n, const char *rel, const char *base)
{
        if (pat[0] == '/')
                return match_n(pat + 1, n - 1, rel, FNM_PATHNAME);
        if (!memchr(pat, '/', n))
                return match_n(pat, n, base, 0);
        for (const char *s = rel;;) {
                if (match_n(pat, n, s, FNM_PATHNAME))
                        return true;
                s = strchr(s, '/');
                if (!s)
                        return false;
                s++;
        }
}

bool exclude_match(char *const *patterns, const char *rel, bool is_dir)
{
        const char *base = strrchr(rel, '/');

        base = base ? base + 1 : rel;
        STRV_FOREACH(x, patterns)
        {
                size_t n = strlen(*x);

                if (n > 1 && (*x)[n - 1] == '/') {
                        if (!is_dir)
                                continue;
                        n--;
                }
                if (match_one(*x, n, rel, base))
                        return true;
        }
        return false;
}
