/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A TOML subset (DESIGN.md §7), read exactly as TOML 1.0 defines it: comments, bare keys at
 * top level, basic and literal strings, integers (decimal, 0x, 0o, 0b), floats, booleans,
 * arrays (nested, multi-line, trailing comma). Anything else (tables, dotted or quoted keys,
 * inline tables, dates, multi-line strings) is an error naming PATH:LINE:COL and what was
 * expected.
 *
 * The parser knows no key names: for each key it asks the caller's toml_key_fn, which
 * returns the key's id (or refuses it, e.g. as unknown or repeated). The caller then checks
 * each entry's value and reports with toml_error(), so every message has the same shape.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/macro.h"

enum toml_type {
        TOML_STRING,
        TOML_INTEGER,
        TOML_FLOAT,
        TOML_BOOLEAN,
        TOML_ARRAY,
};

struct toml_pos {
        unsigned line;
        size_t line_start; /* byte offset of the line's first character */
        size_t offset;     /* byte offset of the position itself */
};

struct toml_value {
        enum toml_type type;
        struct toml_pos pos;
        size_t len;    /* bytes of source text the value spans */
        bool overflow; /* integer outside int64: valid TOML, out of range for any key of ours */
        bool escaped;  /* string contained escapes, so its text differs from the source */
        union {
                char *string;
                int64_t integer;
                double real;
                bool boolean;
                struct {
                        struct toml_value *items;
                        size_t n;
                } array;
        };
};

struct toml_entry {
        size_t id; /* what the toml_key_fn returned for the key */
        struct toml_pos key_pos;
        size_t key_len;
        struct toml_value value;
};

/* The parser's state; read path, text and entries, the rest is the parser's own. */
struct toml {
        const char *path;
        const char *text;
        size_t size;
        char **why;

        struct toml_entry *entries; /* in file order */
        size_t n_entries;

        size_t offset;
        unsigned line;
        size_t line_start;
        size_t eol, eol_line_start; /* cache for the end of the current line */
        bool eol_valid;
};

/*
 * Called for each key (t->text + pos.offset, len bytes: letters, digits, '_' and '-') before
 * its value is read. Returns the id to store in the entry, or a negative errno (with *t->why
 * set through toml_error()) to stop parsing.
 */
typedef int (*toml_key_fn)(const struct toml *t, struct toml_pos pos, size_t len, void *userdata);

/*
 * Parses size bytes of text (NUL bytes are refused; a UTF-8 byte order mark is skipped) read
 * from path (used in messages). On failure returns -errno with *why set (except on ENOMEM);
 * the entries parsed so far stay in t for toml_done().
 */
int toml_parse(struct toml *t, const char *path, const char *text, size_t size, toml_key_fn key,
               void *userdata, char **why);
void toml_done(struct toml *t);

/* Sets *t->why to "PATH:LINE:COL: message" and returns -EINVAL. */
_printf_(3, 4) int toml_error(const struct toml *t, struct toml_pos pos, const char *format, ...);

/* Column of pos in characters, from 1. */
size_t toml_column(const struct toml *t, struct toml_pos pos);
static inline struct toml_pos toml_pos_at(struct toml_pos pos, size_t offset)
{
        pos.offset = offset;
        return pos;
}

/* "a string", "an integer", ... for "found X" in messages. */
const char *toml_type_name(const struct toml_value *v);

/*
 * Text for a message, cut after 40 characters with "...", control characters escaped as
 * \u and four hex digits, so a hostile file cannot drive the terminal that shows the
 * error. NULL on ENOMEM.
 * toml_quote() quotes a string in '...'; toml_source() quotes n bytes of the source at
 * offset; toml_value_text() gives a value's source text unquoted ("nice = 0x19 ...").
 */
char *toml_quote(const char *s);
char *toml_source(const struct toml *t, size_t offset, size_t n);
char *toml_value_text(const struct toml *t, const struct toml_value *v);
