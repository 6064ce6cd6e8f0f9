/* SPDX-License-Identifier: MIT */
/* BOOT<ARCH>.CSV of shim's fallback: UCS-2 lines of "file,label,options,description"
 * (DESIGN.md §11b L8). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shimcsv.h"
#include "util/errmsg.h"
#include "util/utf8.h"

static void line_done(struct shimcsv_line *l)
{
        free(l->file);
        free(l->label);
        free(l->options);
}

void shimcsv_done(struct shimcsv *c)
{
        for (size_t i = 0; i < c->n; i++)
                line_done(&c->lines[i]);
        free(c->lines);
        *c = (struct shimcsv){};
}

/* Field k (0-based, ',' separated) of a UTF-8 line, blanks kept as shim keeps them. */
static char *field(const char *line, size_t k)
{
        const char *p = line, *end;

        for (; k > 0; k--) {
                p = strchr(p, ',');
                if (!p)
                        return strdup("");
                p++;
        }
        end = strchr(p, ',');
        return strndup(p, end ? (size_t)(end - p) : strlen(p));
}

static int add_line(struct shimcsv *c, const char *text, unsigned no, char **why)
{
        struct shimcsv_line l = { .line = no }, *t;

        if (!(l.file = field(text, 0)) || !(l.label = field(text, 1)) ||
            !(l.options = field(text, 2))) {
                line_done(&l);
                return -ENOMEM;
        }
        if (!*l.file || !*l.label || !strchr(text, ',')) {
                line_done(&l);
                return errmsg(why, -EBADMSG,
                              "line %u: \"%.80s\" is not \"file,label[,options,description]\"", no,
                              text);
        }
        t = reallocarray(c->lines, c->n + 1, sizeof(*t));
        if (!t) {
                line_done(&l);
                return -ENOMEM;
        }
        c->lines = t;
        t[c->n++] = l;
        return 0;
}

int shimcsv_parse(const void *data, size_t size, struct shimcsv *ret, char **why)
{
        _cleanup_(shimcsv_done) struct shimcsv c = {};
        const uint8_t *b = data;
        _cleanup_free_ char *line = NULL;
        size_t len = 0, i = 0;
        unsigned no = 1;
        int r;

        if (size > SHIMCSV_MAX)
                return errmsg(why, -EBADMSG, "%zu bytes, more than the %d a CSV may have", size,
                              SHIMCSV_MAX);
        if (size % 2)
                return errmsg(why, -EBADMSG,
                              "%zu bytes, an odd number: not UCS-2 (shim reads only UCS-2)", size);
        /* Every UCS-2 unit is at most 3 bytes of UTF-8. */
        line = malloc(size / 2 * 3 + 1);
        if (!line)
                return -ENOMEM;
        if (size >= 2 && b[0] == 0xff && b[1] == 0xfe)
                i = 2; /* the byte order mark */
        else if (size >= 2 && b[1] != 0)
                /* Shim reads it as UCS-2 all the same, and names files no one wrote. */
                return errmsg(why, -EBADMSG,
                              "no byte order mark and a first character U+%04X: an ASCII or "
                              "UTF-8 file, not UCS-2 (iconv -t UCS-2LE)",
                              (unsigned)(b[0] | b[1] << 8));
        for (; i <= size; i += 2) {
                uint16_t u = i < size ? (uint16_t)(b[i] | b[i + 1] << 8) : '\n';

                if (u == '\r')
                        continue;
                if (u == '\n') {
                        line[len] = '\0';
                        if (len > 0 && (r = add_line(&c, line, no, why)) < 0)
                                return r;
                        len = 0;
                        no++;
                        continue;
                }
                if (u == 0)
                        return errmsg(why, -EBADMSG, "line %u: a NUL character", no);
                if (u >= 0xd800 && u <= 0xdfff)
                        return errmsg(why, -EBADMSG,
                                      "line %u: U+%04X, a UTF-16 surrogate: not UCS-2", no, u);
                len += utf8_encode(line + len, u);
        }
        *ret = c;
        c = (struct shimcsv){};
        return 0;
}
