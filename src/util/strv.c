/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include "util/strv.h"

char **strv_free(char **l)
{
        if (!l)
                return NULL;
        for (char **p = l; *p; p++)
                free(*p);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l)
{
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

bool strv_contains(char *const *l, const char *s)
{
        STRV_FOREACH(p, l)
        if (streq(*p, s))
                return true;
        return false;
}

int strv_push(char ***l, char *s)
{
        size_t n = strv_length(*l);
        char **t;

        t = reallocarray(*l, n + 2, sizeof(char *));
        if (!t)
                return -ENOMEM;
        t[n] = s;
        t[n + 1] = NULL;
        *l = t;
        return 0;
}

int strv_extend(char ***l, const char *s)
{
        char *c = strdup(s);
        int r;

        if (!c)
                return -ENOMEM;
        r = strv_push(l, c);
        if (r < 0)
                free(c);
        return r;
}

int strv_extend_strv(char ***l, char *const *other)
{
        STRV_FOREACH(p, other)
        {
                int r = strv_extend(l, *p);
                if (r < 0)
                        return r;
        }
        return 0;
}

char **strv_copy(char *const *l)
{
        char **c = calloc(1, sizeof(char *));

        if (!c)
                return NULL;
        if (strv_extend_strv(&c, l) < 0)
                return strv_free(c);
        return c;
}

int strv_split_blank(const char *s, char ***ret)
{
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        const char *blank = " \t\n\r";

        if (!l)
                return -ENOMEM;
        while (*(s += strspn(s, blank))) {
                size_t n = strcspn(s, blank);
                char *w = strndup(s, n);

                if (!w)
                        return -ENOMEM;
                if (strv_push(&l, w) < 0) {
                        free(w);
                        return -ENOMEM;
                }
                s += n;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

char *strv_join(char *const *l, const char *sep)
{
        size_t len = 1, k = strlen(sep);
        char *s, *p;

        STRV_FOREACH(i, l)
        len += strlen(*i) + k;
        s = p = malloc(len);
        if (!s)
                return NULL;
        *p = 0;
        STRV_FOREACH(i, l)
        {
                if (i != l)
                        p = stpcpy(p, sep);
                p = stpcpy(p, *i);
        }
        return s;
}

static int cmp_strp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

void strv_sort(char **l)
{
        size_t n = strv_length(l);

        if (n > 1)
                qsort(l, n, sizeof(char *), cmp_strp);
}

int strv_extendf(char ***l, const char *format, ...)
{
        va_list ap;
        char *s;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        r = strv_push(l, s);
        if (r < 0)
                free(s);
        return r;
}
