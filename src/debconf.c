/* SPDX-License-Identifier: MIT */
/* Debian's debconf database, as debconf's File driver writes it (DESIGN.md §11b L6). */
#include <ctype.h>

#include "debconf.h"
#include "util/errmsg.h"
#include "util/strv.h"

int debconf_value(const char *text, size_t size, const char *name, char **ret, char **why)
{
        bool in_stanza = false;
        const char *value = NULL;
        size_t value_len = 0, start = 0;
        unsigned line = 1;

        if (size > DEBCONF_DAT_MAX)
                return errmsg(why, -EFBIG, "larger than %d bytes", DEBCONF_DAT_MAX);
        if (memchr(text, '\0', size))
                return errmsg(why, -EBADMSG, "a NUL byte: not debconf's database");
        for (; start < size; line++) {
                const char *s = text + start, *nl = memchr(s, '\n', size - start), *colon;
                size_t n = nl ? (size_t)(nl - s) : size - start;

                start += n + 1;
                if (n == 0) { /* the end of a stanza */
                        if (in_stanza)
                                break;
                        value = NULL;
                        continue;
                }
                if (s[0] == ' ' || s[0] == '\t')
                        continue; /* a continuation line (extended descriptions) */
                colon = memchr(s, ':', n);
                if (!colon)
                        return errmsg(why, -EBADMSG, "line %u: a field without a colon", line);
                if (colon - s == 4 && memcmp(s, "Name", 4) == 0) {
                        const char *v = colon + 1;
                        size_t vl = n - (size_t)(v - s);

                        while (vl && isspace((unsigned char)*v))
                                v++, vl--;
                        while (vl && isspace((unsigned char)v[vl - 1]))
                                vl--;
                        in_stanza = vl == strlen(name) && memcmp(v, name, vl) == 0;
                } else if (colon - s == 5 && memcmp(s, "Value", 5) == 0) {
                        value = colon + 1;
                        value_len = n - (size_t)(value - s);
                        while (value_len && isspace((unsigned char)*value))
                                value++, value_len--;
                }
        }
        if (!in_stanza || !value)
                return -ENOENT;
        while (value_len && isspace((unsigned char)value[value_len - 1]))
                value_len--;
        *ret = strndup(value, value_len);
        return *ret ? 0 : -ENOMEM;
}

int debconf_split_list(const char *value, char ***ret)
{
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

        if (!l)
                return -ENOMEM;
        for (const char *p = value; *p;) {
                const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p);
                const char *a = p, *b = end;

                while (a < b && isspace((unsigned char)*a))
                        a++;
                while (b > a && isspace((unsigned char)b[-1]))
                        b--;
                if (b > a) {
                        char *item = strndup(a, b - a);

                        if (!item || strv_push(&l, item) < 0) {
                                free(item);
                                return -ENOMEM;
                        }
                }
                p = comma ? comma + 1 : end;
        }
        *ret = TAKE_PTR(l);
        return 0;
}
