/* SPDX-License-Identifier: MIT */
/*
 * sync-daemon.conf parser (DESIGN.md §7). The original tool read this file with Python's tomllib,
 * so what we accept is read exactly as TOML 1.0 defines it (checked against tomllib); TOML
 * outside our subset (tables, dotted and quoted keys, inline tables, dates, multi-line
 * strings) is named in the error rather than reported as a generic syntax error.
 *
 * Two passes: the syntax pass turns the text into (key, value) entries, rejecting unknown
 * and repeated keys on the way; the semantic pass checks each value's type and range and
 * fills struct config. Every message carries PATH:LINE:COL (column in characters).
 */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "config.h"
#include "rsync.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/strv.h"

#define CONFIG_MAX_SIZE (1024 * 1024)
/* Our deepest key needs 3 levels (sync = [[src, [dests], [excl]]]); the limit only bounds
 * recursion on hostile input. */
#define MAX_NESTING 32
#define DURATION_MAX_SEC (365 * 24 * 3600)
/* Characters of a token or string quoted in a message before it is cut with "...". */
#define SNIPPET_MAX 40

#define DEFAULT_RSYNC_OPTS "-axHAXt"
#define DEFAULT_RSYNC_PATH "/usr/bin/rsync"
/* systemd-boot's seed must differ between ESPs (DESIGN.md §5a). */
#define DEFAULT_ESP_EXCLUDE "/loader/random-seed"

/* ---------------------------------------------------------------------------------------- */
/* Values produced by the syntax pass */

enum value_type {
        VALUE_STRING,
        VALUE_INTEGER,
        VALUE_FLOAT,
        VALUE_BOOLEAN,
        VALUE_ARRAY,
};

struct pos {
        unsigned line;
        size_t line_start; /* byte offset of the line's first character */
        size_t offset;     /* byte offset of the position itself */
};

struct value {
        enum value_type type;
        struct pos pos;
        size_t len;    /* bytes of source text the value spans */
        bool overflow; /* integer outside int64: valid TOML for tomllib, out of range for us */
        bool escaped;  /* string contained escapes, so its text differs from the source */
        union {
                char *string;
                int64_t integer;
                double real;
                bool boolean;
                struct {
                        struct value *items;
                        size_t n;
                } array;
        };
};

static void value_done(struct value *v)
{
        if (v->type == VALUE_STRING)
                free(v->string);
        else if (v->type == VALUE_ARRAY) {
                for (size_t i = 0; i < v->array.n; i++)
                        value_done(&v->array.items[i]);
                free(v->array.items);
        }
        *v = (struct value){};
}

static const char *type_name(const struct value *v)
{
        switch (v->type) {
        case VALUE_STRING:
                return "a string";
        case VALUE_INTEGER:
                return "an integer";
        case VALUE_FLOAT:
                return "a float";
        case VALUE_BOOLEAN:
                return "a boolean";
        case VALUE_ARRAY:
                return "an array";
        }
        return "a value";
}

/* ---------------------------------------------------------------------------------------- */
/* Keys */

enum key_id {
        KEY_DUALROOT,
        KEY_RSYNC_OPTS,
        KEY_NICE,
        KEY_IONICE_CLASS,
        KEY_IONICE_LEVEL,
        KEY_SYNC_DELAY,
        KEY_SETTLE_TIME,
        KEY_MAX_WAIT,
        KEY_RSYNC_PATH,
        KEY_RSYNC_TIMEOUT,
        KEY_LOCK_TIMEOUT,
        KEY_ESP_MOUNTS,
        KEY_ESP_EXCLUDES,
        KEY_SYNC,
        _KEY_MAX,
};

struct key_def {
        const char *name;
        enum key_id id;
};

static const struct key_def key_defs[] = {
        { "dualroot", KEY_DUALROOT },
        { "rsync_opts", KEY_RSYNC_OPTS },
        { "nice", KEY_NICE },
        { "ionice_class", KEY_IONICE_CLASS },
        { "ionice_level", KEY_IONICE_LEVEL },
        /* The original manual's name for ionice_level. */
        { "ionice_value", KEY_IONICE_LEVEL },
        { "sync_delay", KEY_SYNC_DELAY },
        { "settle_time", KEY_SETTLE_TIME },
        { "max_wait", KEY_MAX_WAIT },
        { "rsync_path", KEY_RSYNC_PATH },
        { "rsync_timeout", KEY_RSYNC_TIMEOUT },
        { "lock_timeout", KEY_LOCK_TIMEOUT },
        { "esp_mounts", KEY_ESP_MOUNTS },
        { "esp_excludes", KEY_ESP_EXCLUDES },
        { "sync", KEY_SYNC },
};

struct entry {
        const struct key_def *def; /* as written: ionice_value and ionice_level differ here */
        struct pos key_pos;
        struct value value;
};

/* Duplicates are rejected, so each setting has at most one entry. */
struct document {
        struct entry entries[_KEY_MAX];
        size_t n;
        struct entry *by_id[_KEY_MAX];
};

static void document_done(struct document *d)
{
        for (size_t i = 0; i < d->n; i++)
                value_done(&d->entries[i].value);
}

/* ---------------------------------------------------------------------------------------- */
/* Text helpers */

struct parser {
        const char *path;
        const char *text;
        size_t size;
        size_t offset;
        unsigned line;
        size_t line_start;
        size_t eol, eol_line_start; /* cache for line_content_end() */
        bool eol_valid;
        char **why;
};

static int peek_at(const struct parser *p, size_t ahead)
{
        size_t i = p->offset + ahead;

        return i < p->size ? (unsigned char)p->text[i] : EOF;
}

static int peek(const struct parser *p)
{
        return peek_at(p, 0);
}

static struct pos here(const struct parser *p)
{
        return (struct pos){ .line = p->line, .line_start = p->line_start, .offset = p->offset };
}

static struct pos pos_at(struct pos pos, size_t offset)
{
        pos.offset = offset;
        return pos;
}

static bool is_control(unsigned c)
{
        return c < 0x20 || c == 0x7F;
}

/* Length of the UTF-8 sequence at s (at most n bytes), 0 if it is not valid UTF-8: overlong
 * forms, surrogates and code points above U+10FFFF are refused as RFC 3629 requires. */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
        unsigned char lo = 0x80, hi = 0xBF;
        size_t len;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xC2 && s[0] <= 0xDF)
                len = 2;
        else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
                len = 3;
                if (s[0] == 0xE0)
                        lo = 0xA0;
                else if (s[0] == 0xED)
                        hi = 0x9F;
        } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
                len = 4;
                if (s[0] == 0xF0)
                        lo = 0x90;
                else if (s[0] == 0xF4)
                        hi = 0x8F;
        } else
                return 0;
        if (n < len || s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
        return len;
}

/* Length of the (already validated) UTF-8 sequence starting with byte c. */
static size_t utf8_len(unsigned char c)
{
        return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

static size_t pos_column(const struct parser *p, struct pos pos)
{
        size_t col = 1;

        for (size_t i = pos.line_start; i < pos.offset && i < p->size; i++)
                if (((unsigned char)p->text[i] & 0xC0) != 0x80)
                        col++;
        return col;
}

/*
 * Quotes n bytes of valid UTF-8 for a message. Control characters (C0, DEL and C1) are
 * escaped so a hostile file cannot drive the terminal that shows the error; long text is cut.
 */
static char *snippet(const char *s, size_t n, bool quote)
{
        char *buf = malloc(SNIPPET_MAX * 6 + 8), *q = buf;
        size_t chars = 0;

        if (!buf)
                return NULL;
        if (quote)
                *q++ = '\'';
        for (size_t i = 0; i < n; chars++) {
                unsigned char c = (unsigned char)s[i];
                size_t len = utf8_len(c);

                if (chars == SNIPPET_MAX) {
                        q = stpcpy(q, "...");
                        break;
                }
                if (len > n - i)
                        len = n - i;
                if (is_control(c))
                        q += sprintf(q, "\\u%04X", c);
                else if (c == 0xC2 && len == 2 && (unsigned char)s[i + 1] < 0xA0)
                        q += sprintf(q, "\\u%04X", (unsigned char)s[i + 1]);
                else {
                        memcpy(q, s + i, len);
                        q += len;
                }
                i += len;
        }
        if (quote)
                *q++ = '\'';
        *q = 0;
        return buf;
}

static char *snippet_str(const char *s)
{
        return snippet(s, strlen(s), true);
}

/* The value's source text, unquoted: numbers are echoed as written ("nice = 0x19 ..."). */
static char *value_text(const struct parser *p, const struct value *v)
{
        return snippet(p->text + v->pos.offset, v->len, false);
}

static _printf_(3, 4) int parse_error(const struct parser *p, struct pos pos, const char *format,
                                      ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&msg, format, ap) < 0)
                msg = NULL;
        va_end(ap);
        return errmsg(p->why, -EINVAL, "%s:%u:%zu: %s", p->path, pos.line, pos_column(p, pos),
                      strna(msg));
}

/* Characters that end a bare token (a word that is not a key, a number, a boolean). */
static bool is_delimiter(unsigned char c)
{
        return is_control(c) || strchr(" ,[]{}#=\"'", c);
}

static size_t token_end(const struct parser *p, size_t offset)
{
        while (offset < p->size && !is_delimiter((unsigned char)p->text[offset]))
                offset++;
        return offset;
}

/* What the parser found at offset, for "..., found X". */
static char *describe_found(const struct parser *p, size_t offset)
{
        char *s;
        unsigned char c;
        size_t end;

        if (offset >= p->size)
                return strdup("end of file");
        c = (unsigned char)p->text[offset];
        if (c == '\n' || c == '\r')
                return strdup("end of line");
        if (c == '#')
                return strdup("a comment");
        if (c == '"' || c == '\'')
                return strdup("a string");
        if (is_control(c))
                return asprintf(&s, "control character U+%04X", c) < 0 ? NULL : s;
        end = token_end(p, offset);
        if (end == offset)
                end = offset + utf8_len(c);
        return snippet(p->text + offset, end - offset, true);
}

/* ---------------------------------------------------------------------------------------- */
/* Syntax pass */

static bool is_blank(int c)
{
        return c == ' ' || c == '\t';
}

static void skip_blanks(struct parser *p)
{
        while (is_blank(peek(p)))
                p->offset++;
}

/* A lone CR was refused up front, so '\r' always starts a CRLF. */
static bool at_newline(const struct parser *p)
{
        int c = peek(p);

        return c == '\n' || c == '\r';
}

static void consume_newline(struct parser *p)
{
        p->offset += peek(p) == '\r' ? 2 : 1;
        p->line++;
        p->line_start = p->offset;
}

/* TOML allows any character in a comment except control characters other than tab. */
static int skip_comment(struct parser *p)
{
        for (int c; (c = peek(p)) != EOF && c != '\n' && c != '\r'; p->offset++)
                if (c != '\t' && is_control((unsigned)c))
                        return parse_error(p, here(p),
                                           "control character U+%04X in a comment, expected "
                                           "printable text",
                                           (unsigned)c);
        return 0;
}

/* Inside arrays, newlines and comments may appear between elements. */
static int skip_space_in_array(struct parser *p)
{
        for (;;) {
                int r;

                skip_blanks(p);
                if (peek(p) == '#') {
                        r = skip_comment(p);
                        if (r < 0)
                                return r;
                } else if (at_newline(p))
                        consume_newline(p);
                else
                        return 0;
        }
}

/* Whole-file checks done once, so the parser can trust the bytes: valid UTF-8, no NUL,
 * CR only as part of CRLF. */
static int check_text(struct parser *p)
{
        const unsigned char *s = (const unsigned char *)p->text;
        unsigned line = p->line;
        size_t line_start = p->line_start;

        for (size_t i = p->offset; i < p->size;) {
                struct pos pos = { .line = line, .line_start = line_start, .offset = i };
                size_t len;

                if (s[i] == 0)
                        return parse_error(p, pos, "NUL byte, expected UTF-8 text");
                if (s[i] == '\r' && (i + 1 >= p->size || s[i + 1] != '\n'))
                        return parse_error(p, pos,
                                           "carriage return without a line feed, expected LF "
                                           "or CRLF line ends");
                len = utf8_valid_len(s + i, p->size - i);
                if (len == 0)
                        return parse_error(
                                p, pos, "invalid UTF-8 (byte 0x%02X), expected UTF-8 text", s[i]);
                i += len;
                if (s[i - 1] == '\n') {
                        line++;
                        line_start = i;
                }
        }
        return 0;
}

static int parse_value(struct parser *p, unsigned depth, struct value *v);

static void append_utf8(char *buf, size_t *n, uint32_t cp)
{
        if (cp < 0x80)
                buf[(*n)++] = (char)cp;
        else if (cp < 0x800) {
                buf[(*n)++] = (char)(0xC0 | cp >> 6);
                buf[(*n)++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
                buf[(*n)++] = (char)(0xE0 | cp >> 12);
                buf[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3F));
                buf[(*n)++] = (char)(0x80 | (cp & 0x3F));
        } else {
                buf[(*n)++] = (char)(0xF0 | cp >> 18);
                buf[(*n)++] = (char)(0x80 | (cp >> 12 & 0x3F));
                buf[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3F));
                buf[(*n)++] = (char)(0x80 | (cp & 0x3F));
        }
}

/* End of the current line's content (before LF or CRLF). Cached per line: a long line of
 * many strings would otherwise be searched again for each one. */
static size_t line_content_end(struct parser *p)
{
        const char *nl;

        if (p->eol_valid && p->eol_line_start == p->line_start)
                return p->eol;
        nl = memchr(p->text + p->offset, '\n', p->size - p->offset);
        p->eol = nl ? (size_t)(nl - p->text) : p->size;
        if (p->eol > p->offset && p->text[p->eol - 1] == '\r')
                p->eol--;
        p->eol_line_start = p->line_start;
        p->eol_valid = true;
        return p->eol;
}

static int parse_escape(struct parser *p, struct pos spos, size_t *i, size_t end, char *buf,
                        size_t *n)
{
        const char *t = p->text;
        size_t at = *i, digits;
        uint32_t cp = 0;
        char e;

        if (at + 1 >= end)
                return parse_error(p, pos_at(spos, at),
                                   "backslash at end of line, expected an escape such as \\\\ or "
                                   "\\\" (multi-line strings are not supported)");
        e = t[at + 1];
        switch (e) {
        case 'b':
                buf[(*n)++] = '\b';
                break;
        case 't':
                buf[(*n)++] = '\t';
                break;
        case 'n':
                buf[(*n)++] = '\n';
                break;
        case 'f':
                buf[(*n)++] = '\f';
                break;
        case 'r':
                buf[(*n)++] = '\r';
                break;
        case '"':
                buf[(*n)++] = '"';
                break;
        case '\\':
                buf[(*n)++] = '\\';
                break;
        case 'u':
        case 'U':
                digits = e == 'u' ? 4 : 8;
                for (size_t k = 0; k < digits; k++) {
                        int c = at + 2 + k < end ? (unsigned char)t[at + 2 + k] : EOF;

                        if (c == EOF || !isxdigit(c)) {
                                _cleanup_free_ char *esc =
                                        snippet(t + at, token_end(p, at + 2) - at, true);
                                return parse_error(p, pos_at(spos, at),
                                                   "invalid escape %s, expected \\%c followed by "
                                                   "%zu hexadecimal digits",
                                                   strna(esc), e, digits);
                        }
                        cp = cp << 4 | (uint32_t)(isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10));
                }
                if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        return parse_error(p, pos_at(spos, at),
                                           "\\%c%0*" PRIX32 " is not a Unicode scalar value, "
                                           "expected a code point in 0..D7FF or E000..10FFFF",
                                           e, (int)digits, cp);
                /* TOML allows it, but no path or option can hold a NUL. */
                if (cp == 0)
                        return parse_error(p, pos_at(spos, at),
                                           "\\%c%0*" PRIX32 " (NUL) cannot be used, expected a "
                                           "character that can appear in a path or option",
                                           e, (int)digits, cp);
                append_utf8(buf, n, cp);
                *i = at + 2 + digits;
                return 0;
        default: {
                _cleanup_free_ char *esc = snippet(t + at, 1 + utf8_len((unsigned char)e), true);
                return parse_error(p, pos_at(spos, at),
                                   "invalid escape %s, expected one of \\b \\t \\n \\f \\r \\\" "
                                   "\\\\ \\uHHHH \\UHHHHHHHH",
                                   strna(esc));
        }
        }
        *i = at + 2;
        return 0;
}

/* Where a string opened at offset closes, or end when it does not close on its line. Only
 * sizes the buffer: parse_string reports what is wrong. */
static size_t string_close(const struct parser *p, size_t offset, size_t end)
{
        char quote = p->text[offset];

        for (size_t i = offset + 1; i < end; i++) {
                if (p->text[i] == quote)
                        return i;
                if (p->text[i] == '\\' && quote == '"')
                        i++;
        }
        return end;
}

/* "..." and '...' on one line. Decoding never lengthens text (the longest escape, 10 bytes,
 * gives 4), so the source text bounds the buffer. */
static int parse_string(struct parser *p, struct value *v)
{
        struct pos spos = here(p);
        char quote = p->text[p->offset];
        bool literal = quote == '\'';
        size_t end = line_content_end(p), i = p->offset + 1, n = 0;
        _cleanup_free_ char *buf = NULL;

        if (peek_at(p, 1) == quote && peek_at(p, 2) == quote)
                return parse_error(p, spos,
                                   "multi-line strings (%c%c%c) are not supported, expected a "
                                   "single-line string",
                                   quote, quote, quote);
        buf = malloc(string_close(p, p->offset, end) - p->offset + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                unsigned char c;
                int r;

                if (i >= end)
                        return parse_error(p, spos,
                                           "string is not closed on this line, expected a closing "
                                           "%s (multi-line strings are not supported)",
                                           literal ? "\"'\"" : "'\"'");
                c = (unsigned char)p->text[i];
                if (c == (unsigned char)quote)
                        break;
                if (c == '\\' && !literal) {
                        r = parse_escape(p, spos, &i, end, buf, &n);
                        if (r < 0)
                                return r;
                        v->escaped = true;
                        continue;
                }
                if (c != '\t' && is_control(c))
                        return parse_error(p, pos_at(spos, i),
                                           "control character U+%04X in a string, expected %s", c,
                                           literal ? "printable text (a basic \"...\" string can "
                                                     "escape it)"
                                                   : "printable text or an escape such as \\t");
                buf[n++] = (char)c;
                i++;
        }
        buf[n] = 0;
        v->type = VALUE_STRING;
        v->string = TAKE_PTR(buf);
        v->len = i + 1 - p->offset;
        p->offset = i + 1;
        return 0;
}

static int parse_array(struct parser *p, unsigned depth, struct value *v)
{
        struct pos open = here(p);
        size_t alloc = 0;
        int r;

        if (depth >= MAX_NESTING)
                return parse_error(p, open,
                                   "arrays nested more than %d deep, expected at most %d levels",
                                   MAX_NESTING, MAX_NESTING);
        v->type = VALUE_ARRAY;
        p->offset++;
        for (;;) {
                _cleanup_free_ char *found = NULL;
                int c;

                r = skip_space_in_array(p);
                if (r < 0)
                        goto fail;
                c = peek(p);
                if (c == ']')
                        break;
                if (c == EOF || c == ',') {
                        found = describe_found(p, p->offset);
                        r = parse_error(p, here(p),
                                        "expected a value or ']' in the array opened at line %u, "
                                        "column %zu, found %s",
                                        open.line, pos_column(p, open), strna(found));
                        goto fail;
                }
                if (v->array.n == alloc) {
                        size_t na = alloc ? alloc * 2 : 4;
                        struct value *t = reallocarray(v->array.items, na, sizeof(*t));

                        if (!t) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        v->array.items = t;
                        alloc = na;
                }
                r = parse_value(p, depth + 1, &v->array.items[v->array.n]);
                if (r < 0)
                        goto fail;
                v->array.n++;

                r = skip_space_in_array(p);
                if (r < 0)
                        goto fail;
                c = peek(p);
                if (c == ']')
                        break;
                if (c != ',') {
                        found = describe_found(p, p->offset);
                        r = parse_error(p, here(p),
                                        "expected ',' or ']' after an element of the array opened "
                                        "at line %u, column %zu, found %s",
                                        open.line, pos_column(p, open), strna(found));
                        goto fail;
                }
                p->offset++;
        }
        p->offset++;
        v->len = p->offset - open.offset;
        return 0;
fail:
        value_done(v);
        return r;
}

static bool is_digit_of(int c, unsigned base)
{
        switch (base) {
        case 2:
                return c == '0' || c == '1';
        case 8:
                return c >= '0' && c <= '7';
        case 16:
                return c != EOF && isxdigit(c);
        default:
                return c != EOF && isdigit(c);
        }
}

static const char *base_name(unsigned base)
{
        return base == 16  ? "a hexadecimal"
               : base == 8 ? "an octal"
               : base == 2 ? "a binary"
                           : "a decimal";
}

/*
 * Digits of base with single underscores between them (TOML: "1_000", not "1__000" or "1_").
 * *i starts at the first digit and ends after the last; where says what precedes them.
 */
static int scan_digits(const struct parser *p, struct pos tpos, size_t *i, size_t end,
                       unsigned base, const char *where, const char *token)
{
        const char *t = p->text;

        if (*i >= end || !is_digit_of((unsigned char)t[*i], base))
                return parse_error(p, pos_at(tpos, *i), "invalid number %s, expected %s digit%s",
                                   token, base_name(base), where);
        for ((*i)++; *i < end; (*i)++) {
                int c = (unsigned char)t[*i];

                if (c == '_') {
                        if (*i + 1 >= end || !is_digit_of((unsigned char)t[*i + 1], base))
                                return parse_error(p, pos_at(tpos, *i),
                                                   "invalid number %s, expected a digit on both "
                                                   "sides of '_'",
                                                   token);
                        continue;
                }
                if (!is_digit_of(c, base))
                        break;
        }
        return 0;
}

static int parse_float_text(const char *s, size_t n, double *ret)
{
        _cleanup_free_ char *copy = malloc(n + 1);
        locale_t c_locale;
        size_t k = 0;

        if (!copy)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (s[i] != '_')
                        copy[k++] = s[i];
        copy[k] = 0;
        /* A daemon that called setlocale() might use ',' as decimal point; TOML does not. */
        c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
        if (c_locale == (locale_t)0)
                return -ENOMEM;
        /* Overflow gives ±HUGE_VAL, as Python's float() gives ±inf: still a valid float. */
        *ret = strtod_l(copy, NULL, c_locale);
        freelocale(c_locale);
        return 0;
}

static bool looks_like_date_or_time(const char *t, size_t n)
{
        size_t d = 0;

        while (d < n && isdigit((unsigned char)t[d]))
                d++;
        return (d == 4 && d + 1 < n && t[d] == '-' && isdigit((unsigned char)t[d + 1])) ||
               (d == 2 && d + 1 < n && t[d] == ':' && isdigit((unsigned char)t[d + 1]));
}

/* Numbers exactly as TOML 1.0 writes them: decimal with sign and underscores, 0x/0o/0b,
 * floats with fraction and/or exponent, inf and nan. */
static int parse_number(struct parser *p, size_t end, struct value *v)
{
        struct pos tpos = here(p);
        const char *t = p->text;
        size_t start = p->offset, i = start, int_start;
        _cleanup_free_ char *token = snippet(t + start, end - start, true);
        bool negative = false, is_float = false;
        uint64_t mag = 0;
        unsigned base = 10;
        int r;

        if (!token)
                return -ENOMEM;
        v->len = end - start;
        if (looks_like_date_or_time(t + start, end - start))
                return parse_error(p, tpos,
                                   "dates and times are not supported, found %s, expected a "
                                   "string, number, boolean or array",
                                   token);
        if (t[i] == '+' || t[i] == '-')
                negative = t[i++] == '-';
        if (end - i == 3 && (memcmp(t + i, "inf", 3) == 0 || memcmp(t + i, "nan", 3) == 0)) {
                v->type = VALUE_FLOAT;
                v->real = t[i] == 'i' ? INFINITY : NAN;
                if (negative)
                        v->real = -v->real;
                p->offset = end;
                return 0;
        }
        if (end - i >= 2 && t[i] == '0' && strchr("xob", t[i + 1])) {
                base = t[i + 1] == 'x' ? 16 : t[i + 1] == 'o' ? 8 : 2;
                if (i != start)
                        return parse_error(p, tpos,
                                           "invalid number %s, expected no sign before %s "
                                           "integer",
                                           token, base_name(base));
                i += 2;
        }
        int_start = i;
        r = scan_digits(p, tpos, &i, end, base,
                        base == 16  ? " after '0x'"
                        : base == 8 ? " after '0o'"
                        : base == 2 ? " after '0b'"
                                    : " after the sign",
                        token);
        if (r < 0)
                return r;
        if (base == 10 && t[int_start] == '0' && i - int_start > 1)
                return parse_error(p, pos_at(tpos, int_start),
                                   "invalid number %s, expected no leading zeros (0o for octal)",
                                   token);
        if (base == 10 && i < end && t[i] == '.') {
                i++;
                is_float = true;
                r = scan_digits(p, tpos, &i, end, 10, " after the decimal point", token);
                if (r < 0)
                        return r;
        }
        if (base == 10 && i < end && (t[i] == 'e' || t[i] == 'E')) {
                i++;
                is_float = true;
                if (i < end && (t[i] == '+' || t[i] == '-'))
                        i++;
                r = scan_digits(p, tpos, &i, end, 10, " in the exponent", token);
                if (r < 0)
                        return r;
        }
        if (i < end) {
                /* The one offending character, not the rest of the token. */
                _cleanup_free_ char *found = snippet(t + i, utf8_len((unsigned char)t[i]), true);

                return parse_error(p, pos_at(tpos, i),
                                   "invalid number %s, expected %s digit, found %s", token,
                                   base_name(base), strna(found));
        }

        if (is_float) {
                v->type = VALUE_FLOAT;
                r = parse_float_text(t + start, end - start, &v->real);
                if (r < 0)
                        return r;
                p->offset = end;
                return 0;
        }
        for (size_t k = int_start; k < end; k++) {
                unsigned d;

                if (t[k] == '_')
                        continue;
                d = isdigit((unsigned char)t[k])
                            ? (unsigned)(t[k] - '0')
                            : (unsigned)(tolower((unsigned char)t[k]) - 'a' + 10);
                if (mag > (UINT64_MAX - d) / base) {
                        v->overflow = true;
                        break;
                }
                mag = mag * base + d;
        }
        v->type = VALUE_INTEGER;
        if (!v->overflow) {
                if (negative && mag <= (uint64_t)INT64_MAX + 1)
                        v->integer = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
                else if (!negative && mag <= INT64_MAX)
                        v->integer = (int64_t)mag;
                else
                        v->overflow = true;
        }
        /* Overflow keeps the sign so range messages and checks see which end was exceeded. */
        if (v->overflow)
                v->integer = negative ? INT64_MIN : INT64_MAX;
        p->offset = end;
        return 0;
}

static int parse_value(struct parser *p, unsigned depth, struct value *v)
{
        _cleanup_free_ char *found = NULL;
        struct pos pos = here(p);
        int c = peek(p);
        size_t end;

        *v = (struct value){ .pos = pos };
        switch (c) {
        case '"':
        case '\'':
                return parse_string(p, v);
        case '[':
                return parse_array(p, depth, v);
        case '{':
                return parse_error(p, pos,
                                   "inline tables ({...}) are not supported, expected a string, "
                                   "number, boolean or array");
        default:
                break;
        }

        end = token_end(p, p->offset);
        if (end - p->offset == 4 && memcmp(p->text + p->offset, "true", 4) == 0) {
                v->type = VALUE_BOOLEAN;
                v->boolean = true;
                v->len = 4;
                p->offset = end;
                return 0;
        }
        if (end - p->offset == 5 && memcmp(p->text + p->offset, "false", 5) == 0) {
                v->type = VALUE_BOOLEAN;
                v->len = 5;
                p->offset = end;
                return 0;
        }
        if (end > p->offset) {
                const char *t = p->text + p->offset;
                size_t n = end - p->offset, s = (t[0] == '+' || t[0] == '-') ? 1 : 0;

                if ((n > s && isdigit((unsigned char)t[s])) ||
                    (n == s + 3 &&
                     (memcmp(t + s, "inf", 3) == 0 || memcmp(t + s, "nan", 3) == 0)) ||
                    n == s)
                        return parse_number(p, end, v);
        }

        found = describe_found(p, p->offset);
        if (end > p->offset) {
                const char *t = p->text + p->offset;
                size_t n = end - p->offset;

                if ((n == 4 && strncasecmp(t, "true", 4) == 0) ||
                    (n == 5 && strncasecmp(t, "false", 5) == 0))
                        return parse_error(p, pos,
                                           "expected a value (string, number, boolean or array), "
                                           "found %s (booleans are written true and false, in "
                                           "lower case)",
                                           strna(found));
                if (t[0] == '.' && n > 1 && isdigit((unsigned char)t[1]))
                        return parse_error(p, pos,
                                           "expected a value (string, number, boolean or array), "
                                           "found %s (a float needs a digit before the point)",
                                           strna(found));
                if (isalpha((unsigned char)t[0]) || t[0] == '/' || t[0] == '-' ||
                    (unsigned char)t[0] >= 0x80)
                        return parse_error(p, pos,
                                           "expected a value (string, number, boolean or array), "
                                           "found %s (strings must be quoted)",
                                           strna(found));
        }
        return parse_error(p, pos, "expected a value (string, number, boolean or array), found %s",
                           strna(found));
}

static bool is_key_char(int c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
}

/* Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions),
 * ignoring case: "sync_dealy" is 1 from "sync_delay", "NICE" 0 from "nice". */
static size_t edit_distance(const char *a, size_t n, const char *b)
{
        size_t m = strlen(b), *rows, *pp, *prev, *cur, d;

        rows = calloc(3 * (m + 1), sizeof(size_t));
        if (!rows)
                return SIZE_MAX;
        pp = rows;
        prev = rows + m + 1;
        cur = rows + 2 * (m + 1);
        for (size_t j = 0; j <= m; j++)
                prev[j] = j;
        for (size_t i = 1; i <= n; i++) {
                size_t *t;

                cur[0] = i;
                for (size_t j = 1; j <= m; j++) {
                        int ai = tolower((unsigned char)a[i - 1]),
                            bj = tolower((unsigned char)b[j - 1]);
                        size_t best = prev[j - 1] + (ai != bj);

                        if (prev[j] + 1 < best)
                                best = prev[j] + 1;
                        if (cur[j - 1] + 1 < best)
                                best = cur[j - 1] + 1;
                        if (i > 1 && j > 1 && ai == tolower((unsigned char)b[j - 2]) &&
                            tolower((unsigned char)a[i - 2]) == bj && pp[j - 2] + 1 < best)
                                best = pp[j - 2] + 1;
                        cur[j] = best;
                }
                t = pp;
                pp = prev;
                prev = cur;
                cur = t;
        }
        d = prev[m];
        free(rows);
        return d;
}

static int unknown_key_error(const struct parser *p, struct pos pos, size_t n)
{
        _cleanup_free_ char *key = snippet(p->text + pos.offset, n, true);
        _cleanup_free_ char *list = NULL;
        const char *best = NULL;
        size_t best_d = SIZE_MAX, limit = n / 3 > 2 ? n / 3 : 2;

        /* Beyond this length no known key (at most 13 characters) is within n/3 edits. */
        if (n <= 64)
                for (size_t k = 0; k < ELEMENTSOF(key_defs); k++) {
                        size_t d = edit_distance(p->text + pos.offset, n, key_defs[k].name);

                        if (d < best_d) {
                                best_d = d;
                                best = key_defs[k].name;
                        }
                }
        if (best && best_d <= limit)
                return parse_error(p, pos, "unknown key %s (did you mean '%s'?)", strna(key), best);

        for (size_t k = 0; k < ELEMENTSOF(key_defs); k++) {
                char *t;

                if (asprintf(&t, "%s%s%s", list ?: "", list ? ", " : "", key_defs[k].name) < 0)
                        return -ENOMEM;
                free(list);
                list = t;
        }
        return parse_error(p, pos, "unknown key %s, expected one of: %s", strna(key), list);
}

static int parse_key_value(struct parser *p, struct document *doc)
{
        struct pos kpos = here(p);
        const struct key_def *def = NULL;
        struct entry *e;
        size_t n;
        int r;

        while (is_key_char(peek(p)))
                p->offset++;
        n = p->offset - kpos.offset;
        skip_blanks(p);
        if (peek(p) == '.') {
                _cleanup_free_ char *key = snippet(p->text + kpos.offset, n, true);

                return parse_error(p, here(p),
                                   "dotted keys are not supported, expected '=' after key %s",
                                   strna(key));
        }
        if (peek(p) != '=') {
                _cleanup_free_ char *key = snippet(p->text + kpos.offset, n, true);
                _cleanup_free_ char *found = describe_found(p, p->offset);

                return parse_error(p, here(p), "expected '=' after key %s, found %s", strna(key),
                                   strna(found));
        }
        p->offset++;
        skip_blanks(p);

        for (size_t k = 0; k < ELEMENTSOF(key_defs); k++)
                if (strlen(key_defs[k].name) == n &&
                    memcmp(key_defs[k].name, p->text + kpos.offset, n) == 0)
                        def = &key_defs[k];
        if (!def)
                return unknown_key_error(p, kpos, n);
        if (doc->by_id[def->id]) {
                const struct entry *old = doc->by_id[def->id];

                if (old->def != def)
                        return parse_error(
                                p, kpos,
                                "%s and %s are the same setting (%s was set on line %u), "
                                "expected only one of them",
                                def->name, old->def->name, old->def->name, old->key_pos.line);
                return parse_error(p, kpos,
                                   "duplicate key '%s' (first set on line %u), expected each key "
                                   "at most once",
                                   def->name, old->key_pos.line);
        }

        e = &doc->entries[doc->n];
        *e = (struct entry){ .def = def, .key_pos = kpos };
        r = parse_value(p, 0, &e->value);
        if (r < 0)
                return r;
        doc->by_id[def->id] = e;
        doc->n++;

        skip_blanks(p);
        if (peek(p) == '#') {
                r = skip_comment(p);
                if (r < 0)
                        return r;
        }
        if (peek(p) != EOF && !at_newline(p)) {
                _cleanup_free_ char *found = describe_found(p, p->offset);

                return parse_error(p, here(p),
                                   "unexpected %s after the value of %s, expected end of line or "
                                   "a comment",
                                   strna(found), def->name);
        }
        return 0;
}

static int parse_document(struct parser *p, struct document *doc)
{
        int r;

        for (;;) {
                int c;

                skip_blanks(p);
                c = peek(p);
                if (c == EOF)
                        return 0;
                if (c == '#') {
                        r = skip_comment(p);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (at_newline(p)) {
                        consume_newline(p);
                        continue;
                }
                if (is_key_char(c)) {
                        r = parse_key_value(p, doc);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (c == '[')
                        return parse_error(p, here(p),
                                           peek_at(p, 1) == '['
                                                   ? "array tables ([[name]]) are not supported, "
                                                     "expected key = value"
                                                   : "tables ([name]) are not supported, expected "
                                                     "key = value (all keys are top-level)");
                if (c == '"' || c == '\'')
                        return parse_error(p, here(p),
                                           "quoted keys are not supported, expected a bare key "
                                           "(letters, digits, '_' and '-')");
                {
                        _cleanup_free_ char *found = describe_found(p, p->offset);

                        return parse_error(
                                p, here(p),
                                "expected a key (letters, digits, '_' and '-'), found %s",
                                strna(found));
                }
        }
}

/* ---------------------------------------------------------------------------------------- */
/* Semantic pass */

static int type_error(const struct parser *p, const struct value *v, const char *what,
                      const char *expected)
{
        return parse_error(p, v->pos, "%s must be %s, found %s", what, expected, type_name(v));
}

static int get_int(const struct parser *p, const struct entry *e, int min, int max, int *ret)
{
        const struct value *v = &e->value;

        if (v->type != VALUE_INTEGER) {
                _cleanup_free_ char *expected = NULL;

                if (asprintf(&expected, "an integer in %d..%d", min, max) < 0)
                        return -ENOMEM;
                return type_error(p, v, e->def->name, expected);
        }
        if (v->overflow || v->integer < min || v->integer > max) {
                _cleanup_free_ char *text = value_text(p, v);

                return parse_error(p, v->pos, "%s = %s is out of range, expected %d..%d",
                                   e->def->name, strna(text), min, max);
        }
        *ret = (int)v->integer;
        return 0;
}

static int get_duration(const struct parser *p, const struct entry *e, usec_t *ret)
{
        const struct value *v = &e->value;
        _cleanup_free_ char *text = NULL;

        if (v->type == VALUE_INTEGER) {
                if (!v->overflow && v->integer >= 0 && v->integer <= DURATION_MAX_SEC) {
                        *ret = (usec_t)v->integer * USEC_PER_SEC;
                        return 0;
                }
        } else if (v->type == VALUE_FLOAT) {
                /* Negated so NaN fails too; -0.0 passes as 0. */
                if (v->real >= 0 && v->real <= DURATION_MAX_SEC) {
                        /* Rounded to the nearest microsecond; no libm needed for it. */
                        *ret = (usec_t)(v->real * (double)USEC_PER_SEC + 0.5);
                        return 0;
                }
                if (isnan(v->real)) {
                        text = value_text(p, v);
                        return parse_error(p, v->pos,
                                           "%s = %s is not a number of seconds, expected 0..%d "
                                           "(at most a year)",
                                           e->def->name, strna(text), DURATION_MAX_SEC);
                }
        } else
                return type_error(p, v, e->def->name, "a number of seconds");

        text = value_text(p, v);
        return parse_error(p, v->pos,
                           "%s = %s is out of range, expected 0..%d seconds (at most a year)",
                           e->def->name, strna(text), DURATION_MAX_SEC);
}

/* Where the i-th byte of a string value's text is in the file: exact when the string had no
 * escapes (the usual case), else the string's opening quote. */
static struct pos string_pos(const struct value *v, size_t i)
{
        return v->escaped ? v->pos : pos_at(v->pos, v->pos.offset + 1 + i);
}

static int get_rsync_opts(const struct parser *p, const struct entry *e, char ***ret)
{
        const struct value *v = &e->value;
        _cleanup_strv_free_ char **l = NULL;
        const char *blank = " \t\n\r", *s;
        size_t n_words = 0, k = 0;

        if (v->type != VALUE_STRING)
                return type_error(p, v, "rsync_opts", "a string of rsync options");
        /* Counted first: appending one by one would be quadratic for a hostile file. */
        for (s = v->string; *(s += strspn(s, blank)); s += strcspn(s, blank))
                n_words++;
        l = calloc(n_words + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (s = v->string; *(s += strspn(s, blank)); k++) {
                size_t n = strcspn(s, blank);
                struct pos wpos = string_pos(v, (size_t)(s - v->string));

                l[k] = strndup(s, n);
                if (!l[k])
                        return -ENOMEM;
                if (streq(l[k], "-") || streq(l[k], "--"))
                        return parse_error(p, wpos,
                                           "rsync_opts holds '%s', which would end rsync's options "
                                           "and turn the options dual-root adds into file names, "
                                           "expected options only",
                                           l[k]);
                if (rsync_opt_dry_run(l[k]))
                        return parse_error(p, wpos,
                                           "rsync_opts holds '%s', a dry run: every sync would be "
                                           "reported done with nothing copied; use -t for a dry "
                                           "run, expected options that copy",
                                           l[k]);
                if (l[k][0] != '-') {
                        _cleanup_free_ char *q = snippet_str(l[k]);

                        return parse_error(p, wpos,
                                           "rsync_opts holds %s, expected options only (words "
                                           "starting with '-'): sources and destinations come "
                                           "from sync and esp_mounts",
                                           strna(q));
                }
                s += n;
        }
        /* The original tool treated an empty rsync_opts as unset. */
        if (n_words == 0 && strv_extend(&l, DEFAULT_RSYNC_OPTS) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

enum path_kind {
        PATH_LOCAL,
        PATH_SYNC, /* rsync would take "host:path" as remote: say that it is unsupported */
};

static int check_absolute_path(const struct parser *p, const struct value *v, const char *what,
                               enum path_kind kind)
{
        const char *s = v->string;
        _cleanup_free_ char *q = NULL;

        if (isempty(s))
                return parse_error(p, v->pos, "%s is empty, expected an absolute path", what);
        if (s[0] == '/')
                return 0;
        q = snippet_str(s);
        /* rsync's rule: a ':' before any '/' makes the argument remote (host:path,
         * rsync://host/...). */
        if (kind == PATH_SYNC && strcspn(s, ":") < strcspn(s, "/"))
                return parse_error(p, v->pos,
                                   "%s %s is a remote rsync location, expected a local absolute "
                                   "path (remote targets are not supported: every path is "
                                   "watched and checked for a mount)",
                                   what, strna(q));
        return parse_error(p, v->pos,
                           "%s %s is not an absolute path, expected a path starting with '/'", what,
                           strna(q));
}

/* For comparing paths that name the same directory: "//efi0/" and "/efi0" are one mount. */
static char *path_normalize(const char *s)
{
        size_t len = strlen(s), k = 0;
        char *n = malloc(len + 1);
        bool after_slash = false;

        if (!n)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '/' && after_slash)
                        continue;
                after_slash = s[i] == '/';
                n[k++] = s[i];
        }
        if (k > 1 && after_slash)
                k--;
        n[k] = 0;
        return n;
}

struct path_ref {
        char *norm;
        size_t index;
};

static int path_ref_cmp(const void *a, const void *b)
{
        const struct path_ref *x = a, *y = b;
        int c = strcmp(x->norm, y->norm);

        return c != 0 ? c : x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Finds the first element (in file order) that repeats an earlier one, comparing normalized
 * paths. Sorting keeps this O(n log n) for a hostile file with thousands of entries.
 * Returns 1 with *ret_dup and *ret_first set, 0 when all differ, -ENOMEM.
 */
static int find_duplicate(const struct value *const *items, size_t n, size_t *ret_dup,
                          size_t *ret_first)
{
        struct path_ref *refs;
        size_t dup = SIZE_MAX, first = 0, run = 0;
        int r = 0;

        if (n < 2)
                return 0;
        refs = calloc(n, sizeof(*refs));
        if (!refs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                refs[i] = (struct path_ref){ .norm = path_normalize(items[i]->string), .index = i };
                if (!refs[i].norm) {
                        r = -ENOMEM;
                        goto finish;
                }
        }
        qsort(refs, n, sizeof(*refs), path_ref_cmp);
        for (size_t i = 1; i < n; i++) {
                if (!streq(refs[i].norm, refs[i - 1].norm)) {
                        run = i;
                        continue;
                }
                if (refs[i].index < dup) {
                        dup = refs[i].index;
                        first = refs[run].index;
                }
        }
        if (dup != SIZE_MAX) {
                *ret_dup = dup;
                *ret_first = first;
                r = 1;
        }
finish:
        for (size_t i = 0; i < n; i++)
                free(refs[i].norm);
        free(refs);
        return r;
}

static int duplicate_error(const struct parser *p, const struct value *const *items, size_t dup,
                           size_t first, const char *what, const char *expected)
{
        _cleanup_free_ char *q = snippet_str(items[dup]->string);

        return parse_error(p, items[dup]->pos,
                           "%s %s names the same directory as the one at line %u, column %zu, "
                           "expected %s",
                           what, strna(q), items[first]->pos.line, pos_column(p, items[first]->pos),
                           expected);
}

static int get_esp_mounts(const struct parser *p, const struct entry *e, char ***ret)
{
        const struct value *v = &e->value;
        _cleanup_free_ const struct value **items = NULL;
        _cleanup_strv_free_ char **l = NULL;
        size_t dup, first;
        int r;

        if (v->type != VALUE_ARRAY)
                return type_error(p, v, "esp_mounts", "an array of absolute paths");
        if (v->array.n == 0)
                return parse_error(p, v->pos,
                                   "esp_mounts is empty, expected at least one mount point (leave "
                                   "it unset to use every /efi<N> mount)");
        items = calloc(v->array.n, sizeof(*items));
        l = calloc(v->array.n + 1, sizeof(char *));
        if (!items || !l)
                return -ENOMEM;
        for (size_t i = 0; i < v->array.n; i++) {
                const struct value *m = &v->array.items[i];

                if (m->type != VALUE_STRING)
                        return type_error(p, m, "esp_mounts entry", "a string (an absolute path)");
                r = check_absolute_path(p, m, "esp_mounts entry", PATH_LOCAL);
                if (r < 0)
                        return r;
                /* Stored normalized: other modules compare them with mount table entries. */
                l[i] = path_normalize(m->string);
                if (!l[i])
                        return -ENOMEM;
                if (streq(l[i], "/"))
                        return parse_error(p, m->pos,
                                           "esp_mounts entry '/' is the root directory, expected "
                                           "an ESP mount point such as /efi0");
                items[i] = m;
        }
        r = find_duplicate(items, v->array.n, &dup, &first);
        if (r < 0)
                return r;
        if (r > 0)
                return duplicate_error(p, items, dup, first, "esp_mounts entry",
                                       "distinct mount points");
        *ret = TAKE_PTR(l);
        return 0;
}

static int get_string_list(const struct parser *p, const struct value *v, const char *what,
                           const char *expected, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;

        l = calloc(v->array.n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < v->array.n; i++) {
                const struct value *x = &v->array.items[i];

                if (x->type != VALUE_STRING)
                        return type_error(p, x, what, expected);
                if (x->string[0] == 0)
                        return parse_error(p, x->pos, "%s is empty, expected %s", what, expected);
                l[i] = strdup(x->string);
                if (!l[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int get_esp_excludes(const struct parser *p, const struct entry *e, char ***ret)
{
        const struct value *v = &e->value;

        if (v->type != VALUE_ARRAY)
                return type_error(p, v, "esp_excludes", "an array of strings (rsync patterns)");
        return get_string_list(p, v, "esp_excludes entry", "a non-empty string (an rsync pattern)",
                               ret);
}

static void sync_item_done(struct sync_item *i)
{
        free(i->source);
        strv_free(i->dests);
        strv_free(i->excludes);
}

static void free_items(struct sync_item *items, size_t n)
{
        for (size_t i = 0; i < n; i++)
                sync_item_done(&items[i]);
        free(items);
}

static int get_sync_item(const struct parser *p, const struct value *v, struct sync_item *ret)
{
        _cleanup_free_ const struct value **dests = NULL;
        _cleanup_strv_free_ char **dl = NULL, **excl = NULL;
        _cleanup_free_ char *source = NULL, *src_norm = NULL;
        const struct value *src, *dv;
        size_t n_dests, dup, first;
        int r;

        if (v->array.n < 2 || v->array.n > 3)
                return parse_error(p, v->pos,
                                   "sync item must be [source, dest] or [source, dest, "
                                   "[exclusions...]], found an array of %zu element%s",
                                   v->array.n, v->array.n == 1 ? "" : "s");
        src = &v->array.items[0];
        if (src->type != VALUE_STRING)
                return type_error(p, src, "sync source", "a string (an absolute path)");
        r = check_absolute_path(p, src, "sync source", PATH_SYNC);
        if (r < 0)
                return r;

        dv = &v->array.items[1];
        if (dv->type == VALUE_STRING) {
                n_dests = 1;
                dests = calloc(1, sizeof(*dests));
                if (!dests)
                        return -ENOMEM;
                dests[0] = dv;
        } else if (dv->type == VALUE_ARRAY) {
                n_dests = dv->array.n;
                if (n_dests == 0)
                        return parse_error(p, dv->pos,
                                           "sync destination list is empty, expected at least one "
                                           "absolute path");
                dests = calloc(n_dests, sizeof(*dests));
                if (!dests)
                        return -ENOMEM;
                for (size_t i = 0; i < n_dests; i++) {
                        dests[i] = &dv->array.items[i];
                        if (dests[i]->type != VALUE_STRING)
                                return type_error(p, dests[i], "sync destination",
                                                  "a string (an absolute path)");
                }
        } else
                return type_error(p, dv, "sync destination",
                                  "a string or an array of strings (absolute paths)");

        src_norm = path_normalize(src->string);
        dl = calloc(n_dests + 1, sizeof(char *));
        if (!src_norm || !dl)
                return -ENOMEM;
        for (size_t i = 0; i < n_dests; i++) {
                _cleanup_free_ char *norm = NULL;

                r = check_absolute_path(p, dests[i], "sync destination", PATH_SYNC);
                if (r < 0)
                        return r;
                norm = path_normalize(dests[i]->string);
                dl[i] = strdup(dests[i]->string);
                if (!norm || !dl[i])
                        return -ENOMEM;
                if (streq(norm, src_norm)) {
                        _cleanup_free_ char *q = snippet_str(dests[i]->string);

                        return parse_error(p, dests[i]->pos,
                                           "sync destination %s is the item's source, expected "
                                           "another directory",
                                           strna(q));
                }
        }
        r = find_duplicate(dests, n_dests, &dup, &first);
        if (r < 0)
                return r;
        if (r > 0)
                return duplicate_error(p, dests, dup, first, "sync destination",
                                       "distinct destinations");

        if (v->array.n == 3) {
                const struct value *xv = &v->array.items[2];

                if (xv->type != VALUE_ARRAY)
                        return parse_error(p, xv->pos,
                                           "sync exclusions must be an array of strings, found "
                                           "%s (write [\"pattern\", ...])",
                                           type_name(xv));
                r = get_string_list(p, xv, "sync exclusion",
                                    "a non-empty string (an rsync pattern)", &excl);
                if (r < 0)
                        return r;
        } else {
                excl = calloc(1, sizeof(char *));
                if (!excl)
                        return -ENOMEM;
        }

        source = strdup(src->string);
        if (!source)
                return -ENOMEM;
        *ret = (struct sync_item){
                .source = TAKE_PTR(source),
                .dests = TAKE_PTR(dl),
                .excludes = TAKE_PTR(excl),
                .line = v->pos.line,
        };
        return 0;
}

static int get_sync(const struct parser *p, const struct entry *e, struct sync_item **ret_items,
                    size_t *ret_n)
{
        const struct value *v = &e->value;
        struct sync_item *items;
        bool one;
        size_t n;
        int r = 0;

        if (v->type != VALUE_ARRAY)
                return type_error(p, v, "sync",
                                  "an array: [source, dest, [exclusions...]] or a list of such "
                                  "items");
        if (v->array.n == 0) {
                *ret_items = NULL;
                *ret_n = 0;
                return 0;
        }
        /* The original accepted one item or a list of items: a string first means one item. */
        one = v->array.items[0].type == VALUE_STRING;
        if (one)
                n = 1;
        else if (v->array.items[0].type == VALUE_ARRAY)
                n = v->array.n;
        else
                return parse_error(p, v->array.items[0].pos,
                                   "sync must be [source, dest, [exclusions...]] or a list of such "
                                   "items, found an array starting with %s",
                                   type_name(&v->array.items[0]));

        items = calloc(n, sizeof(*items));
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const struct value *item = one ? v : &v->array.items[i];

                if (item->type != VALUE_ARRAY) {
                        r = parse_error(p, item->pos,
                                        "sync item must be an array [source, dest, "
                                        "[exclusions...]], found %s",
                                        type_name(item));
                        goto fail;
                }
                r = get_sync_item(p, item, &items[i]);
                if (r < 0)
                        goto fail;
        }
        *ret_items = items;
        *ret_n = n;
        return 0;
fail:
        free_items(items, n);
        return r;
}

static int check_settle_max(const struct parser *p, const struct document *doc,
                            const struct config *c)
{
        const struct entry *st = doc->by_id[KEY_SETTLE_TIME], *mw = doc->by_id[KEY_MAX_WAIT];
        _cleanup_free_ char *st_text = NULL, *mw_text = NULL;

        /* The defaults obey the rule, so a conflict means at least one of the two was set. */
        if (c->settle_time <= c->max_wait || (!st && !mw))
                return 0;
        if (st)
                st_text = value_text(p, &st->value);
        if (mw)
                mw_text = value_text(p, &mw->value);
        /* Reported at whichever of the two was written last: that is where the conflict is. */
        if (st && mw && st->key_pos.offset > mw->key_pos.offset)
                return parse_error(p, st->value.pos,
                                   "settle_time = %s exceeds max_wait = %s (line %u), expected "
                                   "settle_time <= max_wait",
                                   strna(st_text), strna(mw_text), mw->key_pos.line);
        if (st && mw)
                return parse_error(p, mw->value.pos,
                                   "max_wait = %s is shorter than settle_time = %s (line %u), "
                                   "expected max_wait >= settle_time",
                                   strna(mw_text), strna(st_text), st->key_pos.line);
        if (st)
                return parse_error(p, st->value.pos,
                                   "settle_time = %s exceeds max_wait (%" PRIu64 " s by default), "
                                   "expected settle_time <= max_wait",
                                   strna(st_text), c->max_wait / USEC_PER_SEC);
        return parse_error(p, mw->value.pos,
                           "max_wait = %s is shorter than settle_time (%" PRIu64
                           " s by default), expected max_wait >= settle_time",
                           strna(mw_text), c->settle_time / USEC_PER_SEC);
}

static void strv_replace(char ***dst, char **src)
{
        strv_free(*dst);
        *dst = src;
}

static int apply_entry(const struct parser *p, const struct entry *e, struct config *c)
{
        const struct value *v = &e->value;
        char **l = NULL;
        int r = 0;

        switch (e->def->id) {
        case KEY_DUALROOT:
                if (v->type != VALUE_BOOLEAN)
                        return type_error(p, v, "dualroot", "a boolean (true or false)");
                c->dualroot = v->boolean;
                return 0;
        case KEY_RSYNC_OPTS:
                r = get_rsync_opts(p, e, &l);
                if (r >= 0)
                        strv_replace(&c->rsync_opts, l);
                return r;
        case KEY_NICE:
                return get_int(p, e, -20, 19, &c->nice);
        case KEY_IONICE_CLASS:
                return get_int(p, e, 0, 3, &c->ionice_class);
        case KEY_IONICE_LEVEL:
                return get_int(p, e, 0, 7, &c->ionice_level);
        case KEY_SYNC_DELAY:
                return get_duration(p, e, &c->sync_delay);
        case KEY_SETTLE_TIME:
                return get_duration(p, e, &c->settle_time);
        case KEY_MAX_WAIT:
                return get_duration(p, e, &c->max_wait);
        case KEY_RSYNC_TIMEOUT:
                return get_duration(p, e, &c->rsync_timeout);
        case KEY_LOCK_TIMEOUT:
                return get_duration(p, e, &c->lock_timeout);
        case KEY_RSYNC_PATH: {
                char *s;

                if (v->type != VALUE_STRING)
                        return type_error(p, v, "rsync_path", "a string (an absolute path)");
                r = check_absolute_path(p, v, "rsync_path", PATH_LOCAL);
                if (r < 0)
                        return r;
                s = strdup(v->string);
                if (!s)
                        return -ENOMEM;
                free(c->rsync_path);
                c->rsync_path = s;
                return 0;
        }
        case KEY_ESP_MOUNTS:
                r = get_esp_mounts(p, e, &l);
                if (r >= 0)
                        strv_replace(&c->esp_mounts, l);
                return r;
        case KEY_ESP_EXCLUDES:
                r = get_esp_excludes(p, e, &l);
                if (r >= 0)
                        strv_replace(&c->esp_excludes, l);
                return r;
        case KEY_SYNC: {
                struct sync_item *items = NULL;
                size_t n = 0;

                r = get_sync(p, e, &items, &n);
                if (r < 0)
                        return r;
                free_items(c->items, c->n_items);
                c->items = items;
                c->n_items = n;
                return 0;
        }
        case _KEY_MAX:
                break;
        }
        return -EINVAL;
}

/* ---------------------------------------------------------------------------------------- */
/* Public API */

struct config *config_new_default(void)
{
        _cleanup_config_free_ struct config *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        *c = (struct config){
                .dualroot = true,
                .nice = 15,
                .ionice_class = 3,
                .ionice_level = 7,
                .sync_delay = 300 * USEC_PER_SEC,
                .settle_time = 5 * USEC_PER_SEC,
                .max_wait = 120 * USEC_PER_SEC,
                .rsync_timeout = 3600 * USEC_PER_SEC,
                .lock_timeout = 300 * USEC_PER_SEC,
        };
        c->rsync_path = strdup(DEFAULT_RSYNC_PATH);
        if (!c->rsync_path || strv_extend(&c->rsync_opts, DEFAULT_RSYNC_OPTS) < 0 ||
            strv_extend(&c->esp_excludes, DEFAULT_ESP_EXCLUDE) < 0)
                return NULL;
        return TAKE_PTR(c);
}

struct config *config_free(struct config *c)
{
        if (!c)
                return NULL;
        free(c->path);
        strv_free(c->rsync_opts);
        free(c->rsync_path);
        strv_free(c->esp_mounts);
        strv_free(c->esp_excludes);
        free_items(c->items, c->n_items);
        free(c);
        return NULL;
}

int config_parse(const char *path, const char *text, size_t size, struct config **ret, char **why)
{
        _cleanup_(document_done) struct document doc = {};
        _cleanup_config_free_ struct config *c = NULL;
        struct parser p = {
                .path = strna(path),
                .text = text,
                .size = size,
                .line = 1,
                .why = why,
        };
        int r;

        if (size > CONFIG_MAX_SIZE)
                return errmsg(why, -EFBIG, "%s: file is %zu bytes, expected at most 1 MiB", p.path,
                              size);
        /* Editors on other systems may start UTF-8 files with a byte order mark. */
        if (size >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
                p.offset = p.line_start = 3;
        r = check_text(&p);
        if (r < 0)
                return r;
        r = parse_document(&p, &doc);
        if (r < 0)
                return r;

        c = config_new_default();
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < doc.n; i++) {
                r = apply_entry(&p, &doc.entries[i], c);
                if (r < 0)
                        return r;
        }
        r = check_settle_max(&p, &doc, c);
        if (r < 0)
                return r;
        c->path = strdup(p.path);
        if (!c->path)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

int config_load(const char *path, bool must_exist, struct config **ret, char **why)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *text = NULL;
        struct config *c;
        struct stat st;
        size_t size;
        int r;

        /* O_NONBLOCK: a FIFO put in the file's place must not hang us in open(); it is
         * refused below as not a regular file. Symlinks are fine (/etc is often managed). */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = negative_errno();
                /* A dangling symlink is a broken config, not an absent one: the defaults might
                 * sync what the file it pointed to had turned off. */
                if (r == -ENOENT && !must_exist && lstat(path, &st) == 0)
                        return errmsg(why, r,
                                      "%s: cannot open: symbolic link to a missing file, expected "
                                      "the file or no link at all",
                                      path);
                if (r == -ENOENT && !must_exist) {
                        c = config_new_default();
                        if (!c)
                                return -ENOMEM;
                        *ret = c;
                        return 0;
                }
                errno = -r;
                return errmsg(why, r, "%s: cannot open: %m", path);
        }
        if (fstat(fd, &st) < 0) {
                r = negative_errno();
                return errmsg(why, r, "%s: cannot stat: %m", path);
        }
        if (S_ISDIR(st.st_mode))
                return errmsg(why, -EISDIR, "%s: is a directory, expected a regular file", path);
        if (!S_ISREG(st.st_mode))
                return errmsg(why, -EINVAL, "%s: is not a regular file, expected a regular file",
                              path);
        /* The file names the program run as root and the trees it overwrites: only root (or
         * the user running us, for tests and --test runs) may control it, as doas requires. */
        if (st.st_uid != 0 && st.st_uid != geteuid()) {
                _cleanup_free_ char *who = NULL;

                if (geteuid() != 0 && asprintf(&who, " or uid %u (the caller)", geteuid()) < 0)
                        return -ENOMEM;
                return errmsg(why, -EPERM,
                              "%s: owned by uid %u, expected root%s (the file names the rsync "
                              "program run as root)",
                              path, (unsigned)st.st_uid, who ?: "");
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return errmsg(why, -EPERM,
                              "%s: writable by %s (mode %04o), expected no write permission for "
                              "group or others (chmod go-w; the file names the rsync program run "
                              "as root)",
                              path,
                              (st.st_mode & S_IWGRP) && (st.st_mode & S_IWOTH) ? "group and others"
                              : (st.st_mode & S_IWGRP)                         ? "group"
                                                                               : "others",
                              (unsigned)(st.st_mode & 07777));
        if (st.st_size > CONFIG_MAX_SIZE)
                return errmsg(why, -EFBIG, "%s: file is %jd bytes, expected at most 1 MiB", path,
                              (intmax_t)st.st_size);
        r = read_full_fd(fd, CONFIG_MAX_SIZE, &text, &size);
        if (r == -EFBIG)
                return errmsg(why, r, "%s: file is larger than 1 MiB, expected at most 1 MiB",
                              path);
        if (r < 0) {
                errno = -r;
                return errmsg(why, r, "%s: cannot read: %m", path);
        }
        return config_parse(path, text, size, ret, why);
}
