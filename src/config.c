/* SPDX-License-Identifier: MIT */
/*
 * sync-daemon.conf (DESIGN.md §7): the schema over the TOML subset of toml.h. One row of
 * keys[] per key says everything about it: its field in struct config, how its value is
 * checked and stored, its default, and how --check-config prints it. The parse, the
 * defaults, config_print() and the test of the sample config all walk that table.
 *
 * Two passes: toml_parse() turns the text into (key, value) entries, and key_lookup() refuses
 * unknown and repeated keys on the way; then each entry's value is checked for type and
 * range and stored. Every message carries PATH:LINE:COL (column in characters).
 */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

#include "config.h"
#include "rsync.h"
#include "toml.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/path.h"
#include "util/strv.h"

#define CONFIG_MAX_SIZE (1024 * 1024)
#define DURATION_MAX_SEC (365 * 24 * 3600)

#define DEFAULT_RSYNC_OPTS "-axHAXt"
#define DEFAULT_RSYNC_PATH "/usr/bin/rsync"
/* systemd-boot's seed must differ between ESPs (DESIGN.md §5a). */
#define DEFAULT_ESP_EXCLUDE "/loader/random-seed"

/* ---------------------------------------------------------------------------------------- */
/* Values: checked, converted and stored; messages name the key as written */

static int type_error(const struct toml *p, const struct toml_value *v, const char *what,
                      const char *expected)
{
        return toml_error(p, v->pos, "%s must be %s, found %s", what, expected, toml_type_name(v));
}

static int get_int(const struct toml *p, const struct toml_entry *e, const char *name, int min,
                   int max, int *ret)
{
        const struct toml_value *v = &e->value;

        if (v->type != TOML_INTEGER) {
                _cleanup_free_ char *expected = NULL;

                if (asprintf(&expected, "an integer in %d..%d", min, max) < 0)
                        return -ENOMEM;
                return type_error(p, v, name, expected);
        }
        if (v->overflow || v->integer < min || v->integer > max) {
                _cleanup_free_ char *text = toml_value_text(p, v);

                return toml_error(p, v->pos, "%s = %s is out of range, expected %d..%d", name,
                                  strna(text), min, max);
        }
        *ret = (int)v->integer;
        return 0;
}

static int get_duration(const struct toml *p, const struct toml_entry *e, const char *name,
                        usec_t *ret)
{
        const struct toml_value *v = &e->value;
        _cleanup_free_ char *text = NULL;

        if (v->type == TOML_INTEGER) {
                if (!v->overflow && v->integer >= 0 && v->integer <= DURATION_MAX_SEC) {
                        *ret = (usec_t)v->integer * USEC_PER_SEC;
                        return 0;
                }
        } else if (v->type == TOML_FLOAT) {
                /* Negated so NaN fails too; -0.0 passes as 0. */
                if (v->real >= 0 && v->real <= DURATION_MAX_SEC) {
                        /* Rounded to the nearest microsecond; no libm needed for it. */
                        *ret = (usec_t)(v->real * (double)USEC_PER_SEC + 0.5);
                        return 0;
                }
                if (isnan(v->real)) {
                        text = toml_value_text(p, v);
                        return toml_error(p, v->pos,
                                          "%s = %s is not a number of seconds, expected 0..%d "
                                          "(at most a year)",
                                          name, strna(text), DURATION_MAX_SEC);
                }
        } else
                return type_error(p, v, name, "a number of seconds");

        text = toml_value_text(p, v);
        return toml_error(p, v->pos,
                          "%s = %s is out of range, expected 0..%d seconds (at most a year)", name,
                          strna(text), DURATION_MAX_SEC);
}

/* Where the i-th byte of a string value's text is in the file: exact when the string had no
 * escapes (the usual case), else the string's opening quote. */
static struct toml_pos string_pos(const struct toml_value *v, size_t i)
{
        return v->escaped ? v->pos : toml_pos_at(v->pos, v->pos.offset + 1 + i);
}

bool config_rsync_is_default(const struct config *c)
{
        return streq_ptr(c->rsync_path, DEFAULT_RSYNC_PATH) && c->rsync_opts &&
               streq_ptr(c->rsync_opts[0], DEFAULT_RSYNC_OPTS) && !c->rsync_opts[1];
}

static int get_rsync_opts(const struct toml *p, const struct toml_entry *e, char ***ret)
{
        const struct toml_value *v = &e->value;
        _cleanup_strv_free_ char **l = NULL;
        const char *blank = " \t\n\r", *s;
        size_t n_words = 0, k = 0;

        if (v->type != TOML_STRING)
                return type_error(p, v, "rsync_opts", "a string of rsync options");
        /* Counted first: appending one by one would be quadratic for a hostile file. */
        for (s = v->string; *(s += strspn(s, blank)); s += strcspn(s, blank))
                n_words++;
        l = calloc(n_words + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (s = v->string; *(s += strspn(s, blank)); k++) {
                size_t n = strcspn(s, blank);
                struct toml_pos wpos = string_pos(v, (size_t)(s - v->string));

                l[k] = strndup(s, n);
                if (!l[k])
                        return -ENOMEM;
                if (streq(l[k], "-") || streq(l[k], "--"))
                        return toml_error(p, wpos,
                                          "rsync_opts holds '%s', which would end rsync's options "
                                          "and turn the options dual-root adds into file names, "
                                          "expected options only",
                                          l[k]);
                if (rsync_opt_dry_run(l[k]))
                        return toml_error(p, wpos,
                                          "rsync_opts holds '%s', a dry run: every sync would be "
                                          "reported done with nothing copied; use -t for a dry "
                                          "run, expected options that copy",
                                          l[k]);
                if (l[k][0] != '-') {
                        _cleanup_free_ char *q = toml_quote(l[k]);

                        return toml_error(p, wpos,
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

static int check_absolute_path(const struct toml *p, const struct toml_value *v, const char *what,
                               enum path_kind kind)
{
        const char *s = v->string;
        _cleanup_free_ char *q = NULL;

        if (isempty(s))
                return toml_error(p, v->pos, "%s is empty, expected an absolute path", what);
        if (s[0] == '/')
                return 0;
        q = toml_quote(s);
        /* rsync's rule: a ':' before any '/' makes the argument remote (host:path,
         * rsync://host/...). */
        if (kind == PATH_SYNC && strcspn(s, ":") < strcspn(s, "/"))
                return toml_error(p, v->pos,
                                  "%s %s is a remote rsync location, expected a local absolute "
                                  "path (remote targets are not supported: every path is "
                                  "watched and checked for a mount)",
                                  what, strna(q));
        return toml_error(p, v->pos,
                          "%s %s is not an absolute path, expected a path starting with '/'", what,
                          strna(q));
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
static int find_duplicate(const struct toml_value *const *items, size_t n, size_t *ret_dup,
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

static int duplicate_error(const struct toml *p, const struct toml_value *const *items, size_t dup,
                           size_t first, const char *what, const char *expected)
{
        _cleanup_free_ char *q = toml_quote(items[dup]->string);

        return toml_error(p, items[dup]->pos,
                          "%s %s names the same directory as the one at line %u, column %zu, "
                          "expected %s",
                          what, strna(q), items[first]->pos.line, toml_column(p, items[first]->pos),
                          expected);
}

static int get_esp_mounts(const struct toml *p, const struct toml_entry *e, char ***ret)
{
        const struct toml_value *v = &e->value;
        _cleanup_free_ const struct toml_value **items = NULL;
        _cleanup_strv_free_ char **l = NULL;
        size_t dup, first;
        int r;

        if (v->type != TOML_ARRAY)
                return type_error(p, v, "esp_mounts", "an array of absolute paths");
        if (v->array.n == 0)
                return toml_error(p, v->pos,
                                  "esp_mounts is empty, expected at least one mount point (leave "
                                  "it unset to use every /efi<N> mount)");
        items = calloc(v->array.n, sizeof(*items));
        l = calloc(v->array.n + 1, sizeof(char *));
        if (!items || !l)
                return -ENOMEM;
        for (size_t i = 0; i < v->array.n; i++) {
                const struct toml_value *m = &v->array.items[i];

                if (m->type != TOML_STRING)
                        return type_error(p, m, "esp_mounts entry", "a string (an absolute path)");
                r = check_absolute_path(p, m, "esp_mounts entry", PATH_LOCAL);
                if (r < 0)
                        return r;
                /* Stored normalized: other modules compare them with mount table entries. */
                l[i] = path_normalize(m->string);
                if (!l[i])
                        return -ENOMEM;
                if (streq(l[i], "/"))
                        return toml_error(p, m->pos,
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

/* swap_ids (DESIGN.md §5b): absolute paths of files, or of directories (a trailing '/': all
 * their files), stored without doubled slashes and with a directory's trailing '/' kept.
 * Compared with the sync sources as strings and turned into rsync patterns: no wildcards. */
static int get_swap_ids(const struct toml *p, const struct toml_entry *e, char ***ret)
{
        const struct toml_value *v = &e->value;
        _cleanup_free_ const struct toml_value **items = NULL;
        _cleanup_strv_free_ char **l = NULL;
        size_t dup, first;
        int r;

        if (v->type != TOML_ARRAY)
                return type_error(p, v, "swap_ids", "an array of absolute paths");
        items = calloc(v->array.n + 1, sizeof(*items));
        l = calloc(v->array.n + 1, sizeof(char *));
        if (!items || !l)
                return -ENOMEM;
        for (size_t i = 0; i < v->array.n; i++) {
                const struct toml_value *m = &v->array.items[i];
                bool dir;

                if (m->type != TOML_STRING)
                        return type_error(p, m, "swap_ids entry", "a string (an absolute path)");
                r = check_absolute_path(p, m, "swap_ids entry", PATH_LOCAL);
                if (r < 0)
                        return r;
                if (m->string[strcspn(m->string, "*?[\\")]) {
                        _cleanup_free_ char *q = toml_quote(m->string);

                        return toml_error(p, m->pos,
                                          "swap_ids entry %s holds a wildcard or backslash, "
                                          "expected the path of a file, or of a directory "
                                          "ending in '/'",
                                          strna(q));
                }
                dir = m->string[strlen(m->string) - 1] == '/';
                l[i] = path_normalize(m->string);
                if (!l[i])
                        return -ENOMEM;
                if (streq(l[i], "/"))
                        return toml_error(p, m->pos,
                                          "swap_ids entry '/' is the root directory, expected a "
                                          "file such as /etc/fstab or a directory such as "
                                          "/boot/loader/entries/");
                if (dir) {
                        char *t = NULL;

                        if (asprintf(&t, "%s/", l[i]) < 0)
                                return -ENOMEM;
                        free(l[i]);
                        l[i] = t;
                }
                items[i] = m;
        }
        r = find_duplicate(items, v->array.n, &dup, &first);
        if (r < 0)
                return r;
        if (r > 0)
                return duplicate_error(p, items, dup, first, "swap_ids entry", "distinct paths");
        *ret = TAKE_PTR(l);
        return 0;
}

/* boot_trees (DESIGN.md §5c T2): "auto", or the sync sources that are boot trees (an empty
 * array: none), each an absolute path, stored normalized, compared with the sources after. */
static int get_boot_trees(const struct toml *p, const struct toml_entry *e, char ***ret)
{
        const struct toml_value *v = &e->value;
        _cleanup_free_ const struct toml_value **items = NULL;
        _cleanup_strv_free_ char **l = NULL;
        size_t dup, first;
        int r;

        if (v->type == TOML_STRING && streq(v->string, "auto")) {
                *ret = NULL;
                return 0;
        }
        if (v->type == TOML_STRING) {
                _cleanup_free_ char *q = toml_quote(v->string);

                return toml_error(p, v->pos,
                                  "boot_trees = %s is not a mode, expected \"auto\" or an array "
                                  "of sync sources such as [\"/boot/\"]",
                                  strna(q));
        }
        if (v->type != TOML_ARRAY)
                return type_error(p, v, "boot_trees",
                                  "\"auto\" or an array of sync sources such as [\"/boot/\"]");
        items = calloc(v->array.n + 1, sizeof(*items));
        l = calloc(v->array.n + 1, sizeof(char *));
        if (!items || !l)
                return -ENOMEM;
        for (size_t i = 0; i < v->array.n; i++) {
                const struct toml_value *m = &v->array.items[i];

                if (m->type != TOML_STRING)
                        return type_error(p, m, "boot_trees entry",
                                          "a string (a sync item's source)");
                r = check_absolute_path(p, m, "boot_trees entry", PATH_LOCAL);
                if (r < 0)
                        return r;
                l[i] = path_normalize(m->string);
                if (!l[i])
                        return -ENOMEM;
                items[i] = m;
        }
        r = find_duplicate(items, v->array.n, &dup, &first);
        if (r < 0)
                return r;
        if (r > 0)
                return duplicate_error(p, items, dup, first, "boot_trees entry", "distinct paths");
        *ret = TAKE_PTR(l);
        return 0;
}

static int get_string_list(const struct toml *p, const struct toml_value *v, const char *what,
                           const char *expected, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;

        l = calloc(v->array.n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < v->array.n; i++) {
                const struct toml_value *x = &v->array.items[i];

                if (x->type != TOML_STRING)
                        return type_error(p, x, what, expected);
                if (x->string[0] == 0)
                        return toml_error(p, x->pos, "%s is empty, expected %s", what, expected);
                l[i] = strdup(x->string);
                if (!l[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int get_esp_excludes(const struct toml *p, const struct toml_entry *e, char ***ret)
{
        const struct toml_value *v = &e->value;

        if (v->type != TOML_ARRAY)
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

/* The value of a sync item's destination (one path or a list): every one an absolute
 * path, none the source, no two the same directory. */
static int get_sync_dests(const struct toml *p, const struct toml_value *src,
                          const struct toml_value *dv, char ***ret)
{
        _cleanup_free_ const struct toml_value **dests = NULL;
        _cleanup_strv_free_ char **dl = NULL;
        _cleanup_free_ char *src_norm = NULL;
        size_t n_dests, dup, first;
        int r;

        if (dv->type == TOML_STRING) {
                n_dests = 1;
                dests = calloc(1, sizeof(*dests));
                if (!dests)
                        return -ENOMEM;
                dests[0] = dv;
        } else if (dv->type == TOML_ARRAY) {
                n_dests = dv->array.n;
                if (n_dests == 0)
                        return toml_error(p, dv->pos,
                                          "sync destination list is empty, expected at least one "
                                          "absolute path");
                dests = calloc(n_dests, sizeof(*dests));
                if (!dests)
                        return -ENOMEM;
                for (size_t i = 0; i < n_dests; i++) {
                        dests[i] = &dv->array.items[i];
                        if (dests[i]->type != TOML_STRING)
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
                        _cleanup_free_ char *q = toml_quote(dests[i]->string);

                        return toml_error(p, dests[i]->pos,
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
        *ret = TAKE_PTR(dl);
        return 0;
}

/* A sync item's optional third element: rsync patterns; none when it is left out. */
static int get_sync_excludes(const struct toml *p, const struct toml_value *v, char ***ret)
{
        const struct toml_value *xv = v->array.n == 3 ? &v->array.items[2] : NULL;

        if (!xv) {
                *ret = calloc(1, sizeof(char *));
                return *ret ? 0 : -ENOMEM;
        }
        if (xv->type != TOML_ARRAY)
                return toml_error(p, xv->pos,
                                  "sync exclusions must be an array of strings, found %s (write "
                                  "[\"pattern\", ...])",
                                  toml_type_name(xv));
        return get_string_list(p, xv, "sync exclusion", "a non-empty string (an rsync pattern)",
                               ret);
}

static int get_sync_item(const struct toml *p, const struct toml_value *v, struct sync_item *ret)
{
        _cleanup_strv_free_ char **dl = NULL, **excl = NULL;
        _cleanup_free_ char *source = NULL;
        const struct toml_value *src;
        int r;

        if (v->array.n < 2 || v->array.n > 3)
                return toml_error(p, v->pos,
                                  "sync item must be [source, dest] or [source, dest, "
                                  "[exclusions...]], found an array of %zu element%s",
                                  v->array.n, v->array.n == 1 ? "" : "s");
        src = &v->array.items[0];
        if (src->type != TOML_STRING)
                return type_error(p, src, "sync source", "a string (an absolute path)");
        r = check_absolute_path(p, src, "sync source", PATH_SYNC);
        if (r < 0)
                return r;
        r = get_sync_dests(p, src, &v->array.items[1], &dl);
        if (r < 0)
                return r;
        r = get_sync_excludes(p, v, &excl);
        if (r < 0)
                return r;

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

static int get_sync(const struct toml *p, const struct toml_entry *e, struct sync_item **ret_items,
                    size_t *ret_n)
{
        const struct toml_value *v = &e->value;
        struct sync_item *items;
        bool one;
        size_t n;
        int r = 0;

        if (v->type != TOML_ARRAY)
                return type_error(p, v, "sync",
                                  "an array: [source, dest, [exclusions...]] or a list of such "
                                  "items");
        if (v->array.n == 0) {
                *ret_items = NULL;
                *ret_n = 0;
                return 0;
        }
        /* The original accepted one item or a list of items: a string first means one item. */
        one = v->array.items[0].type == TOML_STRING;
        if (one)
                n = 1;
        else if (v->array.items[0].type == TOML_ARRAY)
                n = v->array.n;
        else
                return toml_error(p, v->array.items[0].pos,
                                  "sync must be [source, dest, [exclusions...]] or a list of such "
                                  "items, found an array starting with %s",
                                  toml_type_name(&v->array.items[0]));

        items = calloc(n, sizeof(*items));
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const struct toml_value *item = one ? v : &v->array.items[i];

                if (item->type != TOML_ARRAY) {
                        r = toml_error(p, item->pos,
                                       "sync item must be an array [source, dest, "
                                       "[exclusions...]], found %s",
                                       toml_type_name(item));
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

/* ---------------------------------------------------------------------------------------- */
/* The schema: one row per key */

enum key_kind {
        KIND_BOOL,     /* bool */
        KIND_INT,      /* int, in min..max */
        KIND_DURATION, /* usec_t */
        KIND_STRING,   /* char *, owned */
        KIND_STRV,     /* char **, owned; NULL when unset */
        KIND_ITEMS,    /* struct sync_item *items followed by size_t n_items */
};

struct config_key {
        const char *name;
        const char *alias_of; /* another name of the key named here; nothing else is set */
        enum key_kind kind;
        size_t offset; /* of the field in struct config */
        /* Checks the entry's value and stores it in the field. name is the key as written
         * (an alias says its own name in messages). */
        int (*parse)(const struct toml *t, const struct toml_entry *e, const char *name,
                     const struct config_key *k, struct config *c);
        /* With parse_list: checks the value and makes the list. */
        int (*get_list)(const struct toml *t, const struct toml_entry *e, char ***ret);
        /* Prints the --check-config line(s); NULL: shown on another key's line. */
        void (*print)(const struct config_key *k, const struct config *c, FILE *f);
        int min, max; /* KIND_INT */
        union {
                bool b;
                int i;
                usec_t usec;
                const char *s; /* KIND_STRING; KIND_STRV: the one element, or NULL for none */
        } def;
        const char *unset; /* KIND_STRV: printed when there is no element */
        const char *doc;   /* what the key means, in one line */
};

#define FIELD(c, k, type) ((type *)((char *)(c) + (k)->offset))
#define CFIELD(c, k, type) ((type const *)((const char *)(c) + (k)->offset))

static int parse_bool(const struct toml *t, const struct toml_entry *e, const char *name,
                      const struct config_key *k, struct config *c)
{
        if (e->value.type != TOML_BOOLEAN)
                return type_error(t, &e->value, name, "a boolean (true or false)");
        *FIELD(c, k, bool) = e->value.boolean;
        return 0;
}

static int parse_int(const struct toml *t, const struct toml_entry *e, const char *name,
                     const struct config_key *k, struct config *c)
{
        return get_int(t, e, name, k->min, k->max, FIELD(c, k, int));
}

static int parse_duration(const struct toml *t, const struct toml_entry *e, const char *name,
                          const struct config_key *k, struct config *c)
{
        return get_duration(t, e, name, FIELD(c, k, usec_t));
}

/* A local program: an absolute path. */
static int parse_program(const struct toml *t, const struct toml_entry *e, const char *name,
                         const struct config_key *k, struct config *c)
{
        const struct toml_value *v = &e->value;
        char **field = FIELD(c, k, char *), *s;
        int r;

        if (v->type != TOML_STRING)
                return type_error(t, v, name, "a string (an absolute path)");
        r = check_absolute_path(t, v, name, PATH_LOCAL);
        if (r < 0)
                return r;
        s = strdup(v->string);
        if (!s)
                return -ENOMEM;
        free(*field);
        *field = s;
        return 0;
}

/* fix_boot_entries: "warn" or "auto". */
static int parse_fix_mode(const struct toml *t, const struct toml_entry *e, const char *name,
                          const struct config_key *k, struct config *c)
{
        const struct toml_value *v = &e->value;

        if (v->type != TOML_STRING)
                return type_error(t, v, name, "a string (\"warn\" or \"auto\")");
        if (streq(v->string, "warn") || streq(v->string, "auto")) {
                *FIELD(c, k, int) =
                        streq(v->string, "auto") ? FIX_BOOT_ENTRIES_AUTO : FIX_BOOT_ENTRIES_WARN;
                return 0;
        }
        return toml_error(t, v->pos, "%s = \"%s\" is not a mode, expected \"warn\" or \"auto\"",
                          name, v->string);
}

static void strv_replace(char ***dst, char **src)
{
        strv_free(*dst);
        *dst = src;
}

/* A list: the row's get_list() checks the value and makes it; it replaces the field. */
static int parse_list(const struct toml *t, const struct toml_entry *e, const char *name,
                      const struct config_key *k, struct config *c)
{
        char **l = NULL;
        int r = k->get_list(t, e, &l);

        if (r >= 0)
                strv_replace(FIELD(c, k, char **), l);
        return r;
}

static int parse_swap_ids(const struct toml *t, const struct toml_entry *e, const char *name,
                          const struct config_key *k, struct config *c)
{
        char **l = NULL;
        int r = get_swap_ids(t, e, &l);

        if (r >= 0)
                strv_replace(FIELD(c, k, char **), l);
        return r;
}

static int parse_boot_trees(const struct toml *t, const struct toml_entry *e, const char *name,
                            const struct config_key *k, struct config *c)
{
        char **l = NULL;
        int r = get_boot_trees(t, e, &l);

        if (r < 0)
                return r;
        strv_replace(FIELD(c, k, char **), l);
        /* [] is "none": kept as an empty list, apart from NULL ("auto") */
        if (!l && e->value.type == TOML_ARRAY &&
            !(*FIELD(c, k, char **) = calloc(1, sizeof(char *))))
                return -ENOMEM;
        return 0;
}

static int parse_sync(const struct toml *t, const struct toml_entry *e, const char *name,
                      const struct config_key *k, struct config *c)
{
        struct sync_item *items = NULL;
        size_t n = 0;
        int r = get_sync(t, e, &items, &n);

        if (r < 0)
                return r;
        free_items(c->items, c->n_items);
        c->items = items;
        c->n_items = n;
        return 0;
}

/* "name:" and the value, in columns as --check-config has always printed them. */
static _printf_(3, 4) void print_line(FILE *f, const char *name, const char *format, ...)
{
        va_list ap;

        fprintf(f, "%s:%*s", name, (int)(14 - strlen(name)), "");
        va_start(ap, format);
        vfprintf(f, format, ap);
        va_end(ap);
        fputc('\n', f);
}

static void print_bool(const struct config_key *k, const struct config *c, FILE *f)
{
        print_line(f, k->name, "%s", *CFIELD(c, k, bool) ? "true" : "false");
}

static void print_int(const struct config_key *k, const struct config *c, FILE *f)
{
        print_line(f, k->name, "%d", *CFIELD(c, k, int));
}

static void print_duration(const struct config_key *k, const struct config *c, FILE *f)
{
        char buf[64];

        print_line(f, k->name, "%s", format_duration(*CFIELD(c, k, usec_t), buf, sizeof(buf)));
}

static void print_string(const struct config_key *k, const struct config *c, FILE *f)
{
        print_line(f, k->name, "%s", strna(*CFIELD(c, k, char *)));
}

/* Elements joined by blanks: options, as they are given to rsync. */
static void print_words(const struct config_key *k, const struct config *c, FILE *f)
{
        _cleanup_free_ char *s = strv_join(*CFIELD(c, k, char **), " ");

        print_line(f, k->name, "%s", strna(s));
}

static void print_list(const struct config_key *k, const struct config *c, FILE *f)
{
        char *const *l = *CFIELD(c, k, char **);
        _cleanup_free_ char *s = strv_length(l) > 0 ? strv_join(l, ", ") : NULL;

        print_line(f, k->name, "%s", s ? s : k->unset);
}

static void print_boot_trees(const struct config_key *k, const struct config *c, FILE *f)
{
        char *const *l = *CFIELD(c, k, char **);
        _cleanup_free_ char *s = strv_length(l) > 0 ? strv_join(l, ", ") : NULL;

        print_line(f, k->name, "%s",
                   s   ? s
                   : l ? "(none)"
                       : "auto (a sync tree holding loader/entries, EFI/Linux or a file an ESP's "
                         "entry names, or on an XBOOTLDR partition)");
}

static void print_ionice(const struct config_key *k, const struct config *c, FILE *f)
{
        print_line(f, "ionice", "class %d, level %d", c->ionice_class, c->ionice_level);
}

static void print_fix_mode(const struct config_key *k, const struct config *c, FILE *f)
{
        print_line(f, k->name, "%s", *CFIELD(c, k, int) == FIX_BOOT_ENTRIES_AUTO ? "auto" : "warn");
}

static void print_sync(const struct config_key *k, const struct config *c, FILE *f)
{
        for (size_t i = 0; i < c->n_items; i++) {
                const struct sync_item *it = &c->items[i];
                _cleanup_free_ char *d = strv_join(it->dests, ", ");
                _cleanup_free_ char *x = strv_join(it->excludes, ", ");
                char label[32];

                snprintf(label, sizeof(label), "sync[%zu]", i);
                print_line(f, label, "%s -> %s%s%s", it->source, strna(d),
                           !isempty(x) ? "  excluding " : "", !isempty(x) ? x : "");
        }
}

#define OFFSET(field) offsetof(struct config, field)

/* In the order --check-config prints them and "unknown key" lists them. */
static const struct config_key keys[] = {
        { .name = "dualroot",
          .kind = KIND_BOOL,
          .offset = OFFSET(dualroot),
          .parse = parse_bool,
          .print = print_bool,
          .def.b = true,
          .doc = "approach 1: mirror the booted ESP to every alternate ESP" },
        { .name = "rsync_opts",
          .kind = KIND_STRV,
          .offset = OFFSET(rsync_opts),
          .parse = parse_list,
          .get_list = get_rsync_opts,
          .print = print_words,
          .def.s = DEFAULT_RSYNC_OPTS,
          .doc = "rsync options, split on blanks; empty means the default" },
        { .name = "nice",
          .kind = KIND_INT,
          .offset = OFFSET(nice),
          .parse = parse_int,
          .print = print_int,
          .min = -20,
          .max = 19,
          .def.i = 15,
          .doc = "CPU niceness of the sync process and its rsyncs" },
        { .name = "ionice_class",
          .kind = KIND_INT,
          .offset = OFFSET(ionice_class),
          .parse = parse_int,
          .print = print_ionice,
          .min = 0,
          .max = 3,
          .def.i = 3,
          .doc = "I/O scheduling class: 0 none, 1 realtime, 2 best-effort, 3 idle" },
        { .name = "ionice_level",
          .kind = KIND_INT,
          .offset = OFFSET(ionice_level),
          .parse = parse_int,
          .min = 0,
          .max = 7,
          .def.i = 7,
          .doc = "I/O priority within the realtime and best-effort classes" },
        /* The original manual's name. */
        { .name = "ionice_value", .alias_of = "ionice_level" },
        { .name = "sync_delay",
          .kind = KIND_DURATION,
          .offset = OFFSET(sync_delay),
          .parse = parse_duration,
          .print = print_duration,
          .def.usec = 300 * USEC_PER_SEC,
          .doc = "minimum time between the starts of one item's syncs" },
        { .name = "settle_time",
          .kind = KIND_DURATION,
          .offset = OFFSET(settle_time),
          .parse = parse_duration,
          .print = print_duration,
          .def.usec = 5 * USEC_PER_SEC,
          .doc = "quiet time before a changed item syncs" },
        { .name = "max_wait",
          .kind = KIND_DURATION,
          .offset = OFFSET(max_wait),
          .parse = parse_duration,
          .print = print_duration,
          .def.usec = 120 * USEC_PER_SEC,
          .doc = "longest a changed item waits for quiet" },
        { .name = "rsync_path",
          .kind = KIND_STRING,
          .offset = OFFSET(rsync_path),
          .parse = parse_program,
          .print = print_string,
          .def.s = DEFAULT_RSYNC_PATH,
          .doc = "the rsync program, an absolute path" },
        { .name = "rsync_timeout",
          .kind = KIND_DURATION,
          .offset = OFFSET(rsync_timeout),
          .parse = parse_duration,
          .print = print_duration,
          .def.usec = 3600 * USEC_PER_SEC,
          .doc = "longest one rsync run may take; 0 for no limit" },
        { .name = "lock_timeout",
          .kind = KIND_DURATION,
          .offset = OFFSET(lock_timeout),
          .parse = parse_duration,
          .print = print_duration,
          .def.usec = 300 * USEC_PER_SEC,
          .doc = "how long -s waits for another sync of the same destination" },
        { .name = "esp_mounts",
          .kind = KIND_STRV,
          .offset = OFFSET(esp_mounts),
          .parse = parse_list,
          .get_list = get_esp_mounts,
          .print = print_list,
          .unset = "(every /efi<N> mount point)",
          .doc = "the ESP mount points; unset: every /efi<N> directory of /" },
        { .name = "esp_excludes",
          .kind = KIND_STRV,
          .offset = OFFSET(esp_excludes),
          .parse = parse_list,
          .get_list = get_esp_excludes,
          .print = print_list,
          .def.s = DEFAULT_ESP_EXCLUDE,
          .unset = "(none)",
          .doc = "rsync patterns never copied between ESPs" },
        { .name = "esp_min_free",
          .kind = KIND_INT,
          .offset = OFFSET(esp_min_free),
          .parse = parse_int,
          .print = print_int,
          .min = 0,
          .max = 1 << 20,
          .def.i = 0,
          .doc = "--status warns when an ESP has fewer MiB free; 0: twice its largest kernel set" },
        { .name = "prove_max_age",
          .kind = KIND_DURATION,
          .offset = OFFSET(prove_max_age),
          .parse = parse_duration,
          .print = print_duration,
          .def.usec = 90 * 86400 * USEC_PER_SEC,
          .doc = "--status warns when a disk's last successful --prove drill is older; 0: never" },
        { .name = "fix_boot_entries",
          .kind = KIND_INT,
          .offset = OFFSET(fix_boot_entries),
          .parse = parse_fix_mode,
          .print = print_fix_mode,
          .min = FIX_BOOT_ENTRIES_WARN,
          .max = FIX_BOOT_ENTRIES_AUTO,
          .def.i = FIX_BOOT_ENTRIES_WARN,
          .doc = "a missing firmware boot entry: \"warn\" (--status) or \"auto\" (recreated)" },
        { .name = "sync",
          .kind = KIND_ITEMS,
          .offset = OFFSET(items),
          .parse = parse_sync,
          .print = print_sync,
          .doc = "the sync list: [source, dest(s), [exclusions]] items" },
        { .name = "swap_ids",
          .kind = KIND_STRV,
          .offset = OFFSET(swap_ids),
          .parse = parse_swap_ids,
          .print = print_list,
          .unset = "(none)",
          .doc = "files and directories/ copied with the disks' filesystem identifiers swapped" },
        { .name = "boot_trees",
          .kind = KIND_STRV,
          .offset = OFFSET(boot_trees),
          .parse = parse_boot_trees,
          .print = print_boot_trees,
          .doc = "sync sources copied as boot trees (\"auto\": judged by content and partition "
                 "type)" },
        { .name = "alt_root",
          .kind = KIND_STRING,
          .offset = OFFSET(alt_root),
          .parse = parse_program,
          .print = print_string,
          .def.s = "/mnt/root1",
          .doc = "where --add-disk mounts an approach-2 twin's root" },
};

/* The row that holds the value: an alias's target, found by name. */
static const struct config_key *key_target(const struct config_key *k)
{
        if (!k->alias_of)
                return k;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (streq(keys[i].name, k->alias_of))
                        return &keys[i];
        abort(); /* a row names a key that is not in the table: the unit test catches it */
}

/* The entry that set the key named (under any of its names), NULL if none did. */
static const struct toml_entry *find_entry(const struct toml *t, const char *name)
{
        for (size_t i = 0; i < t->n_entries; i++)
                if (streq(key_target(&keys[t->entries[i].id])->name, name))
                        return &t->entries[i];
        return NULL;
}

/* A rule between two keys: a dirty item cannot wait for more quiet than it may wait at all. */
static int check_settle_max(const struct toml *p, const struct config *c)
{
        const struct toml_entry *st = find_entry(p, "settle_time"), *mw = find_entry(p, "max_wait");
        _cleanup_free_ char *st_text = NULL, *mw_text = NULL;

        /* The defaults obey the rule, so a conflict means at least one of the two was set. */
        if (c->settle_time <= c->max_wait || (!st && !mw))
                return 0;
        if (st)
                st_text = toml_value_text(p, &st->value);
        if (mw)
                mw_text = toml_value_text(p, &mw->value);
        /* Reported at whichever of the two was written last: that is where the conflict is. */
        if (st && mw && st->key_pos.offset > mw->key_pos.offset)
                return toml_error(p, st->value.pos,
                                  "settle_time = %s exceeds max_wait = %s (line %u), expected "
                                  "settle_time <= max_wait",
                                  strna(st_text), strna(mw_text), mw->key_pos.line);
        if (st && mw)
                return toml_error(p, mw->value.pos,
                                  "max_wait = %s is shorter than settle_time = %s (line %u), "
                                  "expected max_wait >= settle_time",
                                  strna(mw_text), strna(st_text), st->key_pos.line);
        if (st)
                return toml_error(p, st->value.pos,
                                  "settle_time = %s exceeds max_wait (%" PRIu64 " s by default), "
                                  "expected settle_time <= max_wait",
                                  strna(st_text), c->max_wait / USEC_PER_SEC);
        return toml_error(p, mw->value.pos,
                          "max_wait = %s is shorter than settle_time (%" PRIu64
                          " s by default), expected max_wait >= settle_time",
                          strna(mw_text), c->settle_time / USEC_PER_SEC);
}

/* True when path lies in dir (both normalized, dir without trailing '/'). */
static bool path_in(const char *path, const char *dir)
{
        const char *rest = startswith(path, dir);

        return streq(dir, "/") || (rest && (*rest == '/' || *rest == 0));
}

/* A rule between keys: every swap_ids entry is something a sync copies, under a sync item's
 * source or (dualroot) an ESP's; otherwise it would silently do nothing. */
static int check_swap_ids(const struct toml *p, const struct config *c)
{
        const struct toml_entry *e = find_entry(p, "swap_ids");

        for (size_t i = 0; e && c->swap_ids && c->swap_ids[i]; i++) {
                _cleanup_free_ char *path = path_normalize(c->swap_ids[i]);
                bool found = false;

                if (!path)
                        return -ENOMEM;
                for (size_t k = 0; !found && k < c->n_items; k++) {
                        _cleanup_free_ char *src = path_normalize(c->items[k].source);

                        if (!src)
                                return -ENOMEM;
                        found = path_in(path, src);
                }
                if (!found && c->dualroot) {
                        STRV_FOREACH(m, c->esp_mounts)
                        if (path_in(path, *m))
                                found = true;
                        if (!c->esp_mounts && startswith(path, "/efi")) {
                                size_t n = strspn(path + 4, "0123456789");

                                found = n > 0 && (path[4 + n] == '/' || path[4 + n] == 0);
                        }
                }
                if (!found)
                        return toml_error(p, e->value.array.items[i].pos,
                                          "swap_ids entry '%s' is under no sync item's source%s, "
                                          "expected a path that a sync copies",
                                          c->swap_ids[i], c->dualroot ? " nor an ESP" : "");
        }
        return 0;
}

/* A rule between keys (DESIGN.md §5c T2): every boot_trees entry is a sync item's source,
 * otherwise it would silently do nothing. */
static int check_boot_trees(const struct toml *p, const struct config *c)
{
        const struct toml_entry *e = find_entry(p, "boot_trees");

        for (size_t i = 0; e && c->boot_trees && c->boot_trees[i]; i++) {
                bool found = false;

                for (size_t k = 0; !found && k < c->n_items; k++) {
                        _cleanup_free_ char *src = path_normalize(c->items[k].source);

                        if (!src)
                                return -ENOMEM;
                        found = streq(src, c->boot_trees[i]);
                }
                if (!found)
                        return toml_error(p, e->value.array.items[i].pos,
                                          "boot_trees entry '%s' is no sync item's source, "
                                          "expected the source of an item of the sync list",
                                          c->boot_trees[i]);
        }
        return 0;
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

static int unknown_key_error(const struct toml *p, struct toml_pos pos, size_t n)
{
        _cleanup_free_ char *key = toml_source(p, pos.offset, n);
        _cleanup_free_ char *list = NULL;
        const char *best = NULL;
        size_t best_d = SIZE_MAX, limit = n / 3 > 2 ? n / 3 : 2;

        /* Beyond this length no known key (at most 13 characters) is within n/3 edits. */
        if (n <= 64)
                for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                        size_t d = edit_distance(p->text + pos.offset, n, keys[k].name);

                        if (d < best_d) {
                                best_d = d;
                                best = keys[k].name;
                        }
                }
        if (best && best_d <= limit)
                return toml_error(p, pos, "unknown key %s (did you mean '%s'?)", strna(key), best);

        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                char *t;

                if (asprintf(&t, "%s%s%s", list ?: "", list ? ", " : "", keys[k].name) < 0)
                        return -ENOMEM;
                free(list);
                list = t;
        }
        return toml_error(p, pos, "unknown key %s, expected one of: %s", strna(key), list);
}

/* toml_key_fn: the row of a known key not set before (under any of its names). */
static int key_lookup(const struct toml *t, struct toml_pos pos, size_t n, void *userdata)
{
        const struct config_key *k = NULL;

        for (size_t i = 0; i < ELEMENTSOF(keys) && !k; i++)
                if (strlen(keys[i].name) == n && memcmp(keys[i].name, t->text + pos.offset, n) == 0)
                        k = &keys[i];
        if (!k)
                return unknown_key_error(t, pos, n);
        for (size_t i = 0; i < t->n_entries; i++) {
                const struct toml_entry *old = &t->entries[i];
                const struct config_key *ok = &keys[old->id];

                if (key_target(ok) != key_target(k))
                        continue;
                if (ok != k)
                        return toml_error(t, pos,
                                          "%s and %s are the same setting (%s was set on line %u), "
                                          "expected only one of them",
                                          k->name, ok->name, ok->name, old->key_pos.line);
                return toml_error(t, pos,
                                  "duplicate key '%s' (first set on line %u), expected each key "
                                  "at most once",
                                  k->name, old->key_pos.line);
        }
        return (int)(k - keys);
}

static int key_set_default(const struct config_key *k, struct config *c)
{
        switch (k->kind) {
        case KIND_BOOL:
                *FIELD(c, k, bool) = k->def.b;
                return 0;
        case KIND_INT:
                *FIELD(c, k, int) = k->def.i;
                return 0;
        case KIND_DURATION:
                *FIELD(c, k, usec_t) = k->def.usec;
                return 0;
        case KIND_STRING:
                if (k->def.s && !(*FIELD(c, k, char *) = strdup(k->def.s)))
                        return -ENOMEM;
                return 0;
        case KIND_STRV:
                return k->def.s ? strv_extend(FIELD(c, k, char **), k->def.s) : 0;
        case KIND_ITEMS:
                return 0;
        }
        return 0;
}

static void key_free(const struct config_key *k, struct config *c)
{
        switch (k->kind) {
        case KIND_STRING:
                free(*FIELD(c, k, char *));
                break;
        case KIND_STRV:
                strv_free(*FIELD(c, k, char **));
                break;
        case KIND_ITEMS:
                free_items(c->items, c->n_items);
                break;
        default:
                break;
        }
}

/* ---------------------------------------------------------------------------------------- */
/* Public API */

struct config *config_new_default(void)
{
        _cleanup_config_free_ struct config *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (!keys[i].alias_of && key_set_default(&keys[i], c) < 0)
                        return NULL;
        return TAKE_PTR(c);
}

struct config *config_free(struct config *c)
{
        if (!c)
                return NULL;
        free(c->path);
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (!keys[i].alias_of)
                        key_free(&keys[i], c);
        free(c);
        return NULL;
}

void config_print(const struct config *c, FILE *f)
{
        print_line(f, "config", "%s", c->path ? c->path : "(none, defaults)");
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (keys[i].print)
                        keys[i].print(&keys[i], c, f);
}

/* A duration in seconds as a JSON number: whole, or with its fraction (never an exponent). */
static void json_seconds(FILE *f, usec_t d)
{
        if (d % USEC_PER_SEC == 0)
                fprintf(f, "%" PRIu64, d / USEC_PER_SEC);
        else
                fprintf(f, "%" PRIu64 ".%06" PRIu64, d / USEC_PER_SEC, d % USEC_PER_SEC);
}

void config_print_json_values(const struct config *c, FILE *f)
{
        bool first = true;

        fputs("{", f);
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const struct config_key *k = &keys[i];

                if (k->alias_of)
                        continue;
                fprintf(f, "%s", first ? "" : ", ");
                first = false;
                json_write_string(f, k->name);
                fputs(": ", f);
                switch (k->kind) {
                case KIND_BOOL:
                        fputs(*CFIELD(c, k, bool) ? "true" : "false", f);
                        break;
                case KIND_INT:
                        fprintf(f, "%d", *CFIELD(c, k, int));
                        break;
                case KIND_DURATION:
                        json_seconds(f, *CFIELD(c, k, usec_t));
                        break;
                case KIND_STRING:
                        json_write_string(f, *CFIELD(c, k, char *));
                        break;
                case KIND_STRV:
                        json_write_strv(f, *CFIELD(c, k, char **));
                        break;
                case KIND_ITEMS:
                        fputs("[", f);
                        for (size_t n = 0; n < c->n_items; n++) {
                                fputs(n ? ", {\"source\": " : "{\"source\": ", f);
                                json_write_string(f, c->items[n].source);
                                fputs(", \"destinations\": ", f);
                                json_write_strv(f, c->items[n].dests);
                                fputs(", \"excludes\": ", f);
                                json_write_strv(f, c->items[n].excludes);
                                fputs("}", f);
                        }
                        fputs("]", f);
                        break;
                }
        }
        fputs("}", f);
}

const char *config_key_name(size_t i)
{
        for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                if (!keys[k].alias_of && i-- == 0)
                        return keys[k].name;
        return NULL;
}

int config_parse(const char *path, const char *text, size_t size, struct config **ret, char **why)
{
        _cleanup_(toml_done) struct toml t = {};
        _cleanup_config_free_ struct config *c = NULL;
        int r;

        if (size > CONFIG_MAX_SIZE)
                return errmsg(why, -EFBIG, "%s: file is %zu bytes, expected at most 1 MiB",
                              strna(path), size);
        r = toml_parse(&t, path, text, size, key_lookup, NULL, why);
        if (r < 0)
                return r;

        c = config_new_default();
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < t.n_entries; i++) {
                const struct toml_entry *e = &t.entries[i];
                const struct config_key *k = &keys[e->id];

                r = key_target(k)->parse(&t, e, k->name, key_target(k), c);
                if (r < 0)
                        return r;
        }
        r = check_settle_max(&t, c);
        if (r < 0)
                return r;
        r = check_swap_ids(&t, c);
        if (r < 0)
                return r;
        r = check_boot_trees(&t, c);
        if (r < 0)
                return r;
        c->path = strdup(t.path);
        if (!c->path)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

/* What config_load() asks of the file itself (DESIGN.md §7 C3): a regular file only root
 * (or the caller) can change. */
static int check_file(const char *path, const struct stat *st, char **why)
{
        if (S_ISDIR(st->st_mode))
                return errmsg(why, -EISDIR, "%s: is a directory, expected a regular file", path);
        if (!S_ISREG(st->st_mode))
                return errmsg(why, -EINVAL, "%s: is not a regular file, expected a regular file",
                              path);
        /* The file names the program run as root and the trees it overwrites: only root (or
         * the user running us, for tests and --test runs) may control it, as doas requires. */
        if (st->st_uid != 0 && st->st_uid != geteuid()) {
                _cleanup_free_ char *who = NULL;

                if (geteuid() != 0 && asprintf(&who, " or uid %u (the caller)", geteuid()) < 0)
                        return -ENOMEM;
                return errmsg(why, -EPERM,
                              "%s: owned by uid %u, expected root%s (the file names the rsync "
                              "program run as root)",
                              path, (unsigned)st->st_uid, who ?: "");
        }
        if (st->st_mode & (S_IWGRP | S_IWOTH))
                return errmsg(why, -EPERM,
                              "%s: writable by %s (mode %04o), expected no write permission for "
                              "group or others (chmod go-w; the file names the rsync program run "
                              "as root)",
                              path,
                              (st->st_mode & S_IWGRP) && (st->st_mode & S_IWOTH)
                                      ? "group and others"
                              : (st->st_mode & S_IWGRP) ? "group"
                                                        : "others",
                              (unsigned)(st->st_mode & 07777));
        return 0;
}

/* Reads the config file as config_load() does: 1 with *ret_text when it is there, 0 when it
 * is absent and may be (the defaults apply), or -errno with *why. */
static int read_config_file(const char *path, bool must_exist, char **ret_text, size_t *ret_size,
                            char **why)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *text = NULL;
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
                if (r == -ENOENT && !must_exist)
                        return 0;
                errno = -r;
                return errmsg(why, r, "%s: cannot open: %m", path);
        }
        if (fstat(fd, &st) < 0) {
                r = negative_errno();
                return errmsg(why, r, "%s: cannot stat: %m", path);
        }
        r = check_file(path, &st, why);
        if (r < 0)
                return r;
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
        *ret_text = TAKE_PTR(text);
        *ret_size = size;
        return 1;
}

int config_load(const char *path, bool must_exist, struct config **ret, char **why)
{
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        r = read_config_file(path, must_exist, &text, &size, why);
        if (r < 0)
                return r;
        if (r == 0) {
                struct config *c = config_new_default();

                if (!c)
                        return -ENOMEM;
                *ret = c;
                return 0;
        }
        return config_parse(path, text, size, ret, why);
}

/* toml_key_fn for config_salvage_bind(): every key is taken, unknown ones as ELEMENTSOF(keys),
 * so one wrong key does not hide the keys -b needs. */
static int key_lookup_lenient(const struct toml *t, struct toml_pos pos, size_t n, void *userdata)
{
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (strlen(keys[i].name) == n && memcmp(keys[i].name, t->text + pos.offset, n) == 0)
                        return (int)i;
        return (int)ELEMENTSOF(keys);
}

int config_parse_for_bind(const char *path, const char *text, size_t size, struct config **ret,
                          bool *ret_esp_mounts)
{
        _cleanup_(toml_done) struct toml t = {};
        _cleanup_config_free_ struct config *c = config_new_default();
        _cleanup_free_ char *ignored = NULL;
        const struct toml_entry *esp = NULL;
        size_t n_esp = 0;
        bool from_file = false;
        int r;

        if (!c)
                return -ENOMEM;
        if (size <= CONFIG_MAX_SIZE) {
                /* A syntax error stops the parse; the entries before it still count. */
                r = toml_parse(&t, path, text, size, key_lookup_lenient, NULL, &ignored);
                if (r == -ENOMEM)
                        return r;
                for (size_t i = 0; i < t.n_entries; i++)
                        if (t.entries[i].id < ELEMENTSOF(keys) &&
                            streq(keys[t.entries[i].id].name, "esp_mounts")) {
                                esp = &t.entries[i];
                                n_esp++;
                        }
        }
        /* Set twice, it says two things: neither is taken. */
        if (n_esp == 1) {
                char **l = NULL;

                r = get_esp_mounts(&t, esp, &l);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0) {
                        strv_free(c->esp_mounts);
                        c->esp_mounts = l;
                        from_file = true;
                }
        }
        c->path = strdup(path);
        if (!c->path)
                return -ENOMEM;
        *ret_esp_mounts = from_file;
        *ret = TAKE_PTR(c);
        return 0;
}

int config_salvage_bind(const char *path, bool must_exist, struct config **ret,
                        bool *ret_esp_mounts)
{
        _cleanup_free_ char *text = NULL, *ignored = NULL;
        size_t size = 0;
        int r;

        /* A file config_load() refuses as such (C3: writable by others, not a regular file)
         * is not read at all: -b then uses the defaults. */
        r = read_config_file(path, must_exist, &text, &size, &ignored);
        if (r == -ENOMEM)
                return r;
        if (r > 0)
                return config_parse_for_bind(path, text, size, ret, ret_esp_mounts);
        *ret = config_new_default();
        if (!*ret)
                return -ENOMEM;
        (*ret)->path = strdup(path);
        if (!(*ret)->path) {
                *ret = config_free(*ret);
                return -ENOMEM;
        }
        *ret_esp_mounts = false;
        return 0;
}
