/* SPDX-License-Identifier: MIT */
/*
 * GRUB's chain on one disk (DESIGN.md §11b): the stub, its searches, the menu it loads, the
 * default entry and the files each entry loads, judged as if the other disk were gone.
 *
 * Evaluation follows GRUB where it matters for "which filesystem, which file": commands run
 * in file order; `search` sets its variable to the filesystem found; `set` assigns (inside
 * if/else only `default` is considered, see default_of()); `configfile` reads a new file and
 * does not come back; `source` reads one and goes on; `load_env` reads grubenv; `blscfg`
 * reads Boot Loader Specification entries. Conditions are not evaluated: a `search`
 * inside an if is followed as if it ran (grub-mkconfig writes the same search in both
 * branches, one with hints).
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "bls.h"
#include "bootentry.h"
#include "grubcfg.h"
#include "grubchain.h"
#include "loaderfile.h"
#include "util/fileio.h"
#include "util/strv.h"

#define DEVREF '\003' /* a variable's value naming fss[N]: DEVREF then N in decimal */
/* A variable's value after a search that was not followed (partial mode): a filesystem the
 * caller did not give, so nothing read through it can be judged. */
#define DEVUNFOLLOWED "\004"
#define FILES_DEPTH_MAX 8

struct var {
        char *name, *value;
};

struct ctx {
        const struct chain_fs *fss;
        size_t n_fs;
        struct chain_result *out;
        struct var *vars;
        size_t n_vars;
        int depth;
        bool partial; /* fss may lack filesystems of this disk */
        bool links;   /* say each link followed (the stub, the default entry: L9) */
};

#define finding(x, l, ...) chain_add((x)->out, l, __VA_ARGS__)
#define link(x, ...) ((x)->links ? chain_add((x)->out, CHAIN_LINK, __VA_ARGS__) : 0)

static const char *var_get(const char *name, void *userdata)
{
        const struct ctx *x = userdata;

        for (size_t i = x->n_vars; i > 0; i--)
                if (streq(x->vars[i - 1].name, name))
                        return x->vars[i - 1].value;
        return NULL;
}

static int var_set(struct ctx *x, const char *name, const char *value)
{
        struct var *t;
        char *v = strdup(value);

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < x->n_vars; i++)
                if (streq(x->vars[i].name, name)) {
                        free(x->vars[i].value);
                        x->vars[i].value = v;
                        return 0;
                }
        t = reallocarray(x->vars, x->n_vars + 1, sizeof(*t));
        if (!t || !(t[x->n_vars].name = strdup(name))) {
                if (t)
                        x->vars = t;
                free(v);
                return -ENOMEM;
        }
        x->vars = t;
        t[x->n_vars++].value = v;
        return 0;
}

static void vars_free(struct var *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].name);
                free(v[i].value);
        }
        free(v);
}

static int vars_copy(const struct ctx *x, struct var **ret, size_t *ret_n)
{
        struct var *v = calloc(x->n_vars ? x->n_vars : 1, sizeof(*v));

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < x->n_vars; i++)
                if (!(v[i].name = strdup(x->vars[i].name)) ||
                    !(v[i].value = strdup(x->vars[i].value))) {
                        vars_free(v, i + 1);
                        return -ENOMEM;
                }
        *ret = v;
        *ret_n = x->n_vars;
        return 0;
}

static int devref(size_t i, char *buf, size_t size)
{
        int n = snprintf(buf, size, "%c%zu", DEVREF, i);

        return n < 0 || (size_t)n >= size ? -EOVERFLOW : 0;
}

/* fss[N] from a device value DEVREF N, else -1. */
static int devref_parse(const struct ctx *x, const char *dev, size_t n)
{
        size_t i = 0;

        if (n < 2 || dev[0] != DEVREF)
                return -1;
        for (size_t k = 1; k < n; k++) {
                if (!isdigit((unsigned char)dev[k]))
                        return -1;
                i = i * 10 + (size_t)(dev[k] - '0');
                if (i >= x->n_fs)
                        return -1;
        }
        return (int)i;
}

/* A device value as a user reads it: the filesystem's name, or GRUB's own device name. */
static const char *dev_name(const struct ctx *x, const char *dev, size_t n, char *buf, size_t size)
{
        int i = devref_parse(x, dev, n);

        if (i >= 0)
                return x->fss[i].name;
        snprintf(buf, size, "%.*s", (int)(n > 200 ? 200 : n), dev);
        return buf;
}

/*
 * Where a GRUB path lives: "(DEV)/path", or "/path" on $root. Returns the index in fss and
 * sets *ret_path to the path on it; -1 when the device is not one of fss (a firmware-order
 * name like hd0,gpt2, or $root never set), with *ret_dev and *ret_dev_len naming it.
 */
static int resolve(const struct ctx *x, const char *path, const char **ret_path,
                   const char **ret_dev, size_t *ret_dev_len)
{
        const char *dev, *rest;
        size_t n;

        if (path[0] == '(') {
                const char *close = strchr(path, ')');

                if (!close) {
                        *ret_dev = path;
                        *ret_dev_len = strlen(path);
                        return -1;
                }
                dev = path + 1;
                n = close - dev;
                rest = close + 1;
        } else {
                dev = var_get("root", (void *)x);
                if (!dev)
                        dev = "";
                n = strlen(dev);
                rest = path;
        }
        *ret_dev = dev;
        *ret_dev_len = n;
        *ret_path = rest;
        return devref_parse(x, dev, n);
}

/* A path for messages: "(DEVREF N)" written as the filesystem's name. */
static const char *show_path(const struct ctx *x, const char *path, char *buf, size_t size)
{
        const char *close;
        int i;

        if (path[0] != '(' || !(close = strchr(path, ')')) ||
            (i = devref_parse(x, path + 1, close - path - 1)) < 0)
                return path;
        snprintf(buf, size, "(%s)%s", x->fss[i].name, close + 1);
        return buf;
}

/* A file a link needs: present on a filesystem of this disk that we can read. Returns 1
 * when it is there (with *ret_fd open when want_fd), 0 after a finding, -ENOMEM. */
static int need_file(struct ctx *x, const char *where, const char *what, const char *path, int kind,
                     bool want_fd, int *ret_fd)
{
        const char *p = NULL, *dev;
        size_t dev_len;
        char buf[256], pbuf[512];
        int i = resolve(x, path, &p, &dev, &dev_len), fd;
        struct stat st;

        path = show_path(x, path, pbuf, sizeof(pbuf));

        if (i < 0 && dev_len == strlen(DEVUNFOLLOWED) && memcmp(dev, DEVUNFOLLOWED, dev_len) == 0)
                return finding(x, CHAIN_UNKNOWN,
                               "%s: %s %s is on the filesystem of a search not followed: not "
                               "checked",
                               where, what, path + (path[0] == '(' ? strcspn(path, ")") + 1 : 0));
        if (i < 0)
                return finding(x, CHAIN_UNKNOWN,
                               "%s: %s %s is on %s%s, which is not a filesystem GRUB found by "
                               "its identifier: which disk that is depends on the disks present",
                               where, what, path, dev_len ? "device " : "an unset $root",
                               dev_name(x, dev, dev_len, buf, sizeof(buf)));
        if (!x->fss[i].this_disk)
                return finding(x, CHAIN_CRITICAL,
                               "%s: %s %s is read from %s, on the other disk: with that disk "
                               "gone GRUB cannot read it",
                               where, what, path, x->fss[i].name);
        if (x->fss[i].fd < 0)
                return finding(x, CHAIN_UNKNOWN,
                               "%s: %s %s is on %s, which is not mounted: not checked", where, what,
                               path, x->fss[i].name);
        fd = bls_path_open(x->fss[i].fd, p, O_RDONLY);
        if (fd == -ENOMEM)
                return fd;
        if (fd < 0)
                return finding(x, fd == -ENOENT ? CHAIN_CRITICAL : CHAIN_UNKNOWN,
                               "%s: %s %s: %s %s", where, what, path, x->fss[i].name,
                               fd == -ENOENT ? "lacks it" : strerror(-fd));
        if (fstat(fd, &st) < 0) {
                int e = errno;

                close(fd);
                return finding(x, CHAIN_UNKNOWN, "%s: %s %s on %s cannot be looked at: %s", where,
                               what, path, x->fss[i].name, strerror(e));
        }
        if (!S_ISREG(st.st_mode) || st.st_size == 0) {
                close(fd);
                return finding(x, CHAIN_CRITICAL, "%s: %s %s on %s is %s", where, what, path,
                               x->fss[i].name,
                               !S_ISREG(st.st_mode) ? "not a regular file" : "empty");
        }
        /* DESIGN.md §11 S8: a file GRUB starts or loads must be plausible for what it is. */
        if (kind >= 0) {
                _cleanup_free_ char *why = NULL;
                int r = loaderfile_check_fd(fd, (enum loaderfile_kind)kind, &why);

                if (r < 0) {
                        close(fd);
                        if (r == -ENOMEM)
                                return r;
                        return finding(x, r == -EBADMSG ? CHAIN_CRITICAL : CHAIN_UNKNOWN,
                                       "%s: %s %s on %s: %s", where, what, path, x->fss[i].name,
                                       why ? why : strerror(-r));
                }
        }
        if (kind >= 0 && link(x, "%s: %s %s: on %s", where, what, path, x->fss[i].name) < 0) {
                close(fd);
                return -ENOMEM;
        }
        if (want_fd)
                *ret_fd = fd;
        else
                close(fd);
        return 1;
}

static bool id_eq(const char *a, const char *b, bool icase)
{
        return a && b && (icase ? strcasecmp(a, b) == 0 : streq(a, b));
}

/* `search`: sets the variable to the filesystem of this disk it finds. */
static int run_search(struct ctx *x, const char *where, char *const *argv)
{
        struct grub_search s;
        _cleanup_free_ char *why = NULL, *value = NULL;
        const char *kind;
        int r, other = -1;
        char ref[32];

        r = grub_search_parse(argv, &s, &why);
        if (r < 0)
                return finding(x, CHAIN_UNKNOWN, "%s: %s", where, why ? why : "not understood");
        value = grub_word_expand(s.value, var_get, x, NULL);
        if (!value)
                return -ENOMEM;
        kind = s.kind == GRUB_SEARCH_FS_UUID ? "--fs-uuid"
               : s.kind == GRUB_SEARCH_LABEL ? "--label"
                                             : "--file";
        for (size_t i = 0; i < x->n_fs; i++) {
                const struct chain_fs *f = &x->fss[i];
                bool match;

                if (s.kind == GRUB_SEARCH_FS_UUID)
                        match = id_eq(f->uuid, value, true);
                else if (s.kind == GRUB_SEARCH_LABEL)
                        match = id_eq(f->label, value, false);
                else {
                        struct stat st;

                        match = f->fd >= 0 && bls_path_stat(f->fd, value, &st) == 0 &&
                                S_ISREG(st.st_mode);
                }
                if (!match)
                        continue;
                if (!f->this_disk) {
                        if (other < 0)
                                other = (int)i;
                        continue;
                }
                if ((r = devref(i, ref, sizeof(ref))) < 0 ||
                    (r = link(x, "%s: search %s %s finds %s, of this disk: $%s", where, kind, value,
                              f->name, s.var)) < 0)
                        return r;
                return var_set(x, s.var, ref);
        }
        /* GRUB leaves the variable as it was; what follows then reads whatever that is. */
        if (other >= 0)
                return finding(x, CHAIN_CRITICAL,
                               "%s: search %s %s finds %s, on the other disk, and no filesystem "
                               "of this disk: with that disk gone GRUB does not find it",
                               where, kind, value, x->fss[other].name);
        if (x->partial) {
                /* Whatever GRUB reads through it is on a filesystem we were not given: what
                 * follows is not judged (never "lacks it" on the ESP, S13). */
                r = var_set(x, s.var, DEVUNFOLLOWED);
                if (r < 0)
                        return r;
                return finding(x, CHAIN_UNKNOWN,
                               "%s: search %s %s names none of the filesystems checked (the "
                               "ESPs): not followed",
                               where, kind, value);
        }
        return finding(x, CHAIN_CRITICAL, "%s: search %s %s finds no filesystem of this disk",
                       where, kind, value);
}

/* "NAME=VALUE" of `set NAME=VALUE` or of a bare assignment; NULL when argv is neither. */
static const char *assignment(char *const *argv)
{
        const char *w = streq(argv[0], "set") ? argv[1] : argv[0];
        const char *eq;

        if (!w || !(eq = strchr(w, '=')) || eq == w)
                return NULL;
        for (const char *p = w; p < eq; p++)
                if (!isalnum((unsigned char)*p) && *p != '_')
                        return NULL;
        if (!streq(argv[0], "set") && argv[1])
                return NULL;
        return w;
}

static int run_set(struct ctx *x, const char *w)
{
        const char *eq = strchr(w, '=');
        _cleanup_free_ char *name = strndup(w, eq - w);
        _cleanup_free_ char *value = grub_word_expand(eq + 1, var_get, x, NULL);

        if (!name || !value)
                return -ENOMEM;
        return var_set(x, name, value);
}

/* grubenv: "# GRUB Environment Block", then NAME=VALUE lines, padded with '#'. */
static int run_load_env(struct ctx *x, const char *where, char *const *argv)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_close_ int fd = -1;
        const char *file = NULL, *p, *dev;
        size_t size, dev_len;
        int r, i;

        for (size_t k = 1; argv[k]; k++)
                if ((streq(argv[k], "-f") || streq(argv[k], "--file")) && argv[k + 1])
                        file = argv[++k];
        if (file)
                path = grub_word_expand(file, var_get, x, NULL);
        else {
                const char *prefix = var_get("prefix", x);

                if (asprintf(&path, "%s/grubenv", prefix ? prefix : "") < 0)
                        path = NULL;
        }
        if (!path)
                return -ENOMEM;
        i = resolve(x, path, &p, &dev, &dev_len);
        if (i < 0 || !x->fss[i].this_disk || x->fss[i].fd < 0)
                return 0; /* the entries it may name are judged by default_of() */
        fd = bls_path_open(x->fss[i].fd, p, O_RDONLY);
        if (fd < 0)
                return fd == -ENOMEM ? fd : 0; /* GRUB goes on without it */
        r = read_full_fd(fd, 64 * 1024, &text, &size);
        if (r < 0)
                return finding(x, CHAIN_UNKNOWN, "%s: cannot read %s: %s", where, path,
                               strerror(-r));
        for (const char *l = text; l < text + size;) {
                const char *nl = memchr(l, '\n', text + size - l), *end = nl ? nl : text + size;
                const char *eq = memchr(l, '=', end - l);

                if (*l != '#' && eq && eq > l) {
                        _cleanup_free_ char *name = strndup(l, eq - l),
                                            *value = strndup(eq + 1, end - eq - 1);

                        if (!name || !value)
                                return -ENOMEM;
                        if (strchr(value, '\001') || strchr(value, '\002'))
                                continue;
                        if ((r = var_set(x, name, value)) < 0)
                                return r;
                }
                l = end + 1;
        }
        return 0;
}

struct menu {
        struct grub_cfg cfg;
        char *file;
        char **defaults; /* the values `set default=` may take, in file order */
        bool have_unconditional_default;
};

static void menu_done(struct menu *m)
{
        grub_cfg_done(&m->cfg);
        free(m->file);
        strv_free(m->defaults);
        *m = (struct menu){};
}

static int run_file(struct ctx *x, const char *path);

/* Boot Loader Specification entries read by GRUB's blscfg (Fedora, RHEL): loader/entries on
 * $root, paths relative to it. */
static int run_blscfg(struct ctx *x, const char *where)
{
        _cleanup_(bls_set_done) struct bls_set set = {};
        _cleanup_free_ char *why = NULL;
        const char *root = var_get("root", x);
        int i = root ? devref_parse(x, root, strlen(root)) : -1, r;

        if (i < 0 || !x->fss[i].this_disk || x->fss[i].fd < 0)
                return finding(x, i >= 0 && !x->fss[i].this_disk ? CHAIN_CRITICAL : CHAIN_UNKNOWN,
                               "%s: blscfg reads the entries of %s: not on this disk, or not "
                               "readable",
                               where, i >= 0 ? x->fss[i].name : "an unknown $root");
        r = bls_load(x->fss[i].fd, &set, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return finding(x, CHAIN_UNKNOWN, "%s: blscfg: %s", where, why ? why : strerror(-r));
        for (size_t k = 0; k < set.n; k++) {
                _cleanup_strv_free_ char **files = NULL;
                bool ok = true;
                struct stat st;

                if (set.entries[k].error || set.entries[k].uki)
                        continue;
                x->out->n_entries++;
                if ((r = bls_entry_files(&set.entries[k], &files)) < 0)
                        return r;
                STRV_FOREACH(f, files)
                {
                        if (bls_path_stat(x->fss[i].fd, *f, &st) == 0 && S_ISREG(st.st_mode))
                                continue;
                        ok = false;
                        r = finding(x, CHAIN_WARNING, "%s: entry %s names %s, which %s lacks",
                                    where, set.entries[k].filename, *f, x->fss[i].name);
                        if (r < 0)
                                return r;
                }
                if (ok) {
                        x->out->n_bootable++;
                        if (!x->out->default_title) {
                                x->out->default_title =
                                        strdup(set.entries[k].title ? set.entries[k].title
                                                                    : set.entries[k].filename);
                                if (!x->out->default_title)
                                        return -ENOMEM;
                                x->out->default_bootable = true;
                        }
                }
        }
        return 0;
}

/* Runs one command outside menu entries. Returns 1 when the file is left (configfile). */
static int run_top(struct ctx *x, const struct menu *m, const struct grub_cmd *c)
{
        const char *cmd = c->argv[0], *w;
        char where[512];
        int r;

        snprintf(where, sizeof(where), "%s:%u", m->file, c->line);
        if (strncmp(cmd, "search", 6) == 0 && (!cmd[6] || cmd[6] == '.'))
                return run_search(x, where, c->argv);
        if ((w = assignment(c->argv))) {
                if (startswith(w, "default="))
                        return 0; /* default_of() */
                return c->conditional ? 0 : run_set(x, w);
        }
        if (streq(cmd, "load_env"))
                return run_load_env(x, where, c->argv);
        if (streq(cmd, "blscfg"))
                return run_blscfg(x, where);
        if ((streq(cmd, "configfile") || streq(cmd, "source")) && c->argv[1]) {
                _cleanup_free_ char *path = grub_word_expand(c->argv[1], var_get, x, NULL);

                if (!path)
                        return -ENOMEM;
                if (c->conditional)
                        return 0;
                if (x->depth >= FILES_DEPTH_MAX)
                        return finding(x, CHAIN_UNKNOWN, "%s: %s nested deeper than %d files",
                                       where, cmd, FILES_DEPTH_MAX);
                {
                        char buf[512];

                        r = link(x, "%s: %s %s", where, cmd, show_path(x, path, buf, sizeof(buf)));
                        if (r < 0)
                                return r;
                }
                r = run_file(x, path);
                if (r < 0)
                        return r;
                return streq(cmd, "configfile") ? 1 : 0;
        }
        return 0;
}

/* The value the menu's `default` has at boot: next_entry, then saved_entry from grubenv when
 * a `set default=` names them, else the first literal value, else "0". */
static const char *default_of(const struct ctx *x, const struct menu *m)
{
        const char *literal = NULL;

        STRV_FOREACH(d, m->defaults)
        {
                if (grub_word_is_literal(*d)) {
                        if (!literal)
                                literal = *d;
                        continue;
                }
                if (strstr(*d, "\001next_entry\002")) {
                        const char *v = var_get("next_entry", (void *)x);

                        if (!isempty(v))
                                return v;
                }
                if (strstr(*d, "\001saved_entry\002")) {
                        const char *v = var_get("saved_entry", (void *)x);

                        if (!isempty(v))
                                return v;
                }
        }
        return literal ? literal : "0";
}

/* The entry a default value selects: "N" (the Nth of the top level), "N>M..." through
 * submenus, or a title or id path ("A>B"). -1 when none. */
static int select_entry(const struct grub_cfg *cfg, const char *value)
{
        int parent = -1, found = -1;
        _cleanup_free_ char *copy = strdup(value);
        char *save = NULL;

        if (!copy)
                return -1;
        for (char *part = strtok_r(copy, ">", &save); part; part = strtok_r(NULL, ">", &save)) {
                char *end;
                unsigned long n = strtoul(part, &end, 10);
                bool numeric = *part && !*end;
                size_t k = 0;

                found = -1;
                for (size_t i = 0; i < cfg->n_entries; i++) {
                        const struct grub_entry *e = &cfg->entries[i];

                        if (e->parent != parent)
                                continue;
                        if (numeric ? k++ == n : streq(e->title, part) || streq_ptr(e->id, part)) {
                                found = (int)i;
                                break;
                        }
                }
                if (found < 0)
                        return -1;
                parent = found;
        }
        return found;
}

/* root= on a kernel command line must name a filesystem of this disk (or one on no disk we
 * know, such as a RAID both disks carry). */
static int check_cmdline(struct ctx *x, const char *where, char *const *args)
{
        _cleanup_strv_free_ char **expanded = NULL;
        _cleanup_free_ char *line = NULL;
        int i = -1, r;

        for (char *const *a = args; *a; a++) {
                char *e = grub_word_expand(*a, var_get, x, NULL);

                if (!e || strv_push(&expanded, e) < 0) {
                        free(e);
                        return -ENOMEM;
                }
        }
        line = expanded ? strv_join(expanded, " ") : strdup("");
        if (!line)
                return -ENOMEM;
        r = chain_cmdline_foreign_root(x->fss, x->n_fs, line, &i);
        if (r == 0) {
                const char *root = strstr(line, "root=");

                while (root && root != line && root[-1] != ' ' && root[-1] != '\t')
                        root = strstr(root + 1, "root=");
                return link(x, "%s: the kernel's %.*s%s", where,
                            root ? (int)strcspn(root, " \t") : 0, root ? root : "",
                            root ? ": not a filesystem of another disk among those checked"
                                 : "command line names no root=");
        }
        if (r < 0)
                return r;
        return finding(x, CHAIN_CRITICAL,
                       "%s: the kernel's root= names %s, on the other disk: booted alone this "
                       "disk would not find its root",
                       where, x->fss[i].name);
}

/* One entry's commands: its searches, and every file linux, initrd and chainloader need. */
static int run_entry(struct ctx *x, const struct menu *m, size_t idx, bool is_default, bool *ret_ok)
{
        const struct grub_entry *e = &m->cfg.entries[idx];
        size_t before = x->out->n;
        bool loads = false, links = x->links;
        int r = 0;

        /* -v follows the entry that boots unattended (L9), not every entry. */
        x->links = links && is_default;
        r = link(x, "%s:%u: the default entry \"%s\"", m->file, e->line, e->title);

        for (size_t k = e->first_cmd; r >= 0 && k < e->first_cmd + e->n_cmds; k++) {
                const struct grub_cmd *c = &m->cfg.cmds[k];
                const char *cmd = c->argv[0], *w;
                char where[512];

                if (c->entry != (int)idx || c->in_function)
                        continue;
                snprintf(where, sizeof(where), "%s:%u (entry \"%s\")", m->file, c->line, e->title);
                if (strncmp(cmd, "search", 6) == 0 && (!cmd[6] || cmd[6] == '.'))
                        r = run_search(x, where, c->argv);
                else if ((w = assignment(c->argv)))
                        r = c->conditional ? 0 : run_set(x, w);
                else if (grub_cmd_is_linux(cmd) || grub_cmd_is_initrd(cmd) ||
                         streq(cmd, "chainloader")) {
                        size_t last = grub_cmd_is_initrd(cmd) ? SIZE_MAX : 1;

                        loads = true;
                        for (size_t a = 1; r >= 0 && c->argv[a] && a <= last; a++) {
                                _cleanup_free_ char *p = NULL;

                                if (startswith(c->argv[a], "--"))
                                        continue; /* initrd --newc: and the like */
                                if (!(p = grub_word_expand(c->argv[a], var_get, x, NULL)))
                                        return -ENOMEM;
                                r = need_file(x, where, cmd, p,
                                              grub_cmd_is_linux(cmd)    ? LOADERFILE_KERNEL
                                              : grub_cmd_is_initrd(cmd) ? LOADERFILE_INITRD
                                                                        : LOADERFILE_EFI,
                                              false, NULL);
                        }
                        if (r >= 0 && !c->argv[1])
                                r = finding(x, CHAIN_CRITICAL, "%s: %s names no file", where, cmd);
                        if (r >= 0 && grub_cmd_is_linux(cmd) && c->argv[1])
                                r = check_cmdline(x, where, c->argv + 2);
                }
        }
        x->links = links;
        if (r < 0)
                return r;
        /* Bootable unless a link is known broken: what could not be looked at stays UNKNOWN
         * in the report, never a NO (S13). */
        *ret_ok = loads;
        for (size_t k = before; k < x->out->n; k++)
                if (x->out->findings[k].level == CHAIN_CRITICAL)
                        *ret_ok = false;
        /* Only the default entry boots unattended: another one that cannot is a warning. */
        for (size_t k = before; !is_default && k < x->out->n; k++)
                if (x->out->findings[k].level == CHAIN_CRITICAL)
                        x->out->findings[k].level = CHAIN_WARNING;
        return loads ? 1 : 0;
}

static int run_menu(struct ctx *x, struct menu *m)
{
        struct var *saved = NULL;
        size_t n_saved = 0;
        const char *dflt = default_of(x, m);
        int sel = select_entry(&m->cfg, dflt), r = 0;
        bool default_ok = false, any = false;

        if (m->cfg.n_entries == 0)
                return 0;
        for (size_t i = 0; r >= 0 && i < m->cfg.n_entries; i++) {
                bool ok = false;

                if (m->cfg.entries[i].submenu)
                        continue;
                /* Each entry starts from the variables the menu file left. */
                if ((r = vars_copy(x, &saved, &n_saved)) < 0)
                        break;
                r = run_entry(x, m, i, (int)i == sel, &ok);
                vars_free(x->vars, x->n_vars);
                x->vars = saved;
                x->n_vars = n_saved;
                saved = NULL;
                if (r <= 0)
                        continue; /* loads nothing (firmware settings, an echo): no entry */
                any = true;
                x->out->n_entries++;
                if (ok)
                        x->out->n_bootable++;
                if ((int)i == sel)
                        default_ok = ok;
        }
        if (r < 0)
                return r;
        if (!any)
                return 0;
        if (sel < 0 || m->cfg.entries[sel].submenu) {
                r = finding(x, CHAIN_WARNING,
                            "%s: the default \"%s\" selects no menu entry: GRUB boots the "
                            "first entry",
                            m->file, dflt);
                if (r < 0)
                        return r;
                sel = select_entry(&m->cfg, "0");
                while (sel >= 0 && m->cfg.entries[sel].submenu) {
                        int child = -1;

                        for (size_t i = 0; i < m->cfg.n_entries && child < 0; i++)
                                if (m->cfg.entries[i].parent == sel)
                                        child = (int)i;
                        sel = child;
                }
                if (sel < 0)
                        return 0;
                /* default_ok for the first entry: run it again to know. */
                if ((r = vars_copy(x, &saved, &n_saved)) < 0)
                        return r;
                {
                        size_t keep = x->out->n;

                        r = run_entry(x, m, (size_t)sel, true, &default_ok);
                        while (x->out->n > keep) /* already reported above */
                                free(x->out->findings[--x->out->n].text);
                }
                vars_free(x->vars, x->n_vars);
                x->vars = saved;
                x->n_vars = n_saved;
                if (r < 0)
                        return r;
        }
        free(x->out->default_title);
        x->out->default_title = strdup(m->cfg.entries[sel].title);
        if (!x->out->default_title)
                return -ENOMEM;
        x->out->default_bootable = default_ok;
        return 0;
}

static int run_file(struct ctx *x, const char *path)
{
        _cleanup_(menu_done) struct menu m = {};
        _cleanup_free_ char *text = NULL, *why = NULL;
        _cleanup_close_ int fd = -1;
        size_t size;
        int r;

        r = need_file(x, x->depth ? "configfile" : "the firmware's entry", "loads", path, -1, true,
                      &fd);
        if (r <= 0)
                return r;
        {
                const char *p, *dev;
                size_t dev_len;
                int i = resolve(x, path, &p, &dev, &dev_len);

                if (asprintf(&m.file, "%s%s%s", x->fss[i].name,
                             p[0] == '/' || p[0] == '\\' ? "" : "/", p) < 0) {
                        m.file = NULL;
                        return -ENOMEM;
                }
        }
        r = link(x, x->depth ? "GRUB reads %s" : "GRUB reads its stub %s", m.file);
        if (r < 0)
                return r;
        r = read_full_fd(fd, GRUB_CFG_MAX + 1, &text, &size);
        if (r < 0)
                return finding(x, CHAIN_UNKNOWN, "%s: cannot read it: %s", m.file, strerror(-r));
        r = grub_cfg_parse(text, size, &m.cfg, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return finding(x, CHAIN_CRITICAL, "%s: GRUB cannot read it: %s", m.file,
                               why ? why : "not GRUB script");

        x->depth++;
        for (size_t k = 0; k < m.cfg.n_cmds; k++) {
                const struct grub_cmd *c = &m.cfg.cmds[k];
                const char *w;

                if (c->entry >= 0 || c->in_function || streq(c->argv[0], "menuentry") ||
                    streq(c->argv[0], "submenu") || streq(c->argv[0], "function"))
                        continue;
                if ((w = assignment(c->argv)) && startswith(w, "default=")) {
                        if ((r = strv_extend(&m.defaults, w + strlen("default="))) < 0)
                                break;
                        continue;
                }
                r = run_top(x, &m, c);
                if (r != 0)
                        break; /* configfile: GRUB does not come back */
        }
        x->depth--;
        if (r < 0)
                return r;
        if (r == 1)
                return 0;
        return run_menu(x, &m);
}

/* The binaries beside the stub: shim starts grub<arch>.efi from its own directory, so a shim
 * without it stops there (Secure Boot or not). */
static int check_binaries(struct ctx *x, const struct chain_fs *esp, const char *stub,
                          const char *slash, const char *shim_file)
{
        _cleanup_free_ char *shim = NULL, *grub = NULL;
        int dir_len = slash ? (int)(slash - stub) : 0;
        struct stat st;

        if ((shim_file ? !(shim = strdup(shim_file))
                       : asprintf(&shim, "%.*s/shim" EFI_ARCH ".efi", dir_len, stub) < 0) ||
            asprintf(&grub, "%.*s/grub" EFI_ARCH ".efi", dir_len, stub) < 0)
                return -ENOMEM;
        /* Started as GRUB itself, or not known and no shim beside the stub: no shim link. */
        if (streq(shim, "") || (!shim_file && bls_path_stat(esp->fd, shim, &st) < 0))
                return 0;
        if (bls_path_stat(esp->fd, grub, &st) == 0 && S_ISREG(st.st_mode)) {
                _cleanup_close_ int fd = bls_path_open(esp->fd, grub, O_RDONLY);
                _cleanup_free_ char *why = NULL;
                int r = fd < 0 ? fd : loaderfile_check_fd(fd, LOADERFILE_EFI, &why);

                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return finding(x, r == -EBADMSG ? CHAIN_CRITICAL : CHAIN_UNKNOWN,
                                       "%s/%s: shim starts %s: %s", esp->name, shim, grub,
                                       why ? why : strerror(-r));
                return finding(x, CHAIN_NOTE,
                               "%s/%s: shim (Secure Boot in the chain) starts %s beside it",
                               esp->name, shim, grub);
        }
        return finding(x, CHAIN_CRITICAL,
                       "%s/%s: shim starts grub" EFI_ARCH ".efi beside it, which %s lacks",
                       esp->name, shim, esp->name);
}

static int chain_check(const struct chain_fs *fss, size_t n_fs, size_t start, const char *stub,
                       bool partial, const char *shim, struct chain_result *ret)
{
        struct chain_result out = {};
        struct ctx x = { .fss = fss, .n_fs = n_fs, .out = &out, .partial = partial, .links = true };
        _cleanup_free_ char *prefix = NULL, *first = NULL;
        const char *slash;
        char ref[32];
        int r;

        if (start >= n_fs)
                return -EINVAL;
        /* $root: the device GRUB was started from; $prefix: the stub's directory there. */
        r = devref(start, ref, sizeof(ref));
        if (r >= 0)
                r = var_set(&x, "root", ref);
        slash = strrchr(stub, '/');
        if (r >= 0 &&
            asprintf(&prefix, "(%s)/%.*s", ref, slash ? (int)(slash - stub) : 0, stub) < 0)
                r = -ENOMEM;
        if (r >= 0)
                r = var_set(&x, "prefix", prefix);
        if (r >= 0 && asprintf(&first, "(%s)/%s", ref, stub[0] == '/' ? stub + 1 : stub) < 0)
                r = -ENOMEM;
        if (r >= 0)
                r = check_binaries(&x, &fss[start], stub, slash, shim);
        if (r >= 0)
                r = run_file(&x, first);
        if (r >= 0)
                out.worst = chain_worst(&out);
        if (r >= 0 && out.n_entries == 0 && out.worst < CHAIN_CRITICAL)
                r = finding(&x, out.worst >= CHAIN_UNKNOWN ? CHAIN_UNKNOWN : CHAIN_CRITICAL,
                            "%s on %s leads to no menu entry that loads a kernel", stub,
                            fss[start].name);
        else if (r >= 0 && out.default_title && !out.default_bootable && out.worst < CHAIN_CRITICAL)
                r = finding(&x, CHAIN_CRITICAL,
                            "the default entry \"%s\" cannot boot from this disk alone",
                            out.default_title);
        vars_free(x.vars, x.n_vars);
        out.worst = chain_worst(&out);
        if (r < 0) {
                chain_result_done(&out);
                return r;
        }
        *ret = out;
        return 0;
}

int grub_chain_check(const struct chain_fs *fss, size_t n_fs, size_t start, const char *stub,
                     struct chain_result *ret)
{
        return chain_check(fss, n_fs, start, stub, false, NULL, ret);
}

int grub_chain_check_partial(const struct chain_fs *fss, size_t n_fs, size_t start,
                             const char *stub, struct chain_result *ret)
{
        return chain_check(fss, n_fs, start, stub, true, NULL, ret);
}

int grub_chain_check_started(const struct chain_fs *fss, size_t n_fs, size_t start,
                             const char *stub, const char *shim, struct chain_result *ret)
{
        return chain_check(fss, n_fs, start, stub, true, shim, ret);
}

const char *grub_find_stub(int esp_fd)
{
        static const char *const where[] = {
                "EFI/debian/grub.cfg",    "EFI/ubuntu/grub.cfg",   "EFI/fedora/grub.cfg",
                "EFI/centos/grub.cfg",    "EFI/redhat/grub.cfg",   "EFI/rocky/grub.cfg",
                "EFI/almalinux/grub.cfg", "EFI/opensuse/grub.cfg", "EFI/proxmox/grub.cfg",
                "EFI/BOOT/grub.cfg",
        };
        struct stat st;

        for (size_t i = 0; i < ELEMENTSOF(where); i++)
                if (bls_path_stat(esp_fd, where[i], &st) == 0 && S_ISREG(st.st_mode))
                        return where[i];
        return NULL;
}
