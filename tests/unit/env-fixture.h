/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The helpers of the unit tests that build a machine in a directory of their own (test-bootentry,
 * test-drill, test-status): paths, text files with their directories, efivars written in process
 * (tests/tools/mkefivar.c, included first with MKEFIVAR_NO_MAIN) and, for nftw(), the removal of
 * each file. Include after cmocka.h. test-bls uses its files too.
 */

#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "util/macro.h"

static inline char *join(const char *a, const char *b)
{
        char *p;

        assert_true(asprintf(&p, "%s/%s", a, b) >= 0);
        return p;
}

/* root/rel holding text, its directories made. */
static inline void put(const char *root, const char *rel, const char *text)
{
        _cleanup_free_ char *p = join(root, rel);
        FILE *f;

        for (char *s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
                *s = 0;
                (void)mkdir(p, 0755);
                *s = '/';
        }
        f = fopen(p, "we");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

/* For nftw(..., FTW_DEPTH | FTW_PHYS): a tree's removal. */
static inline int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(p);
}

#ifdef MKEFIVAR_NO_MAIN
/* mkefivar DIR ARGS... (NULL-terminated) in process. */
static inline void mkefivar(const char *dir, ...)
{
        char *argv[16] = { (char *)"mkefivar", (char *)dir };
        int argc = 2;
        va_list ap;

        va_start(ap, dir);
        for (char *a; (a = va_arg(ap, char *));)
                argv[argc++] = a;
        va_end(ap);
        assert_int_equal(mkefivar_run(argc, argv), 0);
}
#endif
