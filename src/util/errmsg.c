/* SPDX-License-Identifier: MIT */
#include <stdarg.h>

#include "util/errmsg.h"

int errmsg(char **why, int r, const char *format, ...)
{
        va_list ap;
        char *s;

        if (!why)
                return r;
        va_start(ap, format);
        if (vasprintf(&s, format, ap) < 0)
                s = NULL;
        va_end(ap);
        free(*why);
        *why = s;
        return r;
}

int errmsg_prefix(char **why, int r, const char *format, ...)
{
        _cleanup_free_ char *ctx = NULL;
        va_list ap;
        char *s;

        if (!why)
                return r;
        va_start(ap, format);
        if (vasprintf(&ctx, format, ap) < 0)
                ctx = NULL;
        va_end(ap);
        if (!ctx)
                return r;
        if (asprintf(&s, "%s: %s", ctx, *why ? *why : "unknown reason") < 0)
                return r;
        free(*why);
        *why = s;
        return r;
}
