/* SPDX-License-Identifier: MIT */
/* /proc/swaps' swap files (procswaps.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "procswaps.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/strv.h"

/* The next blank-separated field of [*p, end), unescaped when esc; NULL at the line's end.
 * -EBADMSG for a bad escape. */
static int field(const char **p, const char *end, bool esc, char **ret)
{
        const char *s = *p, *e;
        _cleanup_free_ char *f = NULL;
        size_t n = 0;

        while (s < end && (*s == ' ' || *s == '\t'))
                s++;
        e = s;
        while (e < end && *e != ' ' && *e != '\t')
                e++;
        *p = e;
        if (e == s) {
                *ret = NULL;
                return 0;
        }
        f = malloc((size_t)(e - s) + 1);
        if (!f)
                return -ENOMEM;
        while (s < e) {
                if (esc && *s == '\\') {
                        unsigned v = 0;

                        if (e - s < 4)
                                return -EBADMSG;
                        for (int k = 1; k <= 3; k++) {
                                if (s[k] < '0' || s[k] > '7')
                                        return -EBADMSG;
                                v = v * 8 + (unsigned)(s[k] - '0');
                        }
                        if (v == 0 || v > 255)
                                return -EBADMSG;
                        f[n++] = (char)v;
                        s += 4;
                } else
                        f[n++] = *s++;
        }
        f[n] = 0;
        *ret = TAKE_PTR(f);
        return 0;
}

int procswaps_parse(const char *text, size_t size, char ***ret, char **why)
{
        _cleanup_strv_free_ char **l = NULL;
        const char *p = text, *end = text + size;
        unsigned line = 0;

        if (size > PROCSWAPS_MAX)
                return errmsg(why, -EBADMSG, "%zu bytes, more than %d", size, PROCSWAPS_MAX);
        if (memchr(text, 0, size))
                return errmsg(why, -EBADMSG, "a NUL byte at offset %zu",
                              (size_t)((const char *)memchr(text, 0, size) - text));
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end, *q = p;
                _cleanup_free_ char *name = NULL, *type = NULL, *rest = NULL;
                int r;

                line++;
                if (line == 1) {
                        if ((size_t)(e - p) < strlen("Filename") ||
                            strncmp(p, "Filename", strlen("Filename")) != 0)
                                return errmsg(why, -EBADMSG,
                                              "line 1: no header (\"Filename Type Size Used "
                                              "Priority\")");
                        p = nl ? nl + 1 : end;
                        continue;
                }
                r = field(&q, e, true, &name);
                if (r == -EBADMSG)
                        return errmsg(why, r, "line %u: a bad octal escape in the file name", line);
                if (r < 0)
                        return r;
                if (!name) { /* a blank line */
                        p = nl ? nl + 1 : end;
                        continue;
                }
                r = field(&q, e, false, &type);
                if (r < 0)
                        return r;
                for (int k = 0; k < 3 && r >= 0; k++) {
                        free(rest);
                        rest = NULL;
                        r = field(&q, e, false, &rest);
                        if (r >= 0 && !rest)
                                r = -EBADMSG;
                }
                if (r == -ENOMEM)
                        return r;
                if (!type || r < 0)
                        return errmsg(why, -EBADMSG,
                                      "line %u: fewer than five fields (file name, type, size, "
                                      "used, priority)",
                                      line);
                if (name[0] != '/')
                        return errmsg(why, -EBADMSG, "line %u: \"%s\" is no absolute path", line,
                                      name);
                if (streq(type, "file")) {
                        if (strv_push(&l, name) < 0)
                                return -ENOMEM;
                        name = NULL; /* l holds it */
                }
                p = nl ? nl + 1 : end;
        }
        if (line == 0)
                return errmsg(why, -EBADMSG, "empty: no header line");
        *ret = TAKE_PTR(l);
        return 0;
}

int procswaps_files(char ***ret, char **why)
{
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = read_full_file(PROCSWAPS_PATH, PROCSWAPS_MAX, &text, &size);
        if (r < 0)
                return errmsg(why, r, "cannot read %s: %s", PROCSWAPS_PATH, strerror(-r));
        r = procswaps_parse(text, size, ret, why);
        return r < 0 ? errmsg_prefix(why, r, "%s", PROCSWAPS_PATH) : 0;
}
