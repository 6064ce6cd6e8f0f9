/* SPDX-License-Identifier: MIT */
/*
 * The TOML subset of toml.h (DESIGN.md §7). The original tool read its config with Python's
 * tomllib, so what we accept is read exactly as TOML 1.0 defines it (checked against
 * tomllib); TOML outside our subset (tables, dotted and quoted keys, inline tables, dates,
 * multi-line strings) is named in the error rather than reported as a generic syntax error.
 * Every message carries PATH:LINE:COL (column in characters).
 */
#include <ctype.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml.h"
#include "util/errmsg.h"
#include "util/strv.h"
#include "util/utf8.h"

/* Our deepest key needs 3 levels (sync = [[src, [dests], [excl]]]); the limit only bounds
 * recursion on hostile input. */
#define MAX_NESTING 32
/* Characters of a token or string quoted in a message before it is cut with "...". */
#define SNIPPET_MAX 40

static void value_done(struct toml_value *v)
{
        if (v->type == TOML_STRING)
                free(v->string);
        else if (v->type == TOML_ARRAY) {
                for (size_t i = 0; i < v->array.n; i++)
                        value_done(&v->array.items[i]);
                free(v->array.items);
        }
        *v = (struct toml_value){};
}

const char *toml_type_name(const struct toml_value *v)
{
        switch (v->type) {
        case TOML_STRING:
                return "a string";
        case TOML_INTEGER:
                return "an integer";
        case TOML_FLOAT:
                return "a float";
        case TOML_BOOLEAN:
                return "a boolean";
        case TOML_ARRAY:
                return "an array";
        }
        return "a value";
}

/* ---------------------------------------------------------------------------------------- */
/* Text helpers */

static int peek_at(const struct toml *p, size_t ahead)
{
        size_t i = p->offset + ahead;

        return i < p->size ? (unsigned char)p->text[i] : EOF;
}

static int peek(const struct toml *p)
{
        return peek_at(p, 0);
}

static struct toml_pos here(const struct toml *p)
{
        return (struct toml_pos){ .line = p->line,
                                  .line_start = p->line_start,
                                  .offset = p->offset };
}

static bool is_control(unsigned c)
{
        return c < 0x20 || c == 0x7F;
}

/* Length of the (already validated) UTF-8 sequence starting with byte c. */
static size_t utf8_len(unsigned char c)
{
        return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

size_t toml_column(const struct toml *p, struct toml_pos pos)
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

char *toml_quote(const char *s)
{
        return snippet(s, strlen(s), true);
}

char *toml_source(const struct toml *t, size_t offset, size_t n)
{
        return snippet(t->text + offset, n, true);
}

/* The value's source text, unquoted: numbers are echoed as written ("nice = 0x19 ..."). */
char *toml_value_text(const struct toml *p, const struct toml_value *v)
{
        return snippet(p->text + v->pos.offset, v->len, false);
}

_printf_(3, 4) int toml_error(const struct toml *p, struct toml_pos pos, const char *format, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&msg, format, ap) < 0)
                msg = NULL;
        va_end(ap);
        return errmsg(p->why, -EINVAL, "%s:%u:%zu: %s", p->path, pos.line, toml_column(p, pos),
                      strna(msg));
}

/* Characters that end a bare token (a word that is not a key, a number, a boolean). */
static bool is_delimiter(unsigned char c)
{
        return is_control(c) || strchr(" ,[]{}#=\"'", c);
}

static size_t token_end(const struct toml *p, size_t offset)
{
        while (offset < p->size && !is_delimiter((unsigned char)p->text[offset]))
                offset++;
        return offset;
}

/* What the parser found at offset, for "..., found X". */
static char *describe_found(const struct toml *p, size_t offset)
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

static void skip_blanks(struct toml *p)
{
        while (is_blank(peek(p)))
                p->offset++;
}

/* A lone CR was refused up front, so '\r' always starts a CRLF. */
static bool at_newline(const struct toml *p)
{
        int c = peek(p);

        return c == '\n' || c == '\r';
}

static void consume_newline(struct toml *p)
{
        p->offset += peek(p) == '\r' ? 2 : 1;
        p->line++;
        p->line_start = p->offset;
}

/* TOML allows any character in a comment except control characters other than tab. */
static int skip_comment(struct toml *p)
{
        for (int c; (c = peek(p)) != EOF && c != '\n' && c != '\r'; p->offset++)
                if (c != '\t' && is_control((unsigned)c))
                        return toml_error(p, here(p),
                                          "control character U+%04X in a comment, expected "
                                          "printable text",
                                          (unsigned)c);
        return 0;
}

/* Inside arrays, newlines and comments may appear between elements. */
static int skip_space_in_array(struct toml *p)
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
static int check_text(struct toml *p)
{
        const unsigned char *s = (const unsigned char *)p->text;
        unsigned line = p->line;
        size_t line_start = p->line_start;

        for (size_t i = p->offset; i < p->size;) {
                struct toml_pos pos = { .line = line, .line_start = line_start, .offset = i };
                size_t len;

                if (s[i] == 0)
                        return toml_error(p, pos, "NUL byte, expected UTF-8 text");
                if (s[i] == '\r' && (i + 1 >= p->size || s[i + 1] != '\n'))
                        return toml_error(p, pos,
                                          "carriage return without a line feed, expected LF "
                                          "or CRLF line ends");
                len = utf8_valid_len(s + i, p->size - i);
                if (len == 0)
                        return toml_error(p, pos,
                                          "invalid UTF-8 (byte 0x%02X), expected UTF-8 text", s[i]);
                i += len;
                if (s[i - 1] == '\n') {
                        line++;
                        line_start = i;
                }
        }
        return 0;
}

static int parse_value(struct toml *p, unsigned depth, struct toml_value *v);

/* End of the current line's content (before LF or CRLF). Cached per line: a long line of
 * many strings would otherwise be searched again for each one. */
static size_t line_content_end(struct toml *p)
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

static int parse_escape(struct toml *p, struct toml_pos spos, size_t *i, size_t end, char *buf,
                        size_t *n)
{
        const char *t = p->text;
        size_t at = *i, digits;
        uint32_t cp = 0;
        char e;

        if (at + 1 >= end)
                return toml_error(p, toml_pos_at(spos, at),
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
                                return toml_error(p, toml_pos_at(spos, at),
                                                  "invalid escape %s, expected \\%c followed by "
                                                  "%zu hexadecimal digits",
                                                  strna(esc), e, digits);
                        }
                        cp = cp << 4 | (uint32_t)(isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10));
                }
                if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        return toml_error(p, toml_pos_at(spos, at),
                                          "\\%c%0*" PRIX32 " is not a Unicode scalar value, "
                                          "expected a code point in 0..D7FF or E000..10FFFF",
                                          e, (int)digits, cp);
                /* TOML allows it, but no path or option can hold a NUL. */
                if (cp == 0)
                        return toml_error(p, toml_pos_at(spos, at),
                                          "\\%c%0*" PRIX32 " (NUL) cannot be used, expected a "
                                          "character that can appear in a path or option",
                                          e, (int)digits, cp);
                *n += utf8_encode(buf + *n, cp);
                *i = at + 2 + digits;
                return 0;
        default: {
                _cleanup_free_ char *esc = snippet(t + at, 1 + utf8_len((unsigned char)e), true);
                return toml_error(p, toml_pos_at(spos, at),
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
static size_t string_close(const struct toml *p, size_t offset, size_t end)
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
static int parse_string(struct toml *p, struct toml_value *v)
{
        struct toml_pos spos = here(p);
        char quote = p->text[p->offset];
        bool literal = quote == '\'';
        size_t end = line_content_end(p), i = p->offset + 1, n = 0;
        _cleanup_free_ char *buf = NULL;

        if (peek_at(p, 1) == quote && peek_at(p, 2) == quote)
                return toml_error(p, spos,
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
                        return toml_error(p, spos,
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
                        return toml_error(p, toml_pos_at(spos, i),
                                          "control character U+%04X in a string, expected %s", c,
                                          literal ? "printable text (a basic \"...\" string can "
                                                    "escape it)"
                                                  : "printable text or an escape such as \\t");
                buf[n++] = (char)c;
                i++;
        }
        buf[n] = 0;
        v->type = TOML_STRING;
        v->string = TAKE_PTR(buf);
        v->len = i + 1 - p->offset;
        p->offset = i + 1;
        return 0;
}

static int parse_array(struct toml *p, unsigned depth, struct toml_value *v)
{
        struct toml_pos open = here(p);
        size_t alloc = 0;
        int r;

        if (depth >= MAX_NESTING)
                return toml_error(p, open,
                                  "arrays nested more than %d deep, expected at most %d levels",
                                  MAX_NESTING, MAX_NESTING);
        v->type = TOML_ARRAY;
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
                        r = toml_error(p, here(p),
                                       "expected a value or ']' in the array opened at line %u, "
                                       "column %zu, found %s",
                                       open.line, toml_column(p, open), strna(found));
                        goto fail;
                }
                if (v->array.n == alloc) {
                        size_t na = alloc ? alloc * 2 : 4;
                        struct toml_value *t = reallocarray(v->array.items, na, sizeof(*t));

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
                        r = toml_error(p, here(p),
                                       "expected ',' or ']' after an element of the array opened "
                                       "at line %u, column %zu, found %s",
                                       open.line, toml_column(p, open), strna(found));
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
static int scan_digits(const struct toml *p, struct toml_pos tpos, size_t *i, size_t end,
                       unsigned base, const char *where, const char *token)
{
        const char *t = p->text;

        if (*i >= end || !is_digit_of((unsigned char)t[*i], base))
                return toml_error(p, toml_pos_at(tpos, *i),
                                  "invalid number %s, expected %s digit%s", token, base_name(base),
                                  where);
        for ((*i)++; *i < end; (*i)++) {
                int c = (unsigned char)t[*i];

                if (c == '_') {
                        if (*i + 1 >= end || !is_digit_of((unsigned char)t[*i + 1], base))
                                return toml_error(p, toml_pos_at(tpos, *i),
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

/* The value of n bytes of digits (and '_') in base, already checked; one past int64 sets
 * v->overflow and keeps the sign, so range messages and checks see which end it passed. */
static void integer_value(const char *t, size_t n, unsigned base, bool negative,
                          struct toml_value *v)
{
        uint64_t mag = 0;

        for (size_t k = 0; k < n; k++) {
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
        v->type = TOML_INTEGER;
        if (!v->overflow) {
                if (negative && mag <= (uint64_t)INT64_MAX + 1)
                        v->integer = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
                else if (!negative && mag <= INT64_MAX)
                        v->integer = (int64_t)mag;
                else
                        v->overflow = true;
        }
        if (v->overflow)
                v->integer = negative ? INT64_MIN : INT64_MAX;
}

/* Numbers exactly as TOML 1.0 writes them: decimal with sign and underscores, 0x/0o/0b,
 * floats with fraction and/or exponent, inf and nan. */
static int parse_number(struct toml *p, size_t end, struct toml_value *v)
{
        struct toml_pos tpos = here(p);
        const char *t = p->text;
        size_t start = p->offset, i = start, int_start;
        _cleanup_free_ char *token = snippet(t + start, end - start, true);
        bool negative = false, is_float = false;
        unsigned base = 10;
        int r;

        if (!token)
                return -ENOMEM;
        v->len = end - start;
        if (looks_like_date_or_time(t + start, end - start))
                return toml_error(p, tpos,
                                  "dates and times are not supported, found %s, expected a "
                                  "string, number, boolean or array",
                                  token);
        if (t[i] == '+' || t[i] == '-')
                negative = t[i++] == '-';
        if (end - i == 3 && (memcmp(t + i, "inf", 3) == 0 || memcmp(t + i, "nan", 3) == 0)) {
                v->type = TOML_FLOAT;
                v->real = t[i] == 'i' ? INFINITY : NAN;
                if (negative)
                        v->real = -v->real;
                p->offset = end;
                return 0;
        }
        if (end - i >= 2 && t[i] == '0' && strchr("xob", t[i + 1])) {
                base = t[i + 1] == 'x' ? 16 : t[i + 1] == 'o' ? 8 : 2;
                if (i != start)
                        return toml_error(p, tpos,
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
                return toml_error(p, toml_pos_at(tpos, int_start),
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

                return toml_error(p, toml_pos_at(tpos, i),
                                  "invalid number %s, expected %s digit, found %s", token,
                                  base_name(base), strna(found));
        }

        if (is_float) {
                v->type = TOML_FLOAT;
                r = parse_float_text(t + start, end - start, &v->real);
                if (r < 0)
                        return r;
                p->offset = end;
                return 0;
        }
        integer_value(t + int_start, end - int_start, base, negative, v);
        p->offset = end;
        return 0;
}

static int parse_value(struct toml *p, unsigned depth, struct toml_value *v)
{
        _cleanup_free_ char *found = NULL;
        struct toml_pos pos = here(p);
        int c = peek(p);
        size_t end;

        *v = (struct toml_value){ .pos = pos };
        switch (c) {
        case '"':
        case '\'':
                return parse_string(p, v);
        case '[':
                return parse_array(p, depth, v);
        case '{':
                return toml_error(p, pos,
                                  "inline tables ({...}) are not supported, expected a string, "
                                  "number, boolean or array");
        default:
                break;
        }

        end = token_end(p, p->offset);
        if (end - p->offset == 4 && memcmp(p->text + p->offset, "true", 4) == 0) {
                v->type = TOML_BOOLEAN;
                v->boolean = true;
                v->len = 4;
                p->offset = end;
                return 0;
        }
        if (end - p->offset == 5 && memcmp(p->text + p->offset, "false", 5) == 0) {
                v->type = TOML_BOOLEAN;
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
                        return toml_error(p, pos,
                                          "expected a value (string, number, boolean or array), "
                                          "found %s (booleans are written true and false, in "
                                          "lower case)",
                                          strna(found));
                if (t[0] == '.' && n > 1 && isdigit((unsigned char)t[1]))
                        return toml_error(p, pos,
                                          "expected a value (string, number, boolean or array), "
                                          "found %s (a float needs a digit before the point)",
                                          strna(found));
                if (isalpha((unsigned char)t[0]) || t[0] == '/' || t[0] == '-' ||
                    (unsigned char)t[0] >= 0x80)
                        return toml_error(p, pos,
                                          "expected a value (string, number, boolean or array), "
                                          "found %s (strings must be quoted)",
                                          strna(found));
        }
        return toml_error(p, pos, "expected a value (string, number, boolean or array), found %s",
                          strna(found));
}

static bool is_key_char(int c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
}

/* Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions),
 * ignoring case: "sync_dealy" is 1 from "sync_delay", "NICE" 0 from "nice". */
static int parse_key_value(struct toml *p, toml_key_fn key, void *userdata)
{
        struct toml_pos kpos = here(p);
        struct toml_entry *e;
        size_t n;
        int r, id;

        while (is_key_char(peek(p)))
                p->offset++;
        n = p->offset - kpos.offset;
        skip_blanks(p);
        if (peek(p) == '.') {
                _cleanup_free_ char *k = toml_source(p, kpos.offset, n);

                return toml_error(p, here(p),
                                  "dotted keys are not supported, expected '=' after key %s",
                                  strna(k));
        }
        if (peek(p) != '=') {
                _cleanup_free_ char *k = toml_source(p, kpos.offset, n);
                _cleanup_free_ char *found = describe_found(p, p->offset);

                return toml_error(p, here(p), "expected '=' after key %s, found %s", strna(k),
                                  strna(found));
        }
        p->offset++;
        skip_blanks(p);

        id = key(p, kpos, n, userdata);
        if (id < 0)
                return id;
        if (p->n_entries % 16 == 0) {
                struct toml_entry *t =
                        reallocarray(p->entries, p->n_entries + 16, sizeof(*p->entries));

                if (!t)
                        return -ENOMEM;
                p->entries = t;
        }
        e = &p->entries[p->n_entries];
        *e = (struct toml_entry){ .id = (size_t)id, .key_pos = kpos, .key_len = n };
        r = parse_value(p, 0, &e->value);
        if (r < 0)
                return r;
        p->n_entries++;

        skip_blanks(p);
        if (peek(p) == '#') {
                r = skip_comment(p);
                if (r < 0)
                        return r;
        }
        if (peek(p) != EOF && !at_newline(p)) {
                _cleanup_free_ char *found = describe_found(p, p->offset);

                /* A key is letters, digits, '_' and '-': safe to show as it is. */
                return toml_error(p, here(p),
                                  "unexpected %s after the value of %.*s, expected end of line or "
                                  "a comment",
                                  strna(found), (int)n, p->text + kpos.offset);
        }
        return 0;
}

static int parse_document(struct toml *p, toml_key_fn key, void *userdata)
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
                        r = parse_key_value(p, key, userdata);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (c == '[')
                        return toml_error(p, here(p),
                                          peek_at(p, 1) == '['
                                                  ? "array tables ([[name]]) are not supported, "
                                                    "expected key = value"
                                                  : "tables ([name]) are not supported, expected "
                                                    "key = value (all keys are top-level)");
                if (c == '"' || c == '\'')
                        return toml_error(p, here(p),
                                          "quoted keys are not supported, expected a bare key "
                                          "(letters, digits, '_' and '-')");
                {
                        _cleanup_free_ char *found = describe_found(p, p->offset);

                        return toml_error(p, here(p),
                                          "expected a key (letters, digits, '_' and '-'), found %s",
                                          strna(found));
                }
        }
}

/* ---------------------------------------------------------------------------------------- */
/* Public API */

int toml_parse(struct toml *t, const char *path, const char *text, size_t size, toml_key_fn key,
               void *userdata, char **why)
{
        int r;

        *t = (struct toml){
                .path = strna(path),
                .text = text,
                .size = size,
                .line = 1,
                .why = why,
        };
        /* Editors on other systems may start UTF-8 files with a byte order mark. */
        if (size >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
                t->offset = t->line_start = 3;
        r = check_text(t);
        if (r < 0)
                return r;
        return parse_document(t, key, userdata);
}

void toml_done(struct toml *t)
{
        for (size_t i = 0; i < t->n_entries; i++)
                value_done(&t->entries[i].value);
        free(t->entries);
        t->entries = NULL;
        t->n_entries = 0;
}
