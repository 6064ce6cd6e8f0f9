/* SPDX-License-Identifier: MIT */
#include <fnmatch.h>

#include "util/exclude.h"
#include "util/macro.h"
#include "util/strv.h"

static bool match_one(const char *pat, size_t n, const char *rel, const char *base)
{
        _cleanup_free_ char *p = strndup(pat, n);

        if (!p)
                return false;
        if (p[0] == '/')
                return fnmatch(p + 1, rel, FNM_PATHNAME) == 0;
        if (!strchr(p, '/'))
                return fnmatch(p, base, 0) == 0;
        for (const char *s = rel;;) {
                if (fnmatch(p, s, FNM_PATHNAME) == 0)
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
        STRV_FOREACH(x, patterns) {
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
