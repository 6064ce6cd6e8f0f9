/* SPDX-License-Identifier: MIT */
/*
 * rEFInd's refind.conf and refind_linux.conf (DESIGN.md §11b), tokenized line by line as
 * rEFInd does: separators are blanks, '=' and ',' outside double quotes.
 */
#include "refindcfg.h"
#include "util/errmsg.h"
#include "util/strv.h"

void refind_cfg_done(struct refind_cfg *c)
{
        for (size_t i = 0; i < c->n; i++) {
                struct refind_stanza *s = &c->stanzas[i];

                free(s->title);
                free(s->volume);
                free(s->loader);
                free(s->initrd);
                free(s->options);
        }
        free(c->stanzas);
        strv_free(c->scanfor);
        strv_free(c->also_scan_dirs);
        strv_free(c->dont_scan_dirs);
        strv_free(c->dont_scan_volumes);
        strv_free(c->dont_scan_files);
        strv_free(c->includes);
        free(c->default_selection);
        *c = (struct refind_cfg){};
}

void refind_linux_free(struct refind_linux_line *l, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(l[i].title);
                free(l[i].options);
        }
        free(l);
}

/* The tokens of one line (n bytes). seps: the separators outside quotes. */
static int tokenize(const char *s, size_t n, const char *seps, unsigned line, char ***ret,
                    char **why)
{
        _cleanup_strv_free_ char **v = NULL;
        size_t i = 0;
        int r;

        while (i < n) {
                _cleanup_free_ char *tok = NULL;
                size_t len = 0;
                bool have = false;

                while (i < n && strchr(seps, s[i]))
                        i++;
                if (i >= n || s[i] == '#')
                        break;
                if (!(tok = malloc(n - i + 1)))
                        return -ENOMEM;
                while (i < n && !strchr(seps, s[i]) && s[i] != '#') {
                        if (s[i] == '"') {
                                const char *close = memchr(s + i + 1, '"', n - i - 1);

                                if (!close)
                                        return errmsg(why, -EBADMSG,
                                                      "line %u: a quote that is never closed",
                                                      line);
                                memcpy(tok + len, s + i + 1, close - (s + i + 1));
                                len += close - (s + i + 1);
                                i = close - s + 1;
                        } else
                                tok[len++] = s[i++];
                        have = true;
                }
                if (!have)
                        continue;
                tok[len] = '\0';
                if ((r = strv_push(&v, tok)) < 0)
                        return r;
                tok = NULL;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

static int set_str(char **field, const char *value)
{
        char *v = strdup(value);

        if (!v)
                return -ENOMEM;
        free(*field);
        *field = v;
        return 0;
}

/* Appends every value of a list token. */
static int add_list(char ***field, char *const *values)
{
        return strv_extend_strv(field, values);
}

/* A stanza line: its token and value. */
static int stanza_line(struct refind_stanza *s, char **t, unsigned line, char **why)
{
        const char *k = t[0];
        _cleanup_free_ char *joined = NULL;

        if (streq(k, "disabled")) {
                s->disabled = true;
                return 0;
        }
        if (!t[1])
                return 0; /* icon-less tokens and the like: rEFInd ignores them too */
        if (streq(k, "options") || streq(k, "add_options")) {
                /* Options are one quoted string; unquoted, rEFInd takes the rest of the line. */
                joined = strv_join(t + 1, " ");
                if (!joined)
                        return -ENOMEM;
                if (streq(k, "add_options") && s->options) {
                        char *both;

                        if (asprintf(&both, "%s %s", s->options, joined) < 0)
                                return -ENOMEM;
                        free(s->options);
                        s->options = both;
                        return 0;
                }
                return set_str(&s->options, joined);
        }
        if (streq(k, "volume"))
                return set_str(&s->volume, t[1]);
        if (streq(k, "loader"))
                return set_str(&s->loader, t[1]);
        if (streq(k, "initrd"))
                return set_str(&s->initrd, t[1]);
        return 0;
}

static int add_stanza(struct refind_cfg *c, const char *title, unsigned line, int parent)
{
        struct refind_stanza *t = reallocarray(c->stanzas, c->n + 1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        c->stanzas = t;
        t[c->n] = (struct refind_stanza){ .line = line, .parent = parent };
        if (!(t[c->n].title = strdup(title)))
                return -ENOMEM;
        c->n++;
        return 0;
}

/* Both files: bounded, and text. */
static int check_text(const char *text, size_t size, char **why)
{
        if (size > REFIND_CFG_MAX)
                return errmsg(why, -EFBIG, "larger than %d bytes", REFIND_CFG_MAX);
        if (memchr(text, '\0', size))
                return errmsg(why, -EBADMSG, "a NUL byte: not a text file");
        return 0;
}

int refind_cfg_parse(const char *text, size_t size, struct refind_cfg *ret, char **why)
{
        struct refind_cfg c = {};
        int stanza = -1, sub = -1, r = 0;
        unsigned line = 1, open_line = 0;

        if ((r = check_text(text, size, why)) < 0)
                return r;

        for (size_t start = 0; start < size; line++) {
                const char *nl = memchr(text + start, '\n', size - start);
                size_t n = nl ? (size_t)(nl - (text + start)) : size - start;
                _cleanup_strv_free_ char **t = NULL;
                size_t nt;

                r = tokenize(text + start, n, " \t\r=,", line, &t, why);
                start += n + (nl ? 1 : 0);
                if (r < 0)
                        goto fail;
                nt = strv_length(t);
                if (nt == 0)
                        continue;
                if (streq(t[0], "}")) {
                        if (sub >= 0)
                                sub = -1;
                        else if (stanza >= 0)
                                stanza = -1;
                        else {
                                r = errmsg(why, -EBADMSG, "line %u: '}' closes no stanza", line);
                                goto fail;
                        }
                        continue;
                }
                if (streq(t[0], "menuentry") || streq(t[0], "submenuentry")) {
                        bool is_sub = streq(t[0], "submenuentry");

                        if (nt < 3 || !streq(t[nt - 1], "{")) {
                                r = errmsg(why, -EBADMSG, "line %u: %s needs a title and '{'", line,
                                           t[0]);
                                goto fail;
                        }
                        if (is_sub ? stanza < 0 || sub >= 0 : stanza >= 0) {
                                r = errmsg(why, -EBADMSG, "line %u: %s %s", line, t[0],
                                           is_sub ? "outside a menuentry, or inside another"
                                                  : "inside another menuentry");
                                goto fail;
                        }
                        if ((r = add_stanza(&c, t[1], line, is_sub ? stanza : -1)) < 0)
                                goto fail;
                        if (is_sub)
                                sub = (int)c.n - 1;
                        else
                                stanza = (int)c.n - 1, open_line = line;
                        continue;
                }
                if (stanza >= 0) {
                        r = stanza_line(&c.stanzas[sub >= 0 ? sub : stanza], t, line, why);
                        if (r < 0)
                                goto fail;
                        continue;
                }
                if (streq(t[0], "scanfor")) {
                        strv_free(c.scanfor);
                        c.scanfor = NULL;
                        r = add_list(&c.scanfor, t + 1);
                } else if (streq(t[0], "also_scan_dirs"))
                        r = add_list(&c.also_scan_dirs, t + 1);
                else if (streq(t[0], "dont_scan_dirs"))
                        r = add_list(&c.dont_scan_dirs, t + 1);
                else if (streq(t[0], "dont_scan_volumes"))
                        r = add_list(&c.dont_scan_volumes, t + 1);
                else if (streq(t[0], "dont_scan_files"))
                        r = add_list(&c.dont_scan_files, t + 1);
                else if (streq(t[0], "include") && t[1])
                        r = strv_extend(&c.includes, t[1]);
                else if (streq(t[0], "default_selection") && t[1])
                        r = set_str(&c.default_selection, t[1]);
                if (r < 0)
                        goto fail;
        }
        if (stanza >= 0) {
                r = errmsg(why, -EBADMSG, "the menuentry opened at line %u is never closed",
                           open_line);
                goto fail;
        }
        *ret = c;
        return 0;
fail:
        if (r == -ENOMEM)
                errmsg(why, r, "out of memory");
        refind_cfg_done(&c);
        return r;
}

bool refind_cfg_manual_only(const struct refind_cfg *c)
{
        if (!c->scanfor)
                return false;
        STRV_FOREACH(s, c->scanfor)
        if (strcasecmp(*s, "internal") == 0 || strcasecmp(*s, "external") == 0 ||
            strcasecmp(*s, "hdbios") == 0)
                return false;
        return true;
}

int refind_linux_parse(const char *text, size_t size, struct refind_linux_line **ret, size_t *ret_n,
                       char **why)
{
        struct refind_linux_line *l = NULL;
        size_t n_l = 0;
        unsigned line = 1;
        int r = 0;

        if ((r = check_text(text, size, why)) < 0)
                return r;
        for (size_t start = 0; start < size; line++) {
                const char *nl = memchr(text + start, '\n', size - start);
                size_t n = nl ? (size_t)(nl - (text + start)) : size - start;
                _cleanup_strv_free_ char **t = NULL;
                struct refind_linux_line *tmp;

                r = tokenize(text + start, n, " \t\r", line, &t, why);
                start += n + (nl ? 1 : 0);
                if (r < 0)
                        goto fail;
                if (!t)
                        continue;
                if (!t[1]) {
                        r = errmsg(why, -EBADMSG,
                                   "line %u: a title without options (write \"TITLE\" \"OPTIONS\")",
                                   line);
                        goto fail;
                }
                tmp = reallocarray(l, n_l + 1, sizeof(*tmp));
                if (!tmp) {
                        r = -ENOMEM;
                        goto fail;
                }
                l = tmp;
                l[n_l] = (struct refind_linux_line){ .line = line };
                l[n_l].title = strdup(t[0]);
                l[n_l].options = strv_join(t + 1, " ");
                n_l++;
                if (!l[n_l - 1].title || !l[n_l - 1].options) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        *ret = l;
        *ret_n = n_l;
        return 0;
fail:
        refind_linux_free(l, n_l);
        return r;
}
