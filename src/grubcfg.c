/* SPDX-License-Identifier: MIT */
/*
 * GRUB script, read as GRUB's lexer reads it (DESIGN.md §11b). Two stages: a lexer that
 * yields words (unquoted, variable references marked) and command ends, and an assembler that
 * groups words into commands and tracks the blocks they sit in.
 */
#include <ctype.h>

#include "grubcfg.h"
#include "util/errmsg.h"
#include "util/strv.h"

void grub_cfg_done(struct grub_cfg *cfg)
{
        for (size_t i = 0; i < cfg->n_cmds; i++)
                strv_free(cfg->cmds[i].argv);
        free(cfg->cmds);
        for (size_t i = 0; i < cfg->n_entries; i++) {
                free(cfg->entries[i].title);
                free(cfg->entries[i].id);
        }
        free(cfg->entries);
        *cfg = (struct grub_cfg){};
}

/* A growing byte buffer for one word. */
struct buf {
        char *p;
        size_t n, cap;
};

static int buf_put(struct buf *b, char c)
{
        if (b->n + 2 > b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 32;
                char *p = realloc(b->p, cap);

                if (!p)
                        return -ENOMEM;
                b->p = p;
                b->cap = cap;
        }
        b->p[b->n++] = c;
        b->p[b->n] = '\0';
        return 0;
}

enum tok { TOK_WORD, TOK_END, TOK_EOF };

struct lexer {
        const char *s, *end;
        unsigned line;
};

static bool is_var_start(char c)
{
        return isalpha((unsigned char)c) || c == '_';
}

static bool is_var_char(char c)
{
        return isalnum((unsigned char)c) || c == '_';
}

/* After a '$': appends a marked reference. Accepts $name, ${name}, $N and the specials
 * $? $# $* $@; a '$' followed by none of these is a literal '$', as GRUB keeps it. */
static int lex_var(struct lexer *lx, struct buf *b, char **why)
{
        const char *p = lx->s;
        int r;

        if (p < lx->end && *p == '{') {
                const char *close = memchr(p, '}', lx->end - p);

                if (!close || close == p + 1)
                        return errmsg(why, -EBADMSG, "line %u: '${' without a name and '}'",
                                      lx->line);
                for (const char *q = p + 1; q < close; q++)
                        if (!is_var_char(*q) && !strchr("?#*@", *q))
                                return errmsg(why, -EBADMSG, "line %u: '%c' in a variable name",
                                              lx->line, *q);
                if ((r = buf_put(b, GRUB_VAR_START)) < 0)
                        return r;
                for (const char *q = p + 1; q < close; q++)
                        if ((r = buf_put(b, *q)) < 0)
                                return r;
                lx->s = close + 1;
                return buf_put(b, GRUB_VAR_END);
        }
        if (p < lx->end && (is_var_start(*p) || isdigit((unsigned char)*p) || strchr("?#*@", *p))) {
                if ((r = buf_put(b, GRUB_VAR_START)) < 0)
                        return r;
                if (is_var_start(*p)) {
                        while (p < lx->end && is_var_char(*p))
                                if ((r = buf_put(b, *p++)) < 0)
                                        return r;
                } else if (isdigit((unsigned char)*p)) {
                        while (p < lx->end && isdigit((unsigned char)*p))
                                if ((r = buf_put(b, *p++)) < 0)
                                        return r;
                } else if ((r = buf_put(b, *p++)) < 0)
                        return r;
                lx->s = p;
                return buf_put(b, GRUB_VAR_END);
        }
        return buf_put(b, '$');
}

/* The next token. A word is returned in *ret_word (allocated), with *ret_plain true when no
 * part of it was quoted or escaped (only such a word can be a reserved word or a brace). */
static int lex_next(struct lexer *lx, enum tok *ret_tok, char **ret_word, bool *ret_plain,
                    unsigned *ret_line, char **why)
{
        struct buf b = {};
        bool plain = true, have = false;
        int r;

        /* Blanks, line continuations and comments before the token. */
        for (;;) {
                if (lx->s >= lx->end) {
                        *ret_tok = TOK_EOF;
                        *ret_line = lx->line;
                        return 0;
                }
                if (*lx->s == ' ' || *lx->s == '\t' || *lx->s == '\r')
                        lx->s++;
                else if (*lx->s == '\\' && lx->s + 1 < lx->end && lx->s[1] == '\n') {
                        lx->s += 2;
                        lx->line++;
                } else if (*lx->s == '#') {
                        while (lx->s < lx->end && *lx->s != '\n')
                                lx->s++;
                } else
                        break;
        }
        *ret_line = lx->line;
        if (*lx->s == '\n' || *lx->s == ';') {
                if (*lx->s == '\n')
                        lx->line++;
                lx->s++;
                *ret_tok = TOK_END;
                return 0;
        }

        while (lx->s < lx->end) {
                char c = *lx->s;

                if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';')
                        break;
                /* Redirections and pipes are not GRUB script: refuse rather than misread. */
                if (c == '|' || c == '&' || c == '<' || c == '>') {
                        free(b.p);
                        return errmsg(why, -EBADMSG, "line %u: '%c' is not GRUB script", lx->line,
                                      c);
                }
                lx->s++;
                have = true;
                if (c == '\\') {
                        plain = false;
                        if (lx->s >= lx->end)
                                break;
                        if (*lx->s == '\n') { /* a continuation inside a word */
                                lx->s++;
                                lx->line++;
                                continue;
                        }
                        r = buf_put(&b, *lx->s++);
                } else if (c == '\'') {
                        const char *close = memchr(lx->s, '\'', lx->end - lx->s);

                        plain = false;
                        if (!close) {
                                free(b.p);
                                return errmsg(why, -EBADMSG,
                                              "line %u: a single quote that is never closed",
                                              *ret_line);
                        }
                        r = 0;
                        if (lx->s == close) /* '' still makes a word */
                                r = buf_put(&b, '\0'), b.n--;
                        for (; r >= 0 && lx->s < close; lx->s++) {
                                if (*lx->s == '\n')
                                        lx->line++;
                                r = buf_put(&b, *lx->s);
                        }
                        lx->s = close + 1;
                } else if (c == '"') {
                        plain = false;
                        r = buf_put(&b, '\0');
                        b.n--;
                        for (;;) {
                                if (r < 0)
                                        break;
                                if (lx->s >= lx->end) {
                                        free(b.p);
                                        return errmsg(
                                                why, -EBADMSG,
                                                "line %u: a double quote that is never closed",
                                                *ret_line);
                                }
                                c = *lx->s++;
                                if (c == '"')
                                        break;
                                if (c == '\\' && lx->s < lx->end && strchr("$\"\\\n", *lx->s)) {
                                        if (*lx->s == '\n') {
                                                lx->s++;
                                                lx->line++;
                                                continue;
                                        }
                                        r = buf_put(&b, *lx->s++);
                                } else if (c == '$')
                                        r = lex_var(lx, &b, why);
                                else {
                                        if (c == '\n')
                                                lx->line++;
                                        r = buf_put(&b, c);
                                }
                        }
                } else if (c == '$') {
                        plain = false;
                        r = lex_var(lx, &b, why);
                } else
                        r = buf_put(&b, c);
                if (r < 0) {
                        free(b.p);
                        return r;
                }
        }
        if (!have) { /* cannot happen: a non-blank, non-end character was there */
                free(b.p);
                return errmsg(why, -EBADMSG, "line %u: an empty word", lx->line);
        }
        if (!b.p && !(b.p = strdup("")))
                return -ENOMEM;
        *ret_tok = TOK_WORD;
        *ret_word = b.p;
        *ret_plain = plain;
        return 0;
}

enum block_kind { BLOCK_ENTRY, BLOCK_FUNCTION, BLOCK_IF, BLOCK_LOOP };

struct block {
        enum block_kind kind;
        int entry;       /* BLOCK_ENTRY: its index */
        bool open_brace; /* BLOCK_ENTRY/FUNCTION: its '{' was seen */
        unsigned line;
};

struct asm_state {
        struct grub_cfg cfg;
        size_t cap_cmds, cap_entries;
        struct block stack[GRUB_DEPTH_MAX];
        size_t depth;
};

static int current_entry(const struct asm_state *st)
{
        for (size_t i = st->depth; i > 0; i--)
                if (st->stack[i - 1].kind == BLOCK_ENTRY)
                        return st->stack[i - 1].entry;
        return -1;
}

static bool inside(const struct asm_state *st, enum block_kind a, enum block_kind b)
{
        for (size_t i = 0; i < st->depth; i++)
                if (st->stack[i].kind == a || st->stack[i].kind == b)
                        return true;
        return false;
}

static int push_block(struct asm_state *st, struct block blk, char **why)
{
        if (st->depth >= GRUB_DEPTH_MAX)
                return errmsg(why, -EBADMSG, "line %u: blocks nested deeper than %d", blk.line,
                              GRUB_DEPTH_MAX);
        st->stack[st->depth++] = blk;
        return 0;
}

/* Stores a finished command (takes argv). */
static int add_cmd(struct asm_state *st, char **argv, unsigned line)
{
        struct grub_cmd *c;

        if (st->cfg.n_cmds == st->cap_cmds) {
                size_t cap = st->cap_cmds ? st->cap_cmds * 2 : 32;
                struct grub_cmd *p = reallocarray(st->cfg.cmds, cap, sizeof(*p));

                if (!p)
                        return -ENOMEM;
                st->cfg.cmds = p;
                st->cap_cmds = cap;
        }
        c = &st->cfg.cmds[st->cfg.n_cmds++];
        *c = (struct grub_cmd){
                .line = line,
                .argv = argv,
                .entry = current_entry(st),
                .conditional = inside(st, BLOCK_IF, BLOCK_LOOP),
                .in_function = inside(st, BLOCK_FUNCTION, BLOCK_FUNCTION),
        };
        return 0;
}

/* `menuentry TITLE [options] {` / `submenu ...`: the entry, with its --id. */
static int open_entry(struct asm_state *st, char **argv, unsigned line, char **why)
{
        struct grub_entry *e;
        const char *title = NULL, *id = NULL;
        int r;

        for (size_t i = 1; argv[i]; i++) {
                const char *a = argv[i], *v;

                if (streq(a, "--id") || streq(a, "--class") || streq(a, "--users") ||
                    streq(a, "--hotkey") || streq(a, "--source")) {
                        if (!argv[i + 1])
                                return errmsg(why, -EBADMSG, "line %u: %s without its value", line,
                                              a);
                        if (streq(a, "--id"))
                                id = argv[i + 1];
                        i++;
                } else if ((v = startswith(a, "--id=")))
                        id = v;
                else if (startswith(a, "--"))
                        continue; /* --unrestricted and the like: no value */
                else if (streq(a, "\001menuentry_id_option\002")) {
                        /* grub-mkconfig's "$menuentry_id_option 'gnulinux-...'": --id. */
                        if (argv[i + 1])
                                id = argv[++i];
                } else if (!title)
                        title = a;
        }
        if (!title)
                return errmsg(why, -EBADMSG, "line %u: %s without a title", line, argv[0]);

        if (st->cfg.n_entries == st->cap_entries) {
                size_t cap = st->cap_entries ? st->cap_entries * 2 : 8;
                struct grub_entry *p = reallocarray(st->cfg.entries, cap, sizeof(*p));

                if (!p)
                        return -ENOMEM;
                st->cfg.entries = p;
                st->cap_entries = cap;
        }
        e = &st->cfg.entries[st->cfg.n_entries];
        *e = (struct grub_entry){
                .submenu = streq(argv[0], "submenu"),
                .parent = current_entry(st),
                .line = line,
                .first_cmd = st->cfg.n_cmds, /* the header is already stored */
        };
        if (!(e->title = strdup(title)) || (id && !(e->id = strdup(id)))) {
                free(e->title);
                return -ENOMEM;
        }
        st->cfg.n_entries++;
        r = push_block(st,
                       (struct block){ .kind = BLOCK_ENTRY,
                                       .entry = (int)st->cfg.n_entries - 1,
                                       .line = line },
                       why);
        return r;
}

static int close_block(struct asm_state *st, unsigned line, char **why)
{
        struct block *top;

        if (st->depth == 0)
                return errmsg(why, -EBADMSG, "line %u: '}' closes no block", line);
        top = &st->stack[st->depth - 1];
        if (top->kind != BLOCK_ENTRY && top->kind != BLOCK_FUNCTION)
                return errmsg(why, -EBADMSG, "line %u: '}' inside the %s opened at line %u", line,
                              top->kind == BLOCK_IF ? "if" : "loop", top->line);
        if (top->kind == BLOCK_ENTRY) {
                struct grub_entry *e = &st->cfg.entries[top->entry];

                e->n_cmds = st->cfg.n_cmds - e->first_cmd;
        }
        st->depth--;
        return 0;
}

/* A command's words are complete: reserved words, braces and entries are handled here. An
 * entry or function header ends with the word "{". */
static int finish_command(struct asm_state *st, char ***argv, bool plain0, unsigned line,
                          char **why)
{
        char **a = *argv;
        size_t n = strv_length(a);
        int r;

        if (n == 0)
                return 0;
        if (plain0 &&
            (streq(a[0], "menuentry") || streq(a[0], "submenu") || streq(a[0], "function"))) {
                if (!streq(a[n - 1], "{"))
                        return errmsg(why, -EBADMSG, "line %u: %s without its '{'", line, a[0]);
                free(a[n - 1]);
                a[n - 1] = NULL;
                if (streq(a[0], "function") && n != 3)
                        return errmsg(why, -EBADMSG, "line %u: function takes one name and '{'",
                                      line);
                /* The header is a command of the enclosing block: a reader sees where the
                 * entry starts. Then the block opens. */
                if ((r = add_cmd(st, a, line)) < 0)
                        return r;
                *argv = NULL;
                if (streq(a[0], "function"))
                        return push_block(
                                st, (struct block){ .kind = BLOCK_FUNCTION, .line = line }, why);
                return open_entry(st, a, line, why);
        }
        r = add_cmd(st, a, line);
        if (r >= 0)
                *argv = NULL;
        return r;
}

/* Reserved words at the start of a command: if/then/elif/else/fi, for/while/until/do/done.
 * Returns 1 when the word was consumed (the command goes on with the next word), 0 when it
 * is not reserved. */
static int reserved_word(struct asm_state *st, const char *w, unsigned line, char **why)
{
        struct block *top = st->depth ? &st->stack[st->depth - 1] : NULL;

        if (streq(w, "if") || streq(w, "for") || streq(w, "while") || streq(w, "until")) {
                int r = push_block(st,
                                   (struct block){ .kind = streq(w, "if") ? BLOCK_IF : BLOCK_LOOP,
                                                   .line = line },
                                   why);
                return r < 0 ? r : 1;
        }
        if (streq(w, "then") || streq(w, "elif") || streq(w, "else")) {
                if (!top || top->kind != BLOCK_IF)
                        return errmsg(why, -EBADMSG, "line %u: '%s' outside an if", line, w);
                return 1;
        }
        if (streq(w, "do")) {
                if (!top || top->kind != BLOCK_LOOP)
                        return errmsg(why, -EBADMSG, "line %u: 'do' outside a loop", line);
                return 1;
        }
        if (streq(w, "fi") || streq(w, "done")) {
                enum block_kind k = streq(w, "fi") ? BLOCK_IF : BLOCK_LOOP;

                if (!top || top->kind != k)
                        return errmsg(why, -EBADMSG, "line %u: '%s' closes no %s", line, w,
                                      k == BLOCK_IF ? "if" : "loop");
                st->depth--;
                return 1;
        }
        return 0;
}

int grub_cfg_parse(const char *text, size_t size, struct grub_cfg *ret, char **why)
{
        struct asm_state st = {};
        struct lexer lx = { .s = text, .end = text + size, .line = 1 };
        _cleanup_strv_free_ char **argv = NULL;
        bool plain0 = false;
        unsigned cmd_line = 0;
        int r = 0;

        if (size > GRUB_CFG_MAX)
                return errmsg(why, -EFBIG, "larger than %d bytes", GRUB_CFG_MAX);
        for (size_t i = 0; i < size; i++)
                if (text[i] == '\0' || text[i] == GRUB_VAR_START || text[i] == GRUB_VAR_END)
                        return errmsg(why, -EBADMSG, "a NUL or control byte 0x%02x at offset %zu",
                                      (unsigned)(unsigned char)text[i], i);

        for (;;) {
                enum tok tok;
                char *word = NULL;
                bool plain = false;
                unsigned line;

                if ((r = lex_next(&lx, &tok, &word, &plain, &line, why)) < 0)
                        goto fail;
                if (tok != TOK_WORD) {
                        if ((r = finish_command(&st, &argv, plain0, cmd_line, why)) < 0)
                                goto fail;
                        if (tok == TOK_EOF)
                                break;
                        continue;
                }
                if (!argv && plain) {
                        if (streq(word, "}")) {
                                free(word);
                                if ((r = close_block(&st, line, why)) < 0)
                                        goto fail;
                                continue;
                        }
                        r = reserved_word(&st, word, line, why);
                        if (r != 0) {
                                free(word);
                                if (r < 0)
                                        goto fail;
                                continue;
                        }
                }
                if (!argv) {
                        plain0 = plain;
                        cmd_line = line;
                }
                if ((r = strv_push(&argv, word)) < 0) {
                        free(word);
                        goto fail;
                }
                /* "menuentry ... {" ends its header at the brace: commands may follow it on
                 * the same line. */
                if (plain && streq(word, "{") && plain0 &&
                    (streq(argv[0], "menuentry") || streq(argv[0], "submenu") ||
                     streq(argv[0], "function")))
                        if ((r = finish_command(&st, &argv, plain0, cmd_line, why)) < 0)
                                goto fail;
        }
        if (st.depth > 0) {
                struct block *top = &st.stack[st.depth - 1];
                static const char *const names[] = { "menuentry", "function", "if", "loop" };

                r = errmsg(why, -EBADMSG, "the %s opened at line %u is never closed",
                           names[top->kind], top->line);
                goto fail;
        }
        *ret = st.cfg;
        return 0;
fail:
        if (r == -ENOMEM)
                errmsg(why, r, "out of memory");
        grub_cfg_done(&st.cfg);
        return r;
}

char *grub_word_expand(const char *word, const char *(*lookup)(const char *name, void *userdata),
                       void *userdata, bool *ret_unknown)
{
        struct buf b = {};
        bool unknown = false;

        if (buf_put(&b, '\0') < 0)
                return NULL;
        b.n = 0;
        for (const char *p = word; *p; p++) {
                if (*p == GRUB_VAR_START) {
                        const char *end = strchr(p, GRUB_VAR_END), *v;
                        _cleanup_free_ char *name = NULL;

                        if (!end || !(name = strndup(p + 1, end - p - 1))) {
                                free(b.p);
                                return NULL;
                        }
                        v = lookup ? lookup(name, userdata) : NULL;
                        if (!v)
                                unknown = true;
                        for (; v && *v; v++)
                                if (buf_put(&b, *v) < 0) {
                                        free(b.p);
                                        return NULL;
                                }
                        p = end;
                } else if (buf_put(&b, *p) < 0) {
                        free(b.p);
                        return NULL;
                }
        }
        if (ret_unknown)
                *ret_unknown = unknown;
        return b.p;
}

char *grub_word_render(const char *word)
{
        struct buf b = {};

        if (buf_put(&b, '\0') < 0)
                return NULL;
        b.n = 0;
        for (const char *p = word; *p; p++) {
                int r = 0;

                if (*p == GRUB_VAR_START)
                        r = buf_put(&b, '$') < 0 ? -ENOMEM : buf_put(&b, '{');
                else if (*p == GRUB_VAR_END)
                        r = buf_put(&b, '}');
                else
                        r = buf_put(&b, *p);
                if (r < 0) {
                        free(b.p);
                        return NULL;
                }
        }
        return b.p;
}

bool grub_word_is_literal(const char *word)
{
        return !strchr(word, GRUB_VAR_START);
}

int grub_search_parse(char *const *argv, struct grub_search *ret, char **why)
{
        struct grub_search s = { .var = "root" };
        bool have_kind = false;
        const char *cmd, *positional[2] = {};
        size_t np = 0;

        if (!argv || !argv[0])
                return -ENOENT;
        cmd = argv[0];
        if (streq(cmd, "search.fs_uuid"))
                s.kind = GRUB_SEARCH_FS_UUID, have_kind = true;
        else if (streq(cmd, "search.fs_label"))
                s.kind = GRUB_SEARCH_LABEL, have_kind = true;
        else if (streq(cmd, "search.file"))
                s.kind = GRUB_SEARCH_FILE, have_kind = true;
        else if (!streq(cmd, "search"))
                return -ENOENT;

        for (size_t i = 1; argv[i]; i++) {
                const char *a = argv[i], *v;

                if (streq(a, "--fs-uuid") || streq(a, "-u"))
                        s.kind = GRUB_SEARCH_FS_UUID, have_kind = true;
                else if (streq(a, "--label") || streq(a, "-l"))
                        s.kind = GRUB_SEARCH_LABEL, have_kind = true;
                else if (streq(a, "--file") || streq(a, "-f"))
                        s.kind = GRUB_SEARCH_FILE, have_kind = true;
                else if (streq(a, "--no-floppy") || streq(a, "-n"))
                        s.no_floppy = true;
                else if ((v = startswith(a, "--set=")))
                        s.var = v;
                else if (streq(a, "--set") || streq(a, "-s"))
                        s.var = "root"; /* an optional argument is given only with '=' */
                else if (startswith(a, "--hint")) {
                        if (!strchr(a, '=') && argv[i + 1])
                                i++; /* "--hint VALUE" */
                } else if (streq(a, "-h")) {
                        if (argv[i + 1])
                                i++;
                } else if (streq(a, "--efidisk-only"))
                        continue;
                else if (startswith(a, "-"))
                        return errmsg(why, -EINVAL, "%s: unknown option '%s'", cmd, a);
                else if (np < ELEMENTSOF(positional))
                        positional[np++] = a;
                /* More positional words are hints (search.fs_uuid UUID VAR HINT...). */
        }
        if (!have_kind)
                return errmsg(why, -EINVAL, "%s: none of --fs-uuid, --label, --file", cmd);
        if (np == 0)
                return errmsg(why, -EINVAL, "%s: no identifier to search for", cmd);
        s.value = positional[0];
        if (np > 1)
                s.var = positional[1];
        *ret = s;
        return 0;
}

bool grub_cmd_is_linux(const char *cmd)
{
        return streq(cmd, "linux") || streq(cmd, "linuxefi") || streq(cmd, "linux16");
}

bool grub_cmd_is_initrd(const char *cmd)
{
        return streq(cmd, "initrd") || streq(cmd, "initrdefi") || streq(cmd, "initrd16");
}
