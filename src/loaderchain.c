/* SPDX-License-Identifier: MIT */
/* What every loader chain reader shares (DESIGN.md §11b). */
#include <stdarg.h>
#include <stdio.h>

#include "loaderchain.h"

void chain_result_done(struct chain_result *c)
{
        for (size_t i = 0; i < c->n; i++)
                free(c->findings[i].text);
        free(c->findings);
        free(c->default_title);
        *c = (struct chain_result){};
}

int chain_add(struct chain_result *c, enum chain_level l, const char *format, ...)
{
        struct chain_finding *t;
        va_list ap;
        char *s;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        t = reallocarray(c->findings, c->n + 1, sizeof(*t));
        if (!t) {
                free(s);
                return -ENOMEM;
        }
        c->findings = t;
        t[c->n++] = (struct chain_finding){ .level = l, .text = s };
        return 0;
}

enum chain_level chain_worst(const struct chain_result *c)
{
        enum chain_level w = CHAIN_NOTE;

        for (size_t i = 0; i < c->n; i++)
                if (c->findings[i].level > w)
                        w = c->findings[i].level;
        return w;
}

static const char *fs_field(const struct chain_fs *f, const char *kind, bool *icase)
{
        *icase = true;
        if (streq(kind, "uuid"))
                return f->uuid;
        if (streq(kind, "partuuid"))
                return f->partuuid;
        *icase = false;
        if (streq(kind, "label"))
                return f->label;
        if (streq(kind, "partlabel"))
                return f->partlabel;
        return NULL;
}

int chain_find_fs(const struct chain_fs *fss, size_t n, const char *kind, const char *value)
{
        int other = -1;

        for (size_t i = 0; i < n; i++) {
                bool icase;
                const char *v = fs_field(&fss[i], kind, &icase);

                if (!v || !value || (icase ? strcasecmp(v, value) : strcmp(v, value)) != 0)
                        continue;
                if (fss[i].this_disk)
                        return (int)i;
                if (other < 0)
                        other = (int)i;
        }
        return other;
}

int chain_cmdline_foreign_root(const struct chain_fs *fss, size_t n, const char *cmdline,
                               int *ret_fs)
{
        static const struct {
                const char *tag, *kind;
        } tags[] = { { "UUID=", "uuid" },
                     { "PARTUUID=", "partuuid" },
                     { "LABEL=", "label" },
                     { "PARTLABEL=", "partlabel" } };

        for (const char *p = cmdline; p && *p;) {
                size_t len;

                p += strspn(p, " \t");
                len = strcspn(p, " \t");
                if (strncmp(p, "root=", 5) == 0)
                        for (size_t k = 0; k < ELEMENTSOF(tags); k++) {
                                size_t tl = strlen(tags[k].tag);
                                _cleanup_free_ char *v = NULL;
                                int i;

                                if (len < 5 + tl || strncmp(p + 5, tags[k].tag, tl) != 0)
                                        continue;
                                v = strndup(p + 5 + tl, len - 5 - tl);
                                if (!v)
                                        return -ENOMEM;
                                i = chain_find_fs(fss, n, tags[k].kind, v);
                                if (i >= 0 && !fss[i].this_disk) {
                                        *ret_fs = i;
                                        return 1;
                                }
                        }
                p += len;
        }
        return 0;
}
